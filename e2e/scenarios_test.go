package e2e

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/admission"
	"github.com/imagectx/conformance/fakeregistry"
	"github.com/imagectx/conformance/internal/conformance"
	"github.com/imagectx/conformance/internal/scenario"
)

// Every scenario file (scenarios/ and the folders given with SCENARIOS=)
// runs at admission through the admission engine (engine/admission) and
// as a background scan, and is checked by conformance.Check, as the engine
// suites check theirs. Files that check no admission answer run as Audit
// copies (every rule result reaches the PolicyReport, nothing is blocked);
// files that do run as written. A background scan creates the resources
// first, then the policies as Audit copies scanning in the background. A
// spec whose inputs the path cannot take (Secrets, logins, ConfigMaps,
// patched resources...) is unsupported with that capability's reason;
// the files and bindings below are left out, each with the reason its
// specs report.

// notAtAdmission are files make e2e does not run at admission, with the
// reason their specs are reported unsupported.
var notAtAdmission = map[string]string{
	"cel/faults/server-error": "the CEL image-data loader retries 500 for about 5 s per lookup and the webhook evaluates the file's " +
		"policies one after the other, so the API server's 10 s webhook timeout ends the review first: no PolicyReport entry " +
		"under failurePolicy Ignore, a timeout denial under Fail (docs/kyverno-facts.md section 8)",
	"cel/faults/rate-limited": "the CEL image-data loader retries 429 for about 5 s per lookup and the webhook evaluates the file's " +
		"policies one after the other, so the API server's 10 s webhook timeout ends the review first: no PolicyReport entry " +
		"under failurePolicy Ignore, a timeout denial under Fail (docs/kyverno-facts.md section 8)",
}

// notInBackground are files (and bindings; "" is every binding) make e2e
// does not run as a background scan, with the reason.
var notInBackground = map[string]map[string]string{
	"rules/mutate-then-validate": {"": "a background scan creates the resources before the policies, so no mutate rule patches " +
		"the resource its validate rule reads (at admission it does)"},
}

// backgroundGaps are specs a background scan cannot show, whatever their
// file (checked in order; the first that matches gives the reason).
var backgroundGaps = []struct {
	applies func(*scenario.Spec) bool
	reason  string
}{
	{func(s *scenario.Spec) bool {
		return slices.Contains(s.Labels, "rule:mutate") && slices.Contains(s.Labels, "lang:jmespath")
	},
		"the reports controller's background scan applies a kyverno.io policy's validate and verifyImages rules only " +
			"(v1.19.1 pkg/controllers/report/utils/scanner.go); a mutate rule's result reaches a PolicyReport from admission"},
	{func(s *scenario.Spec) bool {
		return slices.Contains(s.Labels, "site:cel-match") && slices.Contains(s.Labels, "failurePolicy:Ignore") &&
			s.Row.Result == string(engine.StatusSkip)
	}, "a matchCondition that errors under failurePolicy Ignore is a skip at admission and in process, but the background " +
		"scan writes no PolicyReport entry for it (seen 2026-12-06); the format has no per-process expectation for it"},
}

// backgroundGap is why a background scan cannot show spec s ("" when it can).
func backgroundGap(s *scenario.Spec) string {
	for _, g := range backgroundGaps {
		if g.applies(s) {
			return g.reason
		}
	}
	return ""
}

func atAdmission(f *scenario.File) bool {
	_, excluded := notAtAdmission[f.Name]
	return !excluded
}

func inBackground(f *scenario.File, b *scenario.Binding) bool {
	return notInBackgroundReason(f.Name, b.Name) == ""
}

func notInBackgroundReason(file, binding string) string {
	bs := notInBackground[file]
	return cmp.Or(bs[binding], bs[""])
}

// notRun is why make e2e did not run a spec of file under binding in the
// named engine.
func notRun(name, file, binding string) string {
	why := notAtAdmission[file]
	if name == admission.NameBackgroundScan {
		why = cmp.Or(notInBackgroundReason(file, binding), why)
	}
	if why == "" {
		why = "this run's LABEL_FILTER left it out"
	}
	return fmt.Sprintf("not run by make e2e (%s): %s", name, why)
}

func scenarioEntries(process admission.Process) []TableEntry {
	var entries []TableEntry
	for _, f := range allScenarioFiles {
		if process == admission.ProcessAdmission && !atAdmission(f) {
			continue
		}
		for bi := range f.Bindings {
			b := &f.Bindings[bi]
			if process == admission.ProcessBackgroundScan && !inBackground(f, b) {
				continue
			}
			labels := []string{}
			for k, v := range f.Metadata.Labels {
				labels = append(labels, k+":"+v)
			}
			labels = append(labels, "catch:"+f.CatchMode(b), "binding:"+b.Name)
			for _, l := range f.Languages() {
				labels = append(labels, "lang:"+string(l))
			}
			decorations := []any{Label(labels...), SpecTimeout(4 * time.Minute)}
			if len(f.ServedHosts()) > 0 {
				decorations = append(decorations, Serial) // a host has one registry at a time
			}
			entries = append(entries, Entry(f.Name+"/"+b.Name, append(decorations, f, b, process)...))
		}
	}
	return entries
}

