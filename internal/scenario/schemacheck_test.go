package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The loader's schema check names each field the published schema refuses
// at its line, up to maxSchemaErrors of them.
func TestCheckSchema(t *testing.T) {
	src := "apiVersion: conformance.imagectx.io/v1alpha1\nkind: Test\nmetadata: {name: x}\nrequires: [telepathy]\nresults:\n- policy: p\n  result: maybe\n"
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(src), &root); err != nil {
		t.Fatal(err)
	}
	err := checkSchema(&decoder{File: "x.yaml"}, root.Content[0])
	if err == nil {
		t.Fatal("the schema takes an unknown capability and an unknown result")
	}
	for _, want := range []string{
		"x.yaml:4:12: requires[0]: refused by the published schema",
		"x.yaml:7:11: results[0].result: refused by the published schema",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	var fe *LoadError
	if !errors.As(err, &fe) {
		t.Errorf("%T, want *LoadError", err)
	}
}

// BenchmarkLoad loads the whole specification; its sub-benchmark schema
// is the published-schema check alone over the same files, so the two
// figures side by side give the check's share of loading.
func BenchmarkLoad(b *testing.B) {
	dir := filepath.Join("..", "..", "scenarios")
	b.Run("LoadDirs", func(b *testing.B) {
		for b.Loop() {
			if _, err := LoadDirs(dir); err != nil {
				b.Fatal(err)
			}
		}
	})
	var roots []*yaml.Node
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") || strings.Contains(p, "/files/") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var n yaml.Node
		if err := yaml.Unmarshal(data, &n); err != nil {
			return err
		}
		roots = append(roots, n.Content[0])
		return nil
	})
	b.Run("schema", func(b *testing.B) {
		for b.Loop() {
			for _, r := range roots {
				if err := checkSchema(&decoder{}, r); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
