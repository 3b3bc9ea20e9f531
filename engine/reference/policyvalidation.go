package reference

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/distribution/reference"

	"github.com/imagectx/conformance/engine/reference/jmespath"
)

// validatePolicy runs the checks of Kyverno's policy validation
// (pkg/validation/policy) that concern what this engine evaluates, in
// Kyverno's order, with Kyverno's texts. Kyverno refuses such a policy (the
// CLI lists it under "Policies Skipped" and counts an error; the API server
// rejects it); the engine reports the text as an error result of every rule
// for every resource, as the CLI driver does.
func validatePolicy(p *Policy, jp *jmespath.JMESPath) error {
	rules, _ := p.raw["spec"].(map[string]any)["rules"].([]any)
	for i := range p.Spec.Rules {
		rule := &p.Spec.Rules[i]
		if i < len(rules) {
			if err := elementOutsideForEach(rules[i], ""); err != nil {
				return err
			}
		}
		if err := validateRuleContext(rule, jp); err != nil {
			return fmt.Errorf("path: spec.rules[%d]: %v", i, err)
		}
	}
	return nil
}

// elementOutsideForEach: element and elementIndex variables may only be
// used under a foreach (the JSON path must contain "/foreach/"). Strings
// and map keys are checked; map keys in sorted order (Kyverno's order is
// random when a rule has several such variables).
func elementOutsideForEach(v any, path string) error {
	check := func(s string) error {
		for _, m := range variableRE.FindAllString(s, -1) {
			if !variableInitRE.MatchString(m) {
				m = m[1:]
			}
			name, _ := trimBraces(m)
			isElement := strings.HasPrefix(name, "element") || name == "elementIndex"
			if isElement && !strings.Contains(path, "/foreach/") {
				return fmt.Errorf("variable '%v' present outside of foreach at path %s", name, path)
			}
		}
		return nil
	}
	switch t := v.(type) {
	case string:
		return check(t)
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := check(k); err != nil {
				return err
			}
			if err := elementOutsideForEach(t[k], path+"/"+strings.ReplaceAll(k, "/", `\/`)); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range t {
			if err := elementOutsideForEach(e, path+"/"+strconv.Itoa(i)); err != nil {
				return err
			}
		}
	}
	return nil
}

var reservedContextNames = []string{"images", "request", "serviceAccountName", "serviceAccountNamespace", "element", "elementIndex"}

func validateRuleContext(rule *Rule, jp *jmespath.JMESPath) error {
	for _, e := range rule.Context {
		if e.Name == "" {
			return fmt.Errorf("a name is required for context entries")
		}
		for _, v := range reservedContextNames {
			if e.Name == v || strings.HasPrefix(e.Name, v+".") {
				return fmt.Errorf("entry name %s is invalid as it conflicts with a pre-defined variable %s", e.Name, v)
			}
		}
		switch {
		case e.ImageRegistry != nil:
			if err := validateImageRegistry(e.ImageRegistry, jp); err != nil {
				return err
			}
		case e.Variable != nil:
			if err := validateVariable(e.Variable, jp); err != nil {
				return err
			}
		}
	}
	return nil
}

// replaceAllVars replaces every {{ }} variable (keeping the character in
// front of it) with repl.
func replaceAllVars(s, repl string) string {
	return variableRE.ReplaceAllStringFunc(s, func(m string) string {
		if variableInitRE.MatchString(m) {
			return repl
		}
		return m[:1] + repl
	})
}

func validateImageRegistry(ir *ImageRegistry, jp *jmespath.JMESPath) error {
	if ir.Reference == "" {
		return fmt.Errorf("a ref is required for imageRegistry context entry")
	}
	// A reference with variables can only be checked at run time.
	ref := replaceAllVars(ir.Reference, "kyvernoimageref")
	if !strings.Contains(ref, "kyvernoimageref") {
		if _, err := reference.Parse(ref); err != nil {
			return fmt.Errorf("bad image: %s: %w", ref, err)
		}
	}
	path := replaceAllVars(ir.JMESPath, "kyvernojmespathvariable")
	if !strings.Contains(path, "kyvernojmespathvariable") && ir.JMESPath != "" {
		if _, err := jp.Compile(ir.JMESPath); err != nil {
			return fmt.Errorf("failed to parse JMESPath %s: %v", ir.JMESPath, err)
		}
	}
	return nil
}

func validateVariable(v *Variable, jp *jmespath.JMESPath) error {
	path := replaceAllVars(v.JMESPath, "kyvernojmespathvariable")
	if !strings.Contains(path, "kyvernojmespathvariable") && v.JMESPath != "" {
		if _, err := jp.Compile(v.JMESPath); err != nil {
			return fmt.Errorf("failed to parse JMESPath %s: %v", v.JMESPath, err)
		}
	}
	if v.Value == nil && path == "" {
		return fmt.Errorf("a variable must define a value or a jmesPath expression")
	}
	if v.Default != nil && path == "" {
		return fmt.Errorf("a variable must define a default value only when a jmesPath expression is defined")
	}
	return nil
}
