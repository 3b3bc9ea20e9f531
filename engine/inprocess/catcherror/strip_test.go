package catcherror

import (
	"strings"
	"testing"

	kyvernov1 "github.com/kyverno/kyverno/api/kyverno/v1"
)

const twoEntries = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: p
spec:
  rules:
  - name: r
    context:
    - name: imageData
      imageRegistry:
        reference: "{{ request.object.spec.containers[0].image }}"
        catchError: true
    - name: other
      imageRegistry:
        reference: "{{ request.object.spec.containers[1].image }}"
        catchError: false
    validate:
      foreach:
      - list: request.object.spec.containers
        context:
        - name: perContainer
          imageRegistry: {reference: "{{ element.image }}", jmesPath: registry, catchError: true}
        deny: {}
`

func entry(name, ref, jp string) kyvernov1.ContextEntry {
	return kyvernov1.ContextEntry{Name: name, ImageRegistry: &kyvernov1.ImageRegistry{Reference: ref, JMESPath: jp}}
}

func TestStripRecordsEveryDepth(t *testing.T) {
	var flags Flags
	out, err := Strip("p.yaml", []byte(twoEntries), &flags)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), Field) {
		t.Errorf("catchError left in the output:\n%s", out)
	}
	if flags.Len() != 3 {
		t.Errorf("Len = %d, want 3", flags.Len())
	}
	for _, tc := range []struct {
		e    kyvernov1.ContextEntry
		want bool
	}{
		{entry("imageData", "{{ request.object.spec.containers[0].image }}", ""), true},
		{entry("other", "{{ request.object.spec.containers[1].image }}", ""), false},
		{entry("perContainer", "{{ element.image }}", "registry"), true},
		{entry("perContainer", "{{ element.image }}", ""), false}, // another jmesPath: another entry
	} {
		if got := flags.Caught("", "p", "r", tc.e); got != tc.want {
			t.Errorf("Caught(%s, jmesPath %q) = %v, want %v", tc.e.Name, tc.e.ImageRegistry.JMESPath, got, tc.want)
		}
	}
	if flags.Caught("", "other-policy", "r", entry("imageData", "{{ request.object.spec.containers[0].image }}", "")) {
		t.Error("a flag of policy p applies to another policy")
	}
	if flags.Caught("", "p", "other-rule", entry("imageData", "{{ request.object.spec.containers[0].image }}", "")) {
		t.Error("a flag of rule r applies to another rule")
	}
	// Autogen rules carry rewritten references and answer for their rule.
	for _, rule := range []string{"autogen-r", "autogen-cronjob-r"} {
		if !flags.Caught("", "p", rule, entry("imageData", "{{ request.object.spec.template.spec.containers[0].image }}", "")) {
			t.Errorf("%s: the flag of rule r does not reach its autogen copy", rule)
		}
	}
	if !flags.Any("", "p") || flags.Any("", "q") {
		t.Error("Any: want true for p, false for q")
	}
}

func TestStripKeepsLinesOfBlockStyle(t *testing.T) {
	in := strings.Replace(twoEntries, `imageRegistry: {reference: "{{ element.image }}", jmesPath: registry, catchError: true}`,
		"imageRegistry:\n            reference: \"{{ element.image }}\"\n            catchError: true", 1)
	var flags Flags
	out, err := Strip("p.yaml", []byte(in), &flags)
	if err != nil {
		t.Fatal(err)
	}
	inLines, outLines := strings.Split(in, "\n"), strings.Split(string(out), "\n")
	if len(inLines) != len(outLines) {
		t.Fatalf("line count %d, want %d:\n%s", len(outLines), len(inLines), out)
	}
	for i := range inLines {
		if strings.Contains(inLines[i], Field) {
			if strings.TrimSpace(outLines[i]) != "" {
				t.Errorf("line %d = %q, want it emptied", i+1, outLines[i])
			}
		} else if inLines[i] != outLines[i] {
			t.Errorf("line %d = %q, want %q", i+1, outLines[i], inLines[i])
		}
	}
}

func TestStripUntouchedIsByteIdentical(t *testing.T) {
	in := strings.ReplaceAll(strings.ReplaceAll(twoEntries, "        catchError: true\n", ""), "        catchError: false\n", "")
	in = strings.Replace(in, ", catchError: true", "", 1)
	var flags Flags
	out, err := Strip("p.yaml", []byte(in), &flags)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != in {
		t.Errorf("a policy without catchError changed:\n%s", out)
	}
	if flags.Len() != 0 {
		t.Errorf("Len = %d, want 0", flags.Len())
	}
}

func TestStripErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"string", strings.Replace(twoEntries, "catchError: true", `catchError: "yes"`, 1),
			`p.yaml:12:21: spec.rules[0].context[0].imageRegistry.catchError: want a boolean (true or false), got str "yes"`},
		{"sequence", strings.Replace(twoEntries, "catchError: true", `catchError: [true]`, 1),
			`p.yaml:12:21: spec.rules[0].context[0].imageRegistry.catchError: want a boolean (true or false), got a sequence`},
		{"twice", strings.Replace(twoEntries, "catchError: true\n", "catchError: true\n        catchError: false\n", 1),
			`p.yaml:13:9: spec.rules[0].context[0].imageRegistry.catchError: given twice (also at line 12); keep one`},
		// A flow-style catchError re-renders every document; yaml.v3
		// writes the flow mapping {0} back as {0: ''}, a string for a null.
		{"not written back", twoEntries + "---\n{0}\n",
			"p.yaml:25:2: removing catchError means writing the documents again, and yaml.v3 does not write this value back as it was read"},
		{"ambiguous", strings.Replace(strings.Replace(twoEntries, "containers[1].image }}\"\n        catchError: false", "containers[0].image }}\"\n        catchError: false", 1),
			"- name: other", "- name: imageData", 1),
			`p.yaml:16:21: spec.rules[0].context[1].imageRegistry.catchError: rule r of policy p has another imageRegistry entry "imageData"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var flags Flags
			_, err := Strip("p.yaml", []byte(tc.in), &flags)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error = %v\nwant prefix %s", err, tc.want)
			}
		})
	}
}

