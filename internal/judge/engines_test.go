package judge

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/engines"
	"github.com/imagectx/conformance/engine/inprocess"
	"github.com/imagectx/conformance/internal/scenario"
	"github.com/imagectx/conformance/internal/scenario/scenariotest"
)

// Every engine the specification's notRunBy names is one engine/engines
// opens (the suites refuse the others when they load the scenarios).
func TestNotRunByNamesEngines(t *testing.T) {
	files, err := scenario.LoadDirs(filepath.Join("..", "..", "scenarios"))
	if err != nil {
		t.Fatal(err)
	}
	named := 0
	for _, f := range files {
		named += len(f.NotRunBy)
	}
	if named == 0 {
		t.Fatal("no scenario file names an engine in notRunBy; the check would check nothing")
	}
	if err := scenario.CheckEngines(files, engines.Names()); err != nil {
		t.Error(err)
	}
}

// A file an engine does not run at all reports every spec unsupported for
// that engine, with the file's reason, and runs elsewhere.
func TestNotRunBy(t *testing.T) {
	off, _ := scenariotest.TwoBindings(t)
	f := *off.File
	f.NotRunBy = map[string]string{"admission": "the webhook times out first"}
	s := *off
	s.File = &f
	if why, fatal := Unsupported(&s, mustCaps(t), "admission", Options{RequireCatchError: true}); why != "not run by admission: the webhook times out first" || fatal {
		t.Errorf("admission: %q, fatal %t", why, fatal)
	}
	if why, _ := Unsupported(&s, mustCaps(t), "inprocess", Options{}); why != "" {
		t.Errorf("inprocess: %q, want it run", why)
	}
}
func mustCaps(t *testing.T) engine.Capabilities {
	t.Helper()
	caps, err := inprocess.New().Capabilities(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return caps
}
