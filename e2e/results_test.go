package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/internal/conformance"
	"github.com/imagectx/conformance/internal/ginkgorecords"
	"github.com/imagectx/conformance/internal/scenario"
)

// The e2e scenario specs are checked by the same code as the engine suites
// (conformance.Check) and write the same results file, one per process:
// results-admission.json (Kyverno's admission controller, PolicyReport
// entries of the admission review) and results-background-scan.json, so
// the conformance matrix and make compare show them next to the other
// engines.
const (
	engineAdmission  = "admission"
	engineBackground = "background-scan"
)

func engineOf(process string) string {
	if process == processBackground {
		return engineBackground
	}
	return engineAdmission
}

// admissionCaps is what the admission path can show: PolicyReport entries
// (one per policy, rule and resource), no rule context, and only the
// registry settings the controllers were started with.
func admissionCaps(catchError bool) engine.Capabilities {
	return engine.Capabilities{
		Version:          "Kyverno admission and reports controllers (make e2e)",
		CatchError:       catchError,
		Admission:        true,
		OneResultPerRule: true,
		Unsupported: map[engine.Capability]string{
			engine.CapContext:           "a PolicyReport entry carries the rule's result and message, not its context",
			engine.CapClientDeadline:    "the webhook timeout, not a per-evaluation deadline, bounds a request",
			engine.CapSecrets:           "the controllers are given no registry Secrets",
			engine.CapConfigMaps:        "the scenario's ConfigMaps are not created in the cluster",
			engine.CapVerifyImagesPatch: "a PolicyReport entry does not carry the patched resource",
		},
	}
}

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
func addRecord(process string, rec *conformance.SpecRecord) {
	Expect(ginkgorecords.Add(engineOf(process), rec)).To(Succeed())
}

// recordUnsupported records every spec as unsupported with why.
func recordUnsupported(specs []*scenario.Spec, process, why string) {
	for _, s := range specs {
		addRecord(process, conformance.Record(s, nil, conformance.Outcome{Outcome: engine.OutcomeUnsupported, Reason: why}))
	}
}

// reportResults are every PolicyReport entry of process in ns as engine
// results (policy names without the namespace).
func reportResults(ctx context.Context, ns, process string) ([]engine.Result, error) {
	list, err := env.dyn.Resource(reportGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []engine.Result
	for _, r := range list.Items {
		kind, _, _ := unstructured.NestedString(r.Object, "scope", "kind")
		name, _, _ := unstructured.NestedString(r.Object, "scope", "name")
		results, _, _ := unstructured.NestedSlice(r.Object, "results")
		for _, x := range results {
			m, _ := x.(map[string]any)
			props, _ := m["properties"].(map[string]any)
			if p, _ := props["process"].(string); p != process {
				continue
			}
			policy, _ := m["policy"].(string)
			rule, _ := m["rule"].(string)
			status, _ := m["result"].(string)
			msg, _ := m["message"].(string)
			out = append(out, engine.Result{
				Policy: strings.TrimPrefix(policy, ns+"/"), Rule: rule,
				Resource: engine.ResourceID{Kind: kind, Name: name},
				Status:   engine.Status(status), Message: msg,
			})
		}
	}
	return out, nil
}

// allScenarioFiles is the whole specification, named as the engine suites
// name it (faults/missing-tag, rules/issue-14302).
var allScenarioFiles = func() []*scenario.File {
	files, err := scenario.LoadDirs("../scenarios")
	if err != nil {
		panic(fmt.Sprintf("e2e: load scenarios: %v", err))
	}
	return files
}()

var _ = ReportAfterSuite("results files", func(r Report) {
	dir := os.Getenv("ARTIFACTS")
	if dir == "" {
		return
	}
	for _, name := range []string{engineAdmission, engineBackground} {
		collected, err := ginkgorecords.Collect(r, name)
		Expect(err).NotTo(HaveOccurred())
		recs := map[string]*conformance.SpecRecord{}
		catchError := false
		for _, rec := range collected {
			catchError = catchError || (rec.Outcome == engine.OutcomePass && strings.Contains(strings.Join(rec.Labels, " "), "catch:on"))
			recs[rec.Name] = rec
		}
		if len(recs) == 0 {
			continue // a label filter left this process out
		}
		// Every spec of the specification: one make e2e does not run is
		// reported as unsupported, with the reason, never left out.
		var all []*conformance.SpecRecord
		for _, s := range scenario.Specs(allScenarioFiles) {
			if rec, ok := recs[s.Name]; ok {
				all = append(all, rec)
				continue
			}
			all = append(all, conformance.Record(s, nil, conformance.Outcome{Outcome: engine.OutcomeUnsupported,
				Reason: fmt.Sprintf("not run by make e2e (%s): it runs scenarios/faults and %s at admission, %s as a background scan", name, strings.Join(admissionFiles, ", "), strings.Join(backgroundFiles, ", "))}))
		}
		rf := conformance.NewResultsFile(name, admissionCaps(catchError), conformance.Options{RequireCatchError: os.Getenv("REQUIRE_CATCHERROR") == "1"}, all)
		path, err := conformance.WriteResults(dir, rf)
		Expect(err).NotTo(HaveOccurred())
		fmt.Fprintf(GinkgoWriter, "results: %s (pass %d, fail %d, unsupported %d)\n", path, rf.Summary.Pass, rf.Summary.Fail, rf.Summary.Unsupported)
	}
})
