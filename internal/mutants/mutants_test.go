package mutants

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const calc = `package calc

import "fmt"

// Max is the larger of a and b.
func Max(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// Check refuses negative numbers.
func Check(n int) error {
	if n < 0 {
		return fmt.Errorf("negative: %d", n)
	}
	return nil
}
`

const calcTest = `package calc

import "testing"

func TestMax(t *testing.T) {
	if Max(1, 2) != 2 || Max(3, 2) != 3 {
		t.Fatal("Max")
	}
}

func TestCheck(t *testing.T) {
	if err := Check(-1); err == nil || err.Error() != "negative: -1" {
		t.Fatal(err)
	}
}
`

// generated are the mutants of src as "operator file:line: -old +new".
func generated(t *testing.T, module, name, src string) ([]Mutant, []string) {
	t.Helper()
	ms, err := Generate(module, name, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, string(m.Operator)+" "+m.Diff())
	}
	return ms, got
}

func TestGenerate(t *testing.T) {
	ms, got := generated(t, "example.test/calc", "calc.go", calc)
	want := []string{
		"negate-condition calc.go:7: -> +<=",
		"boundary calc.go:7: -> +>=",
		"negate-condition calc.go:15: -< +>=",
		"boundary calc.go:15: -< +<=",
		`error-format calc.go:16: -"negative: %d" +"MUTATED negative: %d"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("mutants:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, m := range ms {
		out, err := m.Apply([]byte(calc))
		if err != nil || string(out) == calc {
			t.Errorf("%s: Apply = %v, changed %v", m.ID, err, string(out) != calc)
		}
	}
	if _, err := ms[0].Apply([]byte("package calc\n")); err == nil {
		t.Error("Apply on a changed file: want an error")
	}
}

func TestSampleIsReproducible(t *testing.T) {
	var all []Mutant
	for i := range 20 {
		all = append(all, Mutant{ID: string(rune('a' + i))})
	}
	a, b := Sample(all, 5, 7), Sample(all, 5, 7)
	if len(a) != 5 || a[0].ID != b[0].ID || a[4].ID != b[4].ID {
		t.Errorf("Sample not reproducible: %v vs %v", a, b)
	}
	if len(Sample(all, 0, 1)) != 20 {
		t.Error("Sample(n=0) should keep all")
	}
}

// TestRunOnASmallModule judges the mutants of a module the test makes with
// go build and go test: the boundary mutant of Max is equivalent (lives),
// the others are killed; a second run comes from the cache.
func TestRunOnASmallModule(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not found")
	}
	dir := t.TempDir()
	for name, body := range map[string]string{"go.mod": "module example.test/calc\n\ngo 1.24\n", "calc.go": calc, "calc_test.go": calcTest} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"-c", "user.name=t", "-c", "user.email=t@t.invalid", "commit", "-q", "-m", "base"}} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	ms, err := Generate("example.test/calc", "calc.go", []byte(calc))
	if err != nil {
		t.Fatal(err)
	}
	cleaned := 0
	cache, err := OpenCache(filepath.Join(t.TempDir(), "cache.json"))
	if err != nil {
		t.Fatal(err)
	}
	r := &Runner{Checkout: dir, Dir: dir, Build: []string{"go", "vet", "./..."}, Judge: []string{"go", "test", "-count=1", "./..."},
		Cache: cache, Cleanup: func(string) { cleaned++ }}
	results, err := r.Run(context.Background(), ms)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Status{}
	for _, res := range results {
		got[string(res.Mutant.Operator)+" "+res.Mutant.Diff()] = res.Status
	}
	want := map[string]Status{
		"negate-condition calc.go:7: -> +<=":                               Killed,
		"boundary calc.go:7: -> +>=":                                       Lived,
		"negate-condition calc.go:15: -< +>=":                              Killed,
		"boundary calc.go:15: -< +<=":                                      Lived,
		`error-format calc.go:16: -"negative: %d" +"MUTATED negative: %d"`: Killed,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s, want %s", k, got[k], v)
		}
	}
	if cleaned != len(ms) {
		t.Errorf("Cleanup ran %d times, want %d", cleaned, len(ms))
	}
	rep := NewReport("calc", len(ms), len(ms), results, time.Now())
	if rep.Total.Killed != 3 || rep.Total.Lived != 2 || rep.Total.KillRate() != 60 {
		t.Errorf("tally %+v, rate %.1f", rep.Total, rep.Total.KillRate())
	}
	var md strings.Builder
	if err := rep.WriteMarkdown(&md); err != nil || !strings.Contains(md.String(), "**kill rate: 60.0 %**") || !strings.Contains(md.String(), "## Survivors") {
		t.Errorf("markdown: %v\n%s", err, md.String())
	}
	// Resumed: every result comes from the cache, nothing runs again.
	cleaned = 0
	again, err := r.Run(context.Background(), ms)
	if err != nil || len(again) != len(ms) || cleaned != 0 {
		t.Errorf("second run: %d results, %d cleanups, %v; want %d from the cache", len(again), cleaned, err, len(ms))
	}
	if head, _ := exec.Command("git", "-C", dir, "status", "--porcelain").Output(); len(head) != 0 {
		t.Errorf("checkout left dirty: %s", head)
	}
}
