package judge

import (
	"context"
	"slices"
	"testing"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/engines"
	"github.com/imagectx/conformance/engine/inprocess"
	"github.com/imagectx/conformance/internal/scenario"
	"github.com/imagectx/conformance/internal/scenario/scenariotest"
)

// A scenario file's notRunBy may name every engine there is, and only
// those: the engines engine/engines opens by name (make e2e's two included).
func TestKnownEngines(t *testing.T) {
	want := engines.Names()
	got := scenario.KnownEngines()
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("scenario.KnownEngines() = %v, want the engines there are: %v", got, want)
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