var _ = Describe("Scenarios at admission", Label("area:scenarios"), func() {
	DescribeTable("answers and reports as the scenario says", runScenario, scenarioEntries(admission.ProcessAdmission))
})

var _ = Describe("Scenarios in a background scan", Label("area:scenarios", "area:background"), func() {
	DescribeTable("reports the scenario's rule results and messages", runScenario, scenarioEntries(admission.ProcessBackgroundScan))
})

// runScenario evaluates one file under one binding with the admission
// engine of the process and checks every spec with conformance.Check; each
// spec's record goes to the results file of the engine.
func runScenario(ctx SpecContext, f *scenario.File, b *scenario.Binding, process admission.Process) {
	eng, caps := env.auditCopies, env.caps
	switch {
	case process == admission.ProcessBackgroundScan:
		eng, caps = env.background, env.backgroundCaps
	case f.ChecksAdmission():
		eng = env.asWritten
	}
	specs := specsOf(f, b)
	opts := conformance.Options{RequireCatchError: requireCatchError()}
	// unsupported is why the path cannot run spec s ("" when it can).
	unsupported := func(s *scenario.Spec) (string, bool) {
		if process == admission.ProcessBackgroundScan {
			if why := backgroundGap(s); why != "" {
				return "not in a background scan: " + why, false
			}
		}
		return conformance.Unsupported(s, caps, eng.Name(), opts)
	}
	runnable := []*scenario.Spec{}
	for _, s := range specs {
		if why, fatal := unsupported(s); why == "" || fatal {
			runnable = append(runnable, s)
		}
	}
	if len(runnable) == 0 {
		why, _ := unsupported(specs[0])
		for _, s := range specs {
			r, _ := unsupported(s)
			addRecord(eng.Name(), conformance.Record(s, nil, conformance.Outcome{Outcome: engine.OutcomeUnsupported, Reason: r}))
		}
		Skip("unsupported: " + why)
	}
	if len(f.ServedHosts()) > 0 && publicHosts == nil {
		why := f.Path + ": serves public host names, which needs the registry proxy the local provider gives its controllers (first Ginkgo process)"
		for _, s := range specs {
			addRecord(eng.Name(), conformance.Record(s, nil, conformance.Outcome{Outcome: engine.OutcomeUnsupported, Reason: why}))
		}
		Skip(why)
	}
	ev := conformance.EvaluateWith(ctx, eng, f, b, conformance.Setup{
		RegistryOptions: func(m scenario.RegistryModel) []fakeregistry.Option {
			opts := env.registryOptions()
			if len(m.Config.Hosts) > 0 {
				opts = append(opts, fakeregistry.WithCA(publicHosts.ca))
			}
			return opts
		},
		Proxy: controllerProxy(),
		// The PolicyReport entries of specs the path cannot show never
		// come; waiting for them would cost the report timeout.
		Awaited: runnable,
	})
	AddReportEntry("evaluation", fmt.Sprintf("%s in %s: %d results, %d answers", ev.Key, ev.Duration.Round(time.Millisecond), len(ev.Results), len(ev.Admissions)))
	var failures []string
	unsupportedSpecs := 0
	for _, s := range specs {
		out := conformance.Check(s, ev, caps, eng.Name(), opts)
		// A path's known gap is unsupported; REQUIRE_CATCHERROR's fatal
		// reasons stay the failures Check made them.
		if why, fatal := unsupported(s); why != "" && !fatal && out.Outcome != engine.OutcomeUnsupported {
			out = conformance.Outcome{Outcome: engine.OutcomeUnsupported, Reason: why}
		}
		addRecord(eng.Name(), conformance.Record(s, ev, out))
		switch out.Outcome {
		case engine.OutcomeFail:
			failures = append(failures, fmt.Sprintf("%s: %s (%s)", s.Name, out.Reason, s.Where()))
		case engine.OutcomeUnsupported:
			unsupportedSpecs++
		}
	}
	Expect(failures).To(BeEmpty())
	if unsupportedSpecs == len(specs) && errors.Is(ev.Err, engine.ErrUnsupportedInput) {
		Skip("unsupported: " + ev.Err.Error())
	}
}

// controllerProxy is the registry proxy the controllers use: the suite's
// (first process, local provider), or one that names its URL and cannot
// route (the other processes: specs with host names are Serial and run
// on the first).
func controllerProxy() conformance.SharedProxy {
	if publicHosts != nil {
		return publicHosts.proxy
	}
	return urlOnlyProxy(state.ProxyURL)
}

type urlOnlyProxy string

func (p urlOnlyProxy) URL() string { return string(p) }

func (p urlOnlyProxy) Route(host, _ string) (func(), error) {
	return nil, fmt.Errorf("route %s: the controllers' registry proxy is run by the first Ginkgo process only (PROVIDER=local)", host)
}
