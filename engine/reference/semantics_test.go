package reference

// One test per string observed on Kyverno v1.19.1 in
// the project research notes, kyverno-semantics.md (sections 2-3 and "Spec
// implications" 1-24), asserted against the real fake registry. Test names
// carry the section or implication number.

import (
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/fakeregistry"
)

// issuePolicy is the issue-14302 shape as a validate rule: the precondition
// guards on resolvedImage, the deny checks the image user.
const issuePolicy = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: verify-image
spec:
  background: true
  validationFailureAction: Audit
  failurePolicy: Ignore
  rules:
  - name: check-image
    match:
      any:
      - resources:
          kinds: [Pod]
    context:
    - name: imageData
      imageRegistry:
        reference: "{{ request.object.spec.containers[0].image }}"${IR}
    preconditions:
      all:
      - key: "{{ imageData.resolvedImage || '' }}"
        operator: NotEquals
        value: ""
    validate:
      message: "image runs as root"
      deny:
        conditions:
          any:
          - key: "{{ imageData.configData.config.User || 'root' }}"
            operator: Equals
            value: root
`

// issue returns the issue policy with extra imageRegistry lines (indented
// under imageRegistry).
func issue(extra ...string) string {
	ir := ""
	for _, l := range extra {
		ir += "\n        " + l
	}
	return fill(issuePolicy, "IR", ir)
}

const catchOn = "catchError: true"

// chain is the loader's error chain for a fetch failure (section 2.1).
func chain(ref, tail string) string {
	return "failed to fetch image descriptor: " + ref + ", error: failed to fetch image descriptor: " + ref +
		", error: failed to fetch image reference: " + ref + ", error: " + tail
}

func parseChain(ref, tail string) string {
	return "failed to fetch image descriptor: " + ref + ", error: failed to fetch image descriptor: " + ref +
		", error: failed to parse image reference: " + ref + ", error: " + tail
}

const precondPrefix = "failed to evaluate preconditions: failed to substitute variables in condition key: failed to resolve imageData.resolvedImage || '' at path : "

const zeroDigest = "sha256:0000000000000000000000000000000000000000000000000000000000000000"

// faultRegistry has one repository per fault of the catalogue.
func faultRegistry() fakeregistry.Config {
	cfg := standardImages()
	cfg.Images = append(cfg.Images,
		fakeregistry.Image{Ref: "auth401/app:v1"},
		fakeregistry.Image{Ref: "auth401empty/app:v1"},
		fakeregistry.Image{Ref: "forbidden/app:v1"},
		fakeregistry.Image{Ref: "plain500/app:v1"},
		fakeregistry.Image{Ref: "slow/app:v1"},
	)
	cfg.Repositories = []fakeregistry.Repository{
		{Name: "auth401/app", Auth: &fakeregistry.Auth{Type: "basic", Username: "u", Password: "secret-pw"}},
		{Name: "auth401empty/app", Auth: &fakeregistry.Auth{Type: "basic", Username: "u", Password: "secret-pw", EmptyBody: true}},
		{Name: "forbidden/app", Fault: &fakeregistry.Fault{Status: 403}},
		{Name: "plain500/app", Fault: &fakeregistry.Fault{Status: 500, Body: "boom"}},
		{Name: "slow/app", Fault: &fakeregistry.Fault{Delay: fakeregistry.Duration(30 * time.Second)}},
	}
	return cfg
}

// fetchCase is one row of the section 2.2 catalogue.
type fetchCase struct {
	name  string
	image func(r *fakeregistry.Server) string
	// tail is the go-containerregistry part (after "error: "), exact; a
	// function because it names the registry's address.
	tail    func(r *fakeregistry.Server) string
	timeout time.Duration
	slow    bool
}

func catalogue(t *testing.T) []fetchCase {
	return []fetchCase{
		{name: "tag missing", image: img("/test/app:missing"),
			tail: get("/v2/test/app/manifests/missing: MANIFEST_UNKNOWN: Unknown manifest")},
		{name: "digest missing", image: img("/test/app@" + zeroDigest),
			tail: get("/v2/test/app/manifests/" + zeroDigest + ": MANIFEST_UNKNOWN: Unknown manifest")},
		{name: "repository missing", image: img("/nope/app:v1"),
			tail: get("/v2/nope/app/manifests/v1: NAME_UNKNOWN: Unknown name")},
		{name: "401", image: img("/auth401/app:v1"),
			tail: get("/v2/auth401/app/manifests/v1: UNAUTHORIZED: authentication required")},
		{name: "401 empty body", image: img("/auth401empty/app:v1"),
			tail: get("/v2/auth401empty/app/manifests/v1: unexpected status code 401 Unauthorized")},
		{name: "403", image: img("/forbidden/app:v1"),
			tail: get("/v2/forbidden/app/manifests/v1: DENIED: requested access to the resource is denied")},
		{name: "500 after retries", image: img("/plain500/app:v1"), slow: true,
			tail: get("/v2/plain500/app/manifests/v1: unexpected status code 500 Internal Server Error: boom")},
		{name: "connection refused",
			image: func(r *fakeregistry.Server) string { return refused(t, r) + "/test/app:v1" },
			tail: func(r *fakeregistry.Server) string {
				a := refused(t, r)
				return `Get "https://` + a + `/v2/": dial tcp ` + a + `: connect: connection refused; Get "http://` + a + `/v2/": dial tcp ` + a + `: connect: connection refused`
			}},
		{name: "caller deadline", image: img("/slow/app:v1"), timeout: 1500 * time.Millisecond,
			tail: func(r *fakeregistry.Server) string {
				return `Get "http://` + r.Addr() + `/v2/slow/app/manifests/v1": context deadline exceeded`
			}},
	}
}

func img(path string) func(*fakeregistry.Server) string {
	return func(r *fakeregistry.Server) string { return r.Addr() + path }
}

func get(path string) func(*fakeregistry.Server) string {
	return func(r *fakeregistry.Server) string { return "GET http://" + r.Addr() + path }
}

func refused(t *testing.T, r *fakeregistry.Server) string {
	a, err := r.RefusedAddr()
	if err != nil {
		t.Fatalf("refused address: %v", err)
	}
	return a
}

// Section 2.2 and implication 19: without catchError each fault is a rule
// error with the full chain behind the precondition prefix. Implications
// 4-9 and 15: with catchError the same chain is errorMessage, the map has
// exactly two keys, and the precondition skips the rule.
func TestFetchFailureCatalogue(t *testing.T) {
	for _, tc := range catalogue(t) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.slow && testing.Short() {
				t.Skip("retries take about 5 s")
			}
			reg := startRegistry(t, faultRegistry())
			ref := tc.image(reg)
			want := chain(ref, tc.tail(reg))
			e := New()
			for _, catch := range []bool{false, true} {
				policy := issue()
				if catch {
					policy = issue(catchOn)
				}
				got := one(t, evaluate(t, e, policy, podYAML(ref), evalOpts{timeout: tc.timeout}))
				if !catch {
					expect(t, got, engine.StatusError, precondPrefix+want)
					continue
				}
				expect(t, got, engine.StatusSkip, "preconditions not met")
				wantMap := map[string]any{"failed": true, "errorMessage": want}
				if !reflect.DeepEqual(got.Context["imageData"], wantMap) {
					t.Errorf("catchError imageData:\nwant %#v\n got %#v", wantMap, got.Context["imageData"])
				}
			}
		})
	}
}

// Section 2.2 TLS rows and implication 10: an untrusted certificate fails
// verification, allowInsecureRegistry does not skip it, and a CA the caller
// trusts makes it work.
func TestTLS(t *testing.T) {
	cfg := standardImages()
	cfg.TLS = true
	reg := startRegistry(t, cfg)
	ref := reg.Addr() + "/test/app:v1"
	e := New()
	for _, extra := range [][]string{nil, {"imageRegistryCredentials:", "  allowInsecureRegistry: true"}} {
		got := one(t, evaluate(t, e, issue(extra...), podYAML(ref), evalOpts{}))
		if got.Status != engine.StatusError || !strings.HasPrefix(got.Message, precondPrefix+chain(ref, "")) ||
			!strings.Contains(got.Message, "tls: failed to verify certificate: x509:") {
			t.Errorf("untrusted TLS %v: got %s: %s", extra, got.Status, got.Message)
		}
		caught := one(t, evaluate(t, e, issue(append(extra, catchOn)...), podYAML(ref), evalOpts{}))
		msg, _ := caught.Context["imageData"].(map[string]any)["errorMessage"].(string)
		if caught.Status != engine.StatusSkip || !strings.Contains(msg, "tls: failed to verify certificate: x509:") {
			t.Errorf("untrusted TLS + catchError %v: got %s: %s, %v", extra, caught.Status, caught.Message, caught.Context)
		}
	}
	trusted := evalOpts{registry: engine.RegistryConfig{CACertsPEM: [][]byte{reg.CACertPEM()}}}
	expect(t, one(t, evaluate(t, e, issue(), podYAML(ref), trusted)), engine.StatusPass, "validation rule 'check-image' passed.")
}

// Section 2.2 (invalid and empty reference) and implications 11-12.
func TestInvalidReference(t *testing.T) {
	reg := startRegistry(t, standardImages())
	e := New()
	for _, ref := range []string{"nginx:::bad", "", "Bad Image!!:x"} {
		var tail string
		if ref == "" {
			tail = "could not parse reference: "
		} else {
			tail = "could not parse reference: " + ref
		}
		want := parseChain(ref, tail)
		expect(t, one(t, evaluate(t, e, issue(), podYAML(ref), evalOpts{})), engine.StatusError, precondPrefix+want)
		got := one(t, evaluate(t, e, issue(catchOn), podYAML(ref), evalOpts{}))
		expect(t, got, engine.StatusSkip, "preconditions not met")
		if m := got.Context["imageData"]; !reflect.DeepEqual(m, map[string]any{"failed": true, "errorMessage": want}) {
			t.Errorf("ref %q: imageData %#v", ref, m)
		}
	}
	if n := len(reg.Requests()); n != 0 {
		t.Errorf("invalid references reached the registry: %d requests", n)
	}
}

// Section 2.2 last rows and implications 13-14: failures before the fetch
// are not caught; they stay rule errors with or without catchError.
func TestReferenceSubstitutionErrorsAreNotCaught(t *testing.T) {
	e := New()
	noContainers := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: test-pod\n  namespace: default\nspec: {}\n"
	noImage := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: test-pod\n  namespace: default\nspec:\n  containers:\n  - name: c\n"
	const refExpr = "{{ request.object.spec.containers[0].image }}"
	cases := []struct{ name, pod, want string }{
		{"no containers", noContainers, precondPrefix + "ailed to substitute variables in context entry imageData " + refExpr +
			": failed to resolve request.object.spec.containers[0].image at path : JMESPath query failed: Unknown key \"containers\" in path"},
		{"no image", noImage, precondPrefix + "ailed to substitute variables in context entry imageData " + refExpr +
			": failed to resolve request.object.spec.containers[0].image at path : JMESPath query failed: Unknown key \"image\" in path"},
		{"empty containers", podYAML(), precondPrefix + "invalid image reference %!s(<nil>), image reference must be a string"},
	}
	for _, tc := range cases {
		for _, policy := range []string{issue(), issue(catchOn)} {
			got := one(t, evaluate(t, e, policy, tc.pod, evalOpts{}))
			expect(t, got, engine.StatusError, tc.want)
		}
	}
}

// Implication 2 and decision 1: without catchError the success map has
// exactly the 8 keys, normalised as Kyverno does; implication 3 (decision
// 3): with catchError it also has failed=false and errorMessage="".
func TestSuccessMap(t *testing.T) {
	reg := startRegistry(t, standardImages())
	R := reg.Addr()
	digest, err := reg.Digest("test/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	e := New()
	got := one(t, evaluate(t, e, issue(), podYAML(R+"/test/app:v1"), evalOpts{}))
	expect(t, got, engine.StatusPass, "validation rule 'check-image' passed.")
	m := got.Context["imageData"].(map[string]any)
	wantKeys := []string{"configData", "identifier", "image", "manifest", "manifestList", "registry", "repository", "resolvedImage"}
	if k := sortedKeys(m); !reflect.DeepEqual(k, wantKeys) {
		t.Errorf("keys %v, want %v", k, wantKeys)
	}
	for k, want := range map[string]any{
		"image": R + "/test/app:v1", "resolvedImage": R + "/test/app@" + digest, "registry": R,
		"repository": "test/app", "identifier": "v1", "manifestList": nil,
	} {
		if !reflect.DeepEqual(m[k], want) {
			t.Errorf("%s = %#v, want %#v", k, m[k], want)
		}
	}
	if user := m["configData"].(map[string]any)["config"].(map[string]any)["User"]; user != "1000" {
		t.Errorf("configData.config.User = %v", user)
	}
	if v := m["manifest"].(map[string]any)["schemaVersion"]; v != float64(2) {
		t.Errorf("manifest.schemaVersion = %#v, want float64 2 (JSON round trip)", v)
	}

	caught := one(t, evaluate(t, e, issue(catchOn), podYAML(R+"/test/app:v1"), evalOpts{}))
	cm := caught.Context["imageData"].(map[string]any)
	if k := sortedKeys(cm); !reflect.DeepEqual(k, append([]string{"configData", "errorMessage", "failed"}, wantKeys[1:]...)) {
		t.Errorf("catchError keys %v", k)
	}
	if cm["failed"] != false || cm["errorMessage"] != "" {
		t.Errorf("failed=%#v errorMessage=%#v", cm["failed"], cm["errorMessage"])
	}
}

// Implication 3, v1.19.1 side: without catchError, imageData.failed does
// not exist on success.
func TestFailedKeyAbsentWithoutCatchError(t *testing.T) {
	reg := startRegistry(t, standardImages())
	ref := reg.Addr() + "/test/app:v1"
	policy := strings.Replace(issue(), "{{ imageData.resolvedImage || '' }}", "{{ imageData.failed }}", 1)
	got := one(t, evaluate(t, New(), policy, podYAML(ref), evalOpts{}))
	expect(t, got, engine.StatusError, "failed to evaluate preconditions: failed to substitute variables in condition key: failed to resolve imageData.failed at path : JMESPath query failed: Unknown key \"failed\" in path")
}

// Section 1.3: an index resolves to its linux/amd64 child; resolvedImage
// carries the index digest and manifestList the index.
func TestIndexSelectsLinuxAmd64(t *testing.T) {
	reg := startRegistry(t, standardImages())
	R := reg.Addr()
	digest, err := reg.Digest("test/multi:v1")
	if err != nil {
		t.Fatal(err)
	}
	got := one(t, evaluate(t, New(), issue(), podYAML(R+"/test/multi:v1"), evalOpts{}))
	expect(t, got, engine.StatusPass, "validation rule 'check-image' passed.")
	m := got.Context["imageData"].(map[string]any)
	if m["resolvedImage"] != R+"/test/multi@"+digest {
		t.Errorf("resolvedImage %v, want index digest %s", m["resolvedImage"], digest)
	}
	list, ok := m["manifestList"].(map[string]any)
	if !ok || len(list["manifests"].([]any)) != 2 {
		t.Fatalf("manifestList = %#v", m["manifestList"])
	}
	if arch := m["configData"].(map[string]any)["architecture"]; arch != "amd64" {
		t.Errorf("configData.architecture = %v, want amd64", arch)
	}
}

// Implication 16: a precondition on imageData.failed.
func TestPreconditionOnFailed(t *testing.T) {
	reg := startRegistry(t, standardImages())
	R := reg.Addr()
	policy := strings.Replace(issue(catchOn), `"{{ imageData.resolvedImage || '' }}"
        operator: NotEquals
        value: ""`, `"{{ imageData.failed }}"
        operator: Equals
        value: false`, 1)
	e := New()
	expect(t, one(t, evaluate(t, e, policy, podYAML(R+"/test/app:gone"), evalOpts{})), engine.StatusSkip, "preconditions not met")
	expect(t, one(t, evaluate(t, e, policy, podYAML(R+"/test/rootapp:v1"), evalOpts{})), engine.StatusFail, "image runs as root")
}

// Implications 17-18: jmesPath is not applied to the error map, and
// replaces the success map.
func TestCatchErrorWithJMESPath(t *testing.T) {
	reg := startRegistry(t, standardImages())
	R := reg.Addr()
	e := New()
	policy := strings.Replace(issue(catchOn, "jmesPath: registry"), "{{ imageData.resolvedImage || '' }}", "{{ imageData }}", 1)
	ref := R + "/test/app:gone"
	got := one(t, evaluate(t, e, policy, podYAML(ref), evalOpts{}))
	want := map[string]any{"failed": true, "errorMessage": chain(ref, "GET http://"+R+"/v2/test/app/manifests/gone: MANIFEST_UNKNOWN: Unknown manifest")}
	if !reflect.DeepEqual(got.Context["imageData"], want) {
		t.Errorf("error map with jmesPath: %#v", got.Context["imageData"])
	}
	ok := one(t, evaluate(t, e, policy, podYAML(R+"/test/app:v1"), evalOpts{}))
	if ok.Context["imageData"] != R {
		t.Errorf("jmesPath registry on success: %#v", ok.Context["imageData"])
	}
	projected := one(t, evaluate(t, e, issue(catchOn, "jmesPath: '{registry: registry, failed: failed}'"), podYAML(R+"/test/app:v1"), evalOpts{}))
	if !reflect.DeepEqual(projected.Context["imageData"], map[string]any{"registry": R, "failed": false}) {
		t.Errorf("projection: %#v", projected.Context["imageData"])
	}
}

// Decision 4: a jmesPath that fails on the success map stays an error.
func TestJMESPathErrorIsNotCaught(t *testing.T) {
	reg := startRegistry(t, standardImages())
	R := reg.Addr()
	got := one(t, evaluate(t, New(), issue(catchOn, "jmesPath: 'to_upper(manifestList)'"), podYAML(R+"/test/app:v1"), evalOpts{}))
	if got.Status != engine.StatusError || !strings.HasPrefix(got.Message, precondPrefix+"failed to apply JMESPath (to_upper(manifestList)) results to context entry imageData, error: ") {
		t.Errorf("got %s: %s", got.Status, got.Message)
	}
}

// Section 3.2 and implication 20: where imageData is first used decides the
// prefix.
func TestErrorSurfacesWhereFirstUsed(t *testing.T) {
	reg := startRegistry(t, standardImages())
	R := reg.Addr()
	ref := R + "/nope/app:v1"
	c := chain(ref, "GET http://"+R+"/v2/nope/app/manifests/v1: NAME_UNKNOWN: Unknown name")
	e := New()

	expect(t, one(t, evaluate(t, e, denyRootPolicy, podYAML(ref), evalOpts{})), engine.StatusError,
		"failed to check deny conditions: failed to substitute variables in condition key: failed to resolve imageData.configData.config.User || 'root' at path : "+c)

	expect(t, one(t, evaluate(t, e, patternPolicy, podYAML(ref), evalOpts{})), engine.StatusError,
		"variable substitution failed: failed to resolve imageData.repository at path /metadata/name: "+c)

	expect(t, one(t, evaluate(t, e, fill(foreachDenyPolicy, "IR", ""), podYAML(ref), evalOpts{})), engine.StatusError,
		"validation failure: failed to check deny conditions: failed to substitute variables in condition key: failed to resolve imageData.configData.config.User || 'root' at path : "+c)
}

const patternPolicy = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: pattern-image
spec:
  rules:
  - name: check-image
    match:
      any:
      - resources:
          kinds: [Pod]
    context:
    - name: imageData
      imageRegistry:
        reference: "{{ request.object.spec.containers[0].image }}"
    validate:
      message: "repository mismatch"
      pattern:
        metadata:
          name: "{{ imageData.repository }}"
`

