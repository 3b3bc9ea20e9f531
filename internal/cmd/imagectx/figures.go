package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/imagectx/conformance/internal/figures"
	"github.com/imagectx/conformance/internal/report/markdown"
	"github.com/imagectx/conformance/internal/results"
)

// recordedRuns is the section of docs/figures.yaml that -record adds to.
const recordedRuns = "Recorded runs"

// figuresCmd (make figures) renders docs/figures.md from
// docs/figures.yaml; -check fails when the page is stale; -record DIR first
// adds one row per engine run found in DIR (its results-<engine>.json and
// the run time imagectx run and e2e wrote, run-<engine>.json) to the
// section "Recorded runs", with -note saying what was measured.
func figuresCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("figures", flag.ContinueOnError)
	src := fs.String("yaml", "docs/figures.yaml", "the figures, as data")
	out := fs.String("o", "docs/figures.md", "the page to write")
	check := fs.Bool("check", false, "fail when the page differs from what the data renders")
	record := fs.String("record", "", "an artifacts folder whose runs to add to "+recordedRuns)
	note := fs.String("note", "", "what the recorded runs measured (with -record), e.g. \"fresh clone, CI=true\"")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("figures: %w: %w", err, errUsage)
	}
	if fs.NArg() > 0 || (*record != "" && *check) || (*record == "") != (*note == "") {
		return fmt.Errorf("figures: want [-check] or -record DIR -note TEXT, no other arguments: %w", errUsage)
	}
	f, err := figures.Load(*src)
	if err != nil {
		return err
	}
	if *record != "" {
		n, err := recordRuns(context.Background(), f, *record, *note)
		if err != nil {
			return err
		}
		data, err := f.Marshal()
		if err != nil {
			return err
		}
		if err := os.WriteFile(*src, data, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "figures: %d run(s) of %s recorded in %s\n", n, *record, *src)
	}
	return writeOrCheck(stdout, *out, *check, f.Markdown(), "make figures")
}

// runTime is run-<engine>.json: how long an engine's run took.
type runTime struct {
	Engine  string  `json:"engine"`
	Seconds float64 `json:"seconds"`
}

// writeRunTime writes dir/run-<engine>.json for each engine.
func writeRunTime(dir string, seconds float64, engines ...string) error {
	for _, e := range engines {
		b, err := json.Marshal(runTime{Engine: e, Seconds: seconds})
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "run-"+e+".json"), append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// recordRuns adds a row per results file in dir (with its run time when
// dir has one) to recordedRuns. Errors: no results file, one that does
// not read.
func recordRuns(ctx context.Context, f *figures.File, dir, note string) (int, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "results-*.json"))
	if err != nil {
		return 0, err
	}
	if len(paths) == 0 {
		return 0, fmt.Errorf("figures: no results-*.json in %s", dir)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(paths))) // Add puts each first: the table lists them by engine.
	// The commit that ran: the checkout the folder is in (a fresh clone's
	// _artifacts), else this one.
	commit, err := git(ctx, dir, "rev-parse", "--short=7", "HEAD")
	if err != nil {
		root, rootErr := repoRoot()
		if rootErr != nil {
			return 0, rootErr
		}
		if commit, err = git(ctx, root, "rev-parse", "--short=7", "HEAD"); err != nil {
			return 0, err
		}
	}
	date := time.Now().UTC().Format("2006-01-02")
	for _, p := range paths {
		rf, err := results.Read(p)
		if err != nil {
			return 0, err
		}
		wall := "-"
		b, err := os.ReadFile(filepath.Join(dir, "run-"+rf.Engine+".json"))
		switch {
		case err == nil:
			var rt runTime
			if err := json.Unmarshal(b, &rt); err != nil {
				return 0, fmt.Errorf("figures: %s: %w", filepath.Join(dir, "run-"+rf.Engine+".json"), err)
			}
			wall = fmt.Sprintf("%.0f s", rt.Seconds)
		case !errors.Is(err, os.ErrNotExist):
			return 0, err
		}
		s := rf.Summary
		cells := []string{date, "`" + commit + "`", rf.Engine, markdown.Cell(rf.Version), fmt.Sprintf("%d / %d / %d of %d", s.Pass, s.Fail, s.Unsupported, len(rf.Specs)), wall, markdown.Cell(note)}
		if err := f.Add(recordedRuns, cells); err != nil {
			return 0, err
		}
	}
	return len(paths), nil
}
