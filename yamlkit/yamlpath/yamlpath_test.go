package yamlpath

import (
	"testing"

	"gopkg.in/yaml.v3"
)

const doc = `spec:
  rules:
  - name: r
    context:
    - name: imageData
      imageRegistry:
        reference: x
`

func TestFind(t *testing.T) {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &n); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path        string
		found       bool
		line, col   int // of the name node (found) or the deepest node (not found)
		deepestKind yaml.Kind
	}{
		{"spec.rules[0].context[0].imageRegistry.reference", true, 7, 9, yaml.ScalarNode},
		{".spec.rules[0].context[0].imageRegistry", true, 6, 7, yaml.MappingNode},
		{"spec.rules[0]", true, 3, 5, yaml.MappingNode},
		{"spec.rules[0].context[0].imageRegistry.referencee", false, 7, 9, yaml.MappingNode},
		{"spec.rules[3]", false, 3, 3, yaml.SequenceNode},
	} {
		deepest, name, found := Find(&n, tc.path)
		if found != tc.found || deepest.Kind != tc.deepestKind {
			t.Errorf("%s: found %v, deepest kind %v; want %v, %v", tc.path, found, deepest.Kind, tc.found, tc.deepestKind)
			continue
		}
		at := deepest
		if found {
			at = name
		}
		if at.Line != tc.line || at.Column != tc.col {
			t.Errorf("%s: at %d:%d, want %d:%d", tc.path, at.Line, at.Column, tc.line, tc.col)
		}
	}
	if Child(&n, "spec") == nil || Child(&n, "nope") != nil {
		t.Error("Child: want spec, not nope")
	}
}
