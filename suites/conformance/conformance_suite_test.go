// Package conformance_test turns every scenario under scenarios/ (and the
// folders in SCENARIOS) into Ginkgo specs against the engine chosen by
// ENGINE (default "inprocess": Kyverno's engine in process). See suites/README.md.
package conformance_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/engines"
	"github.com/imagectx/conformance/fakeregistry/proxy"
	"github.com/imagectx/conformance/internal/judge"
	"github.com/imagectx/conformance/internal/report"
	"github.com/imagectx/conformance/internal/report/matrix"
	"github.com/imagectx/conformance/internal/results"
	"github.com/imagectx/conformance/internal/run"
	"github.com/imagectx/conformance/internal/scenario"
	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// settings come from the environment (see suites/README.md).
type settings struct {
	engine    string
	dirs      []string
	artifacts string
	opts      judge.Options
	evalLimit int
}

func readSettings() (settings, error) {
	s := settings{engine: os.Getenv("ENGINE")}
	if s.engine == "" {
		s.engine = engines.Default
	}
	root, err := repoRoot()
	if err != nil {
		return s, err
	}
	if s.dirs, err = scenario.Dirs(root, os.Getenv("SCENARIOS")); err != nil {
		return s, err
	}
	s.artifacts = os.Getenv("ARTIFACTS")
	if s.artifacts == "" {
		s.artifacts = filepath.Join(root, "_artifacts")
	}
	if s.artifacts, err = filepath.Abs(s.artifacts); err != nil {
		return s, err
	}
	if s.opts, err = judge.OptionsFromEnv(os.Getenv); err != nil {
		return s, err
	}
	if v := os.Getenv("EVAL_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return s, fmt.Errorf("EVAL_CONCURRENCY=%q: want a number >= 0 (0: no limit)", v)
		}
		s.evalLimit = n
	}
	return s, nil
}

// repoRoot is two folders above this file, wherever the test binary runs
// (ginkgo may run a precompiled binary from another folder). A binary built
// with -trimpath (the KYVERNO_SRC suite) knows only the module path: then
// it is the first folder up from the working directory that holds this
// module's go.mod.
func repoRoot() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		return filepath.Abs(filepath.Join(filepath.Dir(file), "..", ".."))
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.HasPrefix(string(b), "module github.com/imagectx/conformance\n") {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no folder above %s holds the go.mod of github.com/imagectx/conformance (the scenarios are found from it)", dir)
		}
	}
}

func TestConformance(t *testing.T) {
	RegisterFailHandler(Fail)
	// Kyverno's ImageValidatingPolicy compiler logs through
	// controller-runtime's process-wide logger; with none set,
	// controller-runtime prints a stack trace ("log.SetLogger(...) was
	// never called") into the run's output.
	ctrllog.SetLogger(logr.Discard())
	set, err := readSettings()
	if err != nil {
		t.Fatal(err)
	}
	suiteConfig, reporterConfig := GinkgoConfiguration()
	if suiteConfig.ParallelTotal > 1 {
		// Evaluations are I/O-bound and run concurrently in this one
		// process; parallel processes would each need every result.
		t.Fatalf("run the conformance suite in one process (without -p or --procs): its evaluations already run concurrently")
	}
	files, err := scenario.LoadDirs(set.dirs...)
	if err != nil {
		t.Fatal(err)
	}
	if err := scenario.CheckEngines(files, engines.Names()); err != nil {
		t.Fatal(err)
	}
	eng, err := engines.Open(set.engine)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	caps, err := eng.Capabilities(ctx)
	cancel()
	if err != nil {
		t.Fatalf("engine %s capabilities: %v", eng.Name(), err)
	}
	if reporterConfig.JUnitReport == "" {
		reporterConfig.JUnitReport = filepath.Join(set.artifacts, "junit-"+eng.Name()+".xml")
	}

	// One proxy that routes no host guards every evaluation whose
	// registries serve no host name, and is this process's HTTPS_PROXY:
	// Kyverno's own registry clients (in process) read the process's proxy,
	// so they keep a non-loopback host on loopback too (refused, 403).
	// Set before any request reads the environment (net/http reads it once).
	guard, err := proxy.Start(nil)
	if err != nil {
		t.Fatalf("start the guard proxy: %v", err)
	}
	defer guard.Close()
	for _, v := range []string{"HTTPS_PROXY", "HTTP_PROXY"} {
		t.Setenv(v, guard.URL())
	}
	for _, v := range []string{"NO_PROXY", "no_proxy", "https_proxy", "http_proxy"} {
		t.Setenv(v, "")
	}
	r := &suiteRun{eng: eng, caps: caps, set: set, evals: run.NewEvaluations(), setup: run.Setup{Guard: guard}, records: map[string]*results.SpecRecord{}}
	specs := scenario.Specs(files)
	r.declare(specs)
	// Ginkgo's own filters (labels, focus, skip) say which specs will run;
	// their evaluations start now, all at once (each with its own fake
	// registry, so retries and deadlines overlap), and specs only check.
	preview := PreviewSpecs("imageRegistry conformance on "+eng.Name(), suiteConfig)
	r.prefetch(specs, preview)
	RunSpecs(t, "imageRegistry conformance on "+eng.Name(), suiteConfig, reporterConfig)
	if err := r.writeReports(files); err != nil {
		t.Error(err)
	}
}

