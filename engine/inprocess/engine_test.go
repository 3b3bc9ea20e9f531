package inprocess

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/fakeregistry"
)

// policy is the issue-14302 shape: an imageRegistry entry and a precondition
// that skips the rule when the image cannot be resolved. CATCH is replaced
// by the catchError line (or nothing).
const policy = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: check-user
  annotations:
    pod-policies.kyverno.io/autogen-controllers: none
spec:
  background: false
  rules:
  - name: check
    match:
      any:
      - resources:
          kinds: [Pod]
    context:
    - name: imageData
      imageRegistry:
        reference: "{{ request.object.spec.containers[0].image }}"
CATCH
    preconditions:
      all:
      - key: "{{ imageData.resolvedImage || '' }}"
        operator: NotEquals
        value: ""
    validate:
      failureAction: Enforce
      message: "image runs as root"
      deny:
        conditions:
          any:
          - key: "{{ imageData.configData.config.User || 'root' }}"
            operator: Equals
            value: root
`

func pod(image string) string {
	return `apiVersion: v1
kind: Pod
metadata:
  name: app
  namespace: default
spec:
  containers:
  - name: app
    image: "` + image + `"
`
}

func startRegistry(t *testing.T, cfg fakeregistry.Config) *fakeregistry.Server {
	t.Helper()
	srv, err := fakeregistry.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func evaluate(t *testing.T, e *Engine, pol, res string, reg engine.RegistryConfig) []engine.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := e.Evaluate(ctx, engine.Request{
		Policies:  []engine.Document{{File: "policy.yaml", Data: []byte(pol)}},
		Resources: []engine.Document{{File: "pod.yaml", Data: []byte(res)}},
		Registry:  reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func one(t *testing.T, rs []engine.Result) engine.Result {
	t.Helper()
	if len(rs) != 1 {
		t.Fatalf("want 1 result, got %d: %v", len(rs), rs)
	}
	return rs[0]
}

func chain(ref, tail string) string {
	return "failed to fetch image descriptor: " + ref + ", error: failed to fetch image descriptor: " + ref +
		", error: failed to fetch image reference: " + ref + ", error: " + tail
}

func TestCatchErrorContract(t *testing.T) {
	reg := startRegistry(t, fakeregistry.Config{Images: []fakeregistry.Image{{Ref: "team/app:v1", Config: fakeregistry.ImageConfig{User: "1000"}}}})
	R := reg.Addr()
	gone := R + "/team/app:gone"
	e := New()
	withCatch := func(v string) string {
		return strings.Replace(policy, "CATCH", "        catchError: "+v, 1)
	}
	without := strings.Replace(policy, "CATCH\n", "", 1)

	// Decision 1: without the field, Kyverno v1.19.1's error, byte for byte.
	r := one(t, evaluate(t, e, without, pod(gone), engine.RegistryConfig{}))
	wantErr := "failed to evaluate preconditions: failed to substitute variables in condition key: failed to resolve imageData.resolvedImage || '' at path : " +
		chain(gone, "GET http://"+R+"/v2/team/app/manifests/gone: MANIFEST_UNKNOWN: Unknown manifest")
	if r.Status != engine.StatusError || r.Message != wantErr {
		t.Errorf("no catchError: got %s %q\nwant error %q", r.Status, r.Message, wantErr)
	}
	if got := one(t, evaluate(t, e, withCatch("false"), pod(gone), engine.RegistryConfig{})); got.Status != r.Status || got.Message != r.Message {
		t.Errorf("catchError false differs from absent: %s %q", got.Status, got.Message)
	}
	if got := r.Context["imageData"]; got != nil {
		t.Errorf("a failed lookup without catchError stored %v", got)
	}

	// Decision 2: caught, the entry is exactly {failed, errorMessage}.
	r = one(t, evaluate(t, e, withCatch("true"), pod(gone), engine.RegistryConfig{}))
	if r.Status != engine.StatusSkip || r.Message != "preconditions not met" {
		t.Errorf("catchError true, missing: got %s %q, want skip", r.Status, r.Message)
	}
	data, _ := r.Context["imageData"].(map[string]any)
	if len(data) != 2 || data["failed"] != true || data["errorMessage"] != chain(gone, "GET http://"+R+"/v2/team/app/manifests/gone: MANIFEST_UNKNOWN: Unknown manifest") {
		t.Errorf("caught entry = %v", r.Context["imageData"])
	}

	// Decision 3: success has the 8 keys plus failed: false, errorMessage: "".
	r = one(t, evaluate(t, e, withCatch("true"), pod(R+"/team/app:v1"), engine.RegistryConfig{}))
	if r.Status != engine.StatusPass {
		t.Errorf("catchError true, present: got %s %q", r.Status, r.Message)
	}
	data, _ = r.Context["imageData"].(map[string]any)
	if len(data) != 10 || data["failed"] != false || data["errorMessage"] != "" || data["registry"] != R {
		t.Errorf("success entry has %d keys: %v", len(data), data)
	}
	r = one(t, evaluate(t, e, without, pod(R+"/team/app:v1"), engine.RegistryConfig{}))
	if data, _ := r.Context["imageData"].(map[string]any); len(data) != 8 {
		t.Errorf("success without catchError has %d keys, want Kyverno's 8: %v", len(data), data)
	}
}

func TestCapabilities(t *testing.T) {
	caps, err := New().Capabilities(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !caps.Has(engine.CapCatchError) || !caps.Has(engine.CapContext) || caps.Has(engine.CapAdmission) {
		t.Errorf("capabilities = %+v", caps)
	}
	if !strings.Contains(caps.Version, "Kyverno v") || !strings.Contains(caps.Version, "in process") {
		t.Errorf("Version %q does not name the linked Kyverno", caps.Version)
	}
}

func TestBadInput(t *testing.T) {
	e := New()
	typo := strings.Replace(strings.Replace(policy, "CATCH\n", "", 1), "reference:", "referencee:", 1)
	_, err := e.Evaluate(context.Background(), engine.Request{
		Policies:  []engine.Document{{File: "typo.yaml", Data: []byte(typo)}},
		Resources: []engine.Document{{File: "pod.yaml", Data: []byte(pod("x/y:z"))}},
	})
	if err == nil || !strings.HasPrefix(err.Error(), "typo.yaml:18:9: ") || !strings.Contains(err.Error(), "referencee") {
		t.Errorf("typo: error = %v, want typo.yaml:18:9: ... referencee", err)
	}
	badCatch := strings.Replace(policy, "CATCH", "        catchError: 1", 1)
	_, err = e.Evaluate(context.Background(), engine.Request{
		Policies:  []engine.Document{{File: "catch.yaml", Data: []byte(badCatch)}},
		Resources: []engine.Document{{File: "pod.yaml", Data: []byte(pod("x/y:z"))}},
	})
	if err == nil || !strings.HasPrefix(err.Error(), "catch.yaml:19:21: spec.rules[0].context[0].imageRegistry.catchError: want a boolean") {
		t.Errorf("catchError 1: error = %v", err)
	}
	_, err = e.Evaluate(context.Background(), engine.Request{
		Policies:  []engine.Document{{File: "p.yaml", Data: []byte(strings.Replace(policy, "CATCH\n", "", 1))}},
		Resources: []engine.Document{{File: "pod.yaml", Data: []byte(pod("x/y:z"))}},
		Operation: "PATCH",
	})
	if err == nil || !strings.Contains(err.Error(), `Request.Operation "PATCH"`) {
		t.Errorf("operation PATCH: error = %v", err)
	}
}

func TestDeferredLoadingOff(t *testing.T) {
	reg := startRegistry(t, fakeregistry.Config{Images: []fakeregistry.Image{{Ref: "team/app:v1", Config: fakeregistry.ImageConfig{User: "1000"}}}})
	R := reg.Addr()
	gone := R + "/team/app:gone"
	tail := "GET http://" + R + "/v2/team/app/manifests/gone: MANIFEST_UNKNOWN: Unknown manifest"
	e := New(WithDeferredLoading(false))
	// Every entry loads before the rule runs: Kyverno's own prefix, for the
	// entry without catchError; the caught entry is data, so the guard skips.
	r := one(t, evaluate(t, e, strings.Replace(policy, "CATCH\n", "", 1), pod(gone), engine.RegistryConfig{}))
	if want := "failed to load context: " + chain(gone, tail); r.Status != engine.StatusError || r.Message != want {
		t.Errorf("deferred off, no catchError: got %s %q\nwant error %q", r.Status, r.Message, want)
	}
	r = one(t, evaluate(t, e, strings.Replace(policy, "CATCH", "        catchError: true", 1), pod(gone), engine.RegistryConfig{}))
	if r.Status != engine.StatusSkip || r.Message != "preconditions not met" {
		t.Errorf("deferred off, catchError true: got %s %q, want skip", r.Status, r.Message)
	}
}

// A mutate rule (resolve the tag to its digest) reads imageData like a
// validate rule; with catchError a deleted image lets the Pod through
// unmutated (the rule skips) instead of an error.
const digestPolicy = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: resolve-digest
  annotations:
    pod-policies.kyverno.io/autogen-controllers: none
spec:
  background: false
  rules:
  - name: pin
    match:
      any:
      - resources:
          kinds: [Pod]
    context:
    - name: imageData
      imageRegistry:
        reference: "{{ request.object.spec.containers[0].image }}"
CATCH
    preconditions:
      all:
      - key: "{{ imageData.resolvedImage || '' }}"
        operator: NotEquals
        value: ""
    mutate:
      patchStrategicMerge:
        spec:
          containers:
          - name: app
            image: "{{ imageData.resolvedImage }}"
`

