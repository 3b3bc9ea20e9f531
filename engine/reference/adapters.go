package reference

import (
	"errors"

	"github.com/imagectx/conformance/engine/reference/pattern"
)

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
