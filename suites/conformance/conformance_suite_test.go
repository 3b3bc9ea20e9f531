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
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/engines"
	"github.com/imagectx/conformance/internal/conformance"
	"github.com/imagectx/conformance/internal/ginkgorecords"
	"github.com/imagectx/conformance/internal/scenario"
)

// settings come from the environment (see suites/README.md).
type settings struct {
	engine    string
	dirs      []string
	artifacts string
	opts      conformance.Options
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
	s.dirs = []string{filepath.Join(root, "scenarios")}
	for _, d := range filepath.SplitList(os.Getenv("SCENARIOS")) {
		if d == "" {
			continue
		}
		abs, err := filepath.Abs(d)
		if err != nil {
			return s, fmt.Errorf("SCENARIOS entry %q: %w", d, err)
		}
		if st, err := os.Stat(abs); err != nil || !st.IsDir() {
			return s, fmt.Errorf("SCENARIOS entry %q: want a folder of scenario files", d)
		}
		s.dirs = append(s.dirs, abs)
	}
	s.artifacts = os.Getenv("ARTIFACTS")
	if s.artifacts == "" {
		s.artifacts = filepath.Join(root, "_artifacts")
	}
	if s.artifacts, err = filepath.Abs(s.artifacts); err != nil {
		return s, err
	}
	switch v := os.Getenv("REQUIRE_CATCHERROR"); v {
	case "", "0", "false":
	case "1", "true":
		s.opts.RequireCatchError = true
	default:
		return s, fmt.Errorf("REQUIRE_CATCHERROR=%q: want 1 or 0", v)
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
// (ginkgo may run a precompiled binary from another folder).
func repoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return filepath.Abs(filepath.Join("..", ".."))
	}
	return filepath.Abs(filepath.Join(filepath.Dir(file), "..", ".."))
}

func TestConformance(t *testing.T) {
	RegisterFailHandler(Fail)
	set, err := readSettings()
	if err != nil {
		t.Fatal(err)
	}
	files, err := scenario.LoadDirs(set.dirs...)
	if err != nil {
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

	suiteConfig, reporterConfig := GinkgoConfiguration()
	if reporterConfig.JUnitReport == "" {
		reporterConfig.JUnitReport = filepath.Join(set.artifacts, "junit-"+eng.Name()+".xml")
	}
	specs := scenario.Specs(files)
	declareSpecs(eng, caps, set, specs, selected(suiteConfig, specs, func(s *scenario.Spec) bool {
		why, fatal := conformance.Unsupported(s, caps, eng.Name(), set.opts)
		return why == "" || fatal
	}))
	RunSpecs(t, "imageRegistry conformance on "+eng.Name(), suiteConfig, reporterConfig)
}

// selected approximates Ginkgo's filters (labels, focus, skip) to know which
// evaluations to start early, leaving out specs the engine cannot run; an
// evaluation not started here still runs when its first spec asks for it.
func selected(cfg types.SuiteConfig, specs []*scenario.Spec, runnable func(*scenario.Spec) bool) []conformance.Pair {
	match := func([]string) bool { return true }
	if cfg.LabelFilter != "" {
		f, err := types.ParseLabelFilter(cfg.LabelFilter)
		if err == nil {
			match = f
		}
	}
	compile := func(ss []string) []*regexp.Regexp {
		var out []*regexp.Regexp
		for _, s := range ss {
			if re, err := regexp.Compile(s); err == nil {
				out = append(out, re)
			}
		}
		return out
	}
	focus, skip := compile(cfg.FocusStrings), compile(cfg.SkipStrings)
	matchesAny := func(res []*regexp.Regexp, s string) bool {
		for _, re := range res {
			if re.MatchString(s) {
				return true
			}
		}
		return false
	}
	seen := map[string]bool{}
	var out []conformance.Pair
	for _, s := range specs {
		if !runnable(s) || !match(s.Labels) || (len(focus) > 0 && !matchesAny(focus, s.Name)) || matchesAny(skip, s.Name) || seen[s.EvalKey()] {
			continue
		}
		seen[s.EvalKey()] = true
		out = append(out, conformance.Pair{File: s.File, Binding: s.Binding})
	}
	return out
}

func declareSpecs(eng engine.Engine, caps engine.Capabilities, set settings, specs []*scenario.Spec, early []conformance.Pair) {
	evals := conformance.NewEvaluations(eng)

	// The first parallel process runs every selected evaluation once (each
	// with its own fake registry, concurrently, so retries and deadlines
	// overlap) and hands the results to the other processes; specs only
	// check. An evaluation nobody prefetched still runs, once per process,
	// when its first spec asks for it.
	SynchronizedBeforeSuite(func(ctx SpecContext) []byte {
		evals.Prefetch(early, set.evalLimit)
		all, err := evals.All(ctx, early)
		Expect(err).NotTo(HaveOccurred())
		b, err := json.Marshal(all)
		Expect(err).NotTo(HaveOccurred())
		return b
	}, func(b []byte) {
		var all map[string]*conformance.Evaluation
		Expect(json.Unmarshal(b, &all)).To(Succeed())
		evals.Preload(all)
	})

	ReportAfterSuite("results file", func(r Report) {
		recs, err := ginkgorecords.Collect(r, eng.Name())
		Expect(err).NotTo(HaveOccurred())
		rf := conformance.NewResultsFile(eng.Name(), caps, set.opts, recs)
		path, err := conformance.WriteResults(set.artifacts, rf)
		Expect(err).NotTo(HaveOccurred())
		fmt.Fprintf(GinkgoWriter, "results: %s (pass %d, fail %d, unsupported %d)\n", path, rf.Summary.Pass, rf.Summary.Fail, rf.Summary.Unsupported)
	})

	var entries []TableEntry
	for _, s := range specs {
		labels := append([]string{}, s.Labels...)
		timeout := 2*s.File.Deadline() + 2*time.Minute
		entries = append(entries, Entry(s.Name, Label(labels...), SpecTimeout(timeout), s))
	}

	DescribeTable("scenario", func(ctx SpecContext, s *scenario.Spec) {
		if why, fatal := conformance.Unsupported(s, caps, eng.Name(), set.opts); why != "" && !fatal {
			out := conformance.Outcome{Outcome: engine.OutcomeUnsupported, Reason: why}
			addRecord(eng.Name(), conformance.Record(s, nil, out))
			Skip("unsupported: " + why)
		}
		ev, err := evals.Get(ctx, s.File, s.Binding)
		Expect(err).NotTo(HaveOccurred())
		out := conformance.Check(s, ev, caps, eng.Name(), set.opts)
		rec := conformance.Record(s, ev, out)
		addRecord(eng.Name(), rec)
		if out.Outcome == engine.OutcomeFail {
			AddReportEntry("actual", actual(rec, out, conformance.SecretMasker(s.File)), ReportEntryVisibilityFailureOrVerbose)
			Fail(fmt.Sprintf("%s\n(%s)", rec.Reason, s.Where()))
		}
	}, entries)
}

func addRecord(engineName string, rec *conformance.SpecRecord) {
	Expect(ginkgorecords.Add(engineName, rec)).To(Succeed())
}

// actual renders what the engine returned, for the failure report, with
// the scenario's passwords masked as in the record.
func actual(rec *conformance.SpecRecord, out conformance.Outcome, mask func(string) string) string {
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
	fmt.Fprintf(&b, "registry: %s\n", rec.Registry)
	return b.String()
}
