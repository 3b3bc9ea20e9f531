package kyvernocli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// EnvBinary names the variable that points at an existing kubectl-kyverno.
const EnvBinary = "KYVERNO_CLI"

// BuildScript is tools/kyverno/build.sh relative to the repository root.
const BuildScript = "tools/kyverno/build.sh"

// DefaultBinary finds the CLI to run: $KYVERNO_CLI when set, else what
// `tools/kyverno/build.sh --no-build` selects (the KYVERNO_SRC checkout's
// build, or the version pinned in tools/kyverno/go.mod), looked up from the
// working directory towards the root. It never builds: an unbuilt binary is
// an error that says to run `make kyverno-cli`.
func DefaultBinary(ctx context.Context) (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		return p, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find kyverno CLI: %w", err)
	}
	root, err := repoRoot(wd)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, filepath.Join(root, BuildScript), "--no-build")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return "", fmt.Errorf("no kyverno CLI (%s unset): %s", EnvBinary, strings.TrimSpace(stderr.String()))
		}
		return "", fmt.Errorf("find kyverno CLI: %s --no-build: %w", BuildScript, err)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	bin := lines[len(lines)-1]
	if bin == "" {
		return "", fmt.Errorf("find kyverno CLI: %s --no-build printed no path", BuildScript)
	}
	return bin, nil
}

// repoRoot walks up from dir to the folder holding the build script.
func repoRoot(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, BuildScript)); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no kyverno CLI: %s is unset and no %s above %s", EnvBinary, BuildScript, dir)
		}
	}
}
