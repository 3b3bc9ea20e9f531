package mutants

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const entries = `package entries

func Add(m map[string]any, n int) string {
	m["failed"] = n + 1
	record(m)
	logger.Info("added")
	switch n {
	case 2:
		return "two"
	}
	if s := "x" + "y"; s == "xy" {
		return "joined"
	}
	_ = fmt.Sprintf("%s: %d", m["ref"], n)
	return ""
}
`

func TestGenerateOperators(t *testing.T) {
	ms, got := generated(t, "example.test/entries", "entries.go", entries)
	want := []string{
		`string-literal entries.go:4: -"failed" +"failed-MUTATED"`,
		"arithmetic entries.go:4: -+ +-",
		"remove-call entries.go:5: -record(m) +",
		`string-literal entries.go:9: -"two" +"two-MUTATED"`,
		"negate-condition entries.go:11: -== +!=",
		`string-literal entries.go:11: -"xy" +"xy-MUTATED"`,
		`string-literal entries.go:12: -"joined" +"joined-MUTATED"`,
		`swap-arguments entries.go:14: -m["ref"], n +n, m["ref"]`,
		`string-literal entries.go:14: -"ref" +"ref-MUTATED"`,
		`string-literal entries.go:15: -"" +"-MUTATED"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("mutants:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, m := range ms {
		if m.Package() != "example.test/entries" || m.FileSum == "" {
			t.Errorf("%s: package %q, file sum %q", m.ID, m.Package(), m.FileSum)
		}
	}
}

func TestCoverageFilter(t *testing.T) {
	profile := "mode: count\n" +
		"example.test/calc/calc.go:6.24,7.11 1 3\n" +
		"example.test/calc/calc.go:7.11,9.3 1 1\n" +
		"example.test/calc/calc.go:14.24,15.12 1 0\n"
	cov, err := ParseCoverage(strings.NewReader(profile))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := Generate("example.test/calc", "calc.go", []byte(calc))
	if err != nil {
		t.Fatal(err)
	}
	covered, uncovered := cov.Filter(ms)
	if len(covered) != 2 || len(uncovered) != 3 || covered[0].Line != 7 {
		t.Errorf("covered %v, uncovered %v: want the two mutants of line 7 covered", covered, uncovered)
	}
	if _, err := ParseCoverage(strings.NewReader("mode: count\nnot a block\n")); err == nil {
		t.Error("a broken profile: want an error")
	}
}

func TestEquivalents(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "equivalent.yaml")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ms, _ := Generate("example.test/calc", "calc.go", []byte(calc))
	eq, err := LoadEquivalents(write(`- id: ` + ms[1].ID + `
  mutant: "calc.go:7: -> +>="
  reason: Max(a, a) is a either way
`))
	if err != nil {
		t.Fatal(err)
	}
	results := []Result{{Mutant: ms[1], Status: Lived}, {Mutant: ms[3], Status: Lived}, {Mutant: ms[0], Status: Killed}}
	if err := eq.Mark(results); err != nil {
		t.Fatal(err)
	}
	if results[0].Equivalent == "" || results[1].Equivalent != "" {
		t.Errorf("marked %q and %q; want only the first", results[0].Equivalent, results[1].Equivalent)
	}
	rep := NewReport("calc", 5, 3, results, time.Now())
	if rep.Total.Equivalent != 1 || rep.Total.Lived != 1 || rep.Total.KillRate() != 50 {
		t.Errorf("tally %+v", rep.Total)
	}
	stale, _ := LoadEquivalents(write("- {id: " + ms[1].ID + ", mutant: \"calc.go:8: -> +>=\", reason: r}\n"))
	if err := stale.Mark(results); err == nil || !strings.Contains(err.Error(), "the list says") {
		t.Errorf("a stale entry: error %v", err)
	}
	for body, want := range map[string]string{
		"- id: m\n  mutant: x\n": "equivalent.yaml:1: want id, mutant",
		"- {id: m, mutant: x, reason: r}\n- {id: m, mutant: x, reason: s}\n": "equivalent.yaml:2: mutant m is listed twice",
		"module: m\n": "equivalent.yaml:1: want a list",
	} {
		if _, err := LoadEquivalents(write(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", body, err, want)
		}
	}
}

// TestCacheKeepsWhatStands: a killed result stands for any specification,
// a lived one only for the one that judged it; the file reopens.
func TestCacheKeepsWhatStands(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache.json")
	c, err := OpenCache(path)
	if err != nil {
		t.Fatal(err)
	}
	ms, _ := Generate("example.test/calc", "calc.go", []byte(calc))
	if err := c.Put(Result{Mutant: ms[0], Status: Killed, Spec: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(Result{Mutant: ms[1], Status: Lived, Spec: "a"}); err != nil {
		t.Fatal(err)
	}
	reopened, err := OpenCache(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		m    Mutant
		spec string
		want bool
	}{{ms[0], "b", true}, {ms[1], "a", true}, {ms[1], "b", false}, {ms[2], "a", false}} {
		if _, ok := reopened.Get(tc.m, tc.spec); ok != tc.want {
			t.Errorf("%s under spec %s: cached %v, want %v", tc.m.Diff(), tc.spec, ok, tc.want)
		}
	}
	for _, tc := range []struct {
		m    Mutant
		eq   Equivalents
		want bool
	}{{ms[0], nil, false}, {ms[1], nil, true}, {ms[1], Equivalents{ms[1].ID: {}}, false}, {ms[2], nil, false}} {
		if got := reopened.Survives(tc.m, tc.eq); got != tc.want {
			t.Errorf("%s (equivalents %v): survives %v, want %v", tc.m.Diff(), tc.eq, got, tc.want)
		}
	}
	if a, b := Shuffle(ms, 3), Shuffle(ms, 3); len(a) != len(ms) || a[0] != b[0] || a[len(a)-1] != b[len(b)-1] {
		t.Errorf("Shuffle is not reproducible")
	}
}

// TestEquivalentsFile: the project's list loads, and each entry's mutant
// line is one the generator can make (file:line: -old +new).
func TestEquivalentsFile(t *testing.T) {
	eq, err := LoadEquivalents("equivalent.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(eq) == 0 {
		t.Fatal("no entries")
	}
	for id, e := range eq {
		if len(id) != 12 || !strings.Contains(e.diff, ": -") || e.reason == "" {
			t.Errorf("%s: %q: want a 12-digit ID, a report line and a reason", id, e.diff)
		}
	}
}
