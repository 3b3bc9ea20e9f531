package kyvernocli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"syscall"
	"time"

	"github.com/imagectx/conformance/engine"
)

// runResult is one finished CLI process.
type runResult struct {
	Stdout   []byte
	Stderr   []byte
	ExitCode int
	Elapsed  time.Duration
}

// runCLI starts the binary in its own process group and waits. When ctx
// ends first the whole group is killed by its id (the CLI has no registry
// timeout of its own, so a stalled registry would hold it forever) and the
// context's error is returned.
func runCLI(ctx context.Context, bin string, args, env []string, dir string) (runResult, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	cmd.Dir = dir
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		// Negative pid: the process group the CLI leads.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	res := runResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), Elapsed: time.Since(start)}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return res, fmt.Errorf("%s stopped after %s: %w", bin, res.Elapsed.Round(time.Millisecond), ctxErr)
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr) && exitErr.Exited():
		res.ExitCode = exitErr.ExitCode()
	default:
		return res, fmt.Errorf("run %s: %w", bin, err)
	}
	if res.ExitCode == panicExitCode {
		if crash := engine.ParsePanic(string(res.Stderr)); crash != nil {
			// The run's result is the crash (its value and frames).
			return res, crash
		}
	}
	return res, nil
}

// panicExitCode is the Go runtime's exit status after an unrecovered panic.
const panicExitCode = 2
