package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunSuite: run gives Ginkgo its flags, the label filter and the suite
// binary last, names the engine and the artifacts folder in the suite's
// environment, removes an older results file first, and fails with the
// suite's exit status. A script stands in for Ginkgo and records what it
// was given.
func TestRunSuite(t *testing.T) {
	dir := t.TempDir()
	record := filepath.Join(dir, "ginkgo-args")
	fake := filepath.Join(dir, "ginkgo")
	script := "#!/bin/sh\necho \"ENGINE=$ENGINE ARTIFACTS=$ARTIFACTS $*\" > " + record + "\nexit ${FAKE_GINKGO_EXIT:-0}\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	artifacts := filepath.Join(dir, "artifacts")
	old := filepath.Join(artifacts, "results-kyverno.json")
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(old, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"run", "-engine", "kyverno", "-artifacts", artifacts, "-suite-bin", "/suite.test", "-ginkgo", fake,
		"-label-filter", "fault:missing", "--", "--keep-going", "--timeout", "5m"}
	if err := run(args, &bytes.Buffer{}); err != nil {
		t.Fatalf("run: %v", err)
	}
	got, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	want := "ENGINE=kyverno ARTIFACTS=" + artifacts + " --keep-going --timeout 5m --label-filter=fault:missing /suite.test\n"
	if string(got) != want {
		t.Errorf("ginkgo got\n%q, want\n%q", got, want)
	}
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the older results file is still there (%v): a run that loads nothing would leave it for the matrix", err)
	}

	t.Setenv("FAKE_GINKGO_EXIT", "1")
	err = run(args, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "the conformance suite on kyverno failed (exit 1") {
		t.Errorf("a failing suite: %v, want its exit status", err)
	}
	for _, bad := range [][]string{
		{"run", "-engine", ""},
		{"run", "-engine", "kyverno", "-provider", "kind"},
		{"run", "-engine", "admission", "-suite-bin", "/suite.test"},
		{"run", "-engine", "kyverno", "--", "inprocess"},
		{"run", "-engine", "kyverno", "--", "--keep-going=true", "./suites/conformance"},
		{"e2e", "--", "./suites/conformance"},
	} {
		if err := run(bad, &bytes.Buffer{}); !errors.Is(err, errUsage) {
			t.Errorf("%q: %v, want a usage error", bad, err)
		}
	}
}

// A termination this process receives reaches the whole process group of
// the command once (a grandchild included), and a command that cannot
// start is a *startError.
func TestRunForwarding(t *testing.T) {
	dir := t.TempDir()
	ready, got := filepath.Join(dir, "ready"), filepath.Join(dir, "got")
	// The grandchild traps TERM and records it; the shell waits for it.
	script := "sh -c 'trap \"echo term >> " + got + "; exit 0\" TERM; touch " + ready + "; while :; do sleep 0.1; done' & wait"
	cmd := exec.Command("sh", "-c", script)
	done := make(chan error, 1)
	go func() { done <- runForwarding(cmd) }()
	// Whatever happens, no process of the group outlives the test.
	t.Cleanup(func() {
		if cmd.Process != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the command did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for range 2 {
		if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatal("the group did not end after SIGTERM")
	}
	// The grandchild runs its trap when its sleep ends (at most 0.1 s).
	var b []byte
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if b, _ = os.ReadFile(got); len(b) > 0 {
			break
		}
	}
	if string(b) != "term\n" {
		t.Errorf("the grandchild recorded %q, want one term", b)
	}
	var se *startError
	if err := runForwarding(exec.Command(filepath.Join(dir, "no-such-command"))); !errors.As(err, &se) {
		t.Errorf("a missing command: %v, want *startError", err)
	}
}
