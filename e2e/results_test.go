package e2e

import (
	"fmt"
	"os"
	"sync"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/admission"
	"github.com/imagectx/conformance/internal/judge"
	"github.com/imagectx/conformance/internal/results"
	"github.com/imagectx/conformance/internal/scenario"
	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"
)

// The e2e scenario specs write the same results file as the engine suites,
// one per admission engine: results-admission.json (PolicyReport entries
// of the admission review and the API server's answers) and
// results-background-scan.json, so the conformance matrix and make compare
// show them next to the other engines.

// specsOf are the specs of f under b.
func specsOf(f *scenario.File, b *scenario.Binding) []*scenario.Spec {
	var out []*scenario.Spec
	for _, s := range scenario.Specs([]*scenario.File{f}) {
		if s.Binding == b {
			out = append(out, s)
		}
	}
	return out
}

// recordBook keeps the records of the specs checked, by the Ginkgo spec
// (full text) that checked them, until the results files are written.
type recordBook struct {
	mu     sync.Mutex
	bySpec map[string][]engineRecord
}

type engineRecord struct {
	engine string
	rec    *results.SpecRecord
}

// add files rec, for the results file of engineName, under the current
// Ginkgo spec.
func (r *recordBook) add(engineName string, rec *results.SpecRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bySpec == nil {
		r.bySpec = map[string][]engineRecord{}
	}
	key := CurrentSpecReport().FullText()
	r.bySpec[key] = append(r.bySpec[key], engineRecord{engineName, rec})
}

// collect returns the records of engineName in the report's spec order.
// A Ginkgo spec that failed without a failing record (an interrupt, a
// timeout, an assertion outside the checks) turns its passes into
// failures with Ginkgo's message (results.FailUnexplained).
func (r *recordBook) collect(rep Report, engineName string) []*results.SpecRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*results.SpecRecord
	for _, sr := range rep.SpecReports {
		var recs []*results.SpecRecord
		for _, er := range r.bySpec[sr.FullText()] {
			if er.engine == engineName {
				recs = append(recs, er.rec)
			}
		}
		if sr.State.Is(types.SpecStateFailureStates) {
			results.FailUnexplained(recs, sr.FailureMessage())
		}
		out = append(out, recs...)
	}
	return out
}

// writeResults writes results-admission.json and
// results-background-scan.json: every spec of the specification, those
// make e2e did not run unsupported with the reason, never left out.
func (s *suite) writeResults(rep Report) {
	dir := os.Getenv("ARTIFACTS")
	if dir == "" || s.env == nil {
		return
	}
	for _, x := range []struct {
		name string
		caps engine.Capabilities
	}{{admission.NameAdmission, s.env.caps}, {admission.NameBackgroundScan, s.env.backgroundCaps}} {
		collected := s.records.collect(rep, x.name)
		if len(collected) == 0 {
			continue // a label filter left this engine out
		}
		recs := map[string]*results.SpecRecord{}
		for _, rec := range collected {
			recs[rec.Name] = rec
		}
		var all []*results.SpecRecord
		for _, sp := range scenario.Specs(s.files) {
			if rec, ok := recs[sp.Name]; ok {
				all = append(all, rec)
				continue
			}
			all = append(all, results.Record(sp, nil, judge.Outcome{Outcome: engine.OutcomeUnsupported, Reason: notRun(x.name)}))
		}
		rf := results.NewFile(x.name, x.caps, s.opts, all)
		path, err := results.Write(dir, rf)
		Expect(err).NotTo(HaveOccurred())
		fmt.Fprintf(GinkgoWriter, "results: %s (pass %d, fail %d, unsupported %d)\n", path, rf.Summary.Pass, rf.Summary.Fail, rf.Summary.Unsupported)
	}
}
