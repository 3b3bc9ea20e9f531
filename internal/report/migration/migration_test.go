package migration

import (
	"strings"
	"testing"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/internal/judge"
	"github.com/imagectx/conformance/internal/results"
	"github.com/imagectx/conformance/internal/scenario"
)

func TestWrite(t *testing.T) {
	skip := "skip"
	recs := []*results.SpecRecord{
		{Name: "faults/missing-tag/catch-absent/pre/check/app", File: "faults/missing-tag", Binding: "catch-absent", Policy: "pre", Rule: "check", Resource: "app",
			Outcome: engine.OutcomePass, Got: &results.Got{Status: "error", MessageTemplate: "failed to evaluate preconditions: x | y"}},
		{Name: "cel/faults/missing-tag/fail/v//app", File: "cel/faults/missing-tag", Binding: "fail", Policy: "v", Rule: "", Resource: "app",
			Outcome: engine.OutcomePass, Got: &results.Got{Status: "error", MessageTemplate: "error: failed to get image data: GET http://${REGISTRY}/v2/team/app/manifests/gone"}},
		{Name: "cel/faults/missing-tag/ignore/m//app", File: "cel/faults/missing-tag", Binding: "ignore", Policy: "m", Rule: "", Resource: "app",
			Outcome: engine.OutcomeUnsupported, Want: results.Want{Result: "skip", Message: &scenario.Matcher{Exact: &skip}}},
	}
	rf := results.NewFile("inprocess", engine.Capabilities{Version: "v1.19.1"}, judge.Options{}, recs)
	files := []*scenario.File{
		{Name: "faults/missing-tag"},
		{Name: "cel/faults/missing-tag", TranslatesName: "faults/missing-tag"},
	}
	var b strings.Builder
	if err := Write(&b, files, rf); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, want := range []string{
		"| [cel/faults/missing-tag](#celfaultsmissing-tag) | catch-absent: 1 error | fail: 1 error; ignore: 1 skip |\n",
		"## cel/faults/missing-tag\n",
		"| app | pre | `check` | catch-absent | error | failed to evaluate preconditions: x \\| y |\n",
		"| app | v | `` | fail | error | error: failed to get image data: GET http://${REGISTRY}/v2/team/app/manifests/gone |\n",
		"| app | m | `` | ignore | skip (expected; unsupported) | exact skip |\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
	b.Reset()
	if err := Write(&b, files[:1], rf); err != nil || !strings.Contains(b.String(), "No scenario file translates another.") {
		t.Errorf("no pair: %v\n%s", err, b.String())
	}
}
