package scenario

import (
	"strings"
	"testing"
)

const mutateScenario = `apiVersion: conformance.imagectx.io/v1alpha1
kind: Test
metadata: {name: m}
policies:
- apiVersion: kyverno.io/v1
  kind: ClusterPolicy
  metadata: {name: p}
  spec:
    rules:
    - name: r
      mutate:
        patchStrategicMerge:
          metadata:
            labels: {foo: bar}
    - name: v
      validate:
        pattern: {metadata: {name: "?*"}}
resources:
- {apiVersion: v1, kind: Pod, metadata: {name: app, namespace: default}}
results:
- policy: p
  rule: r
  resources: [app]
  result: pass
  patchedResource:
    apiVersion: v1
    kind: Pod
    metadata: {name: app, namespace: default, labels: {foo: "${REGISTRY}"}}
`

func TestPatchedResource(t *testing.T) {
	f, err := Parse("m.yaml", "m", []byte(mutateScenario))
	if err != nil {
		t.Fatal(err)
	}
	specs := Specs([]*File{f})
	if len(specs) != 1 || !strings.Contains(strings.Join(specs[0].Labels, ","), "rule:mutate") {
		t.Fatalf("specs %v; want one labelled rule:mutate", specs)
	}
	p := specs[0].Row.PatchedResource
	vars := Vars{VarRegistry: "127.0.0.1:5000"}
	got := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{
		"name": "app", "namespace": "default", "labels": map[string]any{"foo": "127.0.0.1:5000"}}}
	if ok, why := p.Match(got, vars); !ok {
		t.Errorf("Match = false: %s", why)
	}
	got["metadata"].(map[string]any)["labels"] = map[string]any{"foo": "x", "extra": "1"}
	ok, why := p.Match(got, vars)
	want := `patched resource differs from m.yaml:26 at .metadata.labels.extra: want absent, got "1"; .metadata.labels.foo: want "127.0.0.1:5000", got "x"`
	if ok || why != want {
		t.Errorf("Match = %v, %q\nwant false, %q", ok, why, want)
	}
	if ok, why := p.Match(nil, vars); ok || !strings.Contains(why, "got none") {
		t.Errorf("Match(nil) = %v, %q", ok, why)
	}
}

func TestPatchedResourceErrors(t *testing.T) {
	for _, tc := range []struct{ name, old, new, want string }{
		{"not an object", "  patchedResource:\n    apiVersion: v1\n", "  patchedResource: 3\n  x:\n    apiVersion: v1\n",
			"m.yaml:25:20: results[0].patchedResource: want a file path or an inline Kubernetes object, got"},
		{"validate rule", "  rule: r\n", "  rule: v\n",
			"results[0].patchedResource: rule v of policy p is a validate rule; only mutate and verifyImages rules patch a resource"},
		{"unknown variable", "${REGISTRY}", "${NOPE}", "results[0].patchedResource: unknown variable ${NOPE}"},
		{"missing file", "  patchedResource:\n    apiVersion: v1\n    kind: Pod\n    metadata: {name: app, namespace: default, labels: {foo: \"${REGISTRY}\"}}\n",
			"  patchedResource: nothere.yaml\n", "results[0].patchedResource: want a readable YAML file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(mutateScenario, tc.old, tc.new, 1)
			if src == mutateScenario {
				t.Fatalf("test bug: %q not found", tc.old)
			}
			_, err := Parse("m.yaml", "m", []byte(src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant containing %q", err, tc.want)
			}
		})
	}
}

// A resource written in flow style renders with a block-style top level:
// Kyverno's resource loader (in process and in the CLI) takes a document
// starting with "{" for JSON and refuses it.
func TestRenderFlowStyleResource(t *testing.T) {
	f, err := Parse("m.yaml", "m", []byte(mutateScenario))
	if err != nil {
		t.Fatal(err)
	}
	_, resources, err := f.Render(&f.Bindings[0], Vars{VarRegistry: "127.0.0.1:5000"})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(resources[0].Data); !strings.HasPrefix(got, "apiVersion: v1\n") {
		t.Errorf("rendered resource starts %q, want block style", got)
	}
}

func TestRelocateEnginePositions(t *testing.T) {
	f, err := Parse("t.yaml", "t", []byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	src := f.Policies[0].Docs[0].Source // "t.yaml:13", where the policy starts
	if src != "t.yaml:13" {
		t.Fatalf("source %s", src)
	}
	// The engine saw the rendered copy: line 9 of it; the field is on line
	// 22 of the file the user wrote.
	msg := src + ":9:11: spec.rules[0].context[0].imageRegistry.reference: bad"
	want := "t.yaml:22:11: spec.rules[0].context[0].imageRegistry.reference: bad"
	if got := f.Relocate(msg); got != want {
		t.Errorf("Relocate:\n got %s\nwant %s", got, want)
	}
	// A path the document does not have: its first line.
	if got, want := f.Relocate(src+":2:1: spec.nope: bad"), "t.yaml:13: spec.nope: bad"; got != want {
		t.Errorf("Relocate unknown path: %s, want %s", got, want)
	}
	if got := f.Relocate("no position here"); got != "no position here" {
		t.Errorf("Relocate changed %q", got)
	}
}
