package reference

import (
	"strings"
	"testing"
)

const minimalPolicy = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: p
spec:
  rules:
  - name: r
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      deny: {}
`

func TestDecodePolicyErrors(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown nested field", strings.Replace(minimalPolicy, "    validate:", `    context:
    - name: imageData
      imageRegistry:
        reference: x
        catchErrror: true
    validate:`, 1), "p.yaml:16: spec.rules[0].context[0].imageRegistry.catchErrror: unknown field"},
		{"unknown spec field", strings.Replace(minimalPolicy, "  rules:", "  rulez: []\n  rules:", 1), "p.yaml:6: spec.rulez: unknown field"},
		{"wrong type", strings.Replace(minimalPolicy, "  - name: r", "  - name: [r]", 1), "p.yaml:7: spec.rules[0].name: expected a string, got a list"},
		{"bool expected", strings.Replace(minimalPolicy, "  rules:", "  background: yes-please\n  rules:", 1), "p.yaml:6: spec.background: expected a boolean, got a string"},
		{"unsupported field", strings.Replace(minimalPolicy, "          kinds: [Pod]", "          kinds: [Pod]\n          namespaceSelector: {}", 1), "p.yaml:12: spec.rules[0].match.any[0].resources.namespaceSelector: not supported by the reference engine"},
		{"apiCall entry", strings.Replace(minimalPolicy, "    validate:", "    context:\n    - name: x\n      apiCall: {urlPath: /api}\n    validate:", 1), "p.yaml:14: spec.rules[0].context[0].apiCall: not supported by the reference engine"},
		{"bad apiVersion", strings.Replace(minimalPolicy, "kyverno.io/v1", "kyverno.io/v2beta1", 1), `p.yaml:1: apiVersion: expected kyverno.io/v1, got "kyverno.io/v2beta1"`},
		{"bad kind", strings.Replace(minimalPolicy, "ClusterPolicy", "Pod", 1), `p.yaml:2: kind: expected ClusterPolicy or Policy, got "Pod"`},
		{"missing rule name", strings.Replace(minimalPolicy, "  - name: r\n    match:", "  - match:", 1), "p.yaml:7: spec.rules[0].name: required"},
		{"unknown operator", strings.Replace(minimalPolicy, "      deny: {}", "      deny:\n        conditions:\n          any:\n          - key: a\n            operator: Equalz\n            value: a", 1),
			`p.yaml:17: spec.rules[0].validate.deny.conditions.any[0].operator: unsupported operator "Equalz"; expected one of AllIn, AllNotIn, AnyIn, AnyNotIn, DurationGreaterThan, DurationGreaterThanOrEquals, DurationLessThan, DurationLessThanOrEquals, Equals, GreaterThan, GreaterThanOrEquals, In, LessThan, LessThanOrEquals, NotEquals, NotIn`},
		{"second document", minimalPolicy + "---\n" + strings.Replace(minimalPolicy, "  name: p", "  name: q\n  labelz: {}", 1), "p.yaml:19: metadata.labelz: unknown field"},
		{"bad failure action", strings.Replace(minimalPolicy, "  rules:", "  validationFailureAction: Block\n  rules:", 1), `p.yaml:6: spec.validationFailureAction: expected Audit or Enforce, got "Block"`},
		{"YAML 1.1 boolean", strings.Replace(minimalPolicy, "  - name: r", "  - name: n", 1), "p.yaml:7: spec.rules[0].name: expected a string, got a boolean (YAML 1.1, as Kubernetes reads it, makes n false; quote it)"},
		{"unknown provider", strings.Replace(minimalPolicy, "    validate:", "    context:\n    - name: d\n      imageRegistry:\n        reference: \"{{ request.object.spec.containers[0].image }}\"\n        imageRegistryCredentials:\n          providers: [default, quay]\n    validate:", 1),
			`p.yaml:17: spec.rules[0].context[0].imageRegistry.imageRegistryCredentials.providers[1]: unsupported value "quay": expected one of default, google, azure, amazon, github`},
		{"invalid yaml", "a: [", "p.yaml: invalid YAML: yaml: line 1: did not find expected node content"},
		{"duplicate label", strings.Replace(minimalPolicy, "  name: p", "  name: p\n  labels:\n    team: a\n    team: b", 1), "p.yaml:7: metadata.labels.team: duplicate key"},
		{"duplicate pattern key", strings.Replace(minimalPolicy, "      deny: {}", "      pattern:\n        metadata:\n          name: a\n          name: b", 1), "p.yaml:16: spec.rules[0].validate.pattern.metadata.name: duplicate key"},
		{"int32 overflow", strings.Replace(minimalPolicy, "  rules:", "  webhookTimeoutSeconds: 99999999999\n  rules:", 1), "p.yaml:6: spec.webhookTimeoutSeconds: integer 99999999999 does not fit in int32"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodePolicies("p.yaml", []byte(tc.yaml))
			if err == nil || err.Error() != tc.want {
				t.Errorf("want %q\n got %v", tc.want, err)
			}
		})
	}
}

func TestDecodePolicyForms(t *testing.T) {
	y := minimalPolicy + "---\n" + `apiVersion: kyverno.io/v1
