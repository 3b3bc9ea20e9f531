package kyvernocli

import (
	"errors"
	"strings"
	"testing"

	"github.com/kyverno/kyverno/cmd/cli/kubectl-kyverno/apis/v1alpha1"
	"sigs.k8s.io/yaml"

	"github.com/imagectx/conformance/engine"
)

const testConfigMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: allowed-registries
  namespace: kyverno
  labels: {team: blue}
data:
  registries: "ghcr.io,registry.invalid"
  enabled: "true"
`

// cmPolicy is a ClusterPolicy (or, with a namespace, a Policy) with one
// rule whose body is given.
func cmPolicy(name, namespace, rules string) engine.Document {
	kind, ns := "ClusterPolicy", ""
	if namespace != "" {
		kind, ns = "Policy", "\n  namespace: "+namespace
	}
	return engine.Document{File: name + ".yaml", Data: []byte(`apiVersion: kyverno.io/v1
kind: ` + kind + `
metadata:
  name: ` + name + ns + `
spec:
  background: false
  rules:
` + rules)}
}

const ruleLevelEntry = `  - name: check
    match: {any: [{resources: {kinds: [Pod]}}]}
    context:
    - name: allowed
      configMap: {name: allowed-registries, namespace: kyverno}
    validate:
      message: "{{ allowed.data.registries }}"
      deny: {conditions: {any: [{key: "{{ allowed.data.enabled }}", operator: Equals, value: "false"}]}}
`

func TestValuesFileWithConfigMaps(t *testing.T) {
	pols, err := configMapValues([]engine.Document{cmPolicy("allowed", "", ruleLevelEntry)},
		[]engine.Document{{File: "cm.yaml", Data: []byte(testConfigMap)}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := valuesFile("UPDATE", map[string]map[string]string{"default": {"a": "b"}}, pols)
	if err != nil {
		t.Fatal(err)
	}
	// The value is what loaders/configmap.go adds: data and metadata.
	want := `apiVersion: cli.kyverno.io/v1alpha1
globalValues:
  request.operation: UPDATE
kind: Values
namespaceSelector:
- labels:
    a: b
  name: default
policies:
- name: allowed
  rules:
  - name: check
    values:
      allowed:
        data:
          enabled: "true"
          registries: ghcr.io,registry.invalid
        metadata:
          labels:
            team: blue
          name: allowed-registries
          namespace: kyverno
`
	if string(got) != want {
		t.Errorf("valuesFile:\n%s\nwant:\n%s", got, want)
	}
	// Kyverno's CLI reads it strictly (values.Load).
	var v v1alpha1.Values
	if err := yaml.UnmarshalStrict(got, &v); err != nil {
		t.Fatalf("the CLI's Values type does not read it: %v", err)
	}
	if len(v.Policies) != 1 || len(v.Policies[0].Rules) != 1 || v.Policies[0].Rules[0].Values["allowed"] == nil {
		t.Errorf("decoded: %+v", v.Policies)
	}
}

func TestConfigMapValuesAccepted(t *testing.T) {
	cm := engine.Document{File: "cm.yaml", Data: []byte(testConfigMap + "---\n" + `apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {team: default-team}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: team}
data: {team: blue}
`)}
	long := strings.Repeat("r", 60)
	tests := []struct {
		name   string
		policy engine.Document
		want   map[string][]string // rule name in the values file -> value keys
	}{
		{name: "rule level", policy: cmPolicy("p", "", ruleLevelEntry), want: map[string][]string{"check": {"allowed"}}},
		{
			// The entry before it does not read it; the one after may.
			name: "rule level after an unrelated entry",
			policy: cmPolicy("p", "", `  - name: check
    match: {any: [{resources: {kinds: [Pod]}}]}
    context:
    - name: first
      variable: {value: allowedx}
    - name: allowed
      configMap: {name: allowed-registries, namespace: kyverno}
    - name: later
      variable: {jmesPath: allowed.data.enabled}
    validate:
      deny: {conditions: {any: [{key: "{{ later }}", operator: Equals, value: "false"}]}}
`),
			want: map[string][]string{"check": {"allowed"}},
		},
		{
			// A foreach entry without a namespace: "default" for a
			// ClusterPolicy; read only inside its element.
			name: "foreach",
			policy: cmPolicy("p", "", `  - name: check
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      message: denied
      foreach:
      - list: request.object.spec.containers
        context:
        - name: cm
          configMap: {name: settings}
        - name: t
          variable: {jmesPath: cm.data.team}
        preconditions: {all: [{key: "{{ cm.data.team }}", operator: Equals, value: default-team}]}
        deny: {conditions: {any: [{key: "{{ t }}", operator: Equals, value: x}]}}
