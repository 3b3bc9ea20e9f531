package e2e

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/admission"
	"github.com/imagectx/conformance/fakeregistry"
	"github.com/imagectx/conformance/internal/judge"
	"github.com/imagectx/conformance/internal/results"
	"github.com/imagectx/conformance/internal/run"
	"github.com/imagectx/conformance/internal/scenario"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// Every scenario file (scenarios/ and the folders given with SCENARIOS=)
// runs at admission through the admission engine (engine/admission) and
// as a background scan, and is checked by judge.Check, as the engine
// suites check theirs. Files that check no admission answer run as Audit
// copies (every rule result reaches the PolicyReport, nothing is blocked);
// files that do run as written. A background scan creates the resources
// first, then the policies as Audit copies scanning in the background. A
// spec whose inputs the path cannot take (Secrets, logins, ConfigMaps,
// patched resources...) is unsupported with that capability's reason; a
// file an engine does not run at all says so (notRunBy), and the specs a
// background scan cannot show are below, each with the reason its specs
// report.

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
			s.Row.Result.Is(engine.StatusSkip)
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

// notRun is why make e2e did not run a spec in the named engine: this
// run's LABEL_FILTER left it out (the files an engine does not run at all
// say so with notRunBy, and their specs are declared and unsupported).
func notRun(name string) string {
	return fmt.Sprintf("not run by make e2e (%s): this run's LABEL_FILTER left it out", name)
}

// tables are the two Ginkgo tables of scenario specs, one per process.
var tables = []struct {
	process         admission.Process
	describe, table string
	labels          Labels
}{
	{admission.ProcessAdmission, "Scenarios at admission", "answers and reports as the scenario says", Label("area:scenarios")},
	{admission.ProcessBackgroundScan, "Scenarios in a background scan", "reports the scenario's rule results and messages", Label("area:scenarios", "area:background")},
}

// specText is the full text Ginkgo gives the spec of f under b in the
// table of process.
func specText(process admission.Process, f *scenario.File, b *scenario.Binding) string {
	for _, t := range tables {
		if t.process == process {
			return t.describe + " " + t.table + " " + f.Name + "/" + b.Name
		}
	}
	panic("e2e: no table for process " + string(process))
}

// declareScenarios declares one Ginkgo spec per file, binding and process
// (admission, background scan); each checks every spec of its evaluation.
func (s *suite) declareScenarios() {
	for _, t := range tables {
		Describe(t.describe, t.labels, func() {
			DescribeTable(t.table, s.runScenario, s.entries(t.process))
		})
	}
}

func (s *suite) entries(process admission.Process) []TableEntry {
	var entries []TableEntry
	for _, f := range s.files {
		for bi := range f.Bindings {
			b := &f.Bindings[bi]
			labels := []string{}
			for k, v := range f.Metadata.Labels {
				labels = append(labels, k+":"+v)
			}
			labels = append(labels, "catch:"+f.CatchMode(b), "binding:"+b.Name)
			for _, l := range f.Languages() {
				labels = append(labels, "lang:"+string(l))
			}
			// A spec waits for its evaluation, which may wait its turn
			// behind E2E_CONCURRENCY others; the evaluation itself is
			// bounded by the file's deadline.
			entries = append(entries, Entry(f.Name+"/"+b.Name, Label(labels...), SpecTimeout(30*time.Minute), f, b, process))
		}
	}
	return entries
}

// plan is how one file under one binding runs in one process.
type plan struct {
	job   run.Job
	specs []*scenario.Spec
	caps  engine.Capabilities
	// skip is why nothing is evaluated ("" when the job runs).
	skip string
	// unsupported is why the path cannot run a spec ("" when it can);
	// fatal: REQUIRE_CATCHERROR=1 makes it a failure.
	unsupported func(*scenario.Spec) (why string, fatal bool)
}

