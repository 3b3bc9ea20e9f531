package reference

import (
	"context"
	"reflect"
	"testing"
)

func newTestContext(t *testing.T, object map[string]any) *evalContext {
	t.Helper()
	e := New()
	reg, err := newRegistrySession(engineRegistryConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.close)
	return newEvalContext(context.Background(), e, reg, map[string]any{"object": object, "operation": "CREATE", "namespace": "default"}, "CREATE")
}

func TestSubstitute(t *testing.T) {
	obj := map[string]any{
		"metadata": map[string]any{"name": "web", "labels": map[string]any{"app": "x"}},
		"spec":     map[string]any{"replicas": float64(3), "tmpl": "{{ request.object.metadata.name }}"},
	}
	cases := []struct {
		name string
		in   any
		want any
		err  string
	}{
		{"plain string", "no vars", "no vars", ""},
		{"whole string keeps type", "{{ request.object.spec.replicas }}", float64(3), ""},
		{"whole string object", "{{ request.object.metadata.labels }}", map[string]any{"app": "x"}, ""},
		{"spliced", "name={{request.object.metadata.name}}!", "name=web!", ""},
		{"spliced number", "n={{ request.object.spec.replicas }}", "n=3", ""},
		{"spliced object as JSON", "l={{ request.object.metadata.labels }}", `l={"app":"x"}`, ""},
		{"two vars", "{{ request.operation }}/{{ request.namespace }}", "CREATE/default", ""},
		{"escaped", `\{{ request.operation }}`, "{{ request.operation }}", ""},
		{"escaped next to var", `\{{ a }} {{ request.operation }}`, "{{ a }} CREATE", ""},
		{"nested value substituted again", "x {{ request.object.spec.tmpl }}", "x web", ""},
		{"shallow keeps braces", "x {{- request.object.spec.tmpl }}", "x {{ request.object.metadata.name }}", ""},
		{"object literal braces", "{{ {a: request.operation}.a }}", "CREATE", ""},
		{"map keys and paths", map[string]any{"{{ request.operation }}": []any{"{{ request.namespace }}"}}, map[string]any{"CREATE": []any{"default"}}, ""},
		{"missing key", map[string]any{"a": []any{"{{ request.object.nope.x }}"}}, nil,
			`failed to resolve request.object.nope.x at path /a/0: JMESPath query failed: Unknown key "nope" in path`},
		{"or fallback", "{{ request.object.nope || 'd' }}", "d", ""},
		{"syntax error", "{{ request.[ }}", nil, "failed to resolve request.[ at path : incorrect query request.["},
		{"unknown function", "{{ nope(request) }}", nil, "failed to resolve nope(request) at path : JMESPath query failed: unknown function: nope"},
		{"empty", "{{ }}", nil, "failed to resolve  at path : invalid query (nil)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestContext(t, obj)
			got, err := c.substitute(tc.in, "")
			if tc.err != "" {
				if err == nil || len(err.Error()) < len(tc.err) || err.Error()[:len(tc.err)] != tc.err {
					t.Fatalf("want error starting %q, got %v (%v)", tc.err, err, got)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("want %#v, got %#v (%v)", tc.want, got, err)
			}
		})
	}
}

func TestVariableEntries(t *testing.T) {
	obj := map[string]any{"metadata": map[string]any{"name": "web"}}
	cases := []struct {
		name  string
		entry Variable
		want  any
		err   string
	}{
		{"value", Variable{Value: "{{ request.object.metadata.name }}"}, "web", ""},
		{"value + jmesPath", Variable{Value: map[string]any{"a": []any{float64(1), float64(2)}}, JMESPath: "length(a)"}, float64(2), ""},
		{"jmesPath on context", Variable{JMESPath: "request.object.metadata.name"}, "web", ""},
		{"jmesPath null uses default", Variable{JMESPath: "request.object.metadata.nope", Default: "d"}, "d", ""},
		{"jmesPath error uses default", Variable{Value: "x", JMESPath: "to_upper(@.a)", Default: "d"}, "d", ""},
		{"nil is an error", Variable{JMESPath: "request.object.metadata.missing || null"}, nil, "failed to add context entry for variable v since it evaluated to nil"},
		{"jmesPath error without default", Variable{JMESPath: "request.object.nope.x"}, nil,
			"failed to apply jmespath request.object.nope.x to variable <nil>: JMESPath query failed: Unknown key \"nope\" in path"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestContext(t, obj)
			entry := tc.entry
			if err := c.register([]ContextEntry{{Name: "v", Variable: &entry}}); err != nil {
				t.Fatal(err)
			}
			got, err := c.query("v")
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("want error %q, got %v", tc.err, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("want %#v, got %#v (%v)", tc.want, got, err)
			}
		})
	}
}

// The deferred matcher is Kyverno's: the name must stand alone (not after
// a dot or inside a longer identifier).
func TestDeferredMatcher(t *testing.T) {
	c := newTestContext(t, map[string]any{})
	if err := c.register([]ContextEntry{{Name: "imageData", Variable: &Variable{Value: "x"}}}); err != nil {
		t.Fatal(err)
	}
	m := c.entries[0].matcher
	for q, want := range map[string]bool{
		"imageData.registry":         true,
		"imageData":                  true,
		"to_string(imageData)":       true,
		"request.imageData":          false,
		"myimageData":                false,
		"imageDataX":                 false,
		"imageData || ''":            true,
		"{a: imageData}.a":           true,
		"request.object.spec.image":  false,
		"length(imageData.manifest)": true,
	} {
		if got := m.MatchString(q); got != want {
			t.Errorf("%q: want %v, got %v", q, want, got)
		}
	}
}
