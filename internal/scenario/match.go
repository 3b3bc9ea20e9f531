package scenario

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/imagectx/conformance/yamlkit/strictyaml"
	"github.com/imagectx/conformance/yamlkit/yamlpath"
)

// Matcher checks a string: exactly one of Exact, Contains, Regex. A plain
// YAML string is shorthand for exact.
type Matcher struct {
	Exact    *string  `json:"exact,omitempty"`
	Contains []string `json:"contains,omitempty"`
	Regex    *string  `json:"regex,omitempty"`
}

func (m *Matcher) DecodeNode(d *decoder, n *yaml.Node, field string) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		s := n.Value
		m.Exact = &s
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return d.Errorf(n, field, "want a string or a mapping with one of exact, contains, regex; got %s", strictyaml.Describe(n))
	}
	if len(n.Content) != 2 {
		return d.Errorf(n, field, "want exactly one of exact, contains, regex")
	}
	k, v := n.Content[0], yamlpath.Resolve(n.Content[1])
	switch k.Value {
	case "exact":
		var s string
		if err := d.Decode(v, &s, strictyaml.Join(field, "exact")); err != nil {
			return err
		}
		m.Exact = &s
	case "regex":
		var s string
		if err := d.Decode(v, &s, strictyaml.Join(field, "regex")); err != nil {
			return err
		}
		// Check the pattern now (with placeholders quoted) so a typo fails
		// at load time, not when the spec runs.
		if _, err := regexp.Compile(quoteVarsForCheck(s)); err != nil {
			return d.Errorf(v, strictyaml.Join(field, "regex"), "want a Go regular expression: %v", err)
		}
		m.Regex = &s
	case "contains":
		if v.Kind == yaml.ScalarNode {
			var s string
			if err := d.Decode(v, &s, strictyaml.Join(field, "contains")); err != nil {
				return err
			}
			m.Contains = []string{s}
		} else if err := d.Decode(v, &m.Contains, strictyaml.Join(field, "contains")); err != nil {
			return err
		}
		if len(m.Contains) == 0 {
			return d.Errorf(v, strictyaml.Join(field, "contains"), "want at least one string")
		}
	default:
		return d.Errorf(k, strictyaml.Join(field, k.Value), "unknown matcher; want one of exact, contains, regex")
	}
	return nil
}

var varPattern = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

func quoteVarsForCheck(s string) string {
	return varPattern.ReplaceAllString(s, "x")
}

// Match reports whether got satisfies m, with ${VARS} expanded from vars
// (regex-quoted inside a regex). The returned string describes m for
// failure messages.
func (m *Matcher) Match(got string, vars Vars) (bool, string, error) {
	switch {
	case m.Exact != nil:
		want := vars.Expand(*m.Exact)
		if got == want {
			return true, fmt.Sprintf("exactly %q", want), nil
		}
		return false, fmt.Sprintf("exactly %q (%s)", want, firstDifference(want, got)), nil
	case m.Regex != nil:
		want := vars.ExpandQuoted(*m.Regex)
		re, err := regexp.Compile(want)
		if err != nil {
			return false, "", fmt.Errorf("regex %q: %w", want, err)
		}
		return re.MatchString(got), fmt.Sprintf("matching /%s/", want), nil
	default:
		var wants []string
		ok := true
		for _, c := range m.Contains {
			w := vars.Expand(c)
			wants = append(wants, fmt.Sprintf("%q", w))
			if !strings.Contains(got, w) {
				ok = false
			}
		}
		return ok, "containing " + strings.Join(wants, " and "), nil
	}
}

// firstDifference points at where two long strings part: a kilobyte of
// error chain is hard to compare by eye.
func firstDifference(want, got string) string {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	const context = 40
	from := max(0, i-context)
	clip := func(s string) string {
		end := min(len(s), i+context)
		if from >= end {
			return ""
		}
		return s[from:end]
	}
	return fmt.Sprintf("first difference at byte %d: want …%q…, got …%q…", i, clip(want), clip(got))
}

// Describe renders m with placeholders unexpanded (for the catalogue).
func (m *Matcher) Describe() (kind, text string) {
	switch {
	case m.Exact != nil:
		return "exact", *m.Exact
	case m.Regex != nil:
		return "regex", *m.Regex
	default:
		return "contains", strings.Join(m.Contains, "` and `")
	}
}

// Parts returns the matcher's kind and its strings, placeholders unexpanded.
func (m *Matcher) Parts() (kind string, texts []string) {
	switch {
	case m.Exact != nil:
		return "exact", []string{*m.Exact}
	case m.Regex != nil:
		return "regex", []string{*m.Regex}
	default:
		return "contains", append([]string(nil), m.Contains...)
	}
}

// ContextCheck is one dotted key of the expected context and its matcher.
type ContextCheck struct {
	Key   string
	Check ValueCheck
	line  int
}

// ContextChecks keep the order they were written in.
type ContextChecks []ContextCheck

func (c *ContextChecks) DecodeNode(d *decoder, n *yaml.Node, field string) error {
	if n.Kind != yaml.MappingNode {
		return d.Errorf(n, field, "want a mapping of dotted keys (imageData.failed: true), got %s", strictyaml.Describe(n))
	}
	seen := map[string]bool{}
	for i := 0; i < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Value == "" {
			return d.Errorf(k, field, "want a dotted key such as imageData.failed, got %s", strictyaml.Describe(k))
		}
		for _, part := range strings.Split(k.Value, ".") {
			if part == "" {
				return d.Errorf(k, strictyaml.Join(field, k.Value), "empty segment in dotted key")
			}
		}
		if seen[k.Value] {
			return d.Errorf(k, strictyaml.Join(field, k.Value), "duplicate key")
		}
		seen[k.Value] = true
		var vc ValueCheck
		if err := vc.DecodeNode(d, yamlpath.Resolve(v), strictyaml.Join(field, k.Value)); err != nil {
			return err
		}
		*c = append(*c, ContextCheck{Key: k.Value, Check: vc, line: k.Line})
	}
	return nil
}

