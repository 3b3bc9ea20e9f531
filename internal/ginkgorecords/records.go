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
// A spec that failed after its record was made (an interrupt, a timeout,
// a failed assertion after the check) is a failure with Ginkgo's message,
// never a pass. Errors: an entry that does not decode.
func Collect(r Report, engineName string) ([]*conformance.SpecRecord, error) {
	var out []*conformance.SpecRecord
	for _, sr := range r.SpecReports {
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
			if sr.State.Is(types.SpecStateFailureStates) && rec.Outcome == engine.OutcomePass {
				rec.Outcome, rec.Reason = engine.OutcomeFail, sr.FailureMessage()
			}
			out = append(out, &rec)
		}
	}
	return out, nil
}