const foreachDenyPolicy = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: foreach-image
spec:
  rules:
  - name: check-image
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      foreach:
      - list: request.object.spec.containers
        context:
        - name: imageData
          imageRegistry:
            reference: "{{ element.image }}"${IR}
        deny:
          conditions:
            any:
            - key: "{{ imageData.configData.config.User || 'root' }}"
              operator: Equals
              value: root
              message: "image {{ element.image }} runs as root"
`

// Section 3.2 (message only) and implication 23: a failure referenced only
// from validate.message is swallowed; the message falls back to the
// condition messages (empty here).
func TestMessageOnlyReferenceIsSwallowed(t *testing.T) {
	reg := startRegistry(t, standardImages())
	R := reg.Addr()
	policy := `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: message-only
spec:
  rules:
  - name: check-image
    match:
      any:
      - resources:
          kinds: [Pod]
    context:
    - name: imageData
      imageRegistry:
        reference: "{{ request.object.spec.containers[0].image }}"
    validate:
      message: "registry {{ imageData.registry }}"
      deny:
        conditions:
          any:
          - key: "{{ request.object.metadata.name }}"
            operator: Equals
            value: test-pod
`
	expect(t, one(t, evaluate(t, New(), policy, podYAML(R+"/nope/app:v1"), evalOpts{})), engine.StatusFail, "")
	expect(t, one(t, evaluate(t, New(), policy, podYAML(R+"/test/app:v1"), evalOpts{})), engine.StatusFail, "registry "+R)
}

const unreferencedPolicy = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: unreferenced
spec:
  rules:
  - name: check-name
    match:
      any:
      - resources:
          kinds: [Pod]
    context:
    - name: imageData
      imageRegistry:
        reference: "{{ request.object.spec.containers[0].image }}"
    validate:
      message: "bad name"
      deny:
        conditions:
          any:
          - key: "{{ request.object.metadata.name }}"
            operator: Equals
            value: forbidden-name
`

