// Package pids keeps the PID file of the processes make e2e starts and
// checks it from outside the test binary: which recorded processes (or
// members of their process groups) still run, and stops them by PID. It
// has no dependencies, so the harness's command can check a run without
// linking the cluster providers.
package pids

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Entry is one recorded process: "<pid> <name>" in the PID file.
type Entry struct {
	PID  int
	Name string
}

func (e Entry) String() string { return fmt.Sprintf("%d %s", e.PID, e.Name) }

// Record appends e to the PID file at path (created when missing).
func Record(path string, e Entry) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(f, e); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Read returns the entries of the PID file at path; a missing file has
// none. Errors: a line that is not "<pid> <name>" (its file and line).
func Read(path string) ([]Entry, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Entry
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		pid, err := strconv.Atoi(f[0])
		if err != nil || pid <= 0 {
			return out, fmt.Errorf("%s:%d: want \"<pid> <name>\", got %q", path, i+1, line)
		}
		out = append(out, Entry{PID: pid, Name: strings.Join(f[1:], " ")})
	}
	return out, nil
}

// Alive lists the entries of the PID file at path that still run: the
// process or a member of its process group runs; zombies (exited, not
// yet reaped) do not count.
func Alive(path string) ([]Entry, error) {
	entries, err := Read(path)
	var alive []Entry
	for _, e := range entries {
		if Running(e.PID) || len(GroupMembers(e.PID)) > 0 {
			alive = append(alive, e)
		}
	}
	return alive, err
}

// Stop ends each entry's process group by PID: SIGTERM, then SIGKILL to
// whatever still runs after grace. Errors: a group still running after
// SIGKILL.
func Stop(entries []Entry, grace time.Duration) error {
	for _, e := range entries {
		signalGroup(e.PID, syscall.SIGTERM)
	}
	deadline := time.Now().Add(grace)
	for _, e := range entries {
		for (Running(e.PID) || len(GroupMembers(e.PID)) > 0) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
	}
	var errs []error
	for _, e := range entries {
		signalGroup(e.PID, syscall.SIGKILL)
		for end := time.Now().Add(5 * time.Second); len(GroupMembers(e.PID)) > 0 || Running(e.PID); {
			if time.Now().After(end) {
				errs = append(errs, fmt.Errorf("%s: still running after SIGKILL", e))
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return errors.Join(errs...)
}

// signalGroup sends sig to process group pgid, or to the process alone
// when it leads no group.
func signalGroup(pgid int, sig syscall.Signal) {
	if syscall.Kill(-pgid, sig) != nil {
		_ = syscall.Kill(pgid, sig)
	}
}

// GroupMembers lists the running (non-zombie) processes of process group
// pgid, from /proc.
func GroupMembers(pgid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if state, pgrp, ok := procStat(pid); ok && state != 'Z' && pgrp == pgid {
			out = append(out, pid)
		}
	}
	return out
}

// Running reports whether process pid exists and is not a zombie.
func Running(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	state, _, ok := procStat(pid)
	return !ok || state != 'Z'
}

// procStat reads a process's state letter and process group from
// /proc/<pid>/stat; ok is false when the file cannot be read or parsed.
func procStat(pid int) (state byte, pgrp int, ok bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	// After the parenthesised command name (which may hold spaces and
	// parentheses): state ppid pgrp ...
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 3 || len(f[0]) != 1 {
		return 0, 0, false
	}
	g, err := strconv.Atoi(f[2])
	if err != nil {
		return 0, 0, false
	}
	return f[0][0], g, true
}
