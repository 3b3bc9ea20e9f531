package pattern

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Status is a rule status as Kyverno reports it.
type Status string

// Rule statuses a pattern check can produce.
const (
	StatusPass  Status = "pass"
	StatusFail  Status = "fail"
	StatusSkip  Status = "skip"
	StatusError Status = "error"
)

// Outcome is the status and message Kyverno v1.19.1's validate handler
// (pkg/engine/handlers/validation/validate_resource.go, validatePatterns)
// gives a rule for a pattern or anyPattern check.
type Outcome struct {
	Status  Status
	Message string
}

// Rule names a validate rule for building Kyverno's messages.
type Rule struct {
	// Name is the rule name.
	Name string
	// Message is validate.message as written in the policy ("" if absent).
	Message string
	// Substitute resolves variables in Message. Kyverno substitutes the
	// message only when a check fails, so a variable it references (for
	// example an imageRegistry context entry) is loaded only then. Nil means
	// the message has no variables.
	Substitute func(message string) (string, error)
}

func (r Rule) substituted() (string, error) {
	if r.Substitute == nil {
		return r.Message, nil
	}
	return r.Substitute(r.Message)
}

// Pattern checks a resource against validate.pattern:
//
//	match:          pass  "validation rule 'NAME' passed."
//	mismatch:       fail  "validation error: MSG. rule NAME failed at path PATH"
//	                      ("validation error: rule NAME failed at path PATH" without a message)
//	anchor skip:    skip  the Error's text, e.g. "conditional anchor mismatch: ..."
//	error (no path): error "validation error: MSG. rule NAME execution error: ERR"
//	                      ("validation error: rule NAME execution error: ERR" without a message)
//
// MSG gets a trailing "." when it has none. If substituting the message
// fails: "validation error: variables substitution error in rule NAME
// execution error: ERR", with the fail or error status.
func (r Rule) Pattern(resource, pattern any) Outcome {
	err := Validate(resource, pattern)
	if err == nil {
		return Outcome{StatusPass, fmt.Sprintf("validation rule '%s' passed.", r.Name)}
	}
	var pe *Error
	if !errors.As(err, &pe) {
		return Outcome{StatusError, r.errorMessage(err, "")}
	}
	switch {
	case pe.Skip:
		return Outcome{StatusSkip, pe.Error()}
	case pe.Path == "":
		return Outcome{StatusError, r.errorMessage(err, "")}
	}
	return Outcome{StatusFail, r.errorMessage(err, pe.Path)}
}

func (r Rule) errorMessage(err error, path string) string {
	if r.Message == "" {
		if path != "" {
			return fmt.Sprintf("validation error: rule %s failed at path %s", r.Name, path)
		}
		return fmt.Sprintf("validation error: rule %s execution error: %s", r.Name, err.Error())
	}
	msg, serr := r.substituted()
	if serr != nil {
		return fmt.Sprintf("validation error: variables substitution error in rule %s execution error: %s", r.Name, err.Error())
	}
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	if path != "" {
		return fmt.Sprintf("validation error: %s rule %s failed at path %s", msg, r.Name, path)
	}
	return fmt.Sprintf("validation error: %s rule %s execution error: %s", msg, r.Name, err.Error())
}

// AnyPattern checks a resource against validate.anyPattern (a list); the
// first matching pattern wins:
//
//	a pattern matches:   pass "validation rule 'NAME' anyPattern[I] passed."
//	some failed:         fail "validation error: MSG. rule NAME[I] failed at path P rule NAME[J] failed: ERR ..."
//	                          (one "rule NAME[I] failed at path P" per failed pattern, or
//	                          "rule NAME[I] failed: ERR" when it has no path, joined by
//	                          spaces; without a message: "validation error: rule ...";
//	                          MSG keeps its own trailing "." and gets one otherwise)
//	all skipped:         skip "rule NAME[0] skipped: ERR rule NAME[1] skipped: ERR"
//	not a list:          error "failed to deserialize anyPattern, expected type array: ERR"
//	empty list:          pass with the raw, unsubstituted message
//
// Skipped patterns are left out of the fail message.
func (r Rule) AnyPattern(resource, anyPattern any) Outcome {
	patterns, err := asList(anyPattern)
	if err != nil {
		return Outcome{StatusError, "failed to deserialize anyPattern, expected type array: " + err.Error()}
	}
	var failed, skipped []string
	for i, p := range patterns {
		err := Validate(resource, p)
		if err == nil {
			return Outcome{StatusPass, fmt.Sprintf("validation rule '%s' anyPattern[%d] passed.", r.Name, i)}
		}
		var pe *Error
		if !errors.As(err, &pe) {
			continue
		}
		switch {
		case pe.Skip:
			skipped = append(skipped, fmt.Sprintf("rule %s[%d] skipped: %s", r.Name, i, pe.Error()))
		case pe.Path == "":
			failed = append(failed, fmt.Sprintf("rule %s[%d] failed: %s", r.Name, i, pe.Error()))
		default:
			failed = append(failed, fmt.Sprintf("rule %s[%d] failed at path %s", r.Name, i, pe.Path))
		}
	}
	if len(failed) > 0 {
		return Outcome{StatusFail, r.anyPatternMessage(strings.Join(failed, " "))}
	}
	if len(skipped) > 0 {
		return Outcome{StatusSkip, strings.Join(skipped, " ")}
	}
	return Outcome{StatusPass, r.Message}
}

func (r Rule) anyPatternMessage(errs string) string {
	if r.Message == "" {
		return "validation error: " + errs
	}
	msg, serr := r.substituted()
	if serr != nil {
		return fmt.Sprintf("validation error: variables substitution error in rule %s execution error: %s", r.Name, errs)
	}
	if strings.HasSuffix(msg, ".") {
		return fmt.Sprintf("validation error: %s %s", msg, errs)
	}
	return fmt.Sprintf("validation error: %s. %s", msg, errs)
}

// asList reads anyPattern as a JSON list the way Kyverno does (a JSON round
// trip), so a non-list gives encoding/json's error text.
func asList(anyPattern any) ([]any, error) {
	if list, ok := anyPattern.([]any); ok {
		return list, nil
	}
	raw, err := json.Marshal(anyPattern)
	if err != nil {
		return nil, err
	}
	var list []any
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, err
	}
	return list, nil
}
