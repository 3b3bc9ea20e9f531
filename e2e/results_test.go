package e2e

import (
	"fmt"
	"os"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/admission"
	"github.com/imagectx/conformance/internal/conformance"
	"github.com/imagectx/conformance/internal/ginkgorecords"
	"github.com/imagectx/conformance/internal/scenario"
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

// addRecord attaches a spec's record to the current Ginkgo spec.
func addRecord(engineName string, rec *conformance.SpecRecord) {
	Expect(ginkgorecords.Add(engineName, rec)).To(Succeed())
}

func requireCatchError() bool { return os.Getenv("REQUIRE_CATCHERROR") == "1" }

// allScenarioFiles is the whole specification, named as the engine suites
// name it (faults/missing-tag, rules/issue-14302).
var allScenarioFiles = func() []*scenario.File {
	// The suite runs in e2e/; make passes SCENARIOS relative to the root.
	dirs, err := scenario.Dirs("..", os.Getenv("SCENARIOS"))
	if err != nil {
		panic(fmt.Sprintf("e2e: %v", err))
	}
	files, err := scenario.LoadDirs(dirs...)
	if err != nil {
		panic(fmt.Sprintf("e2e: load scenarios: %v", err))
	}
	return files
}()

var _ = ReportAfterSuite("results files", func(r Report) {
	dir := os.Getenv("ARTIFACTS")
	if dir == "" || env == nil {
		return
	}
	for _, x := range []struct {
		name string
		caps engine.Capabilities
	}{{admission.NameAdmission, env.caps}, {admission.NameBackgroundScan, env.backgroundCaps}} {
		collected, err := ginkgorecords.Collect(r, x.name)
		Expect(err).NotTo(HaveOccurred())
		if len(collected) == 0 {
			continue // a label filter left this engine out
		}
		recs := map[string]*conformance.SpecRecord{}
		for _, rec := range collected {
			recs[rec.Name] = rec
		}
		// Every spec of the specification: one make e2e does not run is
		// reported as unsupported, with the reason, never left out.
		var all []*conformance.SpecRecord
		for _, s := range scenario.Specs(allScenarioFiles) {
			if rec, ok := recs[s.Name]; ok {
				all = append(all, rec)
				continue
			}
			all = append(all, conformance.Record(s, nil, conformance.Outcome{Outcome: engine.OutcomeUnsupported, Reason: notRun(x.name, s.File.Name, s.Binding.Name)}))
		}
		rf := conformance.NewResultsFile(x.name, x.caps, conformance.Options{RequireCatchError: requireCatchError()}, all)
		path, err := conformance.WriteResults(dir, rf)
		Expect(err).NotTo(HaveOccurred())
		fmt.Fprintf(GinkgoWriter, "results: %s (pass %d, fail %d, unsupported %d)\n", path, rf.Summary.Pass, rf.Summary.Fail, rf.Summary.Unsupported)
	}
})