// suiteRun is one suite run: the engine, its evaluations and the records of
// the specs checked, kept in memory until the reports are written.
type suiteRun struct {
	eng   engine.Engine
	caps  engine.Capabilities
	set   settings
	evals *run.Evaluations
	setup run.Setup
	// unsupported is each spec's unsupported decision, made once.
	unsupported map[*scenario.Spec]unsupported
	mu          sync.Mutex
	records     map[string]*results.SpecRecord
}

type unsupported struct {
	why   string
	fatal bool // REQUIRE_CATCHERROR=1: a failure, not unsupported
}

// prefetch starts the evaluations of the specs the preview says will run
// and the engine can run.
func (r *suiteRun) prefetch(specs []*scenario.Spec, preview Report) {
	willRun := map[string]bool{}
	for _, sr := range preview.SpecReports {
		if sr.LeafNodeType == types.NodeTypeIt && sr.State != types.SpecStateSkipped && sr.State != types.SpecStatePending {
			willRun[sr.LeafNodeText] = true
		}
	}
	seen := map[string]bool{}
	var jobs []run.Job
	for _, s := range specs {
		if u := r.unsupported[s]; (u.why != "" && !u.fatal) || !willRun[s.Name] || seen[s.EvalKey()] {
			continue
		}
		seen[s.EvalKey()] = true
		jobs = append(jobs, r.job(s))
	}
	r.evals.Prefetch(run.SlowFirst(jobs), r.set.evalLimit)
}

// job is the evaluation spec s is checked against.
func (r *suiteRun) job(s *scenario.Spec) run.Job {
	return run.Job{Engine: r.eng, File: s.File, Binding: s.Binding, Setup: r.setup}
}

func (r *suiteRun) record(rec *results.SpecRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records[rec.Name] = rec
}

func (r *suiteRun) declare(specs []*scenario.Spec) {
	r.unsupported = map[*scenario.Spec]unsupported{}
	var entries []TableEntry
	for _, s := range specs {
		why, fatal := judge.Unsupported(s, r.caps, r.eng.Name(), r.set.opts)
		r.unsupported[s] = unsupported{why, fatal}
		timeout := 2*s.File.Deadline() + 2*time.Minute
		entries = append(entries, Entry(s.Name, Label(s.Labels...), SpecTimeout(timeout), s))
	}

	DescribeTable("scenario", func(ctx SpecContext, s *scenario.Spec) {
		if u := r.unsupported[s]; u.why != "" && !u.fatal {
			r.record(results.Record(s, nil, judge.Outcome{Outcome: engine.OutcomeUnsupported, Reason: u.why}))
			Skip("unsupported: " + u.why)
		}
		ev, err := r.evals.Get(ctx, r.job(s))
		Expect(err).NotTo(HaveOccurred())
		out := judge.Check(s, ev, r.caps, r.eng.Name(), r.set.opts)
		rec := results.Record(s, ev, out)
		r.record(rec)
		if out.Outcome == engine.OutcomeFail {
			AddReportEntry("actual", actual(rec, out, results.SecretMasker(s.File)), ReportEntryVisibilityFailureOrVerbose)
			Fail(fmt.Sprintf("%s\n(%s)", rec.Reason, s.Where()))
		}
	}, entries)
}

// writeReports writes the results file of the specs that ran and the
// conformance matrix of every engine's results in ARTIFACTS (this run's
// from memory), and prints a summary (engines, failing specs, where the
// matrix is).
func (r *suiteRun) writeReports(files []*scenario.File) error {
	r.mu.Lock()
	recs := make([]*results.SpecRecord, 0, len(r.records))
	for _, rec := range r.records {
		recs = append(recs, rec)
	}
	r.mu.Unlock()
	rf := results.NewFile(r.eng.Name(), r.caps, r.set.opts, recs)
	path, err := results.Write(r.set.artifacts, rf)
	if err != nil {
		return err
	}
	fmt.Printf("results: %s (pass %d, fail %d, unsupported %d)\n", path, rf.Summary.Pass, rf.Summary.Fail, rf.Summary.Unsupported)
	if err := writeMigration(filepath.Join(r.set.artifacts, "migration.md"), files, rf); err != nil {
		return err
	}
	return matrix.WriteSummary(os.Stdout, r.set.artifacts, rf)
}

// writeMigration writes the migration report of this run (the legacy
// scenario families beside their CEL translations).
func writeMigration(path string, files []*scenario.File, rf *results.File) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := report.Save(f, report.Migration, report.Input{Scenarios: files, Results: []*results.File{rf}}); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Printf("migration report: %s\n", path)
	return nil
}

// actual renders what the engine returned, for the failure report, with
// the scenario's passwords masked as in the record.
func actual(rec *results.SpecRecord, out judge.Outcome, mask func(string) string) string {
	var b strings.Builder
	if rec.Got == nil {
		b.WriteString("no result for this rule and resource\n")
	} else {
		fmt.Fprintf(&b, "status: %s\nmessage: %s\n", rec.Got.Status, rec.Got.Message)
		if rec.Got.Context != nil {
			ctx, _ := json.MarshalIndent(rec.Got.Context, "", "  ")
			fmt.Fprintf(&b, "context: %s\n", ctx)
		}
	}
	for _, o := range out.Others {
		fmt.Fprintf(&b, "also: %s: %s\n", o.Status, mask(o.Message))
	}
	if a := rec.Admission; a != nil {
		fmt.Fprintf(&b, "admission: allowed %t, message %q, warnings %q, %d ms\n", a.Allowed, a.Message, a.Warnings, a.DurationMS)
	}
	fmt.Fprintf(&b, "registry: %s\n", rec.Registry)
	return b.String()
}