func TestMutateRule(t *testing.T) {
	reg := startRegistry(t, fakeregistry.Config{Images: []fakeregistry.Image{{Ref: "team/app:v1"}}})
	R := reg.Addr()
	e := New()
	r := one(t, evaluate(t, e, strings.Replace(digestPolicy, "CATCH\n", "", 1), pod(R+"/team/app:v1"), engine.RegistryConfig{}))
	if r.Status != engine.StatusPass || r.Message != "mutated Pod/app in namespace default" {
		t.Errorf("present: got %s %q", r.Status, r.Message)
	}
	r = one(t, evaluate(t, e, strings.Replace(digestPolicy, "CATCH\n", "", 1), pod(R+"/team/app:gone"), engine.RegistryConfig{}))
	if r.Status != engine.StatusError || !strings.HasSuffix(r.Message, "MANIFEST_UNKNOWN: Unknown manifest") {
		t.Errorf("gone, no catchError: got %s %q", r.Status, r.Message)
	}
	r = one(t, evaluate(t, e, strings.Replace(digestPolicy, "CATCH", "        catchError: true", 1), pod(R+"/team/app:gone"), engine.RegistryConfig{}))
	if r.Status != engine.StatusSkip || r.Message != "preconditions not met" {
		t.Errorf("gone, catchError: got %s %q", r.Status, r.Message)
	}
}

