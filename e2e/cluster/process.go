package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/imagectx/conformance/e2e/pids"
)

// Processes starts host processes in their own process groups and stops them
// by PID. Every PID it starts is also appended to a PID file so that a check
// outside the test binary (make e2e) can verify nothing is left running even
// when the test binary itself was killed.
type Processes struct {
	logDir  string
	pidFile string
	grace   time.Duration

	mu    sync.Mutex
	procs []*Process
}

// Process is one started host process.
type Process struct {
	Name    string
	PID     int
	LogPath string

	cmd  *exec.Cmd
	done chan struct{}
	err  error // valid after done is closed
}

// NewProcesses keeps logs under logDir (one <name>.log per process) and PIDs
// in pidFile ("" disables the file).
func NewProcesses(logDir, pidFile string) *Processes {
	return &Processes{logDir: logDir, pidFile: pidFile, grace: 10 * time.Second}
}

// Start runs bin with args and env (added to this process's environment).
// The child gets its own process group, so a terminal's Ctrl-C does not hit it
// before the suite's teardown does, and dies with SIGKILL if the test binary
// dies (Pdeathsig), so a hard kill leaves nothing behind either.
func (p *Processes) Start(name, bin string, args, env []string) (*Process, error) {
	if err := os.MkdirAll(p.logDir, 0o755); err != nil {
		return nil, fmt.Errorf("start %s: log dir: %w", name, err)
	}
	logPath := filepath.Join(p.logDir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	proc := &Process{Name: name, PID: cmd.Process.Pid, LogPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		proc.err = cmd.Wait()
		logFile.Close()
		close(proc.done)
	}()
	p.mu.Lock()
	p.procs = append(p.procs, proc)
	p.mu.Unlock()
	if p.pidFile != "" {
		if err := pids.Record(p.pidFile, pids.Entry{PID: proc.PID, Name: name}); err != nil {
			return proc, fmt.Errorf("start %s: record pid: %w", name, err)
		}
	}
	return proc, nil
}

// Exited reports whether the process has ended, with its wait error.
func (proc *Process) Exited() (bool, error) {
	select {
	case <-proc.done:
		return true, proc.err
	default:
		return false, nil
	}
}

// Tail returns the last n bytes of the process log, for error messages.
func (proc *Process) Tail(n int64) string {
	f, err := os.Open(proc.LogPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		f.Seek(st.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// StopAll stops every process in reverse start order: SIGTERM to its process
// group, SIGKILL after the grace period. It returns the processes that could
// not be confirmed gone.
func (p *Processes) StopAll(ctx context.Context) error {
	p.mu.Lock()
	procs := append([]*Process(nil), p.procs...)
	p.mu.Unlock()
	var errs []error
	for i := len(procs) - 1; i >= 0; i-- {
		if err := stop(ctx, procs[i], p.grace); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func stop(ctx context.Context, proc *Process, grace time.Duration) error {
	if done, _ := proc.Exited(); !done {
		if err := stopLeader(ctx, proc, grace); err != nil {
			return err
		}
	}
	// Anything the leader left in its group; wait until it is gone.
	for deadline := time.Now().Add(5 * time.Second); ; {
		members := pids.GroupMembers(proc.PID)
		if len(members) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("stop %s: process group %d still has %v after SIGKILL", proc.Name, proc.PID, members)
		}
		_ = killGroup(proc, syscall.SIGKILL)
		time.Sleep(50 * time.Millisecond)
	}
}

// stopLeader sends SIGTERM to the group, then SIGKILL after grace (or when
// ctx ends), and waits for the leader to be reaped.
func stopLeader(ctx context.Context, proc *Process, grace time.Duration) error {
	_ = killGroup(proc, syscall.SIGTERM)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-proc.done:
		return nil
	case <-timer.C:
	case <-ctx.Done():
	}
	_ = killGroup(proc, syscall.SIGKILL)
	select {
	case <-proc.done:
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("stop %s (pid %d): still running after SIGKILL", proc.Name, proc.PID)
	}
}

func killGroup(proc *Process, sig syscall.Signal) error {
	err := syscall.Kill(-proc.PID, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// Alive lists the recorded processes in pidFile that still run, as
// "pid name" (pids.Alive).
func Alive(pidFile string) ([]string, error) {
	entries, err := pids.Alive(pidFile)
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.String())
	}
	return out, err
}