kind: Policy
metadata:
  name: ns-policy
  namespace: team
spec:
  validationFailureAction: Enforce
  rules:
  - name: legacy
    match:
      resources:
        kinds: [Pod]
        names: ["web-*"]
    preconditions:
    - key: "{{ request.operation }}"
      operator: Equals
      value: CREATE
    context:
    - name: v
      variable:
        value: {a: 1}
        jmesPath: a
        default: 0
    validate:
      failureAction: Audit
      foreach:
      - list: request.object.spec.containers
        preconditions:
          any:
          - key: "{{ element.name }}"
            operator: AnyIn
            value: [a, b]
        pattern:
          image: "!*:latest"
`
	ps, err := decodePolicies("p.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || !ps[1].Namespaced() || ps[1].Metadata.Namespace != "team" {
		t.Fatalf("decoded %d policies: %+v", len(ps), ps)
	}
	r := ps[1].Spec.Rules[0]
	if r.Preconditions == nil || len(r.Preconditions.List) != 1 || r.Preconditions.AnyAll != nil {
		t.Errorf("list-form preconditions: %+v", r.Preconditions)
	}
	if v := r.Context[0].Variable; v.Default != float64(0) || v.JMESPath != "a" {
		t.Errorf("variable: %+v", v)
	}
	fe := r.Validation.ForEach[0]
	if fe.Preconditions == nil || len(fe.Preconditions.Any) != 1 || fe.Pattern == nil {
		t.Errorf("foreach: %+v", fe)
	}
}

func TestDecodeResources(t *testing.T) {
	y := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  namespace: x\n  labels: {app: web}\nspec:\n  replicas: 3\n  enabled: yes\n  quoted: \"yes\"\n---\n" +
		"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata:\n    name: team\n"
	rs, err := decodeResources("r.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].name != "a" || rs[0].namespace != "x" || rs[0].labels["app"] != "web" || rs[1].kind != "Namespace" {
		t.Fatalf("resources: %+v %+v", rs[0], rs[1])
	}
	if n := rs[0].object["spec"].(map[string]any)["replicas"]; n != int64(3) {
		t.Errorf("integers must be int64 as in unstructured objects, got %T", n)
	}
	if rs[1].namespace != "" {
		t.Errorf("a Namespace is cluster-scoped, got namespace %q", rs[1].namespace)
	}
	noNS, err := decodeResources("r.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  annotations:\ndata:\n"))
	if err != nil || noNS[0].namespace != "default" || noNS[0].object["metadata"].(map[string]any)["namespace"] != "default" {
		t.Errorf("a namespaced object without namespace is in default (as the Kyverno CLI reads it): %+v %v", noNS, err)
	}
	if d, ok := noNS[0].object["data"].(map[string]any); !ok || len(d) != 0 {
		t.Errorf("null data must become an empty map: %#v", noNS[0].object["data"])
	}
	if spec := rs[0].object["spec"].(map[string]any); spec["enabled"] != true || spec["quoted"] != "yes" {
		t.Errorf("YAML 1.1 booleans: %#v", spec)
	}
	for _, tc := range []struct{ y, want string }{
		{"kind: Pod\nmetadata: {name: a}\n", "r.yaml:1: apiVersion: required (a string)"},
		{"apiVersion: v1\nkind: Pod\n", "r.yaml:1: metadata: required (an object)"},
		{"- a\n", "r.yaml:1: expected a Kubernetes object, got a list"},
		{"apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  labels:\n    x: one\n    x: two\n", "r.yaml:7: metadata.labels.x: duplicate key"},
	} {
		if _, err := decodeResources("r.yaml", []byte(tc.y)); err == nil || err.Error() != tc.want {
			t.Errorf("want %q, got %v", tc.want, err)
		}
	}
}
