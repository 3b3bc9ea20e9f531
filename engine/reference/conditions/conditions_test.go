package conditions

import (
	"errors"
	"fmt"
	"testing"
)

type row struct {
	key   any
	op    string
	value any
	want  bool
}

func list(items ...any) []any { return items }

func runRows(t *testing.T, rows []row) {
	t.Helper()
	for _, r := range rows {
		t.Run(fmt.Sprintf("%#v %s %#v", r.key, r.op, r.value), func(t *testing.T) {
			got, err := Evaluate(r.key, r.op, r.value)
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if got != r.want {
				t.Fatalf("Evaluate(%#v, %s, %#v) = %v, want %v", r.key, r.op, r.value, got, r.want)
			}
		})
	}
}

func TestEquals(t *testing.T) {
	runRows(t, []row{
		// strings and wildcards (the value is the pattern)
		{"nginx", "Equals", "nginx", true},
		{"nginx", "Equals", "ngin*", true},
		{"ngin*", "Equals", "nginx", false},
		{"nginx", "Equals", "?ginx", true},
		{"nginx", "Equals", "redis", false},
		{"", "Equals", "", true},
		{"", "Equals", "*", true},
		{"nginx", "Equal", "nginx", true},
		{"nginx", "equals", "nginx", true},
		{"nginx", "EQUALS", "nginx", true},
		// quantities and durations
		{"1Gi", "Equals", "1024Mi", true},
		{"1Gi", "Equals", "1000Mi", false},
		{"1", "Equals", "1000m", true},
		{"1Gi", "Equals", "abc", false},
		{"1Gi", "Equals", "", false},
		{"1Gi", "Equals", 1.0, false},
		{"1h", "Equals", "60m", true},
		{"1h", "Equals", 3600.0, true},
		{"1h", "Equals", int64(3600), true},
		{"1h", "Equals", "30m", false},
		{"0", "Equals", "0s", false}, // "0" is not read as a duration, and "0s" is no quantity
		{"0", "Equals", 0.0, false},
		// numbers
		{1.0, "Equals", 1.0, true},
		{1.0, "Equals", int64(1), true},
		{1.5, "Equals", int64(1), false},
		{1.0, "Equals", "1", true},
		{1.0, "Equals", "1.0", true},
		{1.0, "Equals", "x", false},
		{1.0, "Equals", true, false},
		{int64(3), "Equals", 3.0, true},
		{int64(3), "Equals", 3.5, false},
		{int64(3), "Equals", "3", true},
		{int64(3), "Equals", "3.0", false},
		{3, "Equals", int64(3), true},
		// bools
		{true, "Equals", true, true},
		{true, "Equals", "true", false},
		// maps and lists
		{map[string]any{"a": 1.0}, "Equals", map[string]any{"a": 1.0}, true},
		{map[string]any{"a": 1.0}, "Equals", map[string]any{"a": 2.0}, false},
		{map[string]any{"a": 1.0}, "Equals", "x", false},
		{list("a", "b"), "Equals", list("a", "b"), true},
		{list("a", "b"), "Equals", list("b", "a"), false},
		{list("a"), "Equals", "a", false},
		// nil
		{nil, "Equals", nil, false},
		{nil, "Equals", "", false},
		{"", "Equals", nil, false},
	})
}

func TestNotEquals(t *testing.T) {
	runRows(t, []row{
		{"nginx", "NotEquals", "nginx", false},
		{"nginx", "NotEquals", "redis", true},
		{"nginx", "NotEquals", "ngi*", false},
		{"nginx", "NotEqual", "redis", true},
		{"1Gi", "NotEquals", "1024Mi", false},
		{"1Gi", "NotEquals", "2Gi", true},
		{"1Gi", "NotEquals", "", true},
		{"1Gi", "NotEquals", "abc", true},
		{"1h", "NotEquals", "60m", false},
		{"1h", "NotEquals", 60.0, true},
		{1.0, "NotEquals", 1.0, false},
		{1.5, "NotEquals", int64(1), true},
		{1.0, "NotEquals", "x", true},
		{int64(2), "NotEquals", "2", false},
		{int64(2), "NotEquals", 2.5, true},
		{true, "NotEquals", false, true},
		{true, "NotEquals", "true", true},
		{map[string]any{}, "NotEquals", map[string]any{}, false},
		{map[string]any{}, "NotEquals", 1.0, true},
		{list(1.0), "NotEquals", list(2.0), true},
		{nil, "NotEquals", "x", false},
		{nil, "NotEquals", nil, false},
		{"x", "NotEquals", nil, true},
	})
}

