package schema

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/invopop/jsonschema"
	jsv "github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// root is the repository root, relative to this package.
const root = "../../.."

// reflected runs Reflect from the repository root, where the doc comments
// are read (the test stays there).
func reflected(t *testing.T) *jsonschema.Schema {
	t.Helper()
	t.Chdir(root)
	s, err := Reflect()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// generate is the published JSON of reflected.
func generate(t *testing.T) []byte {
	t.Helper()
	b, err := JSON(reflected(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The published schema is what the types give (make schema writes it).
func TestPublishedSchemaIsCurrent(t *testing.T) {
	want := generate(t)
	have, err := os.ReadFile("docs/scenario.schema.json")
	if err != nil {
		t.Fatalf("%v (run make schema)", err)
	}
	if !bytes.Equal(have, want) {
		t.Errorf("docs/scenario.schema.json is stale: the scenario types changed; run make schema and commit it")
	}
}

// The published field-by-field docs are what the types give.
func TestPublishedFieldsAreCurrent(t *testing.T) {
	want := Markdown(reflected(t))
	have, err := os.ReadFile("docs/scenario-fields.md")
	if err != nil {
		t.Fatalf("%v (run make schema)", err)
	}
	if !bytes.Equal(have, want) {
		t.Errorf("docs/scenario-fields.md is stale: the scenario types changed; run make schema and commit it")
	}
	for _, section := range []string{"## File\n", "## Row\n", "## Fault\n", "| `result` | one of `pass`,"} {
		if !bytes.Contains(want, []byte(section)) {
			t.Errorf("the field docs lack %q", section)
		}
	}
}

// compile compiles the generated schema.
func compile(t *testing.T, b []byte) *jsv.Schema {
	t.Helper()
	doc, err := jsv.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := jsv.NewCompiler()
	if err := c.AddResource(ID, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(ID)
	if err != nil {
		t.Fatalf("the schema does not compile: %v", err)
	}
	return s
}

// asJSON reads a YAML file as the JSON value a schema validator sees.
func asJSON(t *testing.T, path string) any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out, err := jsv.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}

// Every scenario file the loader takes, the schema takes; a file with an
// unknown field or a wrong enum value it refuses, as the loader does.
func TestScenarioFilesValidate(t *testing.T) {
	s := compile(t, generate(t))
	n := 0
	err := filepath.WalkDir("scenarios", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") || strings.Contains(path, string(filepath.Separator)+"files"+string(filepath.Separator)) {
			return err
		}
		n++
		if err := s.Validate(asJSON(t, path)); err != nil {
			t.Errorf("%s: %v", path, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Fatalf("validated %d scenario files; want the whole specification", n)
	}
	dir := t.TempDir()
	for name, src := range map[string]string{
		"unknown-field.yaml":  "apiVersion: conformance.imagectx.io/v1alpha1\nkind: Test\nmetadata: {name: x}\nresults: []\nfoo: 1\n",
		"bad-auth.yaml":       "apiVersion: conformance.imagectx.io/v1alpha1\nkind: Test\nmetadata: {name: x}\nregistry: {repositories: [{name: a, auth: {type: digest}}]}\n",
		"bad-capability.yaml": "apiVersion: conformance.imagectx.io/v1alpha1\nkind: Test\nmetadata: {name: x}\nrequires: [telepathy]\n",
		"two-matchers.yaml":   "apiVersion: conformance.imagectx.io/v1alpha1\nkind: Test\nmetadata: {name: x}\nresults: [{policy: p, message: {exact: a, regex: b}}]\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(asJSON(t, p)); err == nil {
			t.Errorf("%s: the schema takes it", name)
		}
	}
}
