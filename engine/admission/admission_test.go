package admission

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/policykind"
)

func newTestEngine(t *testing.T, opts Options) *Engine {
	t.Helper()
	if opts.WebhookTimeout == 0 {
		opts.WebhookTimeout = 5 * time.Second
	}
	e, err := New(&rest.Config{Host: "https://127.0.0.1:1"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestNewRefusesBadOptions(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{WebhookTimeout: time.Second, Process: "scan"}, `Options.Process "scan": want "admission review" or "background scan"`},
		{Options{}, "Options.WebhookTimeout: want the controllers' webhook timeout"},
	} {
		if _, err := New(&rest.Config{}, tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v): %v, want %q", tc.opts, err, tc.want)
		}
	}
	if n := newTestEngine(t, Options{Process: ProcessBackgroundScan}).Name(); n != NameBackgroundScan {
		t.Errorf("background engine named %q", n)
	}
}

const policyYAML = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: p}
spec:
  background: true
  rules:
  - name: r
    validate: {failureAction: Enforce}
  - name: v
    verifyImages: [{imageReferences: ["*"], failureAction: Enforce}]
---
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: q}
`

func TestNamespacedCopies(t *testing.T) {
	docs, err := decodeAll([]engine.Document{{File: "p.yaml", Data: []byte(policyYAML)}})
	if err != nil || len(docs) != 2 {
		t.Fatalf("decodeAll: %d docs, %v", len(docs), err)
	}
	get := func(obj *unstructured.Unstructured, path ...string) any {
		v, _, _ := unstructured.NestedFieldNoCopy(obj.Object, path...)
		return v
	}
	action := func(obj *unstructured.Unstructured, i int) any {
		rules, _, _ := unstructured.NestedSlice(obj.Object, "spec", "rules")
		m := rules[i].(map[string]any)
		if v, ok := m["validate"].(map[string]any); ok {
			return v["failureAction"]
		}
		return m["verifyImages"].([]any)[0].(map[string]any)["failureAction"]
	}
	for _, tc := range []struct {
		opts                 Options
		background           any
		validate, verifyImgs any
	}{
		{Options{}, true, "Enforce", "Enforce"},
		{Options{AuditCopies: true}, false, "Audit", "Enforce"},
		{Options{AuditCopies: true, Process: ProcessBackgroundScan}, true, "Audit", "Enforce"},
	} {
		obj, err := newTestEngine(t, tc.opts).namespaced(docs[0], "ns1")
		if err != nil {
			t.Fatal(err)
		}
		if obj.GetKind() != "Policy" || obj.GetNamespace() != "ns1" {
			t.Errorf("%+v: got %s in %q, want a Policy in ns1", tc.opts, obj.GetKind(), obj.GetNamespace())
		}
		if b := get(obj, "spec", "background"); b != tc.background {
			t.Errorf("%+v: background %v, want %v", tc.opts, b, tc.background)
		}
		if a := action(obj, 0); a != tc.validate {
			t.Errorf("%+v: validate failureAction %v, want %v", tc.opts, a, tc.validate)
		}
		if a := action(obj, 1); a != tc.verifyImgs {
			t.Errorf("%+v: verifyImages failureAction %v, want %v (kept as written)", tc.opts, a, tc.verifyImgs)
		}
	}
	if get(docs[0].obj, "spec", "background") != true {
		t.Error("namespaced changed the decoded document")
	}
	if _, err := newTestEngine(t, Options{}).namespaced(document{file: "x.yaml", obj: &unstructured.Unstructured{Object: map[string]any{"kind": "Pod", "metadata": map[string]any{"name": "a"}}}}, "ns"); err == nil || !strings.Contains(err.Error(), "x.yaml: want one of the policy kinds kyverno.io ClusterPolicy") {
		t.Errorf("a Pod as policy: %v", err)
	}
}

func TestSupported(t *testing.T) {
	e := newTestEngine(t, Options{Proxy: "http://127.0.0.1:9", TrustedCAs: [][]byte{[]byte("ca")}})
	ok := engine.Request{Registry: engine.RegistryConfig{Proxy: "http://127.0.0.1:9", CACertsPEM: [][]byte{[]byte("ca")}}}
	if err := e.supported(ok); err != nil {
		t.Fatalf("supported: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*engine.Request)
		want string
	}{
		{"credentials", func(r *engine.Request) {
			r.Registry.Credentials = []engine.Credential{{Registry: "r", Username: "u", Password: "secret-pw"}}
		}, "registry credentials"},
		{"secrets", func(r *engine.Request) { r.Registry.Secrets = map[string][]engine.Credential{"s": nil} }, "registry Secrets"},
		{"configmaps", func(r *engine.Request) { r.ConfigMaps = []engine.Document{{}} }, "ConfigMaps"},
		{"apiCallResponses", func(r *engine.Request) { r.APICallResponses = []engine.APICallResponse{{URLPath: "/api/v1/pods"}} }, "apiCallResponses"},
		{"imagePullSecrets", func(r *engine.Request) { r.Registry.ImagePullSecrets = []string{"global"} }, "--imagePullSecrets"},
		{"imageVerifyCacheEnabled", func(r *engine.Request) { r.Registry.ImageVerifyCacheEnabled = true }, "--imageVerifyCacheEnabled=false"},
		{"operation", func(r *engine.Request) { r.Operation = "DELETE" }, "operation DELETE"},
		{"proxy", func(r *engine.Request) { r.Registry.Proxy = "http://127.0.0.1:8" }, `names registry proxy "http://127.0.0.1:8"; the controllers were started with "http://127.0.0.1:9"`},
		{"ca", func(r *engine.Request) { r.Registry.CACertsPEM = [][]byte{[]byte("other")} }, "trusts a CA the controllers were not started with"},
	} {
		req := ok
		tc.edit(&req)
		err := e.supported(req)
		if err == nil || !errors.Is(err, engine.ErrUnsupportedInput) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want unsupported input with %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret-pw") {
			t.Errorf("%s: the error quotes the password", tc.name)
		}
	}
}

func TestNamespaceLabels(t *testing.T) {
	pod := func(ns string) document {
		obj := &unstructured.Unstructured{Object: map[string]any{"kind": "Pod", "metadata": map[string]any{"name": "a", "namespace": ns}}}
		return document{obj: obj}
	}
	req := engine.Request{NamespaceLabels: map[string]map[string]string{"team": {"a": "b"}}}
	l, err := namespaceLabels(req, []document{pod("team"), pod("team")})
	if err != nil || l["a"] != "b" {
		t.Errorf("one namespace: %v, %v", l, err)
	}
	if _, err := namespaceLabels(req, []document{pod("team"), pod("default")}); !errors.Is(err, engine.ErrUnsupportedInput) {
		t.Errorf("two namespaces with labels: %v, want unsupported input", err)
	}
}

func TestHasProperty(t *testing.T) {
	var schema map[string]any
	err := yaml.Unmarshal([]byte(`openAPIV3Schema:
  properties:
    spec:
      properties:
        rules:
          items:
            properties:
              context:
                items:
                  properties:
                    imageRegistry:
                      properties:
                        reference: {type: string}
                        catchError: {type: boolean}
