package kyvernocli

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/imagectx/conformance/engine"
)

// testdata/apply-v1.19.1.{stdout,stderr} is a real v1.19.1 run (work dir
// and registry address replaced): check-image-config and the namespaced
// ns-policy applied to three Pods, and check-image-catch dropped for its
// catchError field.
func capturedPolicies() ([]policyDoc, []resourceDoc) {
	pol := func(i, name, file, ns string, rules ...string) policyDoc {
		return policyDoc{
			yamlDoc: yamlDoc{File: file, Line: 1}, Name: name, Namespace: ns, Kind: "ClusterPolicy", Rules: rules,
			Path: "/tmp/kyvernocli-capture/policies/p000" + i + "-" + name + ".yaml",
		}
	}
	res := func(name string) resourceDoc {
		return resourceDoc{ID: engine.ResourceID{Kind: "Pod", Namespace: "default", Name: name}}
	}
	return []policyDoc{
			pol("0", "check-image-config", "check-image-config.yaml", "", "check-image"),
			pol("1", "check-image-catch", "check-image-catch.yaml", "", "check-image"),
			pol("2", "ns-policy", "ns.yaml", "default", "name-check"),
		},
		[]resourceDoc{res("a-present"), res("a2-root"), res("c-missing")}
}

func readCapture(t *testing.T) runResult {
	t.Helper()
	stdout, err := os.ReadFile("testdata/apply-v1.19.1.stdout")
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := os.ReadFile("testdata/apply-v1.19.1.stderr")
	if err != nil {
		t.Fatal(err)
	}
	return runResult{Stdout: stdout, Stderr: stderr, ExitCode: 1}
}

