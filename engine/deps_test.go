package engine_test

import (
	"os/exec"
	"strings"
	"testing"
)

// kyvernoEngine is Kyverno's policy engine package: linked only where the
// in-process engine runs it.
const kyvernoEngine = "github.com/kyverno/kyverno/pkg/engine"

// TestKyvernoEngineBoundary: only engine/inprocess (and engine/engines,
// which opens engines by name) link Kyverno's engine; every other package
// of the module (the format, the fake registry, the harness, the other
// drivers) talks to it through the engine.Engine interface. It fails
// naming each package that crosses the boundary.
func TestKyvernoEngineBoundary(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "github.com/imagectx/conformance/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := func(pkg string) bool {
		return pkg == "github.com/imagectx/conformance/engine/engines" ||
			strings.HasPrefix(pkg, "github.com/imagectx/conformance/engine/inprocess")
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 10 {
		t.Fatalf("go list listed %d packages", len(lines))
	}
	for _, line := range lines {
		f := strings.Fields(line)
		pkg, deps := f[0], f[1:]
		for _, d := range deps {
			if d == kyvernoEngine && !allowed(pkg) {
				t.Errorf("%s links Kyverno's engine (%s); only engine/inprocess may, others use engine.Engine", pkg, kyvernoEngine)
			}
		}
	}
}

// TestNoUpwardImports: the floors of the house import downwards only.
// internal/ (the harness) may use engine/, fakeregistry/ and yamlkit/;
// engine/ and fakeregistry/ never import internal/ (the harness), and
// yamlkit/ (the bottom floor) imports nothing of the project. (Inside
// internal/, a run's data flows scenario → run → judge → results → report; an
// import back along it would be an import cycle, which the go command
// already refuses, so it is not listed here.) It fails naming each import
// that runs back up.
func TestNoUpwardImports(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	const module = "github.com/imagectx/conformance/"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	// forbidden maps a floor to the project prefixes it must not import.
	forbidden := map[string][]string{
		module + "engine":       {module + "internal", module + "e2e", module + "suites"},
		module + "fakeregistry": {module + "internal", module + "engine", module + "e2e", module + "suites"},
		module + "yamlkit":      {module + "internal", module + "engine", module + "fakeregistry", module + "e2e", module + "suites"},
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg, imports := f[0], f[1:]
		for floor, bans := range forbidden {
			if pkg != floor && !strings.HasPrefix(pkg, floor+"/") {
				continue
			}
			for _, imp := range imports {
				for _, ban := range bans {
					if imp == ban || strings.HasPrefix(imp, ban+"/") {
						t.Errorf("%s imports %s: an import that runs back up", pkg, imp)
					}
				}
			}
		}
	}
}
