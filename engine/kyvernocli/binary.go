package kyvernocli

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// EnvBinary names the variable that points at an existing kubectl-kyverno.
const EnvBinary = "KYVERNO_CLI"

// DefaultBinary finds the CLI to run: $KYVERNO_CLI when set, else the
// binary tools/kyverno/build.sh cached for the version pinned in
// tools/kyverno/go.mod (.cache/bin/kyverno-<version>/kubectl-kyverno),
// looked up from the working directory towards the root.
func DefaultBinary() (string, error) {
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
	modFile := filepath.Join(root, "tools", "kyverno", "go.mod")
	version, err := pinnedVersion(modFile)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(root, ".cache", "bin", "kyverno-"+version, "kubectl-kyverno")
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("no kyverno CLI: %s is not built (run `make kyverno-cli`) and %s is unset", bin, EnvBinary)
	}
	return bin, nil
}

// repoRoot walks up from dir to the folder holding tools/kyverno/go.mod.
func repoRoot(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "tools", "kyverno", "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no kyverno CLI: %s is unset and no tools/kyverno/go.mod above %s", EnvBinary, dir)
		}
	}
}

// pinnedVersion reads the github.com/kyverno/kyverno requirement.
func pinnedVersion(modFile string) (string, error) {
	f, err := os.Open(modFile)
	if err != nil {
		return "", fmt.Errorf("read kyverno pin: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Fields(sc.Text())
		if len(fields) > 0 && fields[0] == "require" {
			fields = fields[1:]
		}
		if len(fields) >= 2 && fields[0] == "github.com/kyverno/kyverno" {
			return fields[1], nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read %s: %w", modFile, err)
	}
	return "", fmt.Errorf("%s: no requirement on github.com/kyverno/kyverno", modFile)
}
