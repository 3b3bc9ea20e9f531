package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/internal/conformance"
)

type specFixture struct {
	container, leaf string
	state           types.SpecState
	failure         string
	actual          string
}

func writeReport(t *testing.T, name string, specs []specFixture) string {
	t.Helper()
	rep := types.Report{SuiteDescription: "scenarios"}
	for _, s := range specs {
		sr := types.SpecReport{
			ContainerHierarchyTexts: []string{s.container},
			LeafNodeText:            s.leaf,
			LeafNodeType:            types.NodeTypeIt,
			State:                   s.state,
			Failure:                 types.Failure{Message: s.failure},
		}
		if s.actual != "" {
			sr.ReportEntries = append(sr.ReportEntries, types.ReportEntry{Name: "actual", Value: types.WrapEntryValue(s.actual)})
		}
		rep.SpecReports = append(rep.SpecReports, sr)
	}
	// A BeforeSuite node is not a case.
	rep.SpecReports = append(rep.SpecReports, types.SpecReport{LeafNodeType: types.NodeTypeBeforeSuite, State: types.SpecStatePassed})
	data, err := json.Marshal([]types.Report{rep})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name+".json")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCompare(t *testing.T) {
	a := writeReport(t, "a", []specFixture{
		{"missing.yaml/catch-absent", "check/Pod/default/app", types.SpecStatePassed, "", "error: GET http://127.0.0.1:41000/v2/x: MANIFEST_UNKNOWN"},
		{"missing.yaml/catch-on", "check/Pod/default/app", types.SpecStatePassed, "", "skip: preconditions not met"},
		{"auth.yaml/catch-absent", "check/Pod/default/app", types.SpecStatePassed, "", "error: UNAUTHORIZED"},
		{"only-a.yaml/x", "r/Pod/default/p", types.SpecStatePassed, "", ""},
		{"both.yaml/catch-on", "check/Pod/default/app", types.SpecStateSkipped, "unsupported: build A lacks catchError", ""},
	})
	b := writeReport(t, "b", []specFixture{
		// Same behaviour, another port: not a change.
		{"missing.yaml/catch-absent", "check/Pod/default/app", types.SpecStatePassed, "", "error: GET http://127.0.0.1:52000/v2/x: MANIFEST_UNKNOWN"},
		{"missing.yaml/catch-on", "check/Pod/default/app", types.SpecStateSkipped, "unsupported: kubectl-kyverno v1.19.1 does not know imageRegistry.catchError", ""},
		{"auth.yaml/catch-absent", "check/Pod/default/app", types.SpecStateFailed, "want error, got pass: validation rule | 'check' passed.", "pass: validation rule 'check' passed."},
		{"only-b.yaml/x", "r/Pod/default/p", types.SpecStatePassed, "", ""},
		// Unsupported in both, for reasons naming different builds: not a change.
		{"both.yaml/catch-on", "check/Pod/default/app", types.SpecStateSkipped, "unsupported: build B lacks catchError", ""},
	})
	text := compareReport(t, a, b)
	for _, want := range []string{
		"# Behaviour change: reference → kyverno",
		"| pass | 4 | 2 |",
		"| unsupported | 1 | 2 |",
		"| fail | 0 | 1 |",
		"**4 case(s) differ** (2 changed, 1 only in reference, 1 only in kyverno). 1 case(s) are unsupported in both runs and not compared.",
		"| pass → fail | 1 |",
		"| pass → unsupported | 1 |",
		"| missing.yaml/catch-on / check/Pod/default/app | **pass**<br>`skip: preconditions not met` | **unsupported**<br>unsupported: kubectl-kyverno v1.19.1 does not know imageRegistry.catchError |",
		`want error, got pass: validation rule \| 'check' passed.`,
		"| only-a.yaml/x / r/Pod/default/p | **pass** | *(not in this run)* |",
		"## Why cases are unsupported\n\n| run | cases | reason |\n|---|---:|---|\n| kyverno | 1 | unsupported: kubectl-kyverno v1.19.1 does not know imageRegistry.catchError |",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "missing.yaml/catch-absent") {
		t.Errorf("a case that differs only in its port is reported:\n%s", text)
	}
	if strings.Contains(text, "both.yaml") {
		t.Errorf("a case unsupported in both runs is reported:\n%s", text)
	}
}

func TestCompareErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"not":"a list"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	otherFormat := filepath.Join(dir, "other.json")
	if err := os.WriteFile(otherFormat, []byte(`{"format":"imagectx.conformance.results/v0","specs":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := writeReport(t, "empty", nil)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-a", bad}, "both -a and -b are required"},
		{[]string{"-a", bad, "-b", bad}, bad + ": expected a results file (format imagectx.conformance.results/v1) or a Ginkgo JSON report"},
		{[]string{"-a", filepath.Join(dir, "nope.json"), "-b", bad}, "read results of A"},
		{[]string{"-a", empty, "-b", empty}, "no specs in the results"},
		{[]string{"-a", otherFormat, "-b", bad}, otherFormat + `: format "imagectx.conformance.results/v0", want "imagectx.conformance.results/v1"`},
	}
	for _, tt := range tests {
		err := run(append(tt.args, "-o", filepath.Join(dir, "out.md")))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run(%v) = %v, want %q", tt.args, err, tt.want)
		}
	}
}

func TestCompareResultsFiles(t *testing.T) {
	write := func(engineName string, caps engine.Capabilities, recs []*conformance.SpecRecord) string {
		dir := t.TempDir()
		p, err := conformance.WriteResults(dir, conformance.NewResultsFile(engineName, caps, conformance.Options{}, recs))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("reference", engine.Capabilities{Version: "reference", CatchError: true}, []*conformance.SpecRecord{
		{Name: "faults/missing.yaml/catch-absent/deny/check/app", Outcome: "pass",
			Got: &conformance.Got{Status: "error", Message: "GET http://127.0.0.1:4000/v2/a: MANIFEST_UNKNOWN", MessageTemplate: "GET http://${REGISTRY}/v2/a: MANIFEST_UNKNOWN"}},
		{Name: "faults/missing.yaml/catch-on/deny/check/app", Outcome: "pass",
			Got: &conformance.Got{Status: "fail", Message: "denied", MessageTemplate: "denied"}},
	})
	b := write("kyverno", engine.Capabilities{Version: "v1.19.1"}, []*conformance.SpecRecord{
		{Name: "faults/missing.yaml/catch-absent/deny/check/app", Outcome: "pass",
			Got: &conformance.Got{Status: "error", Message: "GET http://127.0.0.1:5000/v2/a: MANIFEST_UNKNOWN", MessageTemplate: "GET http://${REGISTRY}/v2/a: MANIFEST_UNKNOWN"}},
		{Name: "faults/missing.yaml/catch-on/deny/check/app", Outcome: "unsupported",
			Reason: "catchError: kubectl-kyverno v1.19.1 does not know imageRegistry.catchError"},
	})
	text := compareReport(t, a, b)
	for _, want := range []string{
		"**1 case(s) differ** (1 changed, 0 only in reference, 0 only in kyverno).",
		"| faults/missing.yaml/catch-on/deny/check/app | **pass**<br>`fail: denied` | **unsupported**<br>catchError: kubectl-kyverno v1.19.1 does not know imageRegistry.catchError |",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "catch-absent") {
		t.Errorf("an unchanged case is reported:\n%s", text)
	}
}

// compareReport runs compare on two results files named reference and
// kyverno and returns the Markdown report.
func compareReport(t *testing.T, a, b string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "compare.md")
	if err := run([]string{"-a", a, "-a-name", "reference", "-b", b, "-b-name", "kyverno", "-o", out}); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(md)
}
