package reference

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"go.uber.org/goleak"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/fakeregistry"
)

func authRegistry(t *testing.T, typ string) *fakeregistry.Server {
	cfg := standardImages()
	cfg.Repositories = []fakeregistry.Repository{{Name: "test/app", Auth: &fakeregistry.Auth{Type: typ, Username: "robot", Password: "s3cret-for-tests"}}}
	return startRegistry(t, cfg)
}

// Credentials reach the registry through the docker-config keychain
// (RegistryConfig.Credentials) or imageRegistryCredentials.secrets
// (RegistryConfig.Secrets); a missing secret falls back to anonymous, as
// Kyverno skips a secret it cannot find.
func TestCredentials(t *testing.T) {
	for _, typ := range []string{"basic", "bearer"} {
		t.Run(typ, func(t *testing.T) {
			reg := authRegistry(t, typ)
			R := reg.Addr()
			ref := R + "/test/app:v1"
			login := []engine.Credential{{Registry: R, Username: "robot", Password: "s3cret-for-tests"}}
			e := New()
			pass := "validation rule 'check-image' passed."

			anon := one(t, evaluate(t, e, issue(), podYAML(ref), evalOpts{}))
			if anon.Status != engine.StatusError || !strings.Contains(anon.Message, "UNAUTHORIZED") {
				t.Errorf("anonymous: %s: %s", anon.Status, anon.Message)
			}
			expect(t, one(t, evaluate(t, e, issue(), podYAML(ref), evalOpts{registry: engine.RegistryConfig{Credentials: login}})), engine.StatusPass, pass)

			secrets := engine.RegistryConfig{Secrets: map[string][]engine.Credential{"kyverno/regcred": login}}
			withSecret := issue("imageRegistryCredentials:", "  secrets: [regcred]")
			expect(t, one(t, evaluate(t, e, withSecret, podYAML(ref), evalOpts{registry: secrets})), engine.StatusPass, pass)

			missing := issue("imageRegistryCredentials:", "  secrets: [nope]")
			got := one(t, evaluate(t, e, missing, podYAML(ref), evalOpts{registry: secrets}))
			if got.Status != engine.StatusError || !strings.Contains(got.Message, "UNAUTHORIZED") {
				t.Errorf("missing secret: %s: %s", got.Status, got.Message)
			}
			// providers: [default] is the docker config keychain.
			withDefault := issue("imageRegistryCredentials:", "  providers: [default]")
			expect(t, one(t, evaluate(t, e, withDefault, podYAML(ref), evalOpts{registry: engine.RegistryConfig{Credentials: login}})), engine.StatusPass, pass)
			for _, r := range reg.Requests() {
				if strings.Contains(r.String(), "s3cret") {
					t.Fatalf("request log leaks the password: %s", r)
				}
			}
		})
	}
}

// Pairs run concurrently (each waits on a slow registry) and the results
// come back in policy, rule, resource order.
func TestConcurrencyAndOrder(t *testing.T) {
	cfg := standardImages()
	cfg.Repositories = []fakeregistry.Repository{{Name: "test/app", Fault: &fakeregistry.Fault{Delay: fakeregistry.Duration(time.Second)}}}
	reg := startRegistry(t, cfg)
	R := reg.Addr()
	second := strings.ReplaceAll(strings.Replace(denyRootPolicy, "name: check-image-config", "name: second", 1), "check-image", "rule-b")
	var pods []engine.Document
	for _, n := range []string{"p1", "p2", "p3"} {
		pods = append(pods, engine.Document{File: n + ".yaml", Data: []byte(strings.Replace(podYAML(R+"/test/app:v1"), "test-pod", n, 1))})
	}
	start := time.Now()
	res, err := New().Evaluate(context.Background(), engine.Request{
		Policies:  []engine.Document{{File: "a.yaml", Data: []byte(denyRootPolicy)}, {File: "b.yaml", Data: []byte(second)}},
		Resources: pods,
	})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, r := range res {
		if r.Status != engine.StatusPass {
			t.Errorf("%s", r)
		}
		order = append(order, r.Policy+"/"+r.Rule+"/"+r.Resource.Name)
	}
	want := "check-image-config/check-image/p1 check-image-config/check-image/p2 check-image-config/check-image/p3 second/rule-b/p1 second/rule-b/p2 second/rule-b/p3"
	if strings.Join(order, " ") != want {
		t.Errorf("order:\n got %s\nwant %s", strings.Join(order, " "), want)
	}
	// Six pairs, each at least two delayed requests (manifest and config
	// blob are not delayed; the manifest is): sequential would take >= 6 s.
	if elapsed > 4*time.Second {
		t.Errorf("6 pairs took %v: not concurrent", elapsed)
	}
}

