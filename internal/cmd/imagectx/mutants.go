package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/imagectx/conformance/internal/mutants"
)

// mutantsCmd (imagectx mutants, make mutants) measures how many broken
// builds the specification catches: mutants.RunSession with its flags.
//
//	imagectx mutants [-src DIR] [-files a.go,b.go] [-contract c.go,...] [-n N] [-seed S] [-j 2] [-timeout 4m] [-o ARTIFACTS] [-uncovered] [-lived] [-report]
func mutantsCmd(args []string, stdout io.Writer) error {
	fl := flag.NewFlagSet("mutants", flag.ContinueOnError)
	src := fl.String("src", os.Getenv("KYVERNO_SRC"), "Kyverno git checkout to mutate (default: a copy of the pinned module)")
	files := fl.String("files", strings.Join(mutants.DefaultFiles, ","), "Kyverno files to mutate, relative to the checkout, comma-separated (\"\": none)")
	contract := fl.String("contract", strings.Join(mutants.ContractFiles, ","), "this project's files to mutate, comma-separated (\"\": none)")
	n := fl.Int("n", 0, "judge a sample of N mutants (0: all)")
	seed := fl.Uint64("seed", 1, "the sample's seed")
	timeout := fl.Duration("timeout", 4*time.Minute, "bound on each command per mutant (a mutant that hangs the suite times out; the unmutated suite takes under a minute)")
	out := fl.String("o", artifactsDir(), "folder for mutants.md and mutants.json")
	uncovered := fl.Bool("uncovered", false, "judge mutants on lines the suite does not execute too")
	livedOnly := fl.Bool("lived", false, "judge only the mutants whose last result is lived (after new scenarios: which survivors they kill)")
	reportOnly := fl.Bool("report", false, "judge nothing: write the report from the results judged so far")
	jobs := fl.Int("j", 2, "mutants judged side by side, each in checkouts of its own (about one per 2 cores: half a mutant's time is the suite waiting on its fake registries)")
	if err := fl.Parse(args); err != nil {
		return fmt.Errorf("mutants: %w: %w", err, errUsage)
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("mutants: unexpected arguments %q (a sample size is -n N): %w", fl.Args(), errUsage)
	}
	if *jobs < 1 {
		return fmt.Errorf("mutants: -j %d: want at least 1: %w", *jobs, errUsage)
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o := mutants.Options{Root: root, Src: *src, Files: splitList(*files), Contract: splitList(*contract),
		N: *n, Seed: *seed, Timeout: *timeout, Out: *out, Uncovered: *uncovered, LivedOnly: *livedOnly, ReportOnly: *reportOnly, Jobs: *jobs}
	if err := mutants.RunSession(ctx, o, stdout); err != nil {
		return fmt.Errorf("mutants: %w", err)
	}
	return nil
}

// splitList is a comma-separated flag's items ("": none).
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
