package inprocess

import (
	"errors"
	"strings"
	"testing"

	kyvernov1 "github.com/kyverno/kyverno/api/kyverno/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/inprocess/catcherror"
)

func TestCheckContextEntriesRefusesUnansweredHosts(t *testing.T) {
	doc := `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: p}
spec:
  rules:
  - name: r
    match: {any: [{resources: {kinds: [Pod]}}]}
    context:
    - name: allowed
      apiCall:
        service: {url: "https://allowlist.imagectx.test/v1"}
    validate:
      message: m
      deny: {}
`
	policies := decodePolicies(t, doc)
	err := checkContextEntries(policies, nil)
	if !errors.Is(err, engine.ErrUnsupportedInput) || !strings.Contains(err.Error(), `policy p rule r context entry allowed calls service GET "https://allowlist.imagectx.test/v1"`) {
		t.Errorf("no answer: got %v, want ErrUnsupportedInput naming the policy, rule, entry and URL", err)
	}
	if err := checkContextEntries(policies, []engine.APICallResponse{{URL: "https://allowlist.imagectx.test/v1"}}); err != nil {
		t.Errorf("answered for any method: got %v, want nil", err)
	}
	if err := checkContextEntries(policies, []engine.APICallResponse{{URL: "https://allowlist.imagectx.test/v1", Method: "GET"}}); err != nil {
		t.Errorf("answered for GET: got %v, want nil", err)
	}
	// The CLI store answers by "METHOD url" first: a POST answer leaves
	// the GET entry to Kyverno's loader, which would leave the machine.
	if err := checkContextEntries(policies, []engine.APICallResponse{{URL: "https://allowlist.imagectx.test/v1", Method: "POST"}}); !errors.Is(err, engine.ErrUnsupportedInput) {
		t.Errorf("answered for POST only: got %v, want ErrUnsupportedInput", err)
	}
	for u, want := range map[string]bool{"http://127.0.0.1:8080/x": true, "http://[::1]/x": true, "https://example.invalid/x": false, "http://localhost/x": true} {
		if got := loopbackURL(u); got != want {
			t.Errorf("loopbackURL(%q) = %v, want %v", u, got, want)
		}
	}
}

func TestAPICallStoreChecksAnswersAsKyverno(t *testing.T) {
	if s, err := apiCallStore(nil); s != nil || err != nil {
		t.Errorf("no answers: got %v, %v; want nil, nil", s, err)
	}
	_, err := apiCallStore([]engine.APICallResponse{{URLPath: "/api/v1/pods", Method: "GET", Body: []byte(`{}`)}, {URLPath: "/api/v1/pods", Method: "GET", Body: []byte(`{}`)}})
	if err == nil || !strings.Contains(err.Error(), "duplicate entry") {
		t.Errorf("duplicate answer: got %v, want Kyverno's duplicate entry error", err)
	}
	s, err := apiCallStore([]engine.APICallResponse{{URL: "https://allowlist.imagectx.test/v1", Body: []byte(`{"ok":true}`)}})
	if err != nil || len(s.GetAPICallResponses()) != 1 || !s.IsApiCallAllowed() || !s.GetRegistryAccess() {
		t.Errorf("one answer: got %v, %v", s, err)
	}
}

func TestResourceClientAnswersGETsOfTheResources(t *testing.T) {
	cm := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "allowed", "namespace": "kyverno"}, "data": map[string]any{"k": "v"}}}
	c, err := resourceClient([]*resource{{object: cm}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.RawAbsPath(t.Context(), "/api/v1/namespaces/kyverno/configmaps/allowed", "GET", nil)
	if err != nil || !strings.Contains(string(got), `"k":"v"`) {
		t.Errorf("GET: got %s, %v", got, err)
	}
	if _, err := c.RawAbsPath(t.Context(), "/apis/authorization.k8s.io/v1/subjectaccessreviews", "POST", nil); err == nil ||
		err.Error() != "method POST not supported for fake client" {
		t.Errorf("POST: got %v, want the fake client's refusal", err)
	}
}

func TestCheckContextEntriesRefusesGlobalReferences(t *testing.T) {
	// Nested foreach: Kyverno loads its context entries as well.
	doc := `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: p}
spec:
  rules:
  - name: r
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      message: m
      foreach:
      - list: request.object.spec.containers
        foreach:
        - list: element.ports
          context:
          - name: allowed
            globalReference: {name: registries}
          deny: {}
`
	policies := decodePolicies(t, doc)
	err := checkContextEntries(policies, nil)
	if !errors.Is(err, engine.ErrUnsupportedInput) || !strings.Contains(err.Error(), `policy p rule r context entry allowed reads the global context entry "registries"`) {
		t.Errorf("got %v, want ErrUnsupportedInput naming the policy, rule, entry and global context entry", err)
	}
}

// decodePolicies decodes doc as the engine does (Kyverno's CLI loader).
func decodePolicies(t *testing.T, doc string) []kyvernov1.PolicyInterface {
	t.Helper()
	var flags catcherror.Flags
	loaded, err := New().decoded.loadPolicies([]engine.Document{{File: "p.yaml", Data: []byte(doc)}}, true, &flags)
	if err != nil {
		t.Fatal(err)
	}
	return loaded.valid
}
