package judge

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/internal/run"
	"github.com/imagectx/conformance/internal/scenario"
	"github.com/imagectx/conformance/internal/scenario/scenariotest"
)

func TestCheck(t *testing.T) {
	off, on := scenariotest.TwoBindings(t)
	vars := scenario.Vars{scenario.VarRegistry: "127.0.0.1:5000"}
	noAdmission := map[engine.Capability]string{engine.CapAdmission: "no API server"}
	full := engine.Capabilities{Unsupported: noAdmission}
	pod := engine.ResourceID{Kind: "Pod", Namespace: "default", Name: "app"}
	res := func(st engine.Status, msg string, ctx map[string]any) []engine.Result {
		return []engine.Result{{Policy: "p", Rule: "r", Resource: pod, Status: st, Message: msg, Context: ctx}}
	}
	errMap := map[string]any{"imageData": map[string]any{"failed": true, "errorMessage": "x MANIFEST_UNKNOWN y"}}
	seen := map[string]bool{"team/app": true, "unreferenced/app": false}
	cases := []struct {
		name    string
		spec    *scenario.Spec
		ev      *run.Evaluation
		caps    engine.Capabilities
		opts    Options
		outcome engine.Outcome
		reason  string
	}{
		{"pass regex with registry quoted", off, &run.Evaluation{Vars: vars, Requested: seen,
			Results: res(engine.StatusError, "failed: GET http://127.0.0.1:5000/v2/team/app/manifests/gone: MANIFEST_UNKNOWN: x", nil)}, full, Options{}, engine.OutcomePass, ""},
		{"regex does not match a look-alike address", off, &run.Evaluation{Vars: vars, Requested: seen,
			Results: res(engine.StatusError, "failed: GET http://127.0.0.1:5000x/v2/team/app/manifests/gone: MANIFEST_UNKNOWN", nil)}, full, Options{}, engine.OutcomeFail, "want error with message matching"},
		{"status differs", off, &run.Evaluation{Vars: vars, Requested: seen, Results: res(engine.StatusSkip, "preconditions not met", nil)}, full, Options{},
			engine.OutcomeFail, "want error, got skip: preconditions not met"},
		{"no result", off, &run.Evaluation{Vars: vars, Requested: seen}, full, Options{}, engine.OutcomeFail, "want error, got no result"},
		{"a host the proxy refused is named", off, &run.Evaluation{Vars: vars, Requested: seen, Refused: []string{"quay.io:443"}, Results: res(engine.StatusSkip, "preconditions not met", nil)}, full, Options{},
			engine.OutcomeFail, "want error, got skip: preconditions not met (the registry proxy refused quay.io:443: no registry of the file serves it; add it to hosts)"},
		{"batch failed", off, &run.Evaluation{Vars: vars, Err: errors.New("boom")}, full, Options{}, engine.OutcomeFail, "want error, got no evaluation: boom"},
		{"engine panicked", off, &run.Evaluation{Vars: vars, Err: fmt.Errorf("failed to apply policies on resource app (%w)", &engine.PanicError{Value: "interface conversion"})}, full, Options{},
			engine.OutcomeFail, "want error, got panic: interface conversion"},
		{"panic expected and seen", withResult(off, "panic", "interface conversion"), &run.Evaluation{Vars: vars, Err: &engine.PanicError{Value: "interface conversion"}}, full, Options{},
			engine.OutcomePass, ""},
		{"panic expected, another value", withResult(off, "panic", "interface conversion"), &run.Evaluation{Vars: vars, Err: &engine.PanicError{Value: "index out of range"}}, full, Options{},
			engine.OutcomeFail, `want panic with message exactly "interface conversion"`},
		{"panic expected, rule errors", withResult(off, "panic", "interface conversion"), &run.Evaluation{Vars: vars, Results: res(engine.StatusError, "invalid JMESPath 5", nil)}, full, Options{},
			engine.OutcomeFail, "want panic, got error: invalid JMESPath 5"},
		{"requested what must not be", off, &run.Evaluation{Vars: vars, Requested: map[string]bool{"team/app": true, "unreferenced/app": true},
			Results: res(engine.StatusError, "failed: GET http://127.0.0.1:5000/v2/team/app/manifests/gone: MANIFEST_UNKNOWN", nil)}, full, Options{}, engine.OutcomeFail, "want unreferenced/app never requested"},
		{"context pass", on, &run.Evaluation{Vars: vars, Results: res(engine.StatusSkip, "preconditions not met", errMap)}, full, Options{}, engine.OutcomePass, ""},
		{"context key present that must be absent", on, &run.Evaluation{Vars: vars, Results: res(engine.StatusSkip, "preconditions not met",
			map[string]any{"imageData": map[string]any{"failed": true, "errorMessage": "MANIFEST_UNKNOWN", "resolvedImage": ""}})}, full, Options{}, engine.OutcomeFail,
			`imageData.resolvedImage: want absent, got ""; imageData: want keys [errorMessage failed], got keys [errorMessage failed resolvedImage]`},
		{"context not checked without the capability", on, &run.Evaluation{Vars: vars, Results: res(engine.StatusSkip, "preconditions not met", nil)},
			engine.Capabilities{Unsupported: map[engine.Capability]string{engine.CapContext: "no context", engine.CapAdmission: "no API server"}}, Options{}, engine.OutcomePass, ""},
		{"unsupported catchError", on, &run.Evaluation{Vars: vars}, engine.Capabilities{Unsupported: map[engine.Capability]string{engine.CapCatchError: "v1.19.1 drops the policy"}}, Options{},
			engine.OutcomeUnsupported, "catchError: v1.19.1 drops the policy"},
		{"REQUIRE_CATCHERROR makes it fail", on, &run.Evaluation{Vars: vars}, engine.Capabilities{Unsupported: map[engine.Capability]string{engine.CapCatchError: "v1.19.1 drops the policy"}}, Options{RequireCatchError: true},
			engine.OutcomeFail, "REQUIRE_CATCHERROR=1 and the engine cannot run this case: catchError: v1.19.1 drops the policy"},
		{"capability without a flag, engine gives a reason", withRequires(off, "clientDeadline"), &run.Evaluation{Vars: vars}, engine.Capabilities{Unsupported: map[engine.Capability]string{engine.CapClientDeadline: "no timeout"}}, Options{},
			engine.OutcomeUnsupported, "clientDeadline: no timeout"},
		{"capability without a flag, no reason: supported", withRequires(off, "clientDeadline"), &run.Evaluation{Vars: vars, Requested: seen,
			Results: res(engine.StatusError, "failed: GET http://127.0.0.1:5000/v2/team/app/manifests/gone: MANIFEST_UNKNOWN", nil)}, full, Options{}, engine.OutcomePass, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := Check(tc.spec, tc.ev, tc.caps, "e", tc.opts)
			if out.Outcome != tc.outcome || !strings.Contains(out.Reason, tc.reason) {
				t.Errorf("got %s %q, want %s containing %q", out.Outcome, out.Reason, tc.outcome, tc.reason)
			}
		})
	}
}

