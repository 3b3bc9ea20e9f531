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
	"github.com/imagectx/conformance/internal/results"
)

// writeResults writes a results file of engineName with the records.
func writeResults(t *testing.T, engineName string, caps engine.Capabilities, recs []*results.SpecRecord) string {
	t.Helper()
	p, err := results.Write(t.TempDir(), results.NewFile(engineName, caps, judge.Options{}, recs))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func got(status, msg string) *results.Got {
	return &results.Got{Status: status, Message: msg, MessageTemplate: msg}
}

func TestCompare(t *testing.T) {
	a := writeResults(t, "reference", engine.Capabilities{Version: "reference"}, []*results.SpecRecord{
		{Name: "missing/catch-absent/check/r/app", Outcome: engine.OutcomePass, Got: got("error", "GET http://127.0.0.1:41000/v2/x: MANIFEST_UNKNOWN")},
		{Name: "missing/catch-on/check/r/app", Outcome: engine.OutcomePass, Got: got("skip", "preconditions not met")},
		{Name: "auth/catch-absent/check/r/app", Outcome: engine.OutcomePass, Got: got("error", "UNAUTHORIZED")},
		{Name: "only-a/x/r/r/p", Outcome: engine.OutcomePass},
		{Name: "both/catch-on/check/r/app", Outcome: engine.OutcomeUnsupported, Reason: "build A lacks catchError"},
		{Name: "admission/enforce/check/r/app", Outcome: engine.OutcomePass, Admission: &results.AdmissionGot{Allowed: false, Message: "denied"}},
	})
	b := writeResults(t, "kyverno", engine.Capabilities{Version: "v1.19.1"}, []*results.SpecRecord{
		// Same behaviour, another port: not a change.
		{Name: "missing/catch-absent/check/r/app", Outcome: engine.OutcomePass, Got: got("error", "GET http://127.0.0.1:52000/v2/x: MANIFEST_UNKNOWN")},
		{Name: "missing/catch-on/check/r/app", Outcome: engine.OutcomeUnsupported, Reason: "catchError: kubectl-kyverno v1.19.1 does not know imageRegistry.catchError"},
		{Name: "auth/catch-absent/check/r/app", Outcome: engine.OutcomeFail, Reason: "want error, got pass: validation rule | 'check' passed.", Got: got("pass", "validation rule 'check' passed.")},
		{Name: "only-b/x/r/r/p", Outcome: engine.OutcomePass},
		// Unsupported in both, for reasons naming different builds: not a change.
		{Name: "both/catch-on/check/r/app", Outcome: engine.OutcomeUnsupported, Reason: "build B lacks catchError"},
		{Name: "admission/enforce/check/r/app", Outcome: engine.OutcomePass, Admission: &results.AdmissionGot{Allowed: true, Warnings: []string{"careful"}}},
	})
	text := compareReport(t, a, b)
	for _, want := range []string{
		"# Behaviour change: reference → kyverno",
		"| pass | 5 | 3 |",
		"| unsupported | 1 | 2 |",
		"| fail | 0 | 1 |",
		"**5 case(s) differ** (3 changed, 1 only in reference, 1 only in kyverno). 1 case(s) are unsupported in both runs and not compared.",
		"| pass → fail | 1 |",
		"| pass → unsupported | 1 |",
		"| missing/catch-on/check/r/app | **pass**<br>`skip: preconditions not met` | **unsupported**<br>catchError: kubectl-kyverno v1.19.1 does not know imageRegistry.catchError |",
		`want error, got pass: validation rule \| 'check' passed.`,
		"| only-a/x/r/r/p | **pass** | *(not in this run)* |",
		"| admission/enforce/check/r/app | **pass**<br>`admission: denied: denied` | **pass**<br>`admission: allowed (warnings: careful)` |",
		"## Why cases are unsupported\n\n| run | cases | reason |\n|---|---:|---|\n| kyverno | 1 | catchError: kubectl-kyverno v1.19.1 does not know imageRegistry.catchError |",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "missing/catch-absent") {
		t.Errorf("a case that differs only in its port is reported:\n%s", text)
	}
	if strings.Contains(text, "both/catch-on") {
		t.Errorf("a case unsupported in both runs is reported:\n%s", text)
	}
	err := run([]string{"compare", "-o", filepath.Join(t.TempDir(), "c.md"), "-fail-on-change", a, b}, &bytes.Buffer{})
	if !errors.Is(err, errChanged) {
		t.Errorf("-fail-on-change: %v, want errChanged", err)
	}
}

func TestCompareErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`[{"a Ginkgo report": true}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	otherFormat := filepath.Join(dir, "other.json")
	if err := os.WriteFile(otherFormat, []byte(`{"format":"imagectx.conformance.results/v0","specs":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := writeResults(t, "empty", engine.Capabilities{}, nil)
	notExec := filepath.Join(dir, "kubectl-kyverno")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{bad}, "compare: want two sides, A and B (an engine name, a kubectl-kyverno path or a results-<engine>.json), got 1"},
		{[]string{bad, bad}, bad + ": not a results file"},
		{[]string{filepath.Join(dir, "nope.json"), bad}, "compare: side a: results file: stat " + filepath.Join(dir, "nope.json")},
		{[]string{empty, empty}, "no specs in the results"},
		{[]string{otherFormat, bad}, otherFormat + `: format "imagectx.conformance.results/v0", want "imagectx.conformance.results/v1"`},
		{[]string{empty, empty, "extra"}, "compare: want two sides, A and B (an engine name, a kubectl-kyverno path or a results-<engine>.json), got 3"},
		{[]string{"", empty}, "compare: side a is empty"},
		{[]string{empty, notExec}, "compare: side b: " + notExec + " is not an executable kubectl-kyverno binary"},
		{[]string{empty, filepath.Join(dir, "bin", "kubectl-kyverno")}, "compare: side b: stat " + filepath.Join(dir, "bin", "kubectl-kyverno")},
	} {
		err := run(append([]string{"compare", "-o", filepath.Join(dir, "out.md")}, tt.args...), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("compare %v = %v, want %q", tt.args, err, tt.want)
		}
	}
}

// compareReport runs compare on two results files named reference and
// kyverno and returns the Markdown report.
func compareReport(t *testing.T, a, b string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "compare.md")
	if err := run([]string{"compare", "-a-name", "reference", "-b-name", "kyverno", "-o", out, a, b}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(md)
}

// A side is a results file, a kubectl-kyverno binary, one of make e2e's
// engines, or another engine name (the suite checks it).
func TestParseSide(t *testing.T) {
	dir := t.TempDir()
	cli := filepath.Join(dir, "kubectl-kyverno")
	if err := os.WriteFile(cli, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	results := writeResults(t, "inprocess", engine.Capabilities{}, nil)
	for spec, want := range map[string]sideKind{
		results:           sideResults,
		cli:               sideCLI,
		"admission":       sideCluster,
		"background-scan": sideCluster,
		"inprocess":       sideEngine,
		"kyverno":         sideEngine,
	} {
		sd, err := parseSide("a", spec)
		if err != nil || sd.kind != want {
			t.Errorf("parseSide(%q) = %v, %v; want kind %v", spec, sd.kind, err, want)
		}
	}
}
