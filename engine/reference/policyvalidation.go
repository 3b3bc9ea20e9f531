package reference

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	wildcard "github.com/IGLOU-EU/go-wildcard"
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
	if err := validateVariables(p, jp); err != nil {
		return err
	}
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

// Variables Kyverno allows without a context entry defining them, by
// background mode (spec.background, default true).
var (
	allowedVariablesBackground = regexp.MustCompile(`request\.|element|elementIndex|@|images|images\.|image\.|([a-z_0-9]+\()[^{}]`)
	allowedVariables           = regexp.MustCompile(`request|serviceAccountName|serviceAccountNamespace|element|elementIndex|@|images|image|([a-z_0-9]+\()[^{}]`)
	forbiddenUserVariables     = []*regexp.Regexp{
		regexp.MustCompile(`[^\.](serviceAccountName)\b`),
		regexp.MustCompile(`[^\.](serviceAccountNamespace)\b`),
		regexp.MustCompile(`[^\.](request.userInfo)\b`),
		regexp.MustCompile(`[^\.](request.roles)\b`),
		regexp.MustCompile(`[^\.](request.clusterRoles)\b`),
	}
)

// validateVariables is Kyverno's ValidateVariables: in background mode no
// user-information variable; no variable in match or exclude; and every
// variable of a rule must be a valid JMESPath query that reads something
// that can exist (request..., element, images, a function call, or a
// context entry of the rule or of its top-level foreach).
func validateVariables(p *Policy, jp *jmespath.JMESPath) error {
	background := p.Spec.Background == nil || *p.Spec.Background
	if background {
		doc, err := json.Marshal(p.raw)
		if err != nil {
			return err
		}
		for _, m := range variableRE.FindAllStringSubmatch(string(doc), -1) {
			for _, banned := range forbiddenUserVariables {
				if banned.MatchString(m[2]) {
					// Kyverno's text ends with a space, which the CLI's
					// "Policies Skipped" listing (and so the CLI driver)
					// does not keep.
					return fmt.Errorf("only select variables are allowed in background mode. Set spec.background=false to disable background mode for this policy rule: variable %s is not allowed", m[2])
				}
			}
		}
	}
	re := allowedVariables
	if background {
		re = allowedVariablesBackground
	}
	rules, _ := p.raw["spec"].(map[string]any)["rules"].([]any)
	for i, r := range rules {
		raw, _ := r.(map[string]any)
		rule := &p.Spec.Rules[i]
		for _, section := range []string{"exclude", "match"} {
			b, err := json.Marshal(raw[section])
			if err != nil {
				return err
			}
			if variableRE.Match(b) {
				return fmt.Errorf("policy contains invalid variables: rule \"%s\" should not have variables in %s section", rule.Name, section)
			}
		}
		var patterns []string
		addEntries := func(entries []ContextEntry) {
			for _, e := range entries {
				patterns = append(patterns, e.Name+"*")
			}
		}
		addEntries(rule.Context)
		if rule.Validation != nil {
			for _, fe := range rule.Validation.ForEach {
				addEntries(fe.Context)
			}
		}
		mock := func(query string) (any, error) {
			query = strings.TrimSpace(query)
			if query == "" {
				return nil, fmt.Errorf("invalid query (nil)")
			}
			if _, err := jp.Compile(query); err != nil {
				return nil, fmt.Errorf("invalid JMESPath query %s: %v", query, err)
			}
			query = strings.ReplaceAll(query, "\"", "")
			if re.MatchString(query) {
				return nil, nil
			}
			for _, pat := range patterns {
				if wildcard.Match(pat, query) {
					return nil, nil
				}
			}
			return nil, &invalidVariableError{fmt.Sprintf("variable %s must match regex \"%s\" or patterns %v", query, re.String(), patterns)}
		}
		if _, err := (substituter{resolve: mock}).doc(raw, ""); err != nil {
			return fmt.Errorf("policy contains invalid variables: variable substitution failed for rule %s: %s", rule.Name, err.Error())
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