// ValueCheck checks one context value. A scalar is shorthand for equals.
type ValueCheck struct {
	Equals  any      // deep JSON equality (set when HasEquals)
	String  *Matcher // exact / contains / regex on a string value
	Absent  bool     // the key must not exist
	Present bool     // the key must exist (any value)
	Keys    []string // the value is a mapping with exactly these keys

	HasEquals bool
}

var valueCheckKinds = "equals, exact, contains, regex, absent, present, keys"

func (vc *ValueCheck) DecodeNode(d *decoder, n *yaml.Node, field string) error {
	if n.Kind == yaml.ScalarNode {
		var v any
		if err := n.Decode(&v); err != nil {
			return d.Errorf(n, field, "%v", err)
		}
		vc.Equals, vc.HasEquals = normalize(v), true
		return nil
	}
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		return d.Errorf(n, field, "want a scalar or a mapping with one of %s; got %s", valueCheckKinds, strictyaml.Describe(n))
	}
	k, v := n.Content[0], yamlpath.Resolve(n.Content[1])
	f := strictyaml.Join(field, k.Value)
	switch k.Value {
	case "equals":
		var raw any
		if err := v.Decode(&raw); err != nil {
			return d.Errorf(v, f, "%v", err)
		}
		vc.Equals, vc.HasEquals = normalize(raw), true
	case "exact", "contains", "regex":
		m := &Matcher{}
		if err := m.DecodeNode(d, n, field); err != nil {
			return err
		}
		vc.String = m
	case "absent", "present":
		var b bool
		if err := d.Decode(v, &b, f); err != nil {
			return err
		}
		if !b {
			return d.Errorf(v, f, "want true (write the other check instead of false)")
		}
		vc.Absent, vc.Present = k.Value == "absent", k.Value == "present"
	case "keys":
		if err := d.Decode(v, &vc.Keys, f); err != nil {
			return err
		}
		if vc.Keys == nil {
			vc.Keys = []string{}
		}
	default:
		return d.Errorf(k, f, "unknown check; want one of %s", valueCheckKinds)
	}
	return nil
}

// normalize turns YAML-decoded values into what encoding/json produces, so
// 1 equals 1.0 and map types agree.
func normalize(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return v
	}
	return out
}

// lookup walks a dotted key through nested maps.
func lookup(ctx map[string]any, key string) (any, bool) {
	var cur any = ctx
	for _, part := range strings.Split(key, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = m[part]
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

// Check reports whether the value at key in ctx passes, and a description
// of what was found when it does not.
func (c ContextCheck) Run(ctx map[string]any, vars Vars) (bool, string, error) {
	got, found := lookup(ctx, c.Key)
	vc := c.Check
	switch {
	case vc.Absent:
		if found {
			return false, fmt.Sprintf("%s: want absent, got %s", c.Key, render(got)), nil
		}
		return true, "", nil
	case !found:
		return false, fmt.Sprintf("%s: want %s, got absent", c.Key, vc.describe(vars)), nil
	case vc.Present:
		return true, "", nil
	case vc.Keys != nil:
		m, ok := got.(map[string]any)
		if !ok {
			return false, fmt.Sprintf("%s: want a mapping with keys %v, got %s", c.Key, vc.Keys, render(got)), nil
		}
		have := make([]string, 0, len(m))
		for k := range m {
			have = append(have, k)
		}
		sort.Strings(have)
		want := append([]string{}, vc.Keys...)
		sort.Strings(want)
		if !reflect.DeepEqual(have, want) {
			return false, fmt.Sprintf("%s: want keys %v, got keys %v", c.Key, want, have), nil
		}
		return true, "", nil
	case vc.String != nil:
		s, ok := got.(string)
		if !ok {
			return false, fmt.Sprintf("%s: want a string %s, got %s", c.Key, vc.describe(vars), render(got)), nil
		}
		ok, desc, err := vc.String.Match(s, vars)
		if err != nil || ok {
			return ok, "", err
		}
		return false, fmt.Sprintf("%s: want %s, got %q", c.Key, desc, s), nil
	default:
		want := expandAny(vc.Equals, vars)
		if reflect.DeepEqual(normalize(got), want) {
			return true, "", nil
		}
		return false, fmt.Sprintf("%s: want %s, got %s", c.Key, render(want), render(got)), nil
	}
}

func (vc ValueCheck) describe(vars Vars) string {
	switch {
	case vc.Present:
		return "present"
	case vc.Keys != nil:
		return fmt.Sprintf("keys %v", vc.Keys)
	case vc.String != nil:
		kind, text := vc.String.Describe()
		return kind + " " + strconvQuote(vars.Expand(text))
	default:
		return render(expandAny(vc.Equals, vars))
	}
}

func strconvQuote(s string) string { return fmt.Sprintf("%q", s) }

// expandAny expands ${VARS} in every string inside v.
func expandAny(v any, vars Vars) any {
	switch t := v.(type) {
	case string:
		return vars.Expand(t)
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = expandAny(x, vars)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = expandAny(x, vars)
		}
		return out
	}
	return v
}

func render(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 400 {
		return string(b[:400]) + "…"
	}
	return string(b)
}