// The caller's deadline bounds every request, and nothing Evaluate started
// is still running when it returns.
func TestDeadlineAndNoLeftovers(t *testing.T) {
	cfg := standardImages()
	cfg.Repositories = []fakeregistry.Repository{{Name: "test/app", Fault: &fakeregistry.Fault{Delay: fakeregistry.Duration(time.Minute)}}}
	reg, err := fakeregistry.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ignore := goleak.IgnoreCurrent()
	ref := reg.Addr() + "/test/app:v1"
	start := time.Now()
	got := one(t, evaluate(t, New(), issue(catchOn), podYAML(ref), evalOpts{timeout: 500 * time.Millisecond}))
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Evaluate took %v with a 500ms deadline", d)
	}
	expect(t, got, engine.StatusSkip, "preconditions not met")
	msg := got.Context["imageData"].(map[string]any)["errorMessage"].(string)
	if !strings.HasSuffix(msg, `Get "http://`+reg.Addr()+`/v2/test/app/manifests/v1": context deadline exceeded`) {
		t.Errorf("errorMessage: %s", msg)
	}
	goleak.VerifyNone(t, ignore)
	_ = reg.Close()
}

// Rules of other types are an error result naming the type, never a pass.
func TestUnsupportedRuleTypes(t *testing.T) {
	for _, typ := range []string{"mutate", "generate", "verifyImages"} {
		body := map[string]string{
			"mutate":       "    mutate:\n      patchStrategicMerge:\n        metadata:\n          labels: {a: b}\n",
			"generate":     "    generate:\n      kind: ConfigMap\n      name: x\n",
			"verifyImages": "    verifyImages:\n    - imageReferences: [\"*\"]\n",
		}[typ]
		policy := strings.Replace(minimalPolicy, "    validate:\n      deny: {}\n", body, 1)
		got := one(t, evaluate(t, New(), policy, podYAML("nginx"), evalOpts{}))
		expect(t, got, engine.StatusError, "rule type "+typ+" is not supported by the reference engine (only validate rules are)")
	}
}

// Pattern and anyPattern messages, Audit and Enforce alike.
func TestPatternMessages(t *testing.T) {
	base := `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: p
spec:
  validationFailureAction: ${ACTION}
  rules:
  - name: no-latest
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
${BODY}`
	pattern := "      message: \"latest is not allowed\"\n      pattern:\n        spec:\n          containers:\n          - image: \"!*:latest\"\n"
	anyPattern := "      anyPattern:\n      - spec:\n          containers:\n          - image: \"!*:latest\"\n      - metadata:\n          name: \"allowed-*\"\n"
	cases := []struct {
		name, body, image, status, msg string
	}{
		{"pattern pass", pattern, "nginx:1.25", "pass", "validation rule 'no-latest' passed."},
		{"pattern fail", pattern, "nginx:latest", "fail", "validation error: latest is not allowed. rule no-latest failed at path /spec/containers/0/image/"},
		{"anyPattern pass", anyPattern, "nginx:1.25", "pass", "validation rule 'no-latest' anyPattern[0] passed."},
		{"anyPattern fail", anyPattern, "nginx:latest", "fail", "validation error: rule no-latest[0] failed at path /spec/containers/0/image/ rule no-latest[1] failed at path /metadata/name/"},
	}
	for _, action := range []string{"Audit", "Enforce"} {
		for _, tc := range cases {
			t.Run(action+"/"+tc.name, func(t *testing.T) {
				policy := fill(base, "ACTION", action, "BODY", tc.body)
				expect(t, one(t, evaluate(t, New(), policy, podYAML(tc.image), evalOpts{})), engine.Status(tc.status), tc.msg)
			})
		}
	}
}

// A namespaced Policy applies only in its namespace.
func TestNamespacedPolicy(t *testing.T) {
	policy := strings.Replace(strings.Replace(minimalPolicy, "ClusterPolicy", "Policy", 1), "  name: p\n", "  name: p\n  namespace: team\n", 1)
	if res := evaluate(t, New(), policy, podYAML("nginx"), evalOpts{}); len(res) != 0 {
		t.Errorf("Policy in team applied to a Pod in default: %v", res)
	}
	pod := strings.Replace(podYAML("nginx"), "namespace: default", "namespace: team", 1)
	// An empty deny has no conditions, which hold: Kyverno denies.
	expect(t, one(t, evaluate(t, New(), policy, pod, evalOpts{})), engine.StatusFail, "validation error: rule r failed")
}

