package pattern

import (
	"regexp"
	"testing"
)

// kyvernoAnchorRegex is the expression Kyverno parses anchors with; the
// hand-written parser must agree with it.
var kyvernoAnchorRegex = regexp.MustCompile(`^([+<=X^])?\((.+)\)$`)

func TestParseAnchorAgreesWithRegex(t *testing.T) {
	inputs := []string{
		"", "a", "()", "(a)", " (a) ", "(a", "a)", "X(a)", "x(a)", "+(a)", "<(a)", "=(a)", "^(a)", "^^(a)",
		"((a))", "(a)(b)", "X()", "X(())", "(a\nb)", "(\n)", "=( spaced )", "Y(a)", "(a) b", "<(", "(()", "())",
		"X(a)\n", "\t(a)", "(ä)", "^(containers)", "+(imagePullPolicy)",
	}
	for _, in := range inputs {
		got, ok := ParseAnchor(in)
		m := kyvernoAnchorRegex.FindStringSubmatch(trimSpace(in))
		wantOK := m != nil && m[2] != ""
		if ok != wantOK {
			t.Errorf("ParseAnchor(%q) ok = %v, regex says %v", in, ok, wantOK)
			continue
		}
		if ok && (string(got.Type) != m[1] || got.Key != m[2]) {
			t.Errorf("ParseAnchor(%q) = %+v, regex says type %q key %q", in, got, m[1], m[2])
		}
	}
}

func trimSpace(s string) string { return regexp.MustCompile(`^\s+|\s+$`).ReplaceAllString(s, "") }
