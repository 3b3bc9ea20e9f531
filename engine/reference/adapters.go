package reference

import (
	"errors"

	"github.com/imagectx/conformance/engine/reference/conditions"
	"github.com/imagectx/conformance/engine/reference/pattern"
)

// evalOperator applies one condition operator to substituted operands.
func evalOperator(key any, operator string, value any) (bool, error) {
	return conditions.Evaluate(key, operator, value)
}

// knownOperator reports whether Kyverno's schema accepts the operator name.
func knownOperator(op string) bool {
	if op == "Equal" || op == "NotEqual" {
		return true
	}
	for _, o := range conditions.Operators() {
		if o == op {
			return true
		}
	}
	return false
}

// patternError is a failed pattern match: a failing path (fail), a skip
// (conditional anchor), or neither (Kyverno reports a rule error).
type patternError struct {
	path string
	skip bool
	msg  string
}

func (e *patternError) Error() string { return e.msg }

// matchPattern matches a resource (or foreach element) against a pattern;
// nil means it matches.
func matchPattern(resource, p any) *patternError {
	err := pattern.Validate(resource, p)
	if err == nil {
		return nil
	}
	var pe *pattern.Error
	if errors.As(err, &pe) {
		return &patternError{path: pe.Path, skip: pe.Skip, msg: pe.Msg}
	}
	return &patternError{msg: err.Error()}
}
