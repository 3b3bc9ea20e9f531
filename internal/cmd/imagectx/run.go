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
// The arguments after the flags are Ginkgo's flags. The exit status is the
// suite's.
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
	dir, err := filepath.Abs(*artifacts)
	if err != nil {
		return err
	}
	if *engineName == admission.NameAdmission || *engineName == admission.NameBackgroundScan {
		return runCluster(stdout, *engineName, *provider, dir, *labelFilter, *ginkgo, fs.Args())
	}
	st, err := newSteps(stdout, "run "+*engineName)
	if err != nil {
		return err
	}
	bin := *suiteBin
	if bin == "" {
		if bin, err = st.makePath(context.Background(), "suite-bin-path"); err != nil {
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
	if err := runForwarding(cmd); err != nil {
		return fmt.Errorf("run: the conformance suite on %s failed (exit %d; results in %s)", *engineName, exitStatus(err), dir)
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

// runForwarding runs cmd to its end; an interrupt or termination this
// process receives is passed on to it (it also reaches Ginkgo from the
// terminal's process group), so the suite stops its registries and writes
// its reports before the command returns.
func runForwarding(cmd *exec.Cmd) error {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", cmd.Path, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case sig := <-sigs:
			_ = cmd.Process.Signal(sig)
		case err := <-done:
			return err
		}
	}
}
