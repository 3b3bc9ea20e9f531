package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/internal/scenario"
)

const file = `apiVersion: conformance.imagectx.io/v1alpha1
kind: Test
metadata: {name: t, labels: {fault: missing}}
bindings:
- name: off
- name: on
  catchError: true
policies:
- apiVersion: kyverno.io/v1
  kind: ClusterPolicy
  metadata: {name: p}
  spec:
    rules:
    - name: r
      context:
      - name: imageData
        imageRegistry: {reference: "${REGISTRY}/team/app:gone"}
resources:
- {apiVersion: v1, kind: Pod, metadata: {name: app, namespace: default}}
results:
- policy: p
  rule: r
  resources: [app]
  bindings: [off]
  result: error
  message:
    regex: "^failed: GET http://${REGISTRY}/v2/team/app/manifests/gone: MANIFEST_UNKNOWN"
  requests: {never: [unreferenced/app], seen: [team/app]}
  labels: {site: deny}
- policy: p
  rule: r
  resources: [app]
  bindings: [on]
  result: skip
  message: preconditions not met
  context:
    imageData.failed: true
    imageData.errorMessage: {contains: MANIFEST_UNKNOWN}
    imageData.resolvedImage: {absent: true}
    imageData: {keys: [failed, errorMessage]}
  labels: {site: deny}
`

