package ginkgorecords

import (
	"encoding/json"
	"testing"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/internal/conformance"
)

func entry(t *testing.T, name string, o engine.Outcome) types.ReportEntry {
	t.Helper()
	b, err := json.Marshal(&conformance.SpecRecord{Name: name, Outcome: o})
	if err != nil {
		t.Fatal(err)
	}
	return types.ReportEntry{Name: entryPrefix + "e", Value: types.WrapEntryValue(string(b))}
}

// A failed Ginkgo spec whose records explain the failure keeps their
// outcomes; one whose records all passed (a timeout, an interrupt) turns
// them into failures with Ginkgo's message.
func TestCollect(t *testing.T) {
	r := types.Report{SpecReports: []types.SpecReport{
		{State: types.SpecStateFailed, Failure: types.Failure{Message: "b failed"},
			ReportEntries: []types.ReportEntry{entry(t, "a", engine.OutcomePass), entry(t, "b", engine.OutcomeFail)}},
		{State: types.SpecStateTimedout, Failure: types.Failure{Message: "timed out"},
			ReportEntries: []types.ReportEntry{entry(t, "c", engine.OutcomePass), entry(t, "d", engine.OutcomeUnsupported)}},
		{State: types.SpecStatePassed, ReportEntries: []types.ReportEntry{entry(t, "e", engine.OutcomePass)}},
	}}
	recs, err := Collect(r, "e")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]engine.Outcome{"a": engine.OutcomePass, "b": engine.OutcomeFail, "c": engine.OutcomeFail, "d": engine.OutcomeUnsupported, "e": engine.OutcomePass}
	if len(recs) != len(want) {
		t.Fatalf("got %d records, want %d", len(recs), len(want))
	}
	for _, rec := range recs {
		if rec.Outcome != want[rec.Name] {
			t.Errorf("%s: %s, want %s", rec.Name, rec.Outcome, want[rec.Name])
		}
	}
	if recs[2].Reason != "timed out" {
		t.Errorf("c's reason %q, want Ginkgo's message", recs[2].Reason)
	}
}