func TestInterpretCapturedApply(t *testing.T) {
	pols, ress := capturedPolicies()
	results, err := interpretApply(readCapture(t), pols, ress)
	if err != nil {
		t.Fatal(err)
	}
	const R = "127.0.0.1:5000"
	dropped := "policy not loaded by the Kyverno CLI: failed to load file check-image-catch.yaml:1: failed to parse document " +
		"(spec.rules[0].context[0].imageRegistry.catchError: Invalid value: value provided for unknown field)"
	want := []string{
		"check-image-catch/check-image Pod/default/a-present: error: " + dropped,
		"check-image-catch/check-image Pod/default/a2-root: error: " + dropped,
		"check-image-catch/check-image Pod/default/c-missing: error: " + dropped,
		"check-image-config/check-image Pod/default/a-present: pass: validation rule 'check-image' passed.",
		"check-image-config/check-image Pod/default/a2-root: fail: image " + R + "/test/rootapp:v1 runs as root",
		"check-image-config/check-image Pod/default/c-missing: error: " + lookupError(R+"/test/app:v2",
			"GET http://"+R+"/v2/test/app/manifests/v2: MANIFEST_UNKNOWN: Unknown manifest"),
		"ns-policy/name-check Pod/default/a-present: pass: validation rule 'name-check' passed.",
		"ns-policy/name-check Pod/default/a2-root: pass: validation rule 'name-check' passed.",
		"ns-policy/name-check Pod/default/c-missing: pass: validation rule 'name-check' passed.",
	}
	var got []string
	for _, r := range results {
		got = append(got, r.String())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("results:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseApplyOutputSkippedPolicies(t *testing.T) {
	stdout := "Warning: x.yaml: kyverno.io/v1 ClusterPolicy is deprecated\n" +
		"----------------------------------------------------------------------\n" +
		"Policies Skipped:\n" +
		"1. check-image-config: path: spec.rules[0]: bad image: 127.0.0.1:1/Bad Repo::tag: invalid reference format\n" +
		"----------------------------------------------------------------------\n" +
		"----------------------------------------------------------------------\n" +
		"Invalid Policies:\n" +
		"1. foreach-policy\n" +
		"----------------------------------------------------------------------\n"
	out, err := parseApplyOutput([]byte(stdout))
	if err != nil {
		t.Fatal(err)
	}
	want := []skippedPolicy{
		{Name: "check-image-config", Reason: "path: spec.rules[0]: bad image: 127.0.0.1:1/Bad Repo::tag: invalid reference format"},
		{Name: "foreach-policy"},
	}
	if len(out.Skipped) != 2 || out.Skipped[0] != want[0] || out.Skipped[1] != want[1] {
		t.Errorf("skipped = %+v, want %+v", out.Skipped, want)
	}
	if len(out.Reports) != 0 || len(out.Other) != 1 || !strings.HasPrefix(out.Other[0], "Warning:") {
		t.Errorf("reports %d, other %q", len(out.Reports), out.Other)
	}
}

func TestInterpretApplyErrors(t *testing.T) {
	pols, ress := capturedPolicies()
	report := func(policy, rule, result string) string {
		return `{"kind":"ClusterReport","apiVersion":"openreports.io/v1alpha1","metadata":{"name":"merged"},"results":[{"policy":"` + policy +
			`","rule":"` + rule + `","result":"` + result + `","resources":[{"kind":"Pod","namespace":"default","name":"a-present"}],"message":"m"}]}` + "\n"
	}
	tests := []struct {
		name   string
		run    runResult
		want   string
		wantOK bool
	}{
		{name: "no report, exit 0: nothing matched", run: runResult{Stdout: []byte("Warning: deprecated\n")}, wantOK: true},
		{name: "no report, exit 1", run: runResult{ExitCode: 1, Stderr: []byte("Error: failed to load resources (boom)\n")},
			want: "apply exited 1 without a report\nstderr:\nError: failed to load resources (boom)"},
		{name: "exit 2", run: runResult{ExitCode: 2}, want: "apply exited 2"},
		{name: "truncated JSON", run: runResult{Stdout: []byte(`{"kind":"ClusterReport","results":[` + "\n")}, want: "stdout line 1: report JSON"},
		{name: "other kind", run: runResult{Stdout: []byte(`{"kind":"Pod"}` + "\n")}, want: `stdout line 1: expected a ClusterReport or PolicyReport, got kind "Pod"`},
		{name: "unknown policy", run: runResult{Stdout: []byte(report("stranger", "r", "pass"))}, want: `the report names policy "stranger", which was not given`},
		{name: "unknown rule", run: runResult{Stdout: []byte(report("check-image-config", "other", "pass"))}, want: `the report names rule "other" of policy "check-image-config"`},
		{name: "autogen rule", run: runResult{Stdout: []byte(report("check-image-config", "autogen-check-image", "pass"))}, wantOK: true},
		{name: "unknown status", run: runResult{Stdout: []byte(report("check-image-config", "check-image", "maybe"))}, want: `unknown result "maybe"`},
		{name: "unattributable drop", run: runResult{Stderr: []byte("x > skipping invalid YAML file error=\"failed to load file /elsewhere.yaml\"\n")},
			want: "the CLI skipped a document it cannot attribute to a given policy"},
		{name: "skipped policy not given", run: runResult{ExitCode: 1, Stdout: []byte("Policies Skipped:\n1. stranger: bad\n")},
			want: `the CLI skipped policy "stranger", which was not given: bad`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := interpretApply(tt.run, pols, ress)
			if tt.wantOK {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want containing %q", err, tt.want)
			}
		})
	}
}

func TestDroppedPoliciesFromColouredLog(t *testing.T) {
	pols, _ := capturedPolicies()
	dropped, err := droppedPolicies(readCapture(t).Stderr, pols)
	if err != nil {
		t.Fatal(err)
	}
	if len(dropped) != 1 || dropped[0].policy.Name != "check-image-catch" ||
		!strings.HasPrefix(dropped[0].reason, "failed to load file check-image-catch.yaml:1: failed to parse document") {
		t.Errorf("dropped = %+v", dropped)
	}
}

func TestCapabilityParsing(t *testing.T) {
	v, err := parseVersion([]byte("Version: v1.19.1\nTime: ---\nGit commit ID: ---\n"))
	if err != nil || v != "v1.19.1" {
		t.Errorf("parseVersion = %q, %v", v, err)
	}
	if _, err := parseVersion([]byte("kyverno 1.2\n")); err == nil {
		t.Error("parseVersion accepted output without a Version: line")
	}
	// v1.19.1 with the probe: the catchError policy is dropped.
	dropped := "Warning: ...deprecated...\n\nApplying 1 policy rule(s) to 1 resource(s)...\n\npass: 0, fail: 0, warn: 0, error: 1, skip: 0 \n"
	// A build with the feature: both applied, the probe fails as caught.
	caught := "\nApplying 2 policy rule(s) to 1 resource(s)...\npolicy imagectx-probe-catcherror -> resource default/Pod/imagectx-probe failed:\n1 - probe caught=true\n\npass: 0, fail: 1, warn: 0, error: 1, skip: 0 \n"
	// Accepts the field but does not catch: both rules error.
	uncaught := "\nApplying 2 policy rule(s) to 1 resource(s)...\n\npass: 0, fail: 0, warn: 0, error: 2, skip: 0 \n"
	tests := []struct {
		name, stdout string
		wantCatch    bool
		wantReason   string
	}{
		{"dropped", dropped, false, "kubectl-kyverno vX does not know imageRegistry.catchError: it silently drops a policy that sets it (exit 0, 1 of 2 probe rules applied; -v 3 logs: why)"},
		{"caught", caught, true, ""},
		{"uncaught", uncaught, false, "kubectl-kyverno vX loads imageRegistry.catchError but does not catch a failed lookup (pass 0, fail 0, error 2"},
		{"nothing", "Applying 0 policy rule(s) to 1 resource(s)...\npass: 0, fail: 0, warn: 0, error: 0, skip: 0\n", false, "applied 0 policy rule(s)"},
	}
	for _, tt := range tests {
		s, err := parseApplySummary([]byte(tt.stdout))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got, reason := judgeCatchError("vX", s, []byte(tt.stdout), "why")
		if got != tt.wantCatch || !strings.Contains(reason, tt.wantReason) {
			t.Errorf("%s: catchError %v, reason %q; want %v, %q", tt.name, got, reason, tt.wantCatch, tt.wantReason)
		}
	}
	if _, err := parseApplySummary([]byte("pass: 1, fail: 0, warn: 0, error: 0, skip: 0\n")); err == nil {
		t.Error("parseApplySummary accepted output without the Applying line: a dropped policy would go unnoticed")
	}
}

// testdata/apply-mutate-v1.19.1.stdout is a real v1.19.1 run of
// policies add-label (mutate), bad-mutate (mutate whose
// imageRegistry lookup fails) and need-label (validate) on Pods default/app
// and team/other: each mutated resource is printed as YAML between
// "policy P applied to NS/KIND/NAME:" and "---", and the JSON report
// follows "Mutation has been applied successfully." on the same line.
func TestParseMutateOutput(t *testing.T) {
	stdout, err := os.ReadFile("testdata/apply-mutate-v1.19.1.stdout")
	if err != nil {
		t.Fatal(err)
	}
	out, err := parseApplyOutput(stdout)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Reports) != 1 {
		t.Fatalf("reports = %d, want 1 (the one after the last mutation notice)", len(out.Reports))
	}
	results, err := out.results()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range results {
		label := ""
		if r.PatchedResource != nil {
			labels, _, _ := unstructuredLabels(r.PatchedResource)
			label = " patched labels=" + labels
		}
		got = append(got, r.Policy+"/"+r.Rule+" "+r.Resource.String()+" "+string(r.Status)+label)
	}
	want := []string{
		"add-label/label Pod/default/app pass patched labels=foo=bar",
		"add-label/label Pod/team/other pass patched labels=foo=bar",
		"bad-mutate/broken Pod/default/app error",
		"bad-mutate/broken Pod/team/other error",
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("results:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func unstructuredLabels(obj map[string]any) (string, bool, error) {
	md, _ := obj["metadata"].(map[string]any)
	labels, _ := md["labels"].(map[string]any)
	var parts []string
	for k, v := range labels {
		parts = append(parts, fmt.Sprintf("%s=%v", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ","), len(parts) > 0, nil
}

func TestParseMutateOutputErrors(t *testing.T) {
	for _, tt := range []struct{ name, stdout, want string }{
		{"unclosed block", "policy p applied to default/Pod/app:\napiVersion: v1\n", "stdout line 1: the resource policy p patched has no closing ---"},
		{"bad yaml", "policy p applied to default/Pod/app:\n: : :\n---\n", "stdout line 1: the resource policy p patched"},
		{"twice", "policy p applied to default/Pod/app:\na: 1\n---\npolicy p applied to default/Pod/app:\na: 1\n---\n", "policy p patched default/Pod/app twice"},
		{"targets", "patched targets: \n", "patched targets (mutateExisting)"},
		{"generate", "policy g applied to default/ConfigMap/c:\na: 1\n---\n\n\nGenerate:\nGeneration completed successfully.{}\n", "generated resources (a generate rule)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseApplyOutput([]byte(tt.stdout))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want containing %q", err, tt.want)
			}
		})
	}
}

func TestUnreadableReportIsAnError(t *testing.T) {
	pols, ress := capturedPolicies()
	_, err := interpretApply(runResult{Stdout: []byte("Warning: x\nsomething {\"kind\":\"ClusterReport\"}\n")}, pols, ress)
	if err == nil || !strings.Contains(err.Error(), "stdout has a line the driver cannot read") {
		t.Errorf("err = %v, want the unread stdout named", err)
	}
}

func TestBlockStyle(t *testing.T) {
	flow := yamlDoc{File: "s.yaml", Line: 3, Data: []byte("# c\n{apiVersion: v1, kind: Pod, metadata: {name: app}}\n")}
	got, err := blockStyle(flow)
	if err != nil {
		t.Fatal(err)
	}
	if want := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\n"; string(got) != want {
		t.Errorf("blockStyle = %q, want %q", got, want)
	}
	block := yamlDoc{File: "s.yaml", Line: 3, Data: []byte("# c\nkind: Pod # kept\n")}
	if got, _ := blockStyle(block); string(got) != string(block.Data) {
		t.Errorf("a block-style document changed: %q", got)
	}
	if _, err := blockStyle(yamlDoc{File: "s.yaml", Line: 3, Data: []byte("{a: [}\n")}); err == nil || !strings.Contains(err.Error(), "s.yaml:3: not valid YAML") {
		t.Errorf("err = %v, want s.yaml:3: not valid YAML", err)
	}
}

func TestValuesFile(t *testing.T) {
	got, err := valuesFile("DELETE", map[string]map[string]string{"sandbox": nil, "verified": {"imagectx.io/verify": "true"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `apiVersion: cli.kyverno.io/v1alpha1
globalValues:
  request.operation: DELETE
kind: Values
namespaceSelector:
- labels: null
  name: sandbox
- labels:
    imagectx.io/verify: "true"
  name: verified
`
	if string(got) != want {
		t.Errorf("valuesFile:\n%s\nwant:\n%s", got, want)
	}
}
