package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/imagectx/conformance/internal/mutants"
	"github.com/imagectx/conformance/internal/report"
	"github.com/imagectx/conformance/internal/report/verdict"
	"github.com/imagectx/conformance/internal/results"
)

// errSpecsFail is verdict's error when a spec fails at a site that ran
// (the verdict is written first).
var errSpecsFail = errors.New("specs fail")

// verdict judges a Kyverno checkout at every site: it builds what the
// checkout needs (its CLI, its controllers and install manifest, the
// conformance suite with the checkout linked in place of the pinned
// module), runs the whole specification in process (pinned release and
// checkout), through the checkout's CLI and at admission and in a
// background scan (make e2e, local provider), each with
// REQUIRE_CATCHERROR=1, and writes one Markdown verdict. The builds are
// cached by the checkout's commit, so a second run builds nothing.
func verdictCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("verdict", flag.ContinueOnError)
	src := fs.String("kyverno-src", "", "the Kyverno checkout to judge (a git checkout)")
	artifacts := fs.String("artifacts", artifactsDir(), "where the runs go: <artifacts>/verdict-<commit>/")
	out := fs.String("o", "", "the verdict to write (default <artifacts>/verdict-<commit>/verdict.md)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("verdict: %w: %w", err, errUsage)
	}
	if *src == "" || fs.NArg() > 0 {
		return fmt.Errorf("verdict: want -kyverno-src /path/to/kyverno/checkout (a git checkout) and no arguments: %w", errUsage)
	}
	ctx := context.Background()
	checkout, err := filepath.Abs(*src)
	if err != nil {
		return err
	}
	commit, err := git(ctx, checkout, "rev-parse", "HEAD")
	if err != nil {
		return fmt.Errorf("verdict: -kyverno-src %s is not a git checkout: %w", *src, err)
	}
	subject, err := git(ctx, checkout, "log", "-1", "--format=%s")
	if err != nil {
		return err
	}
	st, err := newSteps(stdout, "verdict "+commit[:12])
	if err != nil {
		return err
	}
	harness, err := git(ctx, st.root, "rev-parse", "--short=12", "HEAD")
	if err != nil {
		return err
	}
	dir, err := filepath.Abs(filepath.Join(*artifacts, "verdict-"+commit[:12]))
	if err != nil {
		return err
	}
	if *out == "" {
		*out = filepath.Join(dir, "verdict.md")
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	srcVar := "KYVERNO_SRC=" + checkout

	st.say("judging %s at %s (%s); reports in %s", checkout, commit, subject, dir)
	st.say("build: the checkout's Kyverno CLI (cached by commit)")
	cli, err := st.path(ctx, []string{srcVar}, "tools/kyverno/build.sh")
	if err != nil {
		return fmt.Errorf("verdict: the checkout's CLI does not build: %w", err)
	}
	st.say("build: the checkout's admission and reports controllers and its install manifest")
	if err := st.make(ctx, "", "e2e-build", "PROVIDER=local", srcVar); err != nil {
		return fmt.Errorf("verdict: the checkout's controllers do not build: %w", err)
	}
	st.say("build: the conformance suite with the checkout linked in place of the pinned module")
	suiteLog := filepath.Join(dir, "suite-build.log")
	inSuiteErr := st.make(ctx, suiteLog, "suite-bin", "ENGINE=inprocess", srcVar)
	if inSuiteErr != nil {
		st.say("the suite does not build with the checkout linked in (the in-process site is not run): %s", lastLines(readFile(suiteLog), 5))
	}
	if err := st.make(ctx, filepath.Join(dir, "suite-build-pinned.log"), "suite-bin", "KYVERNO_SRC="); err != nil {
		return fmt.Errorf("verdict: the pinned suite does not build: %w", err)
	}

	v := verdict.Verdict{Checkout: checkout, Commit: commit, Subject: subject, Harness: harness,
		Command: "make verdict KYVERNO_SRC=" + checkout}
	// runs are the suite runs, in report order; a run whose specs fail
	// still writes its results file, which is what the verdict reads.
	type siteRun struct {
		name, say, target string
		vars              []string
		results           string
	}
	runs := []siteRun{
		{"", "the pinned release in process (the baseline)", "conformance",
			[]string{"ENGINE=inprocess", "KYVERNO_SRC=", "ARTIFACTS=" + filepath.Join(dir, "pinned")}, filepath.Join(dir, "pinned", "results-inprocess.json")},
	}
	if inSuiteErr == nil {
		runs = append(runs, siteRun{"in process", "the checkout in process", "conformance",
			[]string{"ENGINE=inprocess", srcVar, "REQUIRE_CATCHERROR=1", "ARTIFACTS=" + filepath.Join(dir, "inprocess")}, filepath.Join(dir, "inprocess", "results-inprocess.json")})
	} else {
		v.Sites = append(v.Sites, verdict.Site{Name: "in process", NotRun: lastLines(readFile(suiteLog), 6)})
	}
	runs = append(runs,
		siteRun{"CLI", "the checkout's CLI (" + cli + ")", "conformance",
			[]string{"ENGINE=kyverno", "KYVERNO_CLI=" + cli, "KYVERNO_SRC=", "REQUIRE_CATCHERROR=1", "ARTIFACTS=" + filepath.Join(dir, "cli")}, filepath.Join(dir, "cli", "results-kyverno.json")},
		siteRun{"admission", "at admission and in a background scan (make e2e, local provider, the scenarios)", "e2e",
			[]string{"PROVIDER=local", srcVar, "REQUIRE_CATCHERROR=1", "LABEL_FILTER=area:scenarios", "ARTIFACTS=" + filepath.Join(dir, "e2e")}, filepath.Join(dir, "e2e", "results-admission.json")},
		siteRun{"background scan", "", "", nil, filepath.Join(dir, "e2e", "results-background-scan.json")},
	)
	for _, r := range runs {
		if r.target != "" {
			st.say("run: %s", r.say)
			log := strings.TrimSuffix(r.results, filepath.Base(r.results)) + "suite.log"
			if err := st.make(ctx, log, r.target, r.vars...); err != nil {
				st.say("    %v", err)
			}
		}
		rf, err := results.Read(r.results)
		if err != nil {
			return fmt.Errorf("verdict: no results of %s: %w (see the suite.log next to it)", cmp.Or(r.name, "the pinned release"), err)
		}
		if r.name == "" {
			v.Pinned = rf
			continue
		}
		v.Sites = append(v.Sites, verdict.Site{Name: r.name, Results: rf})
		if r.name == "in process" {
			v.Branch = rf
		}
	}
	if p := newest(filepath.Join(*artifacts, "mutants.json"), filepath.Join(st.root, "docs", "mutants.json")); p != "" {
		rep, err := mutants.ReadReport(p)
		if err != nil {
			return fmt.Errorf("verdict: %w", err)
		}
		v.Power, v.PowerFile = &rep, p
	}

	st.say("write the verdict")
	var buf bytes.Buffer
	if err := report.Save(&buf, report.Verdict, report.Input{Verdict: &v}); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("verdict: %w", err)
	}
	if n := v.Failures(); n > 0 {
		return fmt.Errorf("verdict: %d spec(s) fail (%s): %w", n, *out, errSpecsFail)
	}
	fmt.Fprintf(stdout, "verdict: no spec fails (%s)\n", *out)
	return nil
}

// newest is the most recently written of the files that exist ("" when
// none does).
func newest(paths ...string) string {
	best, bestTime := "", int64(0)
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.ModTime().UnixNano() > bestTime {
			best, bestTime = p, fi.ModTime().UnixNano()
		}
	}
	return best
}

// lastLines are the last n non-empty lines of s, joined by " / ".
func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}
