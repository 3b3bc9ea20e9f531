package policykind

import (
	"slices"
	"testing"

	"gopkg.in/yaml.v3"
)

func doc(t *testing.T, s string) *yaml.Node {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(s), &n); err != nil {
		t.Fatal(err)
	}
	return n.Content[0]
}

func TestLookup(t *testing.T) {
	for _, c := range []struct {
		apiVersion, kind string
		lang             Language
		ok               bool
	}{
		{"kyverno.io/v1", "ClusterPolicy", JMESPath, true},
		{"policies.kyverno.io/v1", "ValidatingPolicy", CEL, true},
		{"policies.kyverno.io/v1beta1", "ImageValidatingPolicy", CEL, true},
		{"kyverno.io/v1", "ValidatingPolicy", "", false},
		{"policies.kyverno.io/v1", "GeneratingPolicy", "", false},
		{"admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", "", false},
	} {
		k, ok := Lookup(c.apiVersion, c.kind)
		if ok != c.ok || k.Language != c.lang {
			t.Errorf("Lookup(%s, %s) = %+v, %v", c.apiVersion, c.kind, k, ok)
		}
	}
}

func TestRules(t *testing.T) {
	legacy, _ := Lookup("kyverno.io/v1", "ClusterPolicy")
	d := doc(t, "spec:\n  rules:\n  - name: a\n    validate: {}\n  - name: b\n    mutate: {}\n")
	if got := legacy.Rules(d); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("legacy rules %v", got)
	}
	if got := legacy.RuleTypes(d); got["a"] != RuleValidate || got["b"] != RuleMutate {
		t.Errorf("legacy rule types %v", got)
	}
	vpol, _ := Lookup("policies.kyverno.io/v1", "ValidatingPolicy")
	if got := vpol.Rules(doc(t, "metadata: {name: p}\n")); got[0] != "" || !slices.Contains(got, "evaluation") {
		t.Errorf("ValidatingPolicy rules %q", got)
	}
	ivpol, _ := Lookup("policies.kyverno.io/v1", "ImageValidatingPolicy")
	d = doc(t, "metadata: {name: verify}\n")
	if got := ivpol.Rules(d); got[0] != "verify" || !slices.Contains(got, "evaluation") {
		t.Errorf("ImageValidatingPolicy rules %q", got)
	}
	if got := ivpol.RuleTypes(d); got["verify"] != RuleVerifyImages || !got["evaluation"].Patches() {
		t.Errorf("ImageValidatingPolicy rule types %v", got)
	}
	if CELRuleNames[0] != "" {
		t.Error("CELRuleNames was changed by Rules")
	}
}
