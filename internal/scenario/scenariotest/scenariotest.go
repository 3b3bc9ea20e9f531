// Package scenariotest holds a scenario fixture for the tests of the
// packages that judge and report specs (internal/judge, internal/results, internal/report).
package scenariotest

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/imagectx/conformance/internal/scenario"
)

// TwoBindings loads two-bindings.yaml (one policy reading a deleted image,
// its rows under catchError absent and true) and returns its two specs.
func TwoBindings(t testing.TB) (off, on *scenario.Spec) {
	t.Helper()
	_, here, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("scenariotest: no caller information")
	}
	f, err := scenario.LoadFile(filepath.Join(filepath.Dir(here), "two-bindings.yaml"), "t")
	if err != nil {
		t.Fatal(err)
	}
	ss := scenario.Specs([]*scenario.File{f})
	return ss[0], ss[1]
}

// Source is the text of two-bindings.yaml, for tests that vary it.
func Source(t testing.TB) string {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(here), "two-bindings.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
