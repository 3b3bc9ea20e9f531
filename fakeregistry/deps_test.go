package fakeregistry_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the registry's core light (go-containerregistry's
// registry and the standard library): signing is the fakeregistry/cosign
// extension, policy engines are the harness's business. It fails naming
// each dependency that crosses the boundary. Imports of this project's
// packages are engine/deps_test.go's TestNoUpwardImports.
func TestDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	forbidden := []struct{ prefix, why string }{
		{"github.com/sigstore/", "signing belongs to the fakeregistry/cosign extension (WithSigner)"},
		{"github.com/in-toto/", "attestations belong to the fakeregistry/cosign extension (WithSigner)"},
		{"github.com/kyverno/", "the registry knows nothing of policy engines"},
	}
	deps := strings.Fields(string(out))
	for _, d := range deps {
		for _, f := range forbidden {
			if strings.HasPrefix(d, f.prefix) {
				t.Errorf("fakeregistry depends on %s: %s", d, f.why)
			}
		}
	}
	if len(deps) == 0 {
		t.Fatal("go list -deps listed nothing")
	}
}
