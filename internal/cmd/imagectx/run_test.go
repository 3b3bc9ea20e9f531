package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		"-label-filter", "fault:missing", "--", "--keep-going", "--randomize-all"}
	if err := run(args, &bytes.Buffer{}); err != nil {
		t.Fatalf("run: %v", err)
	}
	got, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	want := "ENGINE=kyverno ARTIFACTS=" + artifacts + " --keep-going --randomize-all --label-filter=fault:missing /suite.test\n"
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
	if err := run([]string{"run", "-engine", ""}, &bytes.Buffer{}); !errors.Is(err, errUsage) {
		t.Errorf("an empty engine: %v, want a usage error", err)
	}
}
