package pids

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A recorded process group that ignores SIGTERM is alive until Stop
// kills it; a bad line names the file and line.
func TestAliveAndStop(t *testing.T) {
	file := filepath.Join(t.TempDir(), "pids")
	cmd := exec.Command("sh", "-c", "trap '' TERM; sleep 300 & wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go cmd.Wait() // reap it, so it does not stay a zombie
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	if err := Record(file, Entry{PID: cmd.Process.Pid, Name: "stubborn"}); err != nil {
		t.Fatal(err)
	}
	alive, err := Alive(file)
	if err != nil || len(alive) != 1 || alive[0].Name != "stubborn" {
		t.Fatalf("before Stop: %v, %v; want the stubborn group", alive, err)
	}
	if err := Stop(alive, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if alive, err := Alive(file); err != nil || len(alive) != 0 {
		t.Fatalf("after Stop: %v, %v; want none", alive, err)
	}

	if err := os.WriteFile(file, []byte("12 etcd\nnot-a-pid x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(file); err == nil || !strings.Contains(err.Error(), file+`:2: want "<pid> <name>", got "not-a-pid x"`) {
		t.Errorf("bad line: %v", err)
	}
	if entries, err := Read(filepath.Join(t.TempDir(), "none")); err != nil || len(entries) != 0 {
		t.Errorf("missing file: %v, %v; want no entries", entries, err)
	}
}