// Section 2.2 of feasibility and implication 22: an unreferenced entry is
// never fetched; implication 21: with deferred loading off it is fetched
// before preconditions and fails the rule with "failed to load context".
func TestDeferredAndEagerLoading(t *testing.T) {
	reg := startRegistry(t, standardImages())
	R := reg.Addr()
	ref := R + "/nope/app:v1"
	expect(t, one(t, evaluate(t, New(), unreferencedPolicy, podYAML(ref), evalOpts{})), engine.StatusPass, "validation rule 'check-name' passed.")
	if n := len(reg.Requests()); n != 0 {
		t.Fatalf("unreferenced entry made %d registry requests", n)
	}
	eager := New(WithDeferredLoading(false))
	want := "failed to load context: " + chain(ref, "GET http://"+R+"/v2/nope/app/manifests/v1: NAME_UNKNOWN: Unknown name")
	expect(t, one(t, evaluate(t, eager, unreferencedPolicy, podYAML(ref), evalOpts{})), engine.StatusError, want)
	expect(t, one(t, evaluate(t, eager, issue(), podYAML(ref), evalOpts{})), engine.StatusError, want)
	// Eager plus catchError: the error map is loaded, the precondition skips.
	expect(t, one(t, evaluate(t, eager, issue(catchOn), podYAML(ref), evalOpts{})), engine.StatusSkip, "preconditions not met")
}

