// Package conditions evaluates Kyverno v1.19.1 condition operators
// (pkg/engine/variables/operator) on already-substituted keys and values,
// for preconditions, deny conditions and foreach conditions.
//
// Operators: Equals (alias Equal), NotEquals (alias NotEqual), In and NotIn
// (deprecated), AnyIn, AllIn, AnyNotIn, AllNotIn, GreaterThan,
// GreaterThanOrEquals, LessThan, LessThanOrEquals, DurationGreaterThan,
// DurationGreaterThanOrEquals, DurationLessThan, DurationLessThanOrEquals.
//
// Semantics follow Kyverno exactly, quirks included:
//   - Strings compare as durations first ("1h" vs "30m", a number on the
//     other side counts as seconds), then as quantities ("2Gi" vs "1024Mi"),
//     then as wildcard patterns: the value is the pattern, the key the text
//     (github.com/IGLOU-EU/go-wildcard).
//   - Numbers compare across int64/float64 and numeric strings; maps and
//     lists compare with reflect.DeepEqual; a nil key is never Equal and
//     never NotEqual.
//   - The In family renders scalars with fmt.Sprint and matches wildcards in
//     both directions; a string value may be a JSON list of strings or a
//     range such as "1-10" (AnyIn/AllIn/AnyNotIn/AllNotIn).
//   - Operator names are matched case-insensitively, as Kyverno lowercases
//     them to pick the handler; but the numeric and Duration* handlers then
//     compare the name exactly, so "greaterthan" is accepted and always
//     false, as in Kyverno. (Kyverno's CRD enum and policy validation reject
//     such names at admission; the caller's strict decoding should too.)
//
// Errors: an unknown operator gives UnknownOperatorError, whose text is
// exactly what Kyverno's variables.Evaluate returns for it:
// `failed to create handler for condition operator: %!w(<nil>)`.
//
// Deviation from Kyverno v1.19.1: In and NotIn with a list key holding a
// non-string item panic in Kyverno; here they return an error naming the
// item.
package conditions

import (
	"fmt"
	"strings"
)

// UnknownOperatorError is returned for an operator Kyverno has no handler
// for. Its text reproduces Kyverno's (which formats a nil error with %w).
type UnknownOperatorError struct {
	Operator string
}

func (e *UnknownOperatorError) Error() string {
	return "failed to create handler for condition operator: %!w(<nil>)"
}

// Operators lists the canonical operator names Evaluate accepts (the
// aliases Equal and NotEqual are accepted too).
func Operators() []string {
	return []string{
		"AllIn", "AllNotIn", "AnyIn", "AnyNotIn",
		"DurationGreaterThan", "DurationGreaterThanOrEquals", "DurationLessThan", "DurationLessThanOrEquals",
		"Equals", "GreaterThan", "GreaterThanOrEquals", "In",
		"LessThan", "LessThanOrEquals", "NotEquals", "NotIn",
	}
}

// Evaluate applies operator to key and value, both already substituted.
func Evaluate(key any, operator string, value any) (bool, error) {
	switch strings.ToLower(operator) {
	case "equal", "equals":
		return equals(key, value), nil
	case "notequal", "notequals":
		return notEquals(key, value), nil
	case "in":
		return in(key, value, false)
	case "notin":
		return in(key, value, true)
	case "anyin":
		return anyIn(key, value, false), nil
	case "anynotin":
		return anyIn(key, value, true), nil
	case "allin":
		return allIn(key, value, false), nil
	case "allnotin":
		return allIn(key, value, true), nil
	case "greaterthanorequals", "greaterthan", "lessthanorequals", "lessthan":
		return numeric(key, value, operator), nil
	case "durationgreaterthanorequals", "durationgreaterthan", "durationlessthanorequals", "durationlessthan":
		return durationOp(key, value, operator), nil
	}
	return false, &UnknownOperatorError{Operator: operator}
}

// scalarText renders the scalar keys the In family accepts; ok is false for
// other types.
func scalarText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int, int32, int64, float32, float64, bool:
		return fmt.Sprint(x), true
	}
	return "", false
}
