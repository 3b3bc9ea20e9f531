package pattern

import (
	"fmt"
	"testing"
)

func TestOperatorOf(t *testing.T) {
	for pattern, want := range map[string]Operator{
		"":         Equal,
		">":        Equal,
		">=1":      MoreEqual,
		"<=1":      LessEqual,
		">1":       More,
		"<1":       Less,
		"!x":       NotEqual,
		"!-":       NotEqual,
		"1-10":     InRange,
		"1Gi-2Gi":  InRange,
		"-1-+5":    InRange,
		"1!-10":    NotInRange,
		"1.5-2.5m": InRange,
		"a-b":      Equal,
		"nginx":    Equal,
	} {
		if got := OperatorOf(pattern); got != want {
			t.Errorf("OperatorOf(%q) = %q, want %q", pattern, got, want)
		}
	}
}

func TestValidateValue(t *testing.T) {
	cases := []struct {
		value, pattern any
		want           bool
	}{
		// bool
		{true, true, true},
		{false, true, false},
		{"true", true, false},
		// int patterns
		{int64(3), int64(3), true},
		{3, int64(3), true},
		{3.0, int64(3), true},
		{3.5, int64(3), false},
		{"3", int64(3), true},
		{"x", int64(3), false},
		{nil, int64(0), false},
		// float patterns
		{3.0, 3.0, true},
		{int64(3), 3.0, true},
		{int64(3), 3.5, false},
		{3, 3.0, true},
		{"3.0", 3.0, true},
		{"abc", 3.0, false},
		// nil pattern
		{nil, nil, true},
		{0.0, nil, true},
		{int64(0), nil, true},
		{"", nil, true},
		{false, nil, true},
		{"x", nil, false},
		{1.0, nil, false},
		{map[string]any{}, nil, false},
		{[]any{}, nil, false},
		// map / array patterns
		{map[string]any{"a": 1.0}, map[string]any{"b": 2.0}, true},
		{"x", map[string]any{}, false},
		{[]any{"a"}, []any{"a"}, false},
		// string: wildcards
		{"nginx:1.25", "nginx:*", true},
		{"nginx", "nginx:*", false},
		{"v1", "v?", true},
		{"v12", "v?", false},
		{"anything", "*", true},
		{nil, "*", false},
		{"", "*", true},
		{"", "?*", false},
		{true, "true", true},
		{int64(5), "5", true},
		{5.0, "5", true},
		{1.5, "1.5", true},
		{1.5, "1.5E+00", true},
		// string: !
		{"latest", "!latest", false},
		{"1.25", "!latest", true},
		{"nginx:latest", "!*:latest", false},
		{nil, "!x", false},
		// string: alternatives and conjunctions
		{"Always", "Always | IfNotPresent", true},
		{"IfNotPresent", "Always|IfNotPresent", true},
		{"Never", "Always | IfNotPresent", false},
		{"5", ">1 & <10", true},
		{"50", ">1 & <10", false},
		{int64(5), ">1 & <10", true},
		{"a|b", "a|b", true},
		// numbers / quantities
		{int64(3), ">2", true},
		{int64(2), ">2", false},
		{int64(2), ">=2", true},
		{2.5, "<3", true},
		{"2Gi", ">1Gi", true},
		{"1024Mi", "1Gi", true},
		{"1024Mi", ">=1Gi", true},
		{"512Mi", ">1Gi", false},
		{"100m", "<1", true},
		{"1", "!1000m", false},
		{nil, ">=0", true},
		{nil, "<1", true},
		{"abc", ">1", false},
		{"abc", "<abc", false},
		// durations
		{"1h", ">30m", true},
		{"10m", ">30m", false},
		{"90s", "1m30s", true},
		{"1h", "<=60m", true},
		{int64(5), ">1s", false},
		// ranges
		{int64(5), "1-10", true},
		{int64(11), "1-10", false},
		{int64(1), "1-10", true},
		{int64(5), "1!-10", false},
		{int64(11), "1!-10", true},
		{int64(0), "1!-10", true},
		{"1500Mi", "1Gi-2Gi", true},
		{"3Gi", "1Gi-2Gi", false},
		{-3.0, "-5--1", true},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%#v~%#v", tc.value, tc.pattern), func(t *testing.T) {
			if got := ValidateValue(tc.value, tc.pattern); got != tc.want {
				t.Fatalf("ValidateValue(%#v, %#v) = %v, want %v", tc.value, tc.pattern, got, tc.want)
			}
		})
	}
}