// Section 3.2 foreach and implication 24: a precondition error inside
// foreach skips the element, and with no element applied there is no
// result; an empty list gives no result either.
func TestForeachPreconditionErrorGivesNoResult(t *testing.T) {
	reg := startRegistry(t, standardImages())
	R := reg.Addr()
	policy := strings.Replace(foreachDenyPolicy, "        deny:\n", `        preconditions:
          all:
          - key: "{{ imageData.resolvedImage || '' }}"
            operator: NotEquals
            value: ""
        deny:
`, 1)
	e := New()
	if res := evaluate(t, e, fill(policy, "IR", ""), podYAML(R+"/nope/app:v1", R+"/test/app:gone"), evalOpts{}); len(res) != 0 {
		t.Errorf("want no result, got %v", res)
	}
	if res := evaluate(t, e, fill(policy, "IR", ""), podYAML(), evalOpts{}); len(res) != 0 {
		t.Errorf("empty list: want no result, got %v", res)
	}
	// One good element applies: the rule passes.
	expect(t, one(t, evaluate(t, e, fill(policy, "IR", ""), podYAML(R+"/nope/app:v1", R+"/test/app:v1"), evalOpts{})), engine.StatusPass, "rule passed")
	// The failing element is skipped, the root one fails with the element message.
	expect(t, one(t, evaluate(t, e, fill(policy, "IR", ""), podYAML(R+"/nope/app:v1", R+"/test/rootapp:v1"), evalOpts{})), engine.StatusFail,
		"validation failure: image "+R+"/test/rootapp:v1 runs as root")
}

