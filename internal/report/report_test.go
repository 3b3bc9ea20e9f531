package report

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/internal/judge"
	"github.com/imagectx/conformance/internal/report/verdict"
	"github.com/imagectx/conformance/internal/results"
	"github.com/imagectx/conformance/internal/run"
	"github.com/imagectx/conformance/internal/scenario"
	"github.com/imagectx/conformance/internal/scenario/scenariotest"
)

// TestSave: every format Formats lists has its writer (each writes its
// report's title from a full input) and says what it misses from an
// empty one; an unknown format is refused with the known ones.
func TestSave(t *testing.T) {
	off, on := scenariotest.TwoBindings(t)
	rf := results.NewFile("inprocess", engine.Capabilities{Version: "v1.19.1"}, judge.Options{}, []*results.SpecRecord{
		results.Record(off, &run.Evaluation{}, judge.Outcome{Outcome: engine.OutcomePass}),
		results.Record(on, &run.Evaluation{}, judge.Outcome{Outcome: engine.OutcomeFail, Reason: "want skip"}),
	})
	scenarios := []*scenario.File{off.File}
	inputs := map[Format]Input{
		Matrix:    {Results: []*results.File{rf}},
		Catalogue: {Scenarios: scenarios},
		Migration: {Scenarios: scenarios, Results: []*results.File{rf}},
		Compare:   {Results: []*results.File{rf, rf}},
		Verdict:   {Verdict: &verdict.Verdict{Checkout: "/src/kyverno", Commit: "0123456789abcdef"}},
	}
	full := Input{Scenarios: scenarios, Results: []*results.File{rf}, Verdict: inputs[Verdict].Verdict}
	titles := map[Format]string{
		Matrix: "# Conformance matrix", Catalogue: "# Error-string catalogue", Migration: "# Migration",
		Compare: "# Behaviour change: inprocess → inprocess", Verdict: "# Verdict",
	}
	for _, f := range Formats() {
		in := inputs[f]
		// Everything at once: what the format does not read is refused.
		if err := Save(&bytes.Buffer{}, f, full); err == nil || !strings.Contains(err.Error(), "so they would be ignored") {
			t.Errorf("%s of every input: %v, want the unread ones refused", f, err)
		}
		var b bytes.Buffer
		if err := Save(&b, f, in); err != nil {
			t.Errorf("%s: %v", f, err)
		} else if want, ok := titles[f]; !ok || !strings.HasPrefix(b.String(), want) {
			t.Errorf("%s starts %q, want %q", f, strings.SplitN(b.String(), "\n", 2)[0], want)
		}
		if err := Save(&b, f, Input{}); !errors.Is(err, ErrMissingInput) {
			t.Errorf("%s of nothing: %v, want ErrMissingInput", f, err)
		}
	}
	if err := Save(&bytes.Buffer{}, "sarif", full); err == nil || !strings.Contains(err.Error(), `unknown report format "sarif"; want one of [matrix catalogue migration compare verdict]`) {
		t.Errorf("unknown format: %v", err)
	}
	if f, err := ParseFormat("compare"); f != Compare || err != nil {
		t.Errorf("ParseFormat(compare) = %q, %v", f, err)
	}
}