func TestIn(t *testing.T) {
	runRows(t, []row{
		{"a", "In", list("a", "b"), true},
		{"c", "In", list("a", "b"), false},
		{"nginx", "In", list("ngi*"), true},
		{"ngi*", "In", list("nginx"), true},
		{"a", "In", "a", true},
		{"a", "In", "*", true},
		{"a", "In", `["a","b"]`, true},
		{"c", "In", `["a","b"]`, false},
		{"a", "In", "notjson", false},
		{"a", "In", 1.0, false},
		{1.0, "In", list(1.0, 2.0), true},
		{1.0, "In", list("1"), true},
		{true, "In", list("true"), true},
		{list("a", "b"), "In", list("a", "b", "c"), true},
		{list("a", "d"), "In", list("a", "b", "c"), false},
		{list("a"), "In", "a", true},
		{list("a", "b"), "In", `["a","b"]`, true},
		{list("a"), "In", list(1.0), false},
		{list(), "In", list("a"), true},
		{list("a*"), "In", list("ab"), false},
		{nil, "In", list("a"), false},
		{map[string]any{}, "In", list("a"), false},
		// NotIn
		{"a", "NotIn", list("a", "b"), false},
		{"c", "NotIn", list("a", "b"), true},
		{"c", "NotIn", `["a","b"]`, true},
		{"c", "NotIn", "notjson", false},
		{"c", "NotIn", 1.0, false},
		{list("a", "d"), "NotIn", list("a", "b"), true},
		{list("a", "b"), "NotIn", list("a", "b"), false},
		{list("a"), "NotIn", "a", true}, // Kyverno quirk: a one-key list equal to the value
		{list("a"), "NotIn", list(1.0), false},
	})
}

func TestInListKeyWithNonString(t *testing.T) {
	for _, op := range []string{"In", "NotIn"} {
		if _, err := Evaluate(list("a", 1.0), op, list("a")); err == nil {
			t.Errorf("%s with a non-string key item: want an error", op)
		}
	}
}

func TestAnyAllIn(t *testing.T) {
	runRows(t, []row{
		// AnyIn, scalar key
		{"a", "AnyIn", list("a", "b"), true},
		{"c", "AnyIn", list("a", "b"), false},
		{"nginx", "AnyIn", list("ngi*"), true},
		{"a", "AnyIn", "a", true},
		{"a", "AnyIn", `["a","b"]`, true},
		{"a", "AnyIn", "b", false},
		{"a", "AnyIn", `{"a":1}`, false},
		{"5", "AnyIn", "1-10", true},
		{"50", "AnyIn", "1-10", false},
		{5.0, "AnyIn", "1-10", true},
		{"a", "AnyIn", 1.0, false},
		{1.0, "AnyIn", list(1.0), true},
		// AnyIn, list key
		{list("a", "x"), "AnyIn", list("a", "b"), true},
		{list("x", "y"), "AnyIn", list("a", "b"), false},
		{list("x", "ng*"), "AnyIn", list("nginx"), true},
		{list(1.0, 2.0), "AnyIn", 2.0, true},
		{list(1.0, 2.0), "AnyIn", true, false},
		{list("a"), "AnyIn", "a", true},
		{list("a", "b"), "AnyIn", `["b"]`, true},
		{list("a", "b"), "AnyIn", "b", true},
		{list("5", "50"), "AnyIn", "1-10", true},
		{list("50", "60"), "AnyIn", "1-10", false},
		{list(), "AnyIn", list("a"), false},
		{list("a"), "AnyIn", map[string]any{}, false},
		// AnyNotIn
		{"a", "AnyNotIn", list("a", "b"), false},
		{"c", "AnyNotIn", list("a", "b"), true},
		{"a", "AnyNotIn", 1.0, false},
		{list("a", "x"), "AnyNotIn", list("a", "b"), true},
		{list("a", "b"), "AnyNotIn", list("a", "b"), false},
		{list("a"), "AnyNotIn", "a", false},
		{list("5", "50"), "AnyNotIn", "1-10", true},
		{list("5", "6"), "AnyNotIn", "1-10", false},
		{"50", "AnyNotIn", "1-10", true},
		// AllIn
		{"a", "AllIn", list("a", "b"), true},
		{"c", "AllIn", list("a", "b"), false},
		{list("a", "b"), "AllIn", list("a", "b", "c"), true},
		{list("a", "x"), "AllIn", list("a", "b"), false},
		{list("nginx", "redis"), "AllIn", list("*"), true},
		{list("a"), "AllIn", "a", true},
		{list("a", "b"), "AllIn", `["a","b"]`, true},
		{list("5", "6"), "AllIn", "1-10", true},
		{list("5", "60"), "AllIn", "1-10", false},
		{list(1.0), "AllIn", 1.0, false}, // AllIn has no number value case
		{list(), "AllIn", list("a"), true},
		// AllNotIn
		{"c", "AllNotIn", list("a", "b"), true},
		{"a", "AllNotIn", list("a", "b"), false},
		{list("x", "y"), "AllNotIn", list("a", "b"), true},
		{list("a", "y"), "AllNotIn", list("a", "b"), false},
		{list("a"), "AllNotIn", "a", false},
		{list("50", "60"), "AllNotIn", "1-10", true},
		{list("5", "60"), "AllNotIn", "1-10", false},
		{"a", "AllNotIn", `{"a":1}`, false},
	})
}