`),
			want: map[string][]string{"check": {"cm"}},
		},
		{
			// A Policy's entry without a namespace reads its own namespace.
			name: "namespaced foreach",
			policy: cmPolicy("p", "team", `  - name: check
    match: {any: [{resources: {kinds: [Pod]}}]}
    mutate:
      foreach:
      - list: request.object.spec.containers
        context:
        - name: cm
          configMap: {name: settings}
        patchStrategicMerge: {metadata: {labels: {team: "{{ cm.data.team }}"}}}
`),
			want: map[string][]string{"check": {"cm"}},
		},
		{
			// Autogen names cut to 63 characters get entries of their own.
			name:   "long rule name",
			policy: cmPolicy("p", "", strings.Replace(ruleLevelEntry, "name: check", "name: "+long, 1)),
			want: map[string][]string{
				long:                              {"allowed"},
				autogenRuleName("autogen-", long): {"allowed"},
				autogenRuleName("autogen-cronjob-", long): {"allowed"},
			},
		},
		{
			// AddVariable splits a key at dots unless quoted (CSV).
			name:   "dotted entry name",
			policy: cmPolicy("p", "", strings.Replace(ruleLevelEntry, "- name: allowed", `- name: cm.allowed`, 1)),
			want:   map[string][]string{"check": {`"cm.allowed"`}},
		},
		{
			// Policy validation rejects a rule-level entry without a
			// namespace; the CLI reports the policy skipped.
			name:   "rejected by validation",
			policy: cmPolicy("p", "", strings.Replace(ruleLevelEntry, ", namespace: kyverno", "", 1)),
			want:   map[string][]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pols, err := configMapValues([]engine.Document{tt.policy}, []engine.Document{cm})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for _, p := range pols {
				for _, r := range p.Rules {
					for k := range r.Values {
						got[r.Name] = append(got[r.Name], k)
					}
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("values for rules %v, want %v", got, tt.want)
			}
			for rule, keys := range tt.want {
				if strings.Join(got[rule], ",") != strings.Join(keys, ",") {
					t.Errorf("rule %s: keys %v, want %v", rule, got[rule], keys)
				}
			}
		})
	}
}

func TestConfigMapValuesRefused(t *testing.T) {
	cm := engine.Document{File: "cm.yaml", Data: []byte(testConfigMap)}
	entry := func(configMap string) string {
		return strings.Replace(ruleLevelEntry, "{name: allowed-registries, namespace: kyverno}", configMap, 1)
	}
	foreachRule := func(extra string) string {
		return `  - name: check
    match: {any: [{resources: {kinds: [Pod]}}]}
` + extra + `    validate:
      message: denied
      foreach:
      - list: request.object.spec.containers
        context:
        - name: allowed
          configMap: {name: allowed-registries, namespace: kyverno}
        deny: {conditions: {any: [{key: "{{ allowed.data.enabled }}", operator: Equals, value: "false"}]}}