// A policy Kyverno's validation refuses is never dropped: each of its rules
// is an error with Kyverno's reason, for every resource.
func TestRefusedPolicy(t *testing.T) {
	out, err := New().Evaluate(context.Background(), engine.Request{
		Policies: []engine.Document{{File: "refused.yaml", Data: []byte(invalidPolicy)}},
		Resources: []engine.Document{
			{File: "a.yaml", Data: []byte(pod("x/y:z"))},
			{File: "b.yaml", Data: []byte(strings.Replace(pod("x/y:z"), "name: app\n  namespace", "name: other\n  namespace", 1))},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "only select variables are allowed in background mode. Set spec.background=false to disable background mode for this policy rule: variable {{ request.userInfo.username }} is not allowed"
	if len(out) != 2 {
		t.Fatalf("want one result per resource, got %v", out)
	}
	for _, r := range out {
		if r.Policy != "refused" || r.Rule != "check" || r.Status != engine.StatusError || r.Message != want {
			t.Errorf("got %s", r)
		}
	}
}

// A policies.kyverno.io policy that does not compile, or a kind the engine
// does not run, is a batch error naming the file (and the line and field
// of the expression), never a silently missing result.
func TestCELPolicyInputErrors(t *testing.T) {
	vpol := `apiVersion: policies.kyverno.io/v1
kind: ValidatingPolicy
metadata:
  name: v
spec:
  validationActions: [Deny]
  matchConstraints:
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}
  validations:
  - expression: image.GetMetadata(object.spec.containers[0].image).resolvedImage !=
`
	gpol := `apiVersion: policies.kyverno.io/v1
kind: DeletingPolicy
metadata:
  name: d
spec:
  schedule: "* * * * *"
  matchConstraints:
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}
  conditions:
  - {name: c, expression: "true"}
`
	for _, c := range []struct{ name, doc, want string }{
		{"does not compile", vpol, "policy.yaml:11:5: ValidatingPolicy v does not compile: spec.validations[0].expression: Invalid value"},
		{"a kind not run", gpol, "policy.yaml: DeletingPolicy: this engine evaluates kyverno.io ClusterPolicy, kyverno.io Policy, policies.kyverno.io ValidatingPolicy"},
	} {
		_, err := New().Evaluate(context.Background(), engine.Request{
			Policies:  []engine.Document{{File: "policy.yaml", Data: []byte(c.doc)}},
			Resources: []engine.Document{{File: "pod.yaml", Data: []byte(pod("127.0.0.1:1/team/app:v1"))}},
		})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}