func TestNumeric(t *testing.T) {
	runRows(t, []row{
		{2.0, "GreaterThan", 1.0, true},
		{1.0, "GreaterThan", 1.0, false},
		{1.0, "GreaterThanOrEquals", 1.0, true},
		{1.0, "LessThan", 2.0, true},
		{2.0, "LessThanOrEquals", 2.0, true},
		{int64(5), "GreaterThan", int64(3), true},
		{int64(5), "GreaterThan", 5.5, false},
		{int64(5), "GreaterThan", "4", true},
		{int64(5), "GreaterThan", "x", false},
		{5.0, "LessThan", "10.5", true},
		{"5", "GreaterThan", "4", true},
		{"5", "GreaterThan", 4.0, true},
		{"abc", "GreaterThan", 4.0, false},
		// quantities
		{"2Gi", "GreaterThan", "1024Mi", true},
		{"1Gi", "GreaterThanOrEquals", "1024Mi", true},
		{"500m", "LessThan", "1", true},
		{"2Gi", "LessThan", "1Gi", false},
		// durations
		{"1h", "GreaterThan", "30m", true},
		{"10m", "GreaterThan", "30m", false},
		{"1h", "GreaterThan", 3599.0, true},
		{int64(60), "LessThan", "2m", true},
		{90.0, "GreaterThan", "1m", true},
		// versions
		{"1.2.3", "GreaterThan", "1.2.0", true},
		{"1.2.3", "LessThan", "1.10.0", true},
		{"1.2.3", "LessThan", "bad", false},
		{"1.2.3", "LessThan", 2.0, false},
		// unsupported
		{true, "GreaterThan", false, false},
		{nil, "GreaterThan", 1.0, false},
		{list(1.0), "GreaterThan", 0.0, false},
		// the name is matched exactly after choosing the handler
		{2.0, "greaterthan", 1.0, false},
		{2.0, "GREATERTHAN", 1.0, false},
	})
}

func TestDurationOperators(t *testing.T) {
	runRows(t, []row{
		{"1h", "DurationGreaterThan", "30m", true},
		{"1h", "DurationGreaterThan", "1h", false},
		{"1h", "DurationGreaterThanOrEquals", "60m", true},
		{"1h", "DurationLessThan", "2h", true},
		{"1h", "DurationLessThanOrEquals", "1h", true},
		{"1h", "DurationGreaterThan", 3599.0, true},
		{"1h", "DurationGreaterThan", int64(3600), false},
		{3600.0, "DurationGreaterThanOrEquals", "1h", true},
		{int64(10), "DurationLessThan", int64(11), true},
		{10.9, "DurationLessThanOrEquals", 10.0, true}, // floats truncate to whole seconds
		{"bad", "DurationGreaterThan", "1h", false},
		{"1h", "DurationGreaterThan", "bad", false},
		{"1h", "DurationGreaterThan", true, false},
		{true, "DurationGreaterThan", "1h", false},
		{"2h", "durationgreaterthan", "1h", false},
	})
}

func TestUnknownOperator(t *testing.T) {
	for _, op := range []string{"", "Matches", "GreaterThen", "Contains"} {
		got, err := Evaluate("a", op, "a")
		var unknown *UnknownOperatorError
		if got || !errors.As(err, &unknown) || unknown.Operator != op {
			t.Fatalf("Evaluate(%q) = %v, %v; want UnknownOperatorError", op, got, err)
		}
		if err.Error() != "failed to create handler for condition operator: %!w(<nil>)" {
			t.Fatalf("error text %q", err.Error())
		}
	}
}

func TestOperatorsAreAllHandled(t *testing.T) {
	for _, op := range Operators() {
		if _, err := Evaluate("a", op, "a"); err != nil {
			t.Errorf("%s: %v", op, err)
		}
	}
}
