package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/internal/judge"
	"github.com/imagectx/conformance/internal/report"
	"github.com/imagectx/conformance/internal/results"
)

// scenarios is the repository's scenario folder, relative to this package.
const scenarios = "../../../scenarios"

// TestCatalogueCheck: -check passes on what the scenarios produce and fails
// on a stale or missing file, which is how CI catches a catalogue nobody
// regenerated.
func TestCatalogueCheck(t *testing.T) {
	dir := t.TempDir()
	current := filepath.Join(dir, "error-strings.md")
	if err := run([]string{"catalogue", "-o", current, scenarios}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run([]string{"catalogue", "-o", current, "-check", scenarios}, &out); err != nil {
		t.Fatalf("check of a fresh catalogue: %v", err)
	}
	if want := current + " is current\n"; out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}

	data, err := os.ReadFile(current)
	if err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, "stale.md")
	if err := os.WriteFile(stale, append(data, "| an edit by hand |\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"catalogue", "-o", stale, "-check", scenarios}, stale + " is stale: run make catalogue and commit it"},
		{[]string{"catalogue", "-o", filepath.Join(dir, "nope.md"), "-check", scenarios}, "(run make catalogue)"},
		{[]string{"catalogue", "-check", scenarios}, "-check needs -o <file>"},
		{[]string{"catalogue"}, "catalogue: want scenario folders"},
		{[]string{"matrix"}, "matrix: want the folder of the results files"},
		{[]string{"matrix", dir}, "no results-*.json in " + dir},
		{[]string{"nope"}, `unknown command "nope"; want run, report, matrix, catalogue, migration, compare, verdict`},
		{[]string{"verdict"}, "verdict: want -kyverno-src"},
		{[]string{"verdict", "-kyverno-src", dir}, "is not a git checkout"},
	} {
		err := run(tc.args, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run %q: %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
	// A file named like a results file that is not one.
	if err := os.WriteFile(filepath.Join(dir, "results-x.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"matrix", dir}, filepath.Join(dir, "results-x.json") + ": not a results file"},
	} {
		err := run(tc.args, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run %q: %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}

// The counts of a Ginkgo JUnit report: specs by status, setup nodes apart.
func TestJUnitCounts(t *testing.T) {
	p := filepath.Join(t.TempDir(), "junit.xml")
	report := `<?xml version="1.0" encoding="UTF-8"?>
<testsuites><testsuite name="e2e">
<testcase name="[BeforeSuite]" status="passed"></testcase>
<testcase name="[It] a" status="passed"></testcase>
<testcase name="[It] b" status="failed"></testcase>
<testcase name="[It] c" status="timedout"></testcase>
<testcase name="[It] d" status="skipped"></testcase>
<testcase name="[AfterSuite]" status="failed"></testcase>
</testsuite></testsuites>`
	if err := os.WriteFile(p, []byte(report), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := junitCounts(p)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.String(), "1 passed, 2 failed, 1 skipped; 1 suite setup or teardown node(s) failed"; got != want {
		t.Errorf("counts %q, want %q", got, want)
	}
}

// TestReportFormats: report -format writes each format from results files
// and scenarios (compare of two results files included), names what a
// format is missing, and refuses an unknown format with the known ones.
func TestReportFormats(t *testing.T) {
	a := writeResults(t, "inprocess", engine.Capabilities{Version: "v1.19.1"}, []*results.SpecRecord{
		{Name: "f/b/p/r/app", File: "f", Binding: "b", Outcome: engine.OutcomePass},
	})
	b := writeResults(t, "kyverno", engine.Capabilities{Version: "v1.19.1"}, []*results.SpecRecord{
		{Name: "f/b/p/r/app", File: "f", Binding: "b", Policy: "p", Rule: "r", Resource: "app", Outcome: engine.OutcomeFail, Reason: "want skip, got error"},
	})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "-format", "matrix", "-results", a, "-results", b}, "| f / b | pass (1) | **fail** 1/1: p/r/app: want skip, got error |"},
		{[]string{"report", "-format", "compare", "-results", a, "-results", b}, "| pass → fail | 1 |"},
		{[]string{"report", "-format", "catalogue", scenarios}, "# Error-string catalogue"},
	} {
		var out bytes.Buffer
		if err := run(tc.args, &out); err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		if !strings.Contains(out.String(), tc.want) {
			t.Errorf("%q lacks %q:\n%s", tc.args, tc.want, out.String())
		}
	}
	for _, tc := range []struct {
		args []string
		want error
		text string
	}{
		{[]string{"report", "-format", "compare", "-results", a}, report.ErrMissingInput, "report compare: want two runs or two results files"},
		{[]string{"report", "-format", "verdict"}, report.ErrMissingInput, "imagectx verdict assembles it"},
		{[]string{"report", "-format", "sarif"}, errUsage, `unknown report format "sarif"; want one of [matrix catalogue migration compare verdict]`},
	} {
		err := run(tc.args, &bytes.Buffer{})
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%q: %v, want %v containing %q", tc.args, err, tc.want, tc.text)
		}
	}
}

// figures -record adds a row per results file of a folder, with the run
// time imagectx run wrote beside it, then renders the page; -check fails
// on a page edited by hand.
func TestFiguresRecord(t *testing.T) {
	dir := t.TempDir()
	src, page := filepath.Join(dir, "figures.yaml"), filepath.Join(dir, "figures.md")
	yaml := "intro: |\n  i\nsections:\n  - title: Recorded runs\n    columns: [date, commit, engine, version, pass / fail / unsupported, wall, what was measured]\n    rows: []\n"
	if err := os.WriteFile(src, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	runs := filepath.Join(dir, "artifacts")
	rf := results.NewFile("inprocess", engine.Capabilities{Version: "v1.19.1"}, judge.Options{}, []*results.SpecRecord{
		{Name: "a", Outcome: engine.OutcomePass}, {Name: "b", Outcome: engine.OutcomeUnsupported},
	})
	if _, err := results.Write(runs, rf); err != nil {
		t.Fatal(err)
	}
	if err := writeRunTime(runs, 21.4, "inprocess"); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"figures", "-yaml", src, "-o", page, "-record", runs, "-note", "a | test"}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if want := "| inprocess | v1.19.1 | 1 / 0 / 1 of 2 | 21 s | a \\| test |"; !strings.Contains(string(md), want) {
		t.Errorf("page lacks %q:\n%s", want, md)
	}
	if err := run([]string{"figures", "-yaml", src, "-o", page, "-check"}, &bytes.Buffer{}); err != nil {
		t.Errorf("check of the page just written: %v", err)
	}
	if err := os.WriteFile(page, append(md, "edited\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"figures", "-yaml", src, "-o", page, "-check"}, &bytes.Buffer{}); err == nil {
		t.Error("a page edited by hand passed -check")
	}
	if err := run([]string{"figures", "-yaml", src, "-record", runs}, &bytes.Buffer{}); !errors.Is(err, errUsage) {
		t.Errorf("-record without -note: %v, want a usage error", err)
	}
}
