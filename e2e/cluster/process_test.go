package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	pidfile "github.com/imagectx/conformance/e2e/pids"
)

// A process that ignores SIGTERM and leaves a child in its group: StopAll
// must still leave nothing running, and Alive must agree.
func TestStopAllKillsGroupAndStubbornProcesses(t *testing.T) {
	dir := t.TempDir()
	pids := filepath.Join(dir, "pids")
	p := NewProcesses(dir, pids)
	p.grace = 500 * time.Millisecond
	polite, err := p.Start("polite", "sleep", []string{"300"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	stubborn, err := p.Start("stubborn", "sh", []string{"-c", "trap '' TERM; sleep 300 & wait"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	alive, err := Alive(pids)
	if err != nil || len(alive) != 2 {
		t.Fatalf("before stop: want 2 alive, got %v (%v)", alive, err)
	}
	if err := p.StopAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, proc := range []*Process{polite, stubborn} {
		if done, _ := proc.Exited(); !done {
			t.Errorf("%s (pid %d) still running", proc.Name, proc.PID)
		}
		if m := pidfile.GroupMembers(proc.PID); len(m) > 0 {
			t.Errorf("process group %d of %s still has members %v", proc.PID, proc.Name, m)
		}
	}
	if alive, err := Alive(pids); err != nil || len(alive) != 0 {
		t.Fatalf("after stop: want none alive, got %v (%v)", alive, err)
	}
}

func TestStartWritesLogAndPIDFile(t *testing.T) {
	dir := t.TempDir()
	pids := filepath.Join(dir, "pids")
	p := NewProcesses(dir, pids)
	proc, err := p.Start("echo", "sh", []string{"-c", "echo hello $GREETING_NAME"}, []string{"GREETING_NAME=e2e"})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for done, _ := proc.Exited(); !done && time.Now().Before(deadline); done, _ = proc.Exited() {
		time.Sleep(10 * time.Millisecond)
	}
	if got := proc.Tail(100); got != "hello e2e\n" {
		t.Errorf("log: got %q", got)
	}
	b, _ := os.ReadFile(pids)
	if !strings.HasSuffix(strings.TrimSpace(string(b)), " echo") {
		t.Errorf("pid file: got %q", b)
	}
	if err := p.StopAll(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestAliveRejectsMalformedPIDFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pids")
	os.WriteFile(p, []byte("123 ok\nnot-a-pid x\n"), 0o644)
	_, err := Alive(p)
	if err == nil || !strings.Contains(err.Error(), "pids:2:") {
		t.Fatalf("want an error naming line 2, got %v", err)
	}
}

func TestNewRejectsUnknownProvider(t *testing.T) {
	if _, err := New("minikube"); err == nil || !strings.Contains(err.Error(), "want local, kind or existing") {
		t.Fatalf("got %v", err)
	}
}

func TestKindWithoutEngineIsUnavailable(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no docker binary at all
	p, _ := New("kind", WithKyvernoManifest("unused"))
	_, err := p.Start(context.Background())
	u, ok := IsUnavailable(err)
	if !ok || !strings.Contains(u.Reason, "no container engine answers (`docker info`") {
		t.Fatalf("want UnavailableError naming docker info, got %v", err)
	}
}

func TestReadManifestNamesDocument(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.yaml")
	os.WriteFile(p, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {}\n"), 0o644)
	_, err := readManifest(p)
	if err == nil || !strings.Contains(err.Error(), "document 2: want kind and metadata.name") {
		t.Fatalf("got %v", err)
	}
}

func TestInsecureRegistryManifest(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "in.yaml")
	os.WriteFile(src, []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: kyverno-admission-controller, namespace: kyverno}
spec:
  template:
    spec:
      containers:
      - name: kyverno
        args: ["--allowInsecureRegistry=false", "--webhookTimeout=10", "--v=2"]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: kyverno, namespace: kyverno}
`), 0o644)
	out, err := insecureRegistryManifest(src, filepath.Join(dir, "out.yaml"), 5)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := readManifest(out)
	if err != nil || len(objs) != 2 {
		t.Fatalf("want 2 objects back, got %d (%v)", len(objs), err)
	}
	containers, _, _ := unstructured.NestedSlice(objs[0].Object, "spec", "template", "spec", "containers")
	args := containers[0].(map[string]any)["args"]
	want := []any{"--allowInsecureRegistry=true", "--webhookTimeout=5", "--v=2", ImageVerifyCacheOff}
	if fmt.Sprint(args) != fmt.Sprint(want) {
		t.Errorf("args: got %v, want %v", args, want)
	}
}
