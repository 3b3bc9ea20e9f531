package conditions

import "testing"

func BenchmarkEvaluate(b *testing.B) {
	cases := []struct {
		key   any
		op    string
		value any
	}{
		{"ghcr.io/team/app:1.2.3", "Equals", "ghcr.io/*"},
		{"2Gi", "GreaterThan", "1024Mi"},
		{[]any{"a", "b"}, "AnyIn", []any{"b", "c"}},
		{"1h", "DurationLessThan", "2h"},
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range cases {
			if _, err := Evaluate(c.key, c.op, c.value); err != nil {
				b.Fatal(err)
			}
		}
	}
}
