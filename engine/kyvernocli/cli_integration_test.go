package kyvernocli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/fakeregistry"
)

// These tests run the real kubectl-kyverno against the real fake registry.
// They are skipped, saying why, when no binary is available: set
// KYVERNO_CLI or run `make kyverno-cli` first.

func cliEngine(t *testing.T) *Engine {
	t.Helper()
	bin, err := DefaultBinary(context.Background())
	if err != nil {
		t.Skipf("no Kyverno CLI to run: %v", err)
	}
	e, err := New(WithBinary(bin), WithTempDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func startRegistry(t *testing.T, cfg fakeregistry.Config) *fakeregistry.Server {
	t.Helper()
	srv, err := fakeregistry.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// checkImagePolicy is the policy of feasibility.md section 2: deny when
// the image runs as root, reading imageData in a deny condition.
func checkImagePolicy(name, extraContext string) engine.Document {
	return engine.Document{File: name + ".yaml", Data: []byte(fmt.Sprintf(`apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: %s
spec:
  background: false
  rules:
  - name: check-image
    match:
      any:
      - resources:
          kinds: [Pod]
    context:
    - name: imageData
      imageRegistry:
        reference: "{{ request.object.spec.containers[0].image }}"%s
    validate:
      failureAction: Enforce
      message: "image {{ request.object.spec.containers[0].image }} runs as root"
      deny:
        conditions:
          any:
          - key: "{{ imageData.configData.config.User || 'root' }}"
            operator: Equals
            value: "root"
`, name, extraContext))}
}

func pod(name, image string) engine.Document {
	return engine.Document{File: name + ".yaml", Data: []byte(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: default
spec:
  containers:
  - name: app
    image: %q
`, name, image))}
}

// prefix is where the failure surfaces for checkImagePolicy
// (feasibility.md 2.1, "P"), followed by the loader's doubled chain.
func lookupError(ref, tail string) string {
	return "failed to check deny conditions: failed to substitute variables in condition key: " +
		"failed to resolve imageData.configData.config.User || 'root' at path : " +
		"failed to fetch image descriptor: " + ref + ", error: failed to fetch image descriptor: " + ref +
		", error: failed to fetch image reference: " + ref + ", error: " + tail
}

func resultFor(results []engine.Result, policy, rule string, res engine.ResourceID) (engine.Result, bool) {
	for _, r := range results {
		if r.Policy == policy && r.Rule == rule && r.Resource == res {
			return r, true
		}
	}
	return engine.Result{}, false
}

func TestCLIBatchAgainstFakeRegistry(t *testing.T) {
	e := cliEngine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// reg: plain HTTP, its logins given to the CLI through the docker config.
	reg := startRegistry(t, fakeregistry.Config{
		Images: []fakeregistry.Image{
			{Ref: "test/app:v1", Config: fakeregistry.ImageConfig{User: "1000"}},
			{Ref: "test/rootapp:v1"},
			{Ref: "private/app:v1", Config: fakeregistry.ImageConfig{User: "1000"},
				Auth: &fakeregistry.Auth{Type: fakeregistry.AuthBasic, Username: "alice", Password: "alice-pw"}},
		},
	})
	// locked: Basic auth and no login presented.
	locked := startRegistry(t, fakeregistry.Config{
		Images: []fakeregistry.Image{
			{Ref: "test/app:v1", Config: fakeregistry.ImageConfig{User: "1000"}},
		},
		Repositories: []fakeregistry.Repository{
			{Name: "test/app", Auth: &fakeregistry.Auth{Type: fakeregistry.AuthBasic, Username: "u", Password: "p"}},
		},
	})
	lockedEmpty := startRegistry(t, fakeregistry.Config{
		Images: []fakeregistry.Image{
			{Ref: "test/app:v1", Auth: &fakeregistry.Auth{Type: fakeregistry.AuthBasic, Username: "u", Password: "p", EmptyBody: true}},
		},
	})
	refused, err := reg.RefusedAddr()
	if err != nil {
		t.Fatal(err)
	}
	R, L, LE := reg.Addr(), locked.Addr(), lockedEmpty.Addr()
	zero := "sha256:" + strings.Repeat("0", 64)

	type want struct {
		status  engine.Status
		message string
	}
	cases := []struct {
		pod, image string
		want       want
	}{
		{"a-present", R + "/test/app:v1", want{engine.StatusPass, "validation rule 'check-image' passed."}},
		{"a2-root", R + "/test/rootapp:v1", want{engine.StatusFail, "image " + R + "/test/rootapp:v1 runs as root"}},
		{"b-repo-missing", R + "/nope/app:v1", want{engine.StatusError, lookupError(R+"/nope/app:v1",
			"GET http://"+R+"/v2/nope/app/manifests/v1: NAME_UNKNOWN: Unknown name")}},
		{"c-tag-missing", R + "/test/app:v2", want{engine.StatusError, lookupError(R+"/test/app:v2",
			"GET http://"+R+"/v2/test/app/manifests/v2: MANIFEST_UNKNOWN: Unknown manifest")}},
		{"d-unauthorized", L + "/test/app:v1", want{engine.StatusError, lookupError(L+"/test/app:v1",
			"GET http://"+L+"/v2/test/app/manifests/v1: UNAUTHORIZED: authentication required")}},
		{"d2-unauthorized-empty", LE + "/test/app:v1", want{engine.StatusError, lookupError(LE+"/test/app:v1",
			"GET http://"+LE+"/v2/test/app/manifests/v1: unexpected status code 401 Unauthorized")}},
		{"d3-credentials", R + "/private/app:v1", want{engine.StatusPass, "validation rule 'check-image' passed."}},
		{"f-refused", refused + "/test/app:v1", want{engine.StatusError, lookupError(refused+"/test/app:v1",
			`Get "https://`+refused+`/v2/": dial tcp `+refused+`: connect: connection refused; Get "http://`+refused+`/v2/": dial tcp `+refused+`: connect: connection refused`)}},
		{"g2-bad-image", "Bad Image!!:x", want{engine.StatusError, "failed to check deny conditions: failed to substitute variables in condition key: " +
			"failed to resolve imageData.configData.config.User || 'root' at path : " +
			"failed to fetch image descriptor: Bad Image!!:x, error: failed to fetch image descriptor: Bad Image!!:x, error: " +
			"failed to parse image reference: Bad Image!!:x, error: could not parse reference: Bad Image!!:x"}},
		{"h-digest-missing", R + "/test/app@" + zero, want{engine.StatusError, lookupError(R+"/test/app@"+zero,
			"GET http://"+R+"/v2/test/app/manifests/"+zero+": MANIFEST_UNKNOWN: Unknown manifest")}},
	}

	req := engine.Request{
		Policies: []engine.Document{
			checkImagePolicy("check-image-config", ""),
			// v1.19.1 does not know catchError: this policy must come back
			// as an error, never as a pass or as nothing.
			checkImagePolicy("check-image-catch", "\n        catchError: true"),
		},
		Registry: engine.RegistryConfig{Credentials: []engine.Credential{{Registry: R, Username: "alice", Password: "alice-pw"}}},
	}
	for _, c := range cases {
		req.Resources = append(req.Resources, pod(c.pod, c.image))
	}
	start := time.Now()
	results, err := e.Evaluate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("one CLI run, 2 policies x %d pods: %s", len(cases), time.Since(start).Round(time.Millisecond))

	caps, err := e.Capabilities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		id := engine.ResourceID{Kind: "Pod", Namespace: "default", Name: c.pod}
		got, ok := resultFor(results, "check-image-config", "check-image", id)
		if !ok {
			t.Errorf("%s: no result", c.pod)
			continue
		}
		if got.Status != c.want.status || got.Message != c.want.message {
			t.Errorf("%s:\n got  %s: %s\n want %s: %s", c.pod, got.Status, got.Message, c.want.status, c.want.message)
		}
	}
	if !caps.Has(engine.CapCatchError) {
		got, ok := resultFor(results, "check-image-catch", "check-image", engine.ResourceID{Kind: "Pod", Namespace: "default", Name: "a-present"})
		if !ok {
			t.Fatalf("the catchError policy left no policy-level result on %s (%s): %v", caps.Version, caps.Unsupported[engine.CapCatchError], results)
		}
		if got.Status != engine.StatusError || !strings.Contains(got.Message, "policy not loaded by the Kyverno CLI") ||
			!strings.Contains(got.Message, "catchError") {
			t.Errorf("catchError policy on %s: got %s: %s", caps.Version, got.Status, got.Message)
		}
		for _, r := range results {
			if r.Policy == "check-image-catch" && r.Status != engine.StatusError {
				t.Errorf("catchError policy counted as %s on a build without the feature: %s", r.Status, r)
			}
		}
	}
	if len(results) != 2*len(cases) {
		t.Errorf("got %d results, want %d (each policy, each pod):\n%v", len(results), 2*len(cases), results)
	}
}

func TestCLIPolicySkippedByValidation(t *testing.T) {
	e := cliEngine(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	bad := engine.Document{File: "bad.yaml", Data: []byte(`apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: check-image-literal
spec:
  background: false
  rules:
  - name: check-image
    match:
      any:
      - resources:
          kinds: [Pod]
    context:
    - name: imageData
      imageRegistry:
        reference: "127.0.0.1:1/Bad Repo::tag"
    validate:
      message: "x"
      deny:
        conditions:
          any:
          - key: "{{ imageData.registry }}"
            operator: Equals
            value: "x"
`)}
	results, err := e.Evaluate(ctx, engine.Request{Policies: []engine.Document{bad}, Resources: []engine.Document{pod("p", "127.0.0.1:1/a:b")}})
	if err != nil {
		t.Fatal(err)
	}
	want := "path: spec.rules[0]: bad image: 127.0.0.1:1/Bad Repo::tag: invalid reference format"
	if len(results) != 1 || results[0].Status != engine.StatusError || results[0].Message != want || results[0].Resource.Name != "p" {
		t.Errorf("got %v\nwant one error result for Pod p: %q", results, want)
	}
}

func TestCLICapabilities(t *testing.T) {
	e := cliEngine(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	caps, err := e.Capabilities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first := time.Since(start)
	start = time.Now()
	again, err := e.Capabilities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("version %s, catchError %v (%s); probe %s, cached %s", caps.Version, caps.Has(engine.CapCatchError), caps.Unsupported[engine.CapCatchError], first, time.Since(start))
	if again.Version != caps.Version || again.Has(engine.CapCatchError) != caps.Has(engine.CapCatchError) {
		t.Errorf("cached answer differs: %+v vs %+v", again, caps)
	}
	if caps.Version == "" || caps.Has(engine.CapContext) || caps.Has(engine.CapAdmission) {
		t.Errorf("caps = %+v", caps)
	}
	if why, ok := caps.Unsupported[engine.CapConfigMaps]; ok {
		t.Errorf("configMaps unsupported (%s); they go in through the values file", why)
	}
	if caps.Version == "v1.19.1" {
		if caps.Has(engine.CapCatchError) {
			t.Fatal("v1.19.1 reported as knowing catchError")
		}
		want := "kubectl-kyverno v1.19.1 does not know imageRegistry.catchError: it silently drops a policy that sets it " +
			"(exit 0, 1 of 2 probe rules applied; -v 3 logs: spec.rules[0].context[0].imageRegistry.catchError: Invalid value: value provided for unknown field)"
		if got := caps.Unsupported[engine.CapCatchError]; got != want {
			t.Errorf("reason = %q\nwant       %q", got, want)
		}
		// The CLI site's fact for CEL policies (issue 19): without
		// --cluster, image.GetMetadata never reaches the registry.
		wantCEL := "kubectl-kyverno v1.19.1 apply --registry answers image.GetMetadata from a fake CEL context without --cluster " +
			"(processor.NewContextProvider, isFake = !Cluster), never from the registry; the probe's result: " +
			`"error: failed to get image data: image data for 127.0.0.1:1/imagectx/probe:v1 not found in the context"`
		if got := caps.Unsupported[engine.CapCELImageData]; got != wantCEL {
			t.Errorf("CEL reason = %q\nwant           %q", got, wantCEL)
		}
	}
}

func TestCLIDeadlineKillsTheRun(t *testing.T) {
	e := cliEngine(t)
	slow := startRegistry(t, fakeregistry.Config{
		Images: []fakeregistry.Image{{Ref: "test/app:v1", Fault: &fakeregistry.Fault{Delay: fakeregistry.Duration(time.Minute), On: fakeregistry.OnAll}}},
		Ping:   &fakeregistry.Fault{Delay: fakeregistry.Duration(time.Minute)},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	_, err := e.Evaluate(ctx, engine.Request{
		Policies:  []engine.Document{checkImagePolicy("check-image-config", "")},
		Resources: []engine.Document{pod("slow", slow.Addr()+"/test/app:v1")},
	})
	elapsed := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "context deadline exceeded") {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
	if elapsed > 10*time.Second {
		t.Errorf("Evaluate returned after %s; the CLI was not killed at the deadline", elapsed)
	}
	entries, err := os.ReadDir(e.tmpDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("work dir left behind: %v", entries)
	}
}

// TestCLIConfigMaps gives the CLI a ConfigMap through the values file: a
// rule-level entry (also read by the Deployment's autogen rule) and a
// foreach entry without a namespace ("default"). The messages are what
// Kyverno's engine with a ConfigMap resolver reports for the same input.
func TestCLIConfigMaps(t *testing.T) {
	e := cliEngine(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	policy := engine.Document{File: "cm-policy.yaml", Data: []byte(`apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: settings
spec:
  background: false
  rules:
  - name: team
    match: {any: [{resources: {kinds: [Pod]}}]}
    context:
    - name: cm
      configMap: {name: settings, namespace: kyverno}
    validate:
      failureAction: Audit
      message: "team {{ cm.data.team }}, labels {{ to_string(cm.metadata.labels) }}"
      deny:
        conditions:
          any:
          - key: "{{ cm.data.team }}"
            operator: Equals
            value: blue
  - name: containers
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      failureAction: Audit
      message: "a container is named after the team"
      foreach:
      - list: request.object.spec.containers
        context:
        - name: local
          configMap: {name: local}
        deny:
          conditions:
            any:
            - key: "{{ element.name }}"
              operator: Equals
              value: "{{ local.data.team }}"
`)}
	configMaps := []engine.Document{{File: "cms.yaml", Data: []byte(`apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: kyverno, labels: {owner: platform}}
data: {team: blue}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: local}
data: {team: red}
`)}}
	deployment := engine.Document{File: "dep.yaml", Data: []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: dep, namespace: default}
spec:
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: x}}
    spec:
      containers:
      - {name: red, image: nginx}
`)}
	results, err := e.Evaluate(ctx, engine.Request{Policies: []engine.Document{policy}, ConfigMaps: configMaps,
		Resources: []engine.Document{pod("p", "nginx"), deployment}})
	if err != nil {
		t.Fatal(err)
	}
	pid := engine.ResourceID{Kind: "Pod", Namespace: "default", Name: "p"}
	did := engine.ResourceID{Kind: "Deployment", Namespace: "default", Name: "dep"}
	want := []engine.Result{
		{Policy: "settings", Rule: "autogen-containers", Resource: did, Status: engine.StatusFail, Message: "validation failure: a container is named after the team"},
		{Policy: "settings", Rule: "autogen-team", Resource: did, Status: engine.StatusFail, Message: `team blue, labels {"owner":"platform"}`},
		{Policy: "settings", Rule: "containers", Resource: pid, Status: engine.StatusPass, Message: "rule passed"},
		{Policy: "settings", Rule: "team", Resource: pid, Status: engine.StatusFail, Message: `team blue, labels {"owner":"platform"}`},
	}
	if len(results) != len(want) {
		t.Fatalf("got %d results, want %d:\n%v", len(results), len(want), results)
	}
	for i := range want {
		if got := results[i]; got.String() != want[i].String() {
			t.Errorf("result %d:\n got  %s\n want %s", i, got, want[i])
		}
	}

	// A ConfigMap not given: a cluster's NotFound cannot be given, so the
	// request is unsupported, before any process runs.
	other := engine.Document{File: "other.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: local}\ndata: {team: red}\n")}
	_, err = e.Evaluate(ctx, engine.Request{Policies: []engine.Document{policy}, ConfigMaps: []engine.Document{other},
		Resources: []engine.Document{pod("p", "nginx")}})
	if !errors.Is(err, engine.ErrUnsupportedInput) || !strings.Contains(err.Error(), `policy settings (cm-policy.yaml:1) rule team context entry "cm" (spec.rules[0].context[0]): ConfigMap kyverno/settings is not among the ConfigMaps given`) {
		t.Errorf("err = %v, want unsupported input naming the entry", err)
	}
}
