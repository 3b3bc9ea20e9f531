// Package ginkgorecords carries results-file records (conformance.SpecRecord)
// from Ginkgo specs to ReportAfterSuite, across parallel processes, as hidden
// report entries: the one place where the engine suites and the e2e suite
// attach and collect them.
package ginkgorecords

import (
	"encoding/json"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/internal/conformance"
)

// entryPrefix starts the name of a record's report entry; the engine's
// name follows, so one suite can write several results files.
const entryPrefix = "conformance-record:"

// Add attaches rec to the current spec, for the results file of engineName.
// Errors: rec cannot be encoded (it always can; the error is returned for
// the caller's Expect).
func Add(engineName string, rec *conformance.SpecRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode the record of %s: %w", rec.Name, err)
	}
	AddReportEntry(entryPrefix+engineName, string(b), ReportEntryVisibilityNever)
	return nil
}

// Collect returns the records of engineName in the report, in spec order.
// A Ginkgo spec may carry many records (e2e checks a whole evaluation in
// one). When it failed and none of its records is a failure (an
// interrupt, a timeout, an assertion outside the checks), its passed
// records become failures with Ginkgo's message, never passes; when a
// record failed, that record is the Ginkgo failure and the others keep
// their outcome. Errors: an entry that does not decode.
func Collect(r Report, engineName string) ([]*conformance.SpecRecord, error) {
	var out []*conformance.SpecRecord
	for _, sr := range r.SpecReports {
		var recs []*conformance.SpecRecord
		explained := false
		for _, e := range sr.ReportEntries {
			if e.Name != entryPrefix+engineName {
				continue
			}
			raw, ok := e.Value.GetRawValue().(string)
			if !ok {
				return nil, fmt.Errorf("record of %s: not a string entry", sr.LeafNodeText)
			}
			var rec conformance.SpecRecord
			if err := json.Unmarshal([]byte(raw), &rec); err != nil {
				return nil, fmt.Errorf("decode the record of %s: %w", sr.LeafNodeText, err)
			}
			explained = explained || rec.Outcome == engine.OutcomeFail
			recs = append(recs, &rec)
		}
		if sr.State.Is(types.SpecStateFailureStates) && !explained {
			for _, rec := range recs {
				if rec.Outcome == engine.OutcomePass {
					rec.Outcome, rec.Reason = engine.OutcomeFail, sr.FailureMessage()
				}
			}
		}
		out = append(out, recs...)
	}
	return out, nil
}
