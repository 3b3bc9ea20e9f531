package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/imagectx/conformance/engine/admission"
)

// runCmd (imagectx run, make conformance) runs the whole specification on
// one engine, by name, in one process:
//
//   - inprocess, kyverno (and any engine engine/engines opens without a
//     cluster): the conformance suite (./suites/conformance), compiled once
//     into the cache (make suite-bin, which honours KYVERNO_SRC; -suite-bin
//     names a binary already built), run precompiled by Ginkgo with
//     ENGINE=<name>. Its results-<engine>.json is removed first, so a run
//     that cannot load the scenarios leaves no older one behind.
//   - admission, background-scan: the scenario specs of the e2e suite
//     (label area:scenarios), which start a cluster (-provider) and open
//     both engines there (imagectx e2e, after imagectx e2e-build).
//
// The arguments after the flags are Ginkgo's flags (each starts with
// "-"). It fails (exit status 1) when the suite fails.
func runCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	engineName := fs.String("engine", "inprocess", "the engine, by name (engine/engines: inprocess, kyverno, admission, background-scan)")
	artifacts := fs.String("artifacts", artifactsDir(), "where the results file, the JUnit report and the matrix go")
	labelFilter := fs.String("label-filter", "", "Ginkgo label filter for the specs")
	suiteBin := fs.String("suite-bin", "", "the compiled conformance suite (default: make suite-bin builds it or finds it current)")
	provider := fs.String("provider", "local", "the cluster provider of admission and background-scan (e2e/README.md)")
	ginkgo := fs.String("ginkgo", "go tool ginkgo", "the ginkgo command")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("run: %w: %w", err, errUsage)
	}
	if *engineName == "" {
		return fmt.Errorf("run: -engine is empty: %w", errUsage)
	}
	if err := ginkgoFlagsOnly(fs.Args()); err != nil {
		return fmt.Errorf("run: %w: %w", err, errUsage)
	}
	cluster := *engineName == admission.NameAdmission || *engineName == admission.NameBackgroundScan
	// A flag for the other kind of engine would be ignored: refuse it.
	var wrong []string
	fs.Visit(func(f *flag.Flag) {
		if (f.Name == "provider" && !cluster) || (f.Name == "suite-bin" && cluster) {
			wrong = append(wrong, "-"+f.Name)
		}
	})
	if len(wrong) > 0 {
		return fmt.Errorf("run: %s: not read for -engine %s (-provider is for admission and background-scan, -suite-bin for the others): %w", strings.Join(wrong, ", "), *engineName, errUsage)
	}
	dir, err := filepath.Abs(*artifacts)
	if err != nil {
		return err
	}
	if cluster {
		return runCluster(stdout, *engineName, *provider, dir, *labelFilter, *ginkgo, fs.Args())
	}
	st, err := newSteps(stdout, "run "+*engineName)
	if err != nil {
		return err
	}
	bin := *suiteBin
	if bin == "" {
		// ENGINE decides whether make links KYVERNO_SRC in (in process only).
		if bin, err = st.makePath(context.Background(), "suite-bin-path", "ENGINE="+*engineName); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	results := filepath.Join(dir, "results-"+*engineName+".json")
	if err := os.Remove(results); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	fmt.Fprintf(stdout, "==> conformance suite on ENGINE=%s (reports in %s)\n", *engineName, dir)
	cmd := ginkgoCommand(*ginkgo, fs.Args(), *labelFilter, bin)
	cmd.Dir = st.root
	cmd.Env = append(os.Environ(), "ENGINE="+*engineName, "ARTIFACTS="+dir)
	cmd.Stdout, cmd.Stderr = stdout, stdout
	start := time.Now()
	runErr := runForwarding(cmd)
	// The run's time beside its results (make figures RECORD=... reads it).
	if _, err := os.Stat(results); err == nil {
		if err := writeRunTime(dir, time.Since(start).Seconds(), *engineName); err != nil {
			return err
		}
	}
	if err := runErr; err != nil {
		var se *startError
		if errors.As(err, &se) {
			return fmt.Errorf("run: %w", err)
		}
		return fmt.Errorf("run: the conformance suite on %s failed (exit %d; results in %s)", *engineName, exitStatus(err), dir)
	}
	return nil
}

// ginkgoFlagsOnly refuses arguments that are not flags or flag values:
// Ginkgo would read one as a package to run. A word right after a flag
// written without "=" is that flag's value (--timeout 50m).
func ginkgoFlagsOnly(args []string) error {
	for i, a := range args {
		if strings.HasPrefix(a, "-") {
			continue
		}
		if i > 0 && strings.HasPrefix(args[i-1], "-") && !strings.Contains(args[i-1], "=") {
			continue
		}
		return fmt.Errorf("%q after the flags: want Ginkgo flags only (each starts with -, a value after its flag)", a)
	}
	return nil
}

// runCluster runs the e2e suite's scenario specs: both cluster engines at
// once (one cluster serves both).
func runCluster(stdout io.Writer, engineName, provider, dir, labelFilter, ginkgo string, ginkgoFlags []string) error {
	st, err := newSteps(stdout, "run "+engineName)
	if err != nil {
		return err
	}
	st.say("%s runs in a cluster: make e2e's scenario specs (PROVIDER=%s; background-scan and admission together)", engineName, provider)
	if err := e2eBuild(context.Background(), stdout, st.root, provider, false); err != nil {
		return err
	}
	// A run that cannot load the scenarios must not leave older results.
	for _, name := range []string{admission.NameAdmission, admission.NameBackgroundScan} {
		if err := os.Remove(filepath.Join(dir, "results-"+name+".json")); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	filter := "area:scenarios"
	if labelFilter != "" {
		filter += " && (" + labelFilter + ")"
	}
	args := []string{"-provider", provider, "-artifacts", dir, "-ginkgo", ginkgo, "-label-filter", filter, "--"}
	return e2eCmd(append(args, ginkgoFlags...), stdout)
}

// ginkgoCommand is the command line ginkgo (a command and its leading
// arguments, split at spaces: "go tool ginkgo") with the user's Ginkgo
// flags, the label filter (when not "") and then tail (the suite last).
func ginkgoCommand(ginkgo string, flags []string, labelFilter string, tail ...string) *exec.Cmd {
	argv := append(strings.Fields(ginkgo), flags...)
	if labelFilter != "" {
		argv = append(argv, "--label-filter="+labelFilter)
	}
	argv = append(argv, tail...)
	return exec.Command(argv[0], argv[1:]...)
}

// startError is a command that did not start (not found, not
// executable): no exit status to report.
type startError struct{ err error }

func (e *startError) Error() string { return e.err.Error() }
func (e *startError) Unwrap() error { return e.err }

// runForwarding runs cmd to its end in a process group of its own; an
// interrupt or termination this process receives is passed on to that
// whole group once (go tool, the ginkgo command and the suite it runs),
// so the suite stops its registries and writes its reports before the
// command returns. Errors: *startError, or cmd's exit.
func runForwarding(cmd *exec.Cmd) error {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return &startError{fmt.Errorf("%s: %w", cmd.Path, err)}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// One key press can arrive twice (from the terminal and from go run,
	// which relays it); Ginkgo reads a second interrupt as "bail out
	// without cleanup", so a repeat within a second is not passed on.
	last := map[os.Signal]time.Time{}
	for {
		select {
		case sig := <-sigs:
			if time.Since(last[sig]) > time.Second {
				last[sig] = time.Now()
				_ = syscall.Kill(-cmd.Process.Pid, sig.(syscall.Signal))
			}
		case err := <-done:
			return err
		}
	}
}
