package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestE2EBuild: the local provider runs every build script from the root,
// shows why one builds and hides the lines that say a binary is current,
// and stops at the first script that fails, naming it. A dry run passes
// --dry-run and shows every line. Scripts that stand in for the real ones
// record their arguments.
func TestE2EBuild(t *testing.T) {
	root := t.TempDir()
	calls := filepath.Join(root, "calls")
	script := func(path, body string) {
		t.Helper()
		full := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("#!/bin/sh\necho \""+path+" $*\" >> "+calls+"\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script("tools/etcd/build.sh", "echo 'etcd v1: current (/x/etcd)' >&2\necho /x/etcd\n")
	script("tools/kube-apiserver/build.sh", "echo 'kube-apiserver v1: building (no binary for this key)' >&2\necho /x/kas\n")
	script("e2e/hack/build-kyverno.sh", "exit 0\n")

	var out bytes.Buffer
	if err := e2eBuild(context.Background(), &out, root, "local", false); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "kube-apiserver v1: building (no binary for this key)\n"; got != want {
		t.Errorf("output %q, want %q (current lines hidden, paths dropped)", got, want)
	}
	got, _ := os.ReadFile(calls)
	want := "tools/etcd/build.sh \ntools/kube-apiserver/build.sh \ne2e/hack/build-kyverno.sh kyverno\ne2e/hack/build-kyverno.sh reports-controller\ne2e/hack/build-kyverno.sh manifest\n"
	if string(got) != want {
		t.Errorf("scripts run:\n%s\nwant:\n%s", got, want)
	}

	os.Remove(calls)
	out.Reset()
	if err := e2eBuild(context.Background(), &out, root, "local", true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "etcd v1: current (/x/etcd)") {
		t.Errorf("a dry run hides %q", out.String())
	}
	if got, _ := os.ReadFile(calls); !strings.HasPrefix(string(got), "tools/etcd/build.sh --dry-run\n") {
		t.Errorf("a dry run called %q", got)
	}

	script("tools/kube-apiserver/build.sh", "echo 'no go' >&2\nexit 3\n")
	os.Remove(calls)
	err := e2eBuild(context.Background(), &bytes.Buffer{}, root, "local", false)
	if err == nil || !strings.Contains(err.Error(), "tools/kube-apiserver/build.sh: exit status 3") {
		t.Errorf("a failing script: %v", err)
	}
	if got, _ := os.ReadFile(calls); strings.Contains(string(got), "build-kyverno") {
		t.Errorf("scripts after the failing one ran: %q", got)
	}

	out.Reset()
	if err := e2eBuild(context.Background(), &out, root, "existing", true); err != nil || !strings.Contains(out.String(), "nothing to build for PROVIDER=existing") {
		t.Errorf("existing: %v, %q", err, out.String())
	}
	if err := e2eBuild(context.Background(), &out, root, "docker", false); !errors.Is(err, errUsage) {
		t.Errorf("an unknown provider: %v, want a usage error", err)
	}
}