`), &schema)
	if err != nil {
		t.Fatal(err)
	}
	if !hasProperty(schema, "imageRegistry", "catchError") {
		t.Error("catchError under imageRegistry not found")
	}
	if hasProperty(schema, "imageRegistry", "jmesPath") || hasProperty(schema, "context", "catchError") {
		t.Error("found a property that is not there")
	}
}

func TestNamespacedCELCopies(t *testing.T) {
	const vpol = `apiVersion: policies.kyverno.io/v1beta1
kind: ValidatingPolicy
metadata: {name: v}
spec:
  validationActions: [Deny]
  validations:
  - expression: "true"
---
apiVersion: policies.kyverno.io/v1
kind: MutatingPolicy
metadata: {name: m}
spec: {}
`
	docs, err := decodeAll([]engine.Document{{File: "p.yaml", Data: []byte(vpol)}})
	if err != nil || len(docs) != 2 {
		t.Fatalf("decodeAll: %d docs, %v", len(docs), err)
	}
	for _, tc := range []struct {
		opts       Options
		actions    []string
		background any
	}{
		{Options{}, []string{"Deny"}, nil},
		{Options{AuditCopies: true}, []string{"Audit"}, false},
		{Options{AuditCopies: true, Process: ProcessBackgroundScan}, []string{"Audit"}, true},
	} {
		obj, err := newTestEngine(t, tc.opts).namespaced(docs[0], "ns1")
		if err != nil {
			t.Fatal(err)
		}
		if obj.GetKind() != "NamespacedValidatingPolicy" || obj.GetAPIVersion() != "policies.kyverno.io/v1" || obj.GetNamespace() != "ns1" {
			t.Errorf("%+v: got %s %s in %q", tc.opts, obj.GetAPIVersion(), obj.GetKind(), obj.GetNamespace())
		}
		actions, _, _ := unstructured.NestedStringSlice(obj.Object, "spec", "validationActions")
		if strings.Join(actions, ",") != strings.Join(tc.actions, ",") {
			t.Errorf("%+v: validationActions %v, want %v", tc.opts, actions, tc.actions)
		}
		if b, _, _ := unstructured.NestedFieldNoCopy(obj.Object, "spec", "evaluation", "background", "enabled"); b != tc.background {
			t.Errorf("%+v: background %v, want %v", tc.opts, b, tc.background)
		}
		if _, err := createdKind(obj); err != nil {
			t.Errorf("%+v: %v", tc.opts, err)
		}
	}
	m, err := newTestEngine(t, Options{AuditCopies: true}).namespaced(docs[1], "ns1")
	if err != nil {
		t.Fatal(err)
	}
	if _, has, _ := unstructured.NestedFieldNoCopy(m.Object, "spec", "validationActions"); m.GetKind() != "NamespacedMutatingPolicy" || has {
		t.Errorf("MutatingPolicy copy: %s, validationActions set %v", m.GetKind(), has)
	}
}

// The engine creates the namespaced kinds only, each as its resource in
// v1 of its group, and waits for the webhooks policykind names for it.
func TestCreatedKinds(t *testing.T) {
	for _, tc := range []struct {
		apiVersion, kind, gvr string
		webhooks              []policykind.Webhook
	}{
		{"kyverno.io/v1", "Policy", "kyverno.io/v1, Resource=policies", nil},
		{"policies.kyverno.io/v1", "NamespacedValidatingPolicy", "policies.kyverno.io/v1, Resource=namespacedvalidatingpolicies", []policykind.Webhook{{Mutating: false, Prefix: "nvpol.validate.kyverno.svc-"}}},
		{"policies.kyverno.io/v1", "NamespacedMutatingPolicy", "policies.kyverno.io/v1, Resource=namespacedmutatingpolicies", []policykind.Webhook{{Mutating: true, Prefix: "nmpol.validate.kyverno.svc-"}}},
		{"policies.kyverno.io/v1", "NamespacedImageValidatingPolicy", "policies.kyverno.io/v1, Resource=namespacedimagevalidatingpolicies", []policykind.Webhook{{Mutating: false, Prefix: "ivpol.validate.kyverno.svc-"}}},
	} {
		obj := &unstructured.Unstructured{}
		obj.SetAPIVersion(tc.apiVersion)
		obj.SetKind(tc.kind)
		k, err := createdKind(obj)
		if err != nil {
			t.Fatalf("%s: %v", tc.kind, err)
		}
		if got := gvr(k).String(); got != tc.gvr {
			t.Errorf("%s: resource %s, want %s", tc.kind, got, tc.gvr)
		}
		if !slices.Equal(k.Webhooks, tc.webhooks) {
			t.Errorf("%s: webhooks %v, want %v", tc.kind, k.Webhooks, tc.webhooks)
		}
	}
	for _, kind := range []string{"ClusterPolicy", "ValidatingPolicy", "ConfigMap"} {
		obj := &unstructured.Unstructured{}
		obj.SetAPIVersion("policies.kyverno.io/v1")
		if kind == "ClusterPolicy" {
			obj.SetAPIVersion("kyverno.io/v1")
		}
		obj.SetKind(kind)
		if _, err := createdKind(obj); err == nil || !strings.Contains(err.Error(), "creates no "+kind) {
			t.Errorf("%s: %v, want refused", kind, err)
		}
	}
}

// A kyverno.io policy is in Kyverno's validating webhook for a validate
// rule or a verifyImages rule that checks a digest or requires
// verification (both by default), not for one that does neither.
func TestNeedsValidating(t *testing.T) {
	for _, tc := range []struct {
		rules string
		want  bool
	}{
		{`[{name: r, validate: {message: m}}]`, true},
		{`[{name: r, verifyImages: [{imageReferences: ["*"]}]}]`, true},
		{`[{name: r, verifyImages: [{imageReferences: ["*"], verifyDigest: false, required: true}]}]`, true},
		{`[{name: r, verifyImages: [{imageReferences: ["*"], verifyDigest: false, required: false}]}]`, false},
		{`[{name: r, mutate: {patchStrategicMerge: {}}}]`, false},
	} {
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte("spec: {rules: "+tc.rules+"}"), &obj.Object); err != nil {
			t.Fatal(err)
		}
		if got := needsValidating(obj); got != tc.want {
			t.Errorf("%s: %t, want %t", tc.rules, got, tc.want)
		}
	}
}
