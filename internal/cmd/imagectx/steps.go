package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// steps runs the external commands of a compare or a verdict one after
// the other from the repository root: make targets (the builds and the
// suites) and the build scripts that print a binary's path. It says what
// each step does and how long the whole run has taken, and keeps each
// suite's output in a log file beside its results.
type steps struct {
	out   io.Writer
	root  string // the repository root
	label string // what the progress lines name ("verdict 1a2b3c4d5e6f")
	start time.Time
}

func newSteps(out io.Writer, label string) (*steps, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	return &steps{out: out, root: root, label: label, start: time.Now()}, nil
}

// say prints one progress line: "==> <label> (+<seconds>s): <message>".
func (s *steps) say(format string, a ...any) {
	fmt.Fprintf(s.out, "==> %s (+%ds): %s\n", s.label, int(time.Since(s.start).Seconds()), fmt.Sprintf(format, a...))
}

// make runs `make <target> <vars...>` (vars are NAME=value command-line
// variables, which override the caller's make's); its output goes to log
// (created with its folder), or to the progress output when log is "".
// Errors: the target failed (with its exit status and the log's name).
func (s *steps) make(ctx context.Context, log, target string, vars ...string) error {
	cmd := exec.CommandContext(ctx, "make", append([]string{"--no-print-directory", target}, vars...)...)
	cmd.Dir = s.root
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if log != "" {
		if err := os.MkdirAll(filepath.Dir(log), 0o755); err != nil {
			return err
		}
		f, err := os.Create(log)
		if err != nil {
			return err
		}
		defer f.Close()
		cmd.Stdout, cmd.Stderr = f, f
	}
	if err := cmd.Run(); err != nil {
		if log != "" {
			return fmt.Errorf("make %s: %w (output in %s)", target, err, log)
		}
		return fmt.Errorf("make %s: %w", target, err)
	}
	return nil
}

// makePath runs `make -s <target> <vars...>`, whose last line of output
// is a path (the binary it built or found current), and returns that
// path; the rest of its output is progress, shown as it comes.
func (s *steps) makePath(ctx context.Context, target string, vars ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "make", append([]string{"-s", "--no-print-directory", target}, vars...)...)
	return s.lastPath(cmd, "make "+target, true)
}

// path runs a build script of the repository (tools/kyverno/build.sh)
// with env added to this process's environment and returns the last line
// of its output: the path of the binary it built or found in the cache.
// Its progress (stderr) goes to the progress output.
func (s *steps) path(ctx context.Context, env []string, script string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(s.root, script), args...)
	cmd.Env = append(os.Environ(), env...)
	return s.lastPath(cmd, script, false)
}

// lastPath runs cmd from the repository root and returns the last line of
// its standard output, an absolute path; showAll also shows that output
// as progress. Errors: cmd fails, or prints no path (what names it).
func (s *steps) lastPath(cmd *exec.Cmd, what string, showAll bool) (string, error) {
	var out bytes.Buffer
	cmd.Dir = s.root
	cmd.Stdout, cmd.Stderr = &out, s.out
	if showAll {
		cmd.Stdout = io.MultiWriter(s.out, &out)
	}
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if p := strings.TrimSpace(lines[len(lines)-1]); filepath.IsAbs(p) {
		return p, nil
	}
	return "", fmt.Errorf("%s printed no path", what)
}

// git runs git in dir and returns its output without the final newline.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git -C %s %s: %w: %s", dir, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// repoRoot is the first folder up from the working directory that holds
// this module's go.mod (make runs the command from there).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module github.com/imagectx/conformance\n")) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("run imagectx inside the repository: no folder above " + dir + " holds the go.mod of github.com/imagectx/conformance")
		}
	}
}

// exitStatus is the exit status err reports (0 for nil, -1 when the
// command did not run).
func exitStatus(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	return -1
}
