package e2e

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/admission"
	"github.com/imagectx/conformance/fakeregistry"
	"github.com/imagectx/conformance/internal/conformance"
	"github.com/imagectx/conformance/internal/scenario"
)

// The scenarios run at admission through the admission engine
// (engine/admission) and are checked by conformance.Check, as the engine
// suites check theirs: the fault scenarios (scenarios/faults), the
// admission matrix (scenarios/admission: failureAction x failurePolicy x
// catchError, the webhook timeout, with the API server's exact answers),
// the request's own policy (scenarios/rules/issue-14302.yaml), public
// registry host names and two registries in one file. Files that check no
// admission answer run as Audit copies (every rule result reaches the
// PolicyReport, nothing is blocked); files that do run as written. Some
// also run as a background scan (the Pods first, the policies as written).

// admissionFiles run at admission besides scenarios/faults, scenarios/cel and
// scenarios/admission.
var admissionFiles = []string{"rules/issue-14302", "registries/public-hosts", "registries/two-registries"}

// notAtAdmission are files under the folders above that make e2e does not
// run at admission, with the reason their specs are reported unsupported.
var notAtAdmission = map[string]string{
	"cel/faults/server-error": "the CEL image-data loader retries 500 for about 5 s per lookup and the webhook evaluates the file's " +
		"policies one after the other, so the API server's 10 s webhook timeout ends the review first: no PolicyReport entry " +
		"under failurePolicy Ignore, a timeout denial under Fail (docs/kyverno-facts.md section 8)",
	"cel/faults/rate-limited": "the CEL image-data loader retries 429 for about 5 s per lookup and the webhook evaluates the file's " +
		"policies one after the other, so the API server's 10 s webhook timeout ends the review first: no PolicyReport entry " +
		"under failurePolicy Ignore, a timeout denial under Fail (docs/kyverno-facts.md section 8)",
}

// backgroundRuns are the files (and bindings; none: all) that run as a
// background scan as well: files whose policies scan in the background as
// written.
var backgroundRuns = map[string][]string{
	"rules/issue-14302": nil,
	"cel/issue-14302":   nil,
	// Not its ignore binding: a matchCondition that errors under
	// failurePolicy Ignore is a skip at admission and in process, but the
	// background scan writes no entry for it (seen 2026-12-06).
	"cel/faults/missing-tag": {"fail"},
	"cel/faults/present":     nil,
	"admission/check-image":  {"audit-ignore", "audit-ignore-catch"},
}

func atAdmission(f *scenario.File) bool {
	if _, excluded := notAtAdmission[f.Name]; excluded {
		return false
	}
	return strings.HasPrefix(f.Name, "faults/") || strings.HasPrefix(f.Name, "admission/") || strings.HasPrefix(f.Name, "cel/") || slices.Contains(admissionFiles, f.Name)
}

func inBackground(f *scenario.File, b *scenario.Binding) bool {
	bindings, ok := backgroundRuns[f.Name]
	return ok && (bindings == nil || slices.Contains(bindings, b.Name))
}

// notRun is why make e2e does not run a spec of file in the named engine.
func notRun(name, file string) string {
	if why, ok := notAtAdmission[file]; ok {
		return fmt.Sprintf("not run by make e2e (%s): %s", name, why)
	}
	var bg []string
	for f, bs := range backgroundRuns {
		if bs == nil {
			bg = append(bg, f)
		} else {
			bg = append(bg, fmt.Sprintf("%s (%s)", f, strings.Join(bs, ", ")))
		}
	}
	slices.Sort(bg)
	return fmt.Sprintf("not run by make e2e (%s): it runs scenarios/faults, scenarios/admission, scenarios/cel and %s at admission, %s as a background scan",
		name, strings.Join(admissionFiles, ", "), strings.Join(bg, ", "))
}

func scenarioEntries(process admission.Process) []TableEntry {
	var entries []TableEntry
	for _, f := range allScenarioFiles {
		if !atAdmission(f) {
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
	runnable := 0
	for _, s := range specs {
		if why, fatal := conformance.Unsupported(s, caps, eng.Name(), opts); why == "" || fatal {
			runnable++
		}
	}
	if runnable == 0 {
		why, _ := conformance.Unsupported(specs[0], caps, eng.Name(), opts)
		for _, s := range specs {
			r, _ := conformance.Unsupported(s, caps, eng.Name(), opts)
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
	})
	AddReportEntry("evaluation", fmt.Sprintf("%s in %s: %d results, %d answers", ev.Key, ev.Duration.Round(time.Millisecond), len(ev.Results), len(ev.Admissions)))
	var failures []string
	unsupported := 0
	for _, s := range specs {
		out := conformance.Check(s, ev, caps, eng.Name(), opts)
		addRecord(eng.Name(), conformance.Record(s, ev, out))
		switch out.Outcome {
		case engine.OutcomeFail:
			failures = append(failures, fmt.Sprintf("%s: %s (%s)", s.Name, out.Reason, s.Where()))
		case engine.OutcomeUnsupported:
			unsupported++
		}
	}
	Expect(failures).To(BeEmpty())
	if unsupported == len(specs) && errors.Is(ev.Err, engine.ErrUnsupportedInput) {
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