`
	}
	// A Policy p without configMap entries beside the ClusterPolicy p.
	namespaced := cmPolicy("p", "kyverno", `  - name: check
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      deny: {conditions: {any: [{key: "a", operator: Equals, value: b}]}}
`)
	namespaced.File = "ns-p.yaml"
	tests := []struct {
		name     string
		policies []engine.Document
		want     []string
	}{
		{
			name:     "not given",
			policies: []engine.Document{cmPolicy("p", "", entry("{name: other, namespace: kyverno}"))},
			want:     []string{`policy p (p.yaml:1) rule check context entry "allowed" (spec.rules[0].context[0])`, `ConfigMap kyverno/other is not among the ConfigMaps given`, `configmaps "other" not found`},
		},
		{
			name:     "variable in the name",
			policies: []engine.Document{cmPolicy("p", "", entry(`{name: "{{ request.object.metadata.name }}", namespace: kyverno}`))},
			want:     []string{`rule check context entry "allowed"`, "holds variables"},
		},
		{
			name:     "variable in the namespace",
			policies: []engine.Document{cmPolicy("p", "", entry(`{name: allowed-registries, namespace: "{{ request.namespace }}"}`))},
			want:     []string{"holds variables"},
		},
		{
			name:     "another namespace than the Policy's",
			policies: []engine.Document{cmPolicy("p", "team", ruleLevelEntry)},
			want:     []string{`configMap namespace "kyverno" is different from policy namespace "team"`},
		},
		{
			name: "two entries of one name",
			policies: []engine.Document{cmPolicy("p", "", strings.Replace(ruleLevelEntry, "    validate:",
				"    - name: allowed\n      variable: {value: x}\n    validate:", 1))},
			want: []string{`another context entry named "allowed" (context[1])`},
		},
		{
			name: "read by an earlier entry",
			policies: []engine.Document{cmPolicy("p", "", strings.Replace(ruleLevelEntry, "    context:\n",
				"    context:\n    - name: early\n      variable: {jmesPath: allowed.data.enabled, default: none}\n", 1))},
			want: []string{`(spec.rules[0].context[1])`, `an entry before it (context[:1]) reads "allowed"`},
		},
		{
			name:     "foreach entry read by the rule's preconditions",
			policies: []engine.Document{cmPolicy("p", "", foreachRule(`    preconditions: {all: [{key: "{{ allowed.data.enabled || '' }}", operator: Equals, value: ""}]}`+"\n"))},
			want:     []string{`(spec.rules[0].validate.foreach[0].context[0])`, "outside that foreach element"},
		},
		{
			name:     "foreach entry read by a rule-level entry",
			policies: []engine.Document{cmPolicy("p", "", foreachRule("    context:\n    - name: x\n      variable: {jmesPath: '[allowed]'}\n"))},
			want:     []string{"outside that foreach element"},
		},
		{
			name: "a place the driver does not model",
			policies: []engine.Document{cmPolicy("p", "", `  - name: gen
    match: {any: [{resources: {kinds: [Namespace]}}]}
    generate:
      foreach:
      - list: request.object.metadata.labels
        context:
        - name: allowed
          configMap: {name: allowed-registries, namespace: kyverno}
        apiVersion: v1
        kind: ConfigMap
        name: x
        namespace: default
        data: {data: {a: "{{ allowed.data.enabled }}"}}
`)},
			want: []string{`configMap context entry "allowed" at generate.foreach[0].context[0]`},
		},
		{
			// Values are found by policy name alone.
			name:     "a Policy and a ClusterPolicy of one name",
			policies: []engine.Document{cmPolicy("p", "", ruleLevelEntry), namespaced},
			want:     []string{`policy p (ns-p.yaml:1) rule check: the CLI looks values up by policy and rule name, and under "check" it would find another rule's configMap values`},
		},
		{
			// A rule named like another's autogen rule.
			name: "a rule named autogen-<rule>",
			policies: []engine.Document{cmPolicy("p", "", ruleLevelEntry+`  - name: autogen-check
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      deny: {conditions: {any: [{key: "a", operator: Equals, value: b}]}}
`)},
			want: []string{`rule autogen-check: the CLI looks values up`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := configMapValues(tt.policies, []engine.Document{cm})
			if !errors.Is(err, engine.ErrUnsupportedInput) {
				t.Fatalf("err = %v, want one wrapping ErrUnsupportedInput", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v\nwant it to contain %s", err, w)
				}
			}
		})
	}
}

func TestLoadConfigMapsErrors(t *testing.T) {
	tests := []struct{ name, docs, want string }{
		{"kind", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n", "cm.yaml:1: want apiVersion v1, kind ConfigMap and metadata.name, got v1 Secret"},
		{"name", "apiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: x}\n", `got v1 ConfigMap ""`},
		{"unknown field", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndatas: {}\n", `cm.yaml:1: error unmarshaling JSON`},
		{
			// No namespace is "default", as an API server stores it.
			"twice", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: default}\n",
			"cm.yaml:5: default/c is also given at cm.yaml:1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfigMaps([]engine.Document{{File: "cm.yaml", Data: []byte(tt.docs)}})
			if err == nil || !strings.Contains(err.Error(), tt.want) || errors.Is(err, engine.ErrUnsupportedInput) {
				t.Errorf("err = %v, want an input error containing %q", err, tt.want)
			}
		})
	}
}

func TestValuesKey(t *testing.T) {
	for name, want := range map[string]string{"cm": "cm", "cm.x": `"cm.x"`, `a"b.c`: `"a""b.c"`} {
		if got := valuesKey(name); got != want {
			t.Errorf("valuesKey(%q) = %s, want %s", name, got, want)
		}
	}
}