func specs(t *testing.T) (off, on *scenario.Spec) {
	t.Helper()
	f, err := scenario.Parse("t.yaml", "t", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	ss := scenario.Specs([]*scenario.File{f})
	return ss[0], ss[1]
}

func TestCheck(t *testing.T) {
	off, on := specs(t)
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
		ev      *Evaluation
		caps    engine.Capabilities
		opts    Options
		outcome engine.Outcome
		reason  string
	}{
		{"pass regex with registry quoted", off, &Evaluation{Vars: vars, Requested: seen,
			Results: res(engine.StatusError, "failed: GET http://127.0.0.1:5000/v2/team/app/manifests/gone: MANIFEST_UNKNOWN: x", nil)}, full, Options{}, engine.OutcomePass, ""},
		{"regex does not match a look-alike address", off, &Evaluation{Vars: vars, Requested: seen,
			Results: res(engine.StatusError, "failed: GET http://127.0.0.1:5000x/v2/team/app/manifests/gone: MANIFEST_UNKNOWN", nil)}, full, Options{}, engine.OutcomeFail, "want error with message matching"},
		{"status differs", off, &Evaluation{Vars: vars, Requested: seen, Results: res(engine.StatusSkip, "preconditions not met", nil)}, full, Options{},
			engine.OutcomeFail, "want error, got skip: preconditions not met"},
		{"no result", off, &Evaluation{Vars: vars, Requested: seen}, full, Options{}, engine.OutcomeFail, "want error, got no result"},
		{"a host the proxy refused is named", off, &Evaluation{Vars: vars, Requested: seen, Refused: []string{"quay.io:443"}, Results: res(engine.StatusSkip, "preconditions not met", nil)}, full, Options{},
			engine.OutcomeFail, "want error, got skip: preconditions not met (the registry proxy refused quay.io:443: no registry of the file serves it; add it to hosts)"},
		{"batch failed", off, &Evaluation{Vars: vars, Err: errors.New("boom")}, full, Options{}, engine.OutcomeFail, "want error, got no evaluation: boom"},
		{"engine panicked", off, &Evaluation{Vars: vars, Err: fmt.Errorf("failed to apply policies on resource app (%w)", &engine.PanicError{Value: "interface conversion"})}, full, Options{},
			engine.OutcomeFail, "want error, got panic: interface conversion"},
		{"panic expected and seen", withResult(off, "panic", "interface conversion"), &Evaluation{Vars: vars, Err: &engine.PanicError{Value: "interface conversion"}}, full, Options{},
			engine.OutcomePass, ""},
		{"panic expected, another value", withResult(off, "panic", "interface conversion"), &Evaluation{Vars: vars, Err: &engine.PanicError{Value: "index out of range"}}, full, Options{},
			engine.OutcomeFail, `want panic with message exactly "interface conversion"`},
		{"panic expected, rule errors", withResult(off, "panic", "interface conversion"), &Evaluation{Vars: vars, Results: res(engine.StatusError, "invalid JMESPath 5", nil)}, full, Options{},
			engine.OutcomeFail, "want panic, got error: invalid JMESPath 5"},
		{"requested what must not be", off, &Evaluation{Vars: vars, Requested: map[string]bool{"team/app": true, "unreferenced/app": true},
			Results: res(engine.StatusError, "failed: GET http://127.0.0.1:5000/v2/team/app/manifests/gone: MANIFEST_UNKNOWN", nil)}, full, Options{}, engine.OutcomeFail, "want unreferenced/app never requested"},
		{"context pass", on, &Evaluation{Vars: vars, Results: res(engine.StatusSkip, "preconditions not met", errMap)}, full, Options{}, engine.OutcomePass, ""},
		{"context key present that must be absent", on, &Evaluation{Vars: vars, Results: res(engine.StatusSkip, "preconditions not met",
			map[string]any{"imageData": map[string]any{"failed": true, "errorMessage": "MANIFEST_UNKNOWN", "resolvedImage": ""}})}, full, Options{}, engine.OutcomeFail,
			`imageData.resolvedImage: want absent, got ""; imageData: want keys [errorMessage failed], got keys [errorMessage failed resolvedImage]`},
		{"context not checked without the capability", on, &Evaluation{Vars: vars, Results: res(engine.StatusSkip, "preconditions not met", nil)},
			engine.Capabilities{Unsupported: map[engine.Capability]string{engine.CapContext: "no context", engine.CapAdmission: "no API server"}}, Options{}, engine.OutcomePass, ""},
		{"unsupported catchError", on, &Evaluation{Vars: vars}, engine.Capabilities{Unsupported: map[engine.Capability]string{engine.CapCatchError: "v1.19.1 drops the policy"}}, Options{},
			engine.OutcomeUnsupported, "catchError: v1.19.1 drops the policy"},
		{"REQUIRE_CATCHERROR makes it fail", on, &Evaluation{Vars: vars}, engine.Capabilities{Unsupported: map[engine.Capability]string{engine.CapCatchError: "v1.19.1 drops the policy"}}, Options{RequireCatchError: true},
			engine.OutcomeFail, "REQUIRE_CATCHERROR=1 and the engine cannot run this case: catchError: v1.19.1 drops the policy"},
		{"capability without a flag, engine gives a reason", withRequires(off, "clientDeadline"), &Evaluation{Vars: vars}, engine.Capabilities{Unsupported: map[engine.Capability]string{engine.CapClientDeadline: "no timeout"}}, Options{},
			engine.OutcomeUnsupported, "clientDeadline: no timeout"},
		{"capability without a flag, no reason: supported", withRequires(off, "clientDeadline"), &Evaluation{Vars: vars, Requested: seen,
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
func withResult(s *scenario.Spec, result, message string) *scenario.Spec {
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

func TestRecordMasksSecretsAndTemplates(t *testing.T) {
	off, _ := specs(t)
	off.File.Registry.Credentials = []scenario.Credential{{Username: "u", Password: "hunter22"}}
	ev := &Evaluation{Vars: scenario.Vars{scenario.VarRegistry: "127.0.0.1:5000"}}
	got := engine.Result{Status: engine.StatusError, Message: "GET http://127.0.0.1:5000/v2/: bad password hunter22"}
	got.Context = map[string]any{"imageData": map[string]any{"failed": true, "errorMessage": "auth hunter22", "list": []any{"hunter22"}}}
	rec := Record(off, ev, Outcome{Outcome: engine.OutcomeFail, Reason: "hunter22 leaked", Got: &got})
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

func TestMatrixAndCatalogue(t *testing.T) {
	off, on := specs(t)
	recs := []*SpecRecord{
		Record(off, &Evaluation{}, Outcome{Outcome: engine.OutcomePass}),
		Record(on, &Evaluation{}, Outcome{Outcome: engine.OutcomeUnsupported, Reason: "catchError: not in v1.19.1"}),
	}
	rf := NewResultsFile("kyverno", engine.Capabilities{Version: "v1.19.1"}, Options{}, recs)
	if rf.Summary != (Summary{Pass: 1, Unsupported: 1}) {
		t.Errorf("summary %+v", rf.Summary)
	}
	var b bytes.Buffer
	if err := WriteMatrix(&b, []*ResultsFile{rf}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| kyverno | v1.19.1 | 2 | 1 | 0 | 1 |", "| t / off | pass (1) |", "| t / on | unsupported: catchError: not in v1.19.1 |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("matrix lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := WriteCatalogue(&b, []*scenario.File{off.File}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## fault: missing", "| t | deny | p/r | app | off | error | regex | `^failed: GET http://${REGISTRY}/v2/team/app/manifests/gone: MANIFEST_UNKNOWN` |",
		"| t | deny | p/r | app | on | skip | exact | `preconditions not met` |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("catalogue lacks %q:\n%s", want, b.String())
		}
	}
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
	both := &Evaluation{Results: []engine.Result{res(engine.StatusFail, "missing digest"), res(engine.StatusPass, "verified")}}
	caps := engine.Capabilities{Unsupported: map[engine.Capability]string{engine.CapAdmission: "no API server"}}
	for _, s := range ss {
		if o := Check(s, both, caps, "e", Options{}); o.Outcome != engine.OutcomePass {
			t.Errorf("%s: %s: %s", s.Name, o.Outcome, o.Reason)
		}
	}
	one := &Evaluation{Results: []engine.Result{res(engine.StatusPass, "verified")}}
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
	oneAndOther := &Evaluation{Results: []engine.Result{res(engine.StatusPass, "verified"), res(engine.StatusFail, "anything")}}
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
	neither := &Evaluation{Results: []engine.Result{res(engine.StatusError, "boom")}}
	if o := Check(ss[1], neither, report, "admission", Options{}); o.Outcome != engine.OutcomeFail {
		t.Errorf("report, an entry no row expects: %s: %s", o.Outcome, o.Reason)
	}
	wrong := &Evaluation{Results: []engine.Result{res(engine.StatusFail, "other"), res(engine.StatusPass, "verified")}}
	o = Check(ss[1], wrong, caps, "e", Options{})
	if o.Outcome != engine.OutcomeFail || !strings.Contains(o.Reason, `want fail with message exactly "missing digest"`) {
		t.Errorf("wrong message: %s: %s", o.Outcome, o.Reason)
	}
}

// An admission check beside the rule result: admission engines are judged
// on the answer (and on the rule result when the resource was stored),
// other engines on the rule result with the answer unchecked.
func TestCheckAdmission(t *testing.T) {
	src := strings.Replace(file, "  labels: {site: deny}\n- policy: p", `  admission:
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
		ev     *Evaluation
		want   engine.Outcome
		reason string
	}{
		{"denied as expected, rule unchecked", denied, adm, &Evaluation{Admissions: answer(false, "denied: 127.0.0.1:5000"), Vars: vars, Requested: map[string]bool{"team/app": true}}, engine.OutcomePass, ""},
		{"allowed instead", denied, adm, &Evaluation{Admissions: answer(true, ""), Results: failed, Vars: vars}, engine.OutcomeFail, `want denied at admission, got allowed: ""`},
		{"other denial text", denied, adm, &Evaluation{Admissions: answer(false, "nope"), Vars: vars}, engine.OutcomeFail, `want denied at admission with message`},
		{"no answer", denied, adm, &Evaluation{Vars: vars}, engine.OutcomeFail, "want an admission answer for app, got none"},
		{"no admission: rule checked", denied, other, &Evaluation{Results: failed, Vars: vars, Requested: map[string]bool{"team/app": true}}, engine.OutcomePass, ""},
		{"answer only, warning matches", answerOnly, adm, &Evaluation{Admissions: answer(true, "", "be careful"), Vars: vars}, engine.OutcomePass, ""},
		{"answer only, warning missing", answerOnly, adm, &Evaluation{Admissions: answer(true, ""), Vars: vars}, engine.OutcomeFail, "want 1 admission warning(s), got 0"},
		{"answer only, took the webhook timeout", answerOnly, adm, &Evaluation{Admissions: []engine.AdmissionResponse{{Resource: pod, Allowed: true, Warnings: []string{"careful"}, Duration: 6e9}}, Vars: vars}, engine.OutcomeFail, "want the answer to take less than the webhook timeout (5s), it took 6s"},
		{"answer only, no admission engine", answerOnly, other, &Evaluation{Vars: vars}, engine.OutcomeUnsupported, "admission: no API server"},
		{"input the engine cannot take", denied, adm, &Evaluation{Err: fmt.Errorf("admission: a Secret: %w", engine.ErrUnsupportedInput)}, engine.OutcomeUnsupported, "admission: a Secret: unsupported input"},
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
	out := Check(ss[1], &Evaluation{Admissions: answer(false, "denied"), Vars: vars}, adm, "x", Options{})
	if out.Outcome != engine.OutcomePass || len(out.Unchecked) != 1 || !strings.Contains(out.Unchecked[0], "the API server denied the resource") {
		t.Errorf("row without admission check, resource denied: %s %q %q", out.Outcome, out.Reason, out.Unchecked)
	}
	out = Check(denied, &Evaluation{Results: failed, Vars: vars, Requested: map[string]bool{"team/app": true}}, other, "x", Options{})
	if len(out.Unchecked) != 1 || !strings.Contains(out.Unchecked[0], "admission: engine x does not send resources through an admission request") {
		t.Errorf("unchecked: %q", out.Unchecked)
	}
}

// TestWriteRunSummary: the run prints the engines table, its failing specs
// and where the matrix is, and writes the whole matrix to the file.
func TestWriteRunSummary(t *testing.T) {
	off, on := specs(t)
	recs := []*SpecRecord{
		Record(off, &Evaluation{}, Outcome{Outcome: engine.OutcomePass}),
		Record(on, &Evaluation{}, Outcome{Outcome: engine.OutcomeFail, Reason: "want skip, got error\nsecond line"}),
	}
	rf := NewResultsFile("inprocess", engine.Capabilities{Version: "v1.19.1"}, Options{}, recs)
	dir := t.TempDir()
	var b bytes.Buffer
	if err := WriteRunSummary(&b, dir, rf); err != nil {
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
