package matrix

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/internal/judge"
	"github.com/imagectx/conformance/internal/results"
	"github.com/imagectx/conformance/internal/run"
	"github.com/imagectx/conformance/internal/scenario/scenariotest"
)

func TestWrite(t *testing.T) {
	off, on := scenariotest.TwoBindings(t)
	recs := []*results.SpecRecord{
		results.Record(off, &run.Evaluation{}, judge.Outcome{Outcome: engine.OutcomePass}),
		results.Record(on, &run.Evaluation{}, judge.Outcome{Outcome: engine.OutcomeUnsupported, Reason: "catchError: not in v1.19.1"}),
	}
	rf := results.NewFile("kyverno", engine.Capabilities{Version: "v1.19.1"}, judge.Options{}, recs)
	if rf.Summary != (results.Summary{Pass: 1, Unsupported: 1}) {
		t.Errorf("summary %+v", rf.Summary)
	}
	var b bytes.Buffer
	if err := Write(&b, []*results.File{rf}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| kyverno | v1.19.1 | 2 | 1 | 0 | 1 |", "| t / off | pass (1) |", "| t / on | unsupported: catchError: not in v1.19.1 |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("matrix lacks %q:\n%s", want, b.String())
		}
	}
}

// TestWriteSummary: the run prints the engines table, its failing specs
// and where the matrix is, and writes the whole matrix to the file.
func TestWriteSummary(t *testing.T) {
	off, on := scenariotest.TwoBindings(t)
	recs := []*results.SpecRecord{
		results.Record(off, &run.Evaluation{}, judge.Outcome{Outcome: engine.OutcomePass}),
		results.Record(on, &run.Evaluation{}, judge.Outcome{Outcome: engine.OutcomeFail, Reason: "want skip, got error\nsecond line"}),
	}
	rf := results.NewFile("inprocess", engine.Capabilities{Version: "v1.19.1"}, judge.Options{}, recs)
	dir := t.TempDir()
	var b bytes.Buffer
	if err := WriteSummary(&b, dir, rf); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"| inprocess | v1.19.1 | 2 | 1 | 1 | 0 |", "failing specs on inprocess (1):", ": want skip, got error ...", "conformance-matrix.md (make matrix prints it)"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "| t / off |") {
		t.Errorf("summary prints the per-case rows:\n%s", out)
	}
	matrix, err := os.ReadFile(filepath.Join(dir, "conformance-matrix.md"))
	if err != nil || !strings.Contains(string(matrix), "| t / off | pass (1) |") {
		t.Errorf("matrix file: %v\n%s", err, matrix)
	}
}
