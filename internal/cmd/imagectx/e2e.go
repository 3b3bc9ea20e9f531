package main

import (
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/imagectx/conformance/e2e/pids"
	"github.com/imagectx/conformance/engine/admission"
)

// e2eCmd runs the e2e suite (./e2e, one Ginkgo process) the way make e2e
// does, then checks from outside the test binary that every process it
// started is gone: a survivor is named, stopped by its PID and fails the
// run, also after a failed or interrupted suite. The arguments after the
// flags are Ginkgo's flags.
func e2eCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("e2e", flag.ContinueOnError)
	provider := fs.String("provider", "local", "the cluster provider: local, kind or existing (e2e/README.md)")
	artifacts := fs.String("artifacts", artifactsDir(), "where the JUnit report, e2e.log, the PID file and the results files go")
	labelFilter := fs.String("label-filter", "", "Ginkgo label filter for the specs")
	ginkgo := fs.String("ginkgo", "go tool ginkgo", "the ginkgo command")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("e2e: %w: %w", err, errUsage)
	}
	if err := ginkgoFlagsOnly(fs.Args()); err != nil {
		return fmt.Errorf("e2e: %w: %w", err, errUsage)
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	dir, err := filepath.Abs(*artifacts)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	pidFile, junit := filepath.Join(dir, "e2e-pids"), filepath.Join(dir, "e2e-junit.xml")
	if err := os.Remove(pidFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	log, err := os.Create(filepath.Join(dir, "e2e.log"))
	if err != nil {
		return err
	}
	defer log.Close()

	cmd := ginkgoCommand(*ginkgo, fs.Args(), *labelFilter, "--junit-report="+junit, "./e2e")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "PROVIDER="+*provider, "E2E_PIDFILE="+pidFile, "ARTIFACTS="+dir)
	cmd.Stdout = io.MultiWriter(stdout, log)
	cmd.Stderr = cmd.Stdout

	// An interrupt reaches Ginkgo too (the terminal's process group, or
	// forwarded here); this command stays to check the PID file after it.
	start := time.Now()
	runErr := runForwarding(cmd)
	var se *startError
	if errors.As(runErr, &se) {
		return fmt.Errorf("e2e: %w", runErr)
	}
	// The run's time beside the results it wrote (make figures RECORD=...).
	for _, name := range []string{admission.NameAdmission, admission.NameBackgroundScan} {
		if _, err := os.Stat(filepath.Join(dir, "results-"+name+".json")); err == nil {
			if err := writeRunTime(dir, time.Since(start).Seconds(), name); err != nil {
				return err
			}
		}
	}
	status := exitStatus(runErr)
	fmt.Fprintf(stdout, "e2e: PROVIDER=%s finished in %ds (exit %d); JUnit in %s\n", *provider, int(time.Since(start).Seconds()), status, junit)
	if c, err := junitCounts(junit); err == nil {
		fmt.Fprintf(stdout, "e2e: %s\n", c)
	} else {
		fmt.Fprintf(stdout, "e2e: no counts: %v\n", err)
	}
	if err := checkPIDs(stdout, pidFile); err != nil {
		return err
	}
	if runErr != nil {
		return fmt.Errorf("e2e: the suite failed (exit %d; %s)", status, filepath.Join(dir, "e2e.log"))
	}
	return nil
}

// checkPIDs stops every process in the PID file that still runs and
// fails when there was one.
func checkPIDs(stdout io.Writer, pidFile string) error {
	started, err := pids.Read(pidFile)
	if err != nil {
		return fmt.Errorf("e2e: %w", err)
	}
	if len(started) == 0 {
		fmt.Fprintf(stdout, "e2e: no processes were started (no %s)\n", pidFile)
		return nil
	}
	alive, err := pids.Alive(pidFile)
	if err != nil {
		return fmt.Errorf("e2e: %w", err)
	}
	if len(alive) == 0 {
		fmt.Fprintf(stdout, "e2e: all %d started processes are gone\n", len(started))
		return nil
	}
	stopErr := pids.Stop(alive, 5*time.Second)
	return errors.Join(fmt.Errorf("e2e: processes still running after the suite, stopped by PID: %v", alive), stopErr)
}

// counts are the Ginkgo specs of a JUnit report by outcome; setup is the
// failed setup nodes (BeforeSuite, AfterSuite, ReportAfterSuite).
type counts struct{ passed, failed, skipped, setupFailed int }

func (c counts) String() string {
	s := fmt.Sprintf("%d passed, %d failed, %d skipped", c.passed, c.failed, c.skipped)
	if c.setupFailed > 0 {
		s += fmt.Sprintf("; %d suite setup or teardown node(s) failed", c.setupFailed)
	}
	return s
}

// junitCounts reads a Ginkgo JUnit report: its [It] test cases by status
// (passed, skipped, pending; anything else failed) and its failed setup
// nodes.
func junitCounts(path string) (counts, error) {
	var rep struct {
		Cases []struct {
			Name   string `xml:"name,attr"`
			Status string `xml:"status,attr"`
		} `xml:"testsuite>testcase"`
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return counts{}, err
	}
	if err := xml.Unmarshal(b, &rep); err != nil {
		return counts{}, fmt.Errorf("%s: %w", path, err)
	}
	var c counts
	for _, tc := range rep.Cases {
		spec := strings.HasPrefix(tc.Name, "[It]")
		switch {
		case tc.Status == "passed" && spec:
			c.passed++
		case tc.Status == "skipped" || tc.Status == "pending":
			c.skipped++
		case tc.Status == "passed":
		case spec:
			c.failed++
		default:
			c.setupFailed++
		}
	}
	return c, nil
}