// plan decides the engine, the specs awaited and whether the job runs at
// all, the same way for the prefetch and for the spec.
func (s *suite) plan(f *scenario.File, b *scenario.Binding, process admission.Process) plan {
	eng, caps := s.env.auditCopies, s.env.caps
	switch {
	case process == admission.ProcessBackgroundScan:
		eng, caps = s.env.background, s.env.backgroundCaps
	case f.ChecksAdmission():
		eng = s.env.asWritten
	}
	p := plan{specs: specsOf(f, b), caps: caps}
	p.unsupported = func(sp *scenario.Spec) (string, bool) {
		// A file the engine does not run at all says so first
		// (judge.Unsupported reads notRunBy).
		if _, notRun := sp.File.NotRunBy[eng.Name()]; !notRun && process == admission.ProcessBackgroundScan {
			if why := backgroundGap(sp); why != "" {
				return "not in a background scan: " + why, false
			}
		}
		return judge.Unsupported(sp, caps, eng.Name(), s.opts)
	}
	runnable := []*scenario.Spec{}
	for _, sp := range p.specs {
		if why, fatal := p.unsupported(sp); why == "" || fatal {
			runnable = append(runnable, sp)
		}
	}
	switch {
	case len(runnable) == 0:
		why, _ := p.unsupported(p.specs[0])
		p.skip = "unsupported: " + why
	case len(f.ServedHosts()) > 0 && s.hosts == nil:
		p.skip = f.Path + ": serves public host names, which needs the registry proxy the local provider gives its controllers"
	}
	p.job = run.Job{Engine: eng, File: f, Binding: b, Setup: run.Setup{
		RegistryOptions: func(m scenario.RegistryModel) []fakeregistry.Option {
			opts := s.env.registryOptions()
			if len(m.Config.Hosts) > 0 {
				opts = append(opts, fakeregistry.WithCA(s.hosts.ca))
			}
			return opts
		},
		Proxy: s.controllerProxy(),
		// The PolicyReport entries of specs the path cannot show never
		// come; waiting for them would cost the report timeout.
		Awaited: runnable,
	}}
	return p
}

// prefetch starts the evaluations of the Ginkgo specs that will run, at
// most E2E_CONCURRENCY at a time.
func (s *suite) prefetch() {
	// Admission and background-scan jobs alternate (they load different
	// controllers), and the slow ones are spread among the quick ones.
	var jobs []run.Job
	for _, f := range s.files {
		for bi := range f.Bindings {
			b := &f.Bindings[bi]
			for _, t := range tables {
				if !s.willRun[specText(t.process, f, b)] {
					continue
				}
				if p := s.plan(f, b, t.process); p.skip == "" {
					jobs = append(jobs, p.job)
				}
			}
		}
	}
	jobs = run.SlowSpread(jobs)
	AddReportEntry("evaluations", fmt.Sprintf("%d started, %d at a time", len(jobs), s.concurrency))
	s.evals.Prefetch(jobs, s.concurrency)
}

// runScenario waits for the evaluation of one file under one binding in
// one process and checks every spec with judge.Check; each spec's
// record goes to the results file of the engine.
func (s *suite) runScenario(ctx SpecContext, f *scenario.File, b *scenario.Binding, process admission.Process) {
	p := s.plan(f, b, process)
	name := p.job.Engine.Name()
	if p.skip != "" {
		for _, sp := range p.specs {
			why, _ := p.unsupported(sp)
			if why == "" {
				why = p.skip
			}
			s.records.add(name, results.Record(sp, nil, judge.Outcome{Outcome: engine.OutcomeUnsupported, Reason: why}))
		}
		Skip(p.skip)
	}
	ev, err := s.evals.Get(ctx, p.job)
	Expect(err).NotTo(HaveOccurred())
	AddReportEntry("evaluation", fmt.Sprintf("%s in %s: %d results, %d answers", ev.Key, ev.Duration.Round(time.Millisecond), len(ev.Results), len(ev.Admissions)))
	var failures []string
	unsupportedSpecs := 0
	for _, sp := range p.specs {
		out := judge.Check(sp, ev, p.caps, name, s.opts)
		// A path's known gap is unsupported; REQUIRE_CATCHERROR's fatal
		// reasons stay the failures Check made them.
		if why, fatal := p.unsupported(sp); why != "" && !fatal && out.Outcome != engine.OutcomeUnsupported {
			out = judge.Outcome{Outcome: engine.OutcomeUnsupported, Reason: why}
		}
		s.records.add(name, results.Record(sp, ev, out))
		switch out.Outcome {
		case engine.OutcomeFail:
			failures = append(failures, fmt.Sprintf("%s: %s (%s)", sp.Name, out.Reason, sp.Where()))
		case engine.OutcomeUnsupported:
			unsupportedSpecs++
		}
	}
	Expect(failures).To(BeEmpty())
	if unsupportedSpecs == len(p.specs) && errors.Is(ev.Err, engine.ErrUnsupportedInput) {
		Skip("unsupported: " + ev.Err.Error())
	}
}

// controllerProxy is the registry proxy the controllers use (local
// provider), or one that names no URL and cannot route (kind, existing:
// Kyverno runs in the cluster, where no proxy is given to it).
func (s *suite) controllerProxy() run.SharedProxy {
	if s.hosts != nil {
		return s.hosts.proxy
	}
	return noProxy{}
}

type noProxy struct{}

func (noProxy) URL() string { return "" }

func (noProxy) Route(host, _ string) (func(), error) {
	return nil, fmt.Errorf("route %s: the controllers run in the cluster, where no registry proxy is given to them (PROVIDER=local gives one)", host)
}
