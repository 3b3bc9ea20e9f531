package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/imagectx/conformance/engine/admission"
	"github.com/imagectx/conformance/internal/report"
	"github.com/imagectx/conformance/internal/report/compare"
)

// errChanged is compare's error under -fail-on-change when a case differs.
var errChanged = errors.New("cases differ (-fail-on-change)")

// sideKind is what a compare side names.
type sideKind int

const (
	// sideResults: a results file of an earlier run, read as it is.
	sideResults sideKind = iota
	// sideCLI: a kubectl-kyverno binary, run as ENGINE=kyverno.
	sideCLI
	// sideEngine: an engine the conformance suite opens by name.
	sideEngine
	// sideCluster: admission or background-scan, run by make e2e.
	sideCluster
)

// side is one run of a comparison.
type side struct {
	label string // a or b: the folder under <artifacts>/compare
	spec  string // what the user gave
	kind  sideKind
}

// parseSide reads a side: a path ending in .json is a results file; an
// existing file is a kubectl-kyverno binary (it must be executable);
// admission and background-scan are make e2e's engines; any other word is
// an engine name the suite checks (it lists the ones it has).
func parseSide(label, spec string) (side, error) {
	sd := side{label: label, spec: spec}
	fi, statErr := os.Stat(spec)
	switch {
	case spec == "":
		return sd, fmt.Errorf("compare: side %s is empty; want an engine name, a kubectl-kyverno path or a results file: %w", label, errUsage)
	case strings.HasSuffix(spec, ".json"):
		if statErr != nil {
			return sd, fmt.Errorf("compare: side %s: results file: %w", label, statErr)
		}
		sd.kind = sideResults
	case statErr == nil:
		if fi.IsDir() || fi.Mode()&0o111 == 0 {
			return sd, fmt.Errorf("compare: side %s: %s is not an executable kubectl-kyverno binary", label, spec)
		}
		sd.kind = sideCLI
	case strings.ContainsRune(spec, filepath.Separator):
		return sd, fmt.Errorf("compare: side %s: %w", label, statErr)
	case spec == admission.NameAdmission || spec == admission.NameBackgroundScan:
		sd.kind = sideCluster
	default:
		sd.kind = sideEngine
	}
	return sd, nil
}

// name is the side's name in the report: what the user gave, with a
// binary's version (`kubectl-kyverno version`) when it says one.
func (sd side) name(ctx context.Context) string {
	if sd.kind != sideCLI {
		return sd.spec
	}
	out, err := exec.CommandContext(ctx, sd.spec, "version").Output()
	if err != nil {
		return sd.spec
	}
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "Version: "); ok {
			return sd.spec + " (" + strings.TrimSpace(v) + ")"
		}
	}
	return sd.spec
}

// results runs the side into dir (a results file is read where it is)
// and returns its results file. A run whose specs fail still gives its
// results; a run that writes none is an error naming its log.
func (sd side) results(ctx context.Context, st *steps, dir, provider string) (string, error) {
	if sd.kind == sideResults {
		return sd.spec, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	log := filepath.Join(dir, "suite.log")
	engineName, target, vars := sd.spec, "conformance", []string{"ARTIFACTS=" + dir}
	switch sd.kind {
	case sideCLI:
		cli, err := filepath.Abs(sd.spec)
		if err != nil {
			return "", err
		}
		engineName = "kyverno"
		vars = append(vars, "ENGINE=kyverno", "KYVERNO_CLI="+cli)
		st.say("%s: ENGINE=kyverno KYVERNO_CLI=%s (results in %s)", sd.label, cli, dir)
	case sideEngine:
		vars = append(vars, "ENGINE="+sd.spec)
		st.say("%s: ENGINE=%s (results in %s)", sd.label, sd.spec, dir)
	case sideCluster:
		target = "e2e"
		vars = append(vars, "PROVIDER="+provider, "LABEL_FILTER=area:scenarios")
		st.say("%s: %s through make e2e PROVIDER=%s (a real API server and Kyverno's controllers; results in %s)", sd.label, sd.spec, provider, dir)
	}
	runErr := st.make(ctx, log, target, vars...)
	path := filepath.Join(dir, "results-"+engineName+".json")
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("compare: the %s run wrote no %s (exit %d); last lines of %s: %s", sd.label, path, exitStatus(runErr), log, lastLines(readFile(log), 10))
	}
	st.say("%s: exit %d", sd.label, exitStatus(runErr))
	return path, nil
}

func compareCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	artifacts := fs.String("artifacts", artifactsDir(), "where each side's run goes (<artifacts>/compare/{a,b}) and the report")
	out := fs.String("o", "", "Markdown report to write (default <artifacts>/compare.md)")
	aName := fs.String("a-name", "", "name of side A in the report (default: as given)")
	bName := fs.String("b-name", "", "name of side B in the report (default: as given)")
	provider := fs.String("provider", "local", "make e2e's PROVIDER for the admission and background-scan sides")
	failOnChange := fs.Bool("fail-on-change", false, "fail when a case differs")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("compare: %w: %w", err, errUsage)
	}
	if fs.NArg() != 2 {
		return fmt.Errorf("compare: want two sides, A and B (an engine name, a kubectl-kyverno path or a results-<engine>.json), got %d: %w", fs.NArg(), errUsage)
	}
	if *out == "" {
		*out = filepath.Join(*artifacts, "compare.md")
	}
	// Both sides are read before either runs: a mistake in B must not
	// cost A's run.
	var sides [2]side
	for i, label := range []string{"a", "b"} {
		var err error
		if sides[i], err = parseSide(label, fs.Arg(i)); err != nil {
			return err
		}
	}
	ctx := context.Background()
	var st *steps
	var runs [2]compare.Run
	for i, sd := range sides {
		path := sd.spec
		if sd.kind != sideResults {
			var err error
			if st == nil {
				if st, err = newSteps(stdout, "compare"); err != nil {
					return err
				}
			}
			if path, err = sd.results(ctx, st, filepath.Join(*artifacts, "compare", sd.label), *provider); err != nil {
				return err
			}
		}
		name := []*string{aName, bName}[i]
		if *name == "" {
			*name = sd.name(ctx)
		}
		var err error
		if runs[i], err = compare.Load(*name, path); err != nil {
			return err
		}
	}
	a, b := runs[0], runs[1]
	changes := compare.Diff(a, b)
	var buf bytes.Buffer
	if err := report.Save(&buf, report.Compare, report.Input{A: &a, B: &b}); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	fmt.Fprintf(stdout, "compare: %d of %d/%d cases differ between %s and %s; report: %s\n",
		len(changes), len(a.Cases), len(b.Cases), a.Name, b.Name, *out)
	if *failOnChange && len(changes) > 0 {
		return errChanged
	}
	return nil
}

// artifactsDir is $ARTIFACTS, or _artifacts.
func artifactsDir() string {
	if d := os.Getenv("ARTIFACTS"); d != "" {
		return d
	}
	return "_artifacts"
}

// readFile is the file's text, or "" when it cannot be read.
func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}