// Section 7: catchError in a foreach context works per element.
func TestForeachCatchError(t *testing.T) {
	reg := startRegistry(t, standardImages())
	R := reg.Addr()
	policy := strings.Replace(fill(foreachDenyPolicy, "IR", "\n            "+catchOn), "key: \"{{ imageData.configData.config.User || 'root' }}\"", "key: \"{{ imageData.failed }}\"", 1)
	policy = strings.Replace(policy, "value: root", "value: true", 1)
	e := New()
	expect(t, one(t, evaluate(t, e, policy, podYAML(R+"/test/app:v1", R+"/test/app:gone"), evalOpts{})), engine.StatusFail,
		"validation failure: image "+R+"/test/app:gone runs as root")
	expect(t, one(t, evaluate(t, e, policy, podYAML(R+"/test/app:v1", R+"/test/rootapp:v1"), evalOpts{})), engine.StatusPass, "rule passed")
}

// Implication 1: catchError is accepted in rule and foreach contexts, and a
// misspelling is a decoding error naming its path and line.
func TestCatchErrorFieldDecoding(t *testing.T) {
	e := New()
	for _, p := range []string{issue(catchOn), fill(foreachDenyPolicy, "IR", "\n            "+catchOn)} {
		if _, err := decodePolicies("p.yaml", []byte(p)); err != nil {
			t.Errorf("decode: %v", err)
		}
	}
	_, err := e.Evaluate(t.Context(), engine.Request{
		Policies: []engine.Document{{File: "policy.yaml", Data: []byte(issue("catchErrror: true"))}},
	})
	want := "policy.yaml:19: spec.rules[0].context[0].imageRegistry.catchErrror: unknown field"
	if err == nil || err.Error() != want {
		t.Errorf("want %q, got %v", want, err)
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Section 1.4 (derived from the adapter's code, not observed): a manifest
// that is not JSON fails after the descriptor fetch, so the chain has the
// loader prefix once and the adapter's "failed to fetch config" text; with
// catchError it is caught like any fetch error.
func TestMalformedManifest(t *testing.T) {
	cfg := standardImages()
	cfg.Images = append(cfg.Images, fakeregistry.Image{Ref: "bad/json:v1", Malformed: "json"})
	reg := startRegistry(t, cfg)
	ref := reg.Addr() + "/bad/json:v1"
	want := "failed to fetch image descriptor: " + ref + ", error: failed to fetch config for image reference: " + ref + ", error: unexpected EOF"
	expect(t, one(t, evaluate(t, New(), issue(), podYAML(ref), evalOpts{})), engine.StatusError, precondPrefix+want)
	got := one(t, evaluate(t, New(), issue(catchOn), podYAML(ref), evalOpts{}))
	expect(t, got, engine.StatusSkip, "preconditions not met")
	if m := got.Context["imageData"]; !reflect.DeepEqual(m, map[string]any{"failed": true, "errorMessage": want}) {
		t.Errorf("imageData %#v", m)
	}
}

// feasibility.md 2.1 row e': a registry that stalls on the ping, with a
// caller deadline: the https attempt fails at once, the http one hits the
// deadline, and both are joined.
func TestSlowPingDeadline(t *testing.T) {
	cfg := standardImages()
	cfg.Ping = &fakeregistry.Fault{Delay: fakeregistry.Duration(30 * time.Second)}
	reg := startRegistry(t, cfg)
	R := reg.Addr()
	ref := R + "/test/app:v1"
	got := one(t, evaluate(t, New(), issue(), podYAML(ref), evalOpts{timeout: time.Second}))
	expect(t, got, engine.StatusError, precondPrefix+chain(ref, `Get "https://`+R+`/v2/": http: server gave HTTP response to HTTPS client; Get "http://`+R+`/v2/": context deadline exceeded`))
}