// withResult is s with a copy of its row expecting result and message.
func withResult(s *scenario.Spec, result scenario.Expected, message string) *scenario.Spec {
	c, row := *s, *s.Row
	row.Result, row.Message = result, &scenario.Matcher{Exact: &message}
	c.Row, c.Siblings = &row, []*scenario.Row{&row}
	return &c
}

func withRequires(s *scenario.Spec, caps ...engine.Capability) *scenario.Spec {
	c := *s
	c.Requires = caps
	return &c
}

// A verifyImages rule reports twice on a resource; two rows expect the two
// results, each spec finds its own and both require exactly two.
func TestCheckSeveralResultsPerRule(t *testing.T) {
	const src = `apiVersion: conformance.imagectx.io/v1alpha1
kind: Test
metadata: {name: v}
policies:
- apiVersion: kyverno.io/v1
  kind: ClusterPolicy
  metadata: {name: p}
  spec:
    rules:
    - name: r
      verifyImages: [{imageReferences: ["*"]}]
resources:
- {apiVersion: v1, kind: Pod, metadata: {name: app, namespace: default}}
results:
- {policy: p, rule: r, resources: [app], result: pass, message: verified}
- {policy: p, rule: r, resources: [app], result: fail, message: missing digest}
`
	f, err := scenario.Parse("v.yaml", "v", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	ss := scenario.Specs([]*scenario.File{f})
	if len(ss) != 2 || ss[0].Name != "v/default/p/r/app" || ss[1].Name != "v/default/p/r/app#2" || len(ss[0].Siblings) != 2 || len(ss[1].Siblings) != 2 {
		t.Fatalf("specs %q %q, siblings %d %d", ss[0].Name, ss[1].Name, len(ss[0].Siblings), len(ss[1].Siblings))
	}
	res := func(st engine.Status, msg string) engine.Result {
		return engine.Result{Policy: "p", Rule: "r", Resource: engine.ResourceID{Kind: "Pod", Namespace: "default", Name: "app"}, Status: st, Message: msg}
	}
	both := &run.Evaluation{Results: []engine.Result{res(engine.StatusFail, "missing digest"), res(engine.StatusPass, "verified")}}
	caps := engine.Capabilities{Unsupported: map[engine.Capability]string{engine.CapAdmission: "no API server"}}
	for _, s := range ss {
		if o := Check(s, both, caps, "e", Options{}); o.Outcome != engine.OutcomePass {
			t.Errorf("%s: %s: %s", s.Name, o.Outcome, o.Reason)
		}
	}
	one := &run.Evaluation{Results: []engine.Result{res(engine.StatusPass, "verified")}}
	o := Check(ss[0], one, caps, "e", Options{})
	if o.Outcome != engine.OutcomeFail || !strings.Contains(o.Reason, "want 2 result(s) for this rule and resource (one per row), got 1: [pass: verified]") {
		t.Errorf("one result: %s: %s", o.Outcome, o.Reason)
	}
	// Two identical rows need two results: one result cannot answer both.
	twin, err := scenario.Parse("w.yaml", "w", []byte(strings.Replace(src, "result: fail, message: missing digest", "result: pass, message: verified", 1)))
	if err != nil {
		t.Fatal(err)
	}
	tw := scenario.Specs([]*scenario.File{twin})
	oneAndOther := &run.Evaluation{Results: []engine.Result{res(engine.StatusPass, "verified"), res(engine.StatusFail, "anything")}}
	if o := Check(tw[0], oneAndOther, caps, "e", Options{}); o.Outcome != engine.OutcomePass {
		t.Errorf("first twin: %s: %s", o.Outcome, o.Reason)
	}
	if o := Check(tw[1], oneAndOther, caps, "e", Options{}); o.Outcome != engine.OutcomeFail || !strings.Contains(o.Reason, "want pass, got fail: anything") {
		t.Errorf("second twin must not reuse the first one's result: %s: %s", o.Outcome, o.Reason)
	}
	// A PolicyReport keeps one of the two: its row passes, the other row
	// is unsupported (naming the row the entry is), anything else fails.
	report := engine.Capabilities{OneResultPerRule: true, Unsupported: map[engine.Capability]string{engine.CapAdmission: "no API server"}}
	if o := Check(ss[0], one, report, "admission", Options{}); o.Outcome != engine.OutcomePass {
		t.Errorf("report, its row: %s: %s", o.Outcome, o.Reason)
	}
	if o := Check(ss[1], one, report, "admission", Options{}); o.Outcome != engine.OutcomeUnsupported || !strings.Contains(o.Reason, "keeps one result per policy, rule and resource (a PolicyReport entry); it is the row at line 15") {
		t.Errorf("report, the other row: %s: %s", o.Outcome, o.Reason)
	}
	neither := &run.Evaluation{Results: []engine.Result{res(engine.StatusError, "boom")}}
	if o := Check(ss[1], neither, report, "admission", Options{}); o.Outcome != engine.OutcomeFail {
		t.Errorf("report, an entry no row expects: %s: %s", o.Outcome, o.Reason)
	}
	wrong := &run.Evaluation{Results: []engine.Result{res(engine.StatusFail, "other"), res(engine.StatusPass, "verified")}}
	o = Check(ss[1], wrong, caps, "e", Options{})
	if o.Outcome != engine.OutcomeFail || !strings.Contains(o.Reason, `want fail with message exactly "missing digest"`) {
		t.Errorf("wrong message: %s: %s", o.Outcome, o.Reason)
	}
}

// An admission check beside the rule result: admission engines are judged
// on the answer (and on the rule result when the resource was stored),
// other engines on the rule result with the answer unchecked.
func TestCheckAdmission(t *testing.T) {
	src := strings.Replace(scenariotest.Source(t), "  labels: {site: deny}\n- policy: p", `  admission:
    allowed: false
    message: "denied: ${REGISTRY}"
  labels: {site: deny}
- policy: p`, 1)
	src = strings.Replace(src, "  catchError: true\n", "  catchError: true\n- name: plain\n", 1)
	src += `- policy: p
  rule: r
  resources: [app]
  bindings: [plain]
  admission: {allowed: true, warnings: [{contains: careful}], webhookTimeout: false}
`
	f, err := scenario.Parse("t.yaml", "t", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	ss := scenario.Specs([]*scenario.File{f})
	if len(ss) != 3 {
		t.Fatalf("want 3 specs, got %d", len(ss))
	}
	denied, answerOnly := ss[0], ss[2]
	if !slices.Contains(answerOnly.Requires, engine.CapAdmission) {
		t.Errorf("a row without result requires admission, got %v", answerOnly.Requires)
	}
	vars := scenario.Vars{scenario.VarRegistry: "127.0.0.1:5000"}
	pod := engine.ResourceID{Kind: "Pod", Namespace: "default", Name: "app"}
	adm := engine.Capabilities{WebhookTimeout: 5e9, Unsupported: map[engine.Capability]string{engine.CapContext: "PolicyReports"}}
	other := engine.Capabilities{Unsupported: map[engine.Capability]string{engine.CapContext: "none", engine.CapAdmission: "no API server"}}
	failed := []engine.Result{{Policy: "p", Rule: "r", Resource: pod, Status: engine.StatusError, Message: "failed: GET http://127.0.0.1:5000/v2/team/app/manifests/gone: MANIFEST_UNKNOWN"}}
	answer := func(allowed bool, msg string, warnings ...string) []engine.AdmissionResponse {
		return []engine.AdmissionResponse{{Resource: pod, Allowed: allowed, Message: msg, Warnings: warnings, Duration: 1e9}}
	}
	cases := []struct {
		name   string
		spec   *scenario.Spec
		caps   engine.Capabilities
		ev     *run.Evaluation
		want   engine.Outcome
		reason string
	}{
		{"denied as expected, rule unchecked", denied, adm, &run.Evaluation{Admissions: answer(false, "denied: 127.0.0.1:5000"), Vars: vars, Requested: map[string]bool{"team/app": true}}, engine.OutcomePass, ""},
		{"allowed instead", denied, adm, &run.Evaluation{Admissions: answer(true, ""), Results: failed, Vars: vars}, engine.OutcomeFail, `want denied at admission, got allowed: ""`},
		{"other denial text", denied, adm, &run.Evaluation{Admissions: answer(false, "nope"), Vars: vars}, engine.OutcomeFail, `want denied at admission with message`},
		{"no answer", denied, adm, &run.Evaluation{Vars: vars}, engine.OutcomeFail, "want an admission answer for app, got none"},
		{"no admission: rule checked", denied, other, &run.Evaluation{Results: failed, Vars: vars, Requested: map[string]bool{"team/app": true}}, engine.OutcomePass, ""},
		{"answer only, warning matches", answerOnly, adm, &run.Evaluation{Admissions: answer(true, "", "be careful"), Vars: vars}, engine.OutcomePass, ""},
		{"answer only, warning missing", answerOnly, adm, &run.Evaluation{Admissions: answer(true, ""), Vars: vars}, engine.OutcomeFail, "want 1 admission warning(s), got 0"},
		{"answer only, took the webhook timeout", answerOnly, adm, &run.Evaluation{Admissions: []engine.AdmissionResponse{{Resource: pod, Allowed: true, Warnings: []string{"careful"}, Duration: 6e9}}, Vars: vars}, engine.OutcomeFail, "want the answer to take less than the webhook timeout (5s), it took 6s"},
		{"answer only, no admission engine", answerOnly, other, &run.Evaluation{Vars: vars}, engine.OutcomeUnsupported, "admission: no API server"},
		{"input the engine cannot take", denied, adm, &run.Evaluation{Err: fmt.Errorf("admission: a Secret: %w", engine.ErrUnsupportedInput)}, engine.OutcomeUnsupported, "admission: a Secret: unsupported input"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := Check(tc.spec, tc.ev, tc.caps, "x", Options{})
			if out.Outcome != tc.want || !strings.Contains(out.Reason, tc.reason) {
				t.Errorf("got %s %q; want %s containing %q", out.Outcome, out.Reason, tc.want, tc.reason)
			}
		})
	}
	// A row without an admission check for a resource the API server
	// denied: another row checks the denial; its result is not checked.
	out := Check(ss[1], &run.Evaluation{Admissions: answer(false, "denied"), Vars: vars}, adm, "x", Options{})
	if out.Outcome != engine.OutcomePass || len(out.Unchecked) != 1 || !strings.Contains(out.Unchecked[0], "the API server denied the resource") {
		t.Errorf("row without admission check, resource denied: %s %q %q", out.Outcome, out.Reason, out.Unchecked)
	}
	out = Check(denied, &run.Evaluation{Results: failed, Vars: vars, Requested: map[string]bool{"team/app": true}}, other, "x", Options{})
	if len(out.Unchecked) != 1 || !strings.Contains(out.Unchecked[0], "admission: engine x does not send resources through an admission request") {
		t.Errorf("unchecked: %q", out.Unchecked)
	}
}

func TestOptionsFromEnv(t *testing.T) {
	for v, want := range map[string]bool{"": false, "0": false, "false": false, "1": true, "true": true} {
		opts, err := OptionsFromEnv(func(string) string { return v })
		if err != nil || opts.RequireCatchError != want {
			t.Errorf("REQUIRE_CATCHERROR=%q: %+v, %v", v, opts, err)
		}
	}
	if _, err := OptionsFromEnv(func(string) string { return "yes" }); err == nil || err.Error() != `REQUIRE_CATCHERROR="yes": want 1 or 0` {
		t.Errorf("REQUIRE_CATCHERROR=yes: %v", err)
	}
}
