package results

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/internal/judge"
	"github.com/imagectx/conformance/internal/run"
	"github.com/imagectx/conformance/internal/scenario"
	"github.com/imagectx/conformance/internal/scenario/scenariotest"
)

func TestRecordMasksSecretsAndTemplates(t *testing.T) {
	off, _ := scenariotest.TwoBindings(t)
	off.File.Registry.Credentials = []scenario.Credential{{Username: "u", Password: "hunter22"}}
	ev := &run.Evaluation{Vars: scenario.Vars{scenario.VarRegistry: "127.0.0.1:5000"}}
	got := engine.Result{Status: engine.StatusError, Message: "GET http://127.0.0.1:5000/v2/: bad password hunter22"}
	got.Context = map[string]any{"imageData": map[string]any{"failed": true, "errorMessage": "auth hunter22", "list": []any{"hunter22"}}}
	rec := Record(off, ev, judge.Outcome{Outcome: engine.OutcomeFail, Reason: "hunter22 leaked", Got: &got})
	if strings.Contains(rec.Reason+rec.Got.Message, "hunter22") {
		t.Errorf("secret in record: %+v", rec)
	}
	if b, _ := json.Marshal(rec.Got.Context); strings.Contains(string(b), "hunter22") || !strings.Contains(string(b), `"errorMessage":"auth ***"`) {
		t.Errorf("context not masked: %s", b)
	}
	if got.Context["imageData"].(map[string]any)["errorMessage"] != "auth hunter22" {
		t.Errorf("Record changed the engine's context: %v", got.Context)
	}
	if rec.Got.MessageTemplate != "GET http://${REGISTRY}/v2/: bad password ***" {
		t.Errorf("template %q", rec.Got.MessageTemplate)
	}
}

// A failed spec whose records explain the failure keeps their outcomes;
// one whose records all passed (a timeout, an interrupt) turns its passes
// into failures with the framework's message.
func TestFailUnexplained(t *testing.T) {
	rec := func(name string, o engine.Outcome) *SpecRecord { return &SpecRecord{Name: name, Outcome: o} }
	explained := []*SpecRecord{rec("a", engine.OutcomePass), rec("b", engine.OutcomeFail)}
	FailUnexplained(explained, "b failed")
	if explained[0].Outcome != engine.OutcomePass || explained[1].Outcome != engine.OutcomeFail {
		t.Errorf("explained: %s, %s; want pass, fail", explained[0].Outcome, explained[1].Outcome)
	}
	unexplained := []*SpecRecord{rec("c", engine.OutcomePass), rec("d", engine.OutcomeUnsupported)}
	FailUnexplained(unexplained, "timed out")
	if c := unexplained[0]; c.Outcome != engine.OutcomeFail || c.Reason != "timed out" {
		t.Errorf("c: %s %q, want fail with the framework's message", c.Outcome, c.Reason)
	}
	if d := unexplained[1]; d.Outcome != engine.OutcomeUnsupported {
		t.Errorf("d: %s, want unsupported kept", d.Outcome)
	}
}
