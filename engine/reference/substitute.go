package reference

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

var (
	// A variable is {{...}} at the start of a string or after any character
	// but a backslash (\{{ escapes). One level of inner braces is allowed,
	// for JMESPath object literals.
	variableRE     = regexp.MustCompile(`(^|[^\\])(\{\{(?:\{[^{}]*\}|[^{}])*\}\})`)
	variableInitRE = regexp.MustCompile(`^\{\{(\{[^{}]*\}|[^{}])*\}\}`)
)

// maxNestedRounds bounds re-substitution of values that contain variables
// themselves; Kyverno loops forever on a self-referencing value.
const maxNestedRounds = 64

// substitute replaces {{ }} variables everywhere in a JSON-like document
// (map keys and leaves), as Kyverno's SubstituteAll does. path is the JSON
// pointer of doc, used in error messages. Maps are walked in sorted key
// order so that the first error is deterministic (Kyverno's order is Go's
// random map order).
func (c *evalContext) substitute(doc any, path string) (any, error) {
	return substituter{resolve: c.query, deleteOp: c.deleteOp}.doc(doc, path)
}

// substituter walks documents and resolves variables with resolve: the
// rule's JSON context at evaluation time, or Kyverno's policy validation
// mock that only checks which variables are allowed.
type substituter struct {
	resolve  func(variable string) (any, error)
	deleteOp bool
}

// invalidVariableError is Kyverno's InvalidVariableError: passed through
// unwrapped.
type invalidVariableError struct{ msg string }

func (e *invalidVariableError) Error() string { return e.msg }

func (c substituter) doc(doc any, path string) (any, error) {
	switch t := doc.(type) {
	case string:
		return c.str(t, path)
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make(map[string]any, len(t))
		for _, k := range keys {
			newKey := k
			if strings.Contains(k, "{{") {
				nk, err := c.str(k, path)
				if err != nil {
					return nil, err
				}
				if nk == nil {
					newKey = k
				} else if s, ok := nk.(string); ok {
					newKey = s
				} else {
					return nil, fmt.Errorf("expected string after substituting variables in key \"%s\"", k)
				}
			}
			v, err := c.doc(t[k], path+"/"+strings.ReplaceAll(k, "/", `\/`))
			if err != nil {
				return nil, err
			}
			out[newKey] = v
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			v, err := c.doc(e, path+"/"+strconv.Itoa(i))
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	return doc, nil
}

// str resolves the variables of one string. A string that is
// exactly one variable becomes the variable's value (any type); otherwise
// values are spliced in as text (JSON for non-strings).
func (c substituter) str(value, path string) (any, error) {
	if !strings.Contains(value, "{{") {
		return value, nil
	}
	vars := variableRE.FindAllString(value, -1)
	for round := 0; len(vars) > 0; round++ {
		if round == maxNestedRounds {
			return nil, fmt.Errorf("failed to resolve %s at path %s: variables nested more than %d levels", value, path, maxNestedRounds)
		}
		original := value
		shallow := false
		for _, v := range vars {
			initial := variableInitRE.MatchString(v)
			old := v
			if !initial {
				v = v[1:]
			}
			var variable string
			variable, shallow = trimBraces(v)
			if variable == "@" {
				return nil, fmt.Errorf("failed to resolve %v at path %s: the {{@}} variable is not supported by the reference engine", variable, path)
			}
			if c.deleteOp {
				variable = strings.ReplaceAll(variable, "request.object", "request.oldObject")
			}
			resolved, err := c.resolve(variable)
			if err != nil {
				if _, ok := err.(*invalidVariableError); ok {
					return nil, err
				}
				return nil, fmt.Errorf("failed to resolve %v at path %s: %v", variable, path, err)
			}
			if original == v {
				return resolved, nil
			}
			prefix := ""
			if !initial {
				prefix = old[:1]
			}
			if shallow {
				if s, ok := resolved.(string); ok {
					resolved = strings.ReplaceAll(s, "{{", `\{{`)
				}
			}
			text, err := spliceValue(resolved)
			if err != nil {
				return nil, fmt.Errorf("failed to resolve %v at path %s: %s", variable, path, err.Error())
			}
			value = strings.Replace(value, prefix+v, prefix+text, 1)
		}
		if shallow {
			vars = nil
		} else {
			vars = variableRE.FindAllString(value, -1)
		}
	}
	return strings.ReplaceAll(value, `\{{`, "{{"), nil
}

func spliceValue(v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("failed to marshal %T: %v", v, v)
	}
	return string(b), nil
}

// trimBraces strips {{ }} and spaces; a leading "-" marks a shallow
// substitution (the value is not searched for further variables).
func trimBraces(v string) (string, bool) {
	s := strings.ReplaceAll(v, "{{", "")
	s = strings.ReplaceAll(s, "}}", "")
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-") {
		return strings.TrimSpace(s[1:]), true
	}
	return s, false
}