// request.operation and operations matching; DELETE has no request.object.
func TestOperation(t *testing.T) {
	policy := strings.Replace(minimalPolicy, "      deny: {}", `      deny:
        conditions:
          any:
          - key: "{{ request.operation }}"
            operator: Equals
            value: UPDATE`, 1)
	expect(t, one(t, evaluate(t, New(), policy, podYAML("nginx"), evalOpts{})), engine.StatusPass, "validation rule 'r' passed.")
	expect(t, one(t, evaluate(t, New(), policy, podYAML("nginx"), evalOpts{operation: "UPDATE"})), engine.StatusFail, "validation error: rule r failed")
	del := strings.Replace(policy, "{{ request.operation }}", "{{ request.object.metadata.name }}", 1)
	// Kyverno rewrites request.object to request.oldObject on DELETE.
	expect(t, one(t, evaluate(t, New(), del, podYAML("nginx"), evalOpts{operation: "DELETE"})), engine.StatusPass, "validation rule 'r' passed.")
}

// Docker Hub names are normalised like Kyverno's adapter does, and the
// identifier keeps Kyverno's tag-before-digest rule.
func TestDescribe(t *testing.T) {
	digest := "sha256:" + strings.Repeat("a", 64)
	cases := []struct{ ref, resolved, registry, repository, identifier string }{
		{"nginx", "index.docker.io/library/nginx@" + digest, "index.docker.io", "library/nginx", "latest"},
		{"docker.io/team/app:v2", "index.docker.io/team/app@" + digest, "index.docker.io", "team/app", "v2"},
		{"127.0.0.1:5000/test/app:v1@" + digest, "127.0.0.1:5000/test/app@" + digest, "127.0.0.1:5000", "test/app", "v1@" + digest},
		{"127.0.0.1:5000/test/app@" + digest, "127.0.0.1:5000/test/app@" + digest, "127.0.0.1:5000", "test/app", "5000/test/app@" + digest},
	}
	for _, tc := range cases {
		parsed, err := name.ParseReference(tc.ref)
		if err != nil {
			t.Fatal(err)
		}
		d := describe(tc.ref, parsed, digest)
		if d.Image != tc.ref || d.ResolvedImage != tc.resolved || d.Registry != tc.registry || d.Repository != tc.repository || d.Identifier != tc.identifier {
			t.Errorf("%s: %+v", tc.ref, d)
		}
	}
}

// Kyverno's built-in images variable; without deferred loading an image
// that does not parse fails the whole batch, as the Kyverno CLI does.
func TestImagesVariable(t *testing.T) {
	policy := strings.Replace(minimalPolicy, "      deny: {}", `      deny:
        conditions:
          any:
          - key: "{{ images.containers.c0.registry }}/{{ images.containers.c0.path }}:{{ images.containers.c0.tag }}"
            operator: Equals
            value: docker.io/nginx:latest
            message: "{{ images.containers.c0.referenceWithTag }}"`, 1)
	expect(t, one(t, evaluate(t, New(), policy, podYAML("nginx"), evalOpts{})), engine.StatusFail, "docker.io/nginx:latest")
	got := one(t, evaluate(t, New(), policy, podYAML("nginx:::bad"), evalOpts{}))
	want := "failed to check deny conditions: failed to substitute variables in condition key: failed to resolve images.containers.c0.registry at path : invalid image 'nginx:::bad' (bad image: docker.io/nginx:::bad, defaultRegistry: docker.io, enableDefaultRegistryMutation: true: invalid reference format)"
	expect(t, got, engine.StatusError, want)
	_, err := New(WithDeferredLoading(false)).Evaluate(t.Context(), engine.Request{
		Policies:  []engine.Document{{File: "p.yaml", Data: []byte(minimalPolicy)}},
		Resources: []engine.Document{{File: "r.yaml", Data: []byte(podYAML("nginx:::bad"))}},
	})
	if err == nil || err.Error() != "failed to apply policies on resource test-pod (failed to create policy context (invalid image 'nginx:::bad' (bad image: docker.io/nginx:::bad, defaultRegistry: docker.io, enableDefaultRegistryMutation: true: invalid reference format)))" {
		t.Errorf("eager bad image: %v", err)
	}
}