// Found with FuzzStrip (its inputs are in testdata/fuzz/FuzzStrip): yaml.v3
// counts "\r" and U+2028 as line breaks, bytes.SplitAfter does not, so the
// line emptied was the wrong one, or past the end (a panic); an entry whose
// only key was catchError became imageRegistry: null once its line was
// emptied. The output must read as the input without catchError, and strip
// to itself.
func TestStripOutputReadsAsTheInput(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"carriage returns", "imageRegistry:\r  reference: x\r  catchError: true\r", "imageRegistry:\n    reference: x\n"},
		{"a carriage return, then newlines", "\rimageRegistry:\n catchError: false\n", "imageRegistry: {}\n"},
		{"line separator", "imageRegistry:\u2028  reference: x\n  catchError: true\n", "imageRegistry:\n    reference: x\n"},
		{"catchError alone", "imageRegistry: \n  catchError: false\n--- {0}", "imageRegistry: \n  {}\n--- {0}"},
		{"catchError alone, through an alias", "a: &r\n  catchError: true\nb:\n  imageRegistry: *r\n", "a: &r\n  {}\nb:\n  imageRegistry: *r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var flags Flags
			out, err := Strip("p.yaml", []byte(tc.in), &flags)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tc.want || flags.Len() != 1 {
				t.Errorf("Strip = %q with %d flags, want %q with 1", out, flags.Len(), tc.want)
			}
			var again Flags
			if out2, err := Strip("p.yaml", out, &again); err != nil || string(out2) != string(out) || again.Len() != 0 {
				t.Errorf("stripping the output again: %q, %v, %d flags; want it unchanged", out2, err, again.Len())
			}
		})
	}
}
