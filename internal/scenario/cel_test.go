package scenario

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const celFile = `apiVersion: conformance.imagectx.io/v1alpha1
kind: Test
metadata:
  name: t
policies:
- apiVersion: policies.kyverno.io/v1
  kind: ValidatingPolicy
  metadata: {name: v}
  spec:
    validations:
    - expression: image.GetMetadata(object.spec.containers[0].image).resolvedImage != ''
- apiVersion: policies.kyverno.io/v1
  kind: ImageValidatingPolicy
  metadata: {name: iv}
  spec: {}
resources:
- {apiVersion: v1, kind: Pod, metadata: {name: app, namespace: default}, spec: {containers: [{name: app, image: x}]}}
results:
- policy: v
  rule: ROW_RULE
  resources: [app]
  result: error
ROW_EXTRA- policy: iv
  rule: iv
  resources: [app]
  result: pass
`

func loadCEL(t *testing.T, rule, extra string) (*File, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.yaml")
	src := strings.NewReplacer("ROW_RULE", rule, "ROW_EXTRA", extra).Replace(celFile)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return LoadFile(path, "t")
}

func TestCELRows(t *testing.T) {
	f, err := loadCEL(t, `""`, "")
	if err != nil {
		t.Fatal(err)
	}
	specs := Specs([]*File{f})
	if len(specs) != 2 {
		t.Fatalf("got %d specs", len(specs))
	}
	if got := strings.Join(specs[0].Labels, ","); got != "catch:absent,decision:1,lang:cel,policy:ValidatingPolicy,rule:validate" {
		t.Errorf("labels %s", got)
	}
	if got := strings.Join(specs[1].Labels, ","); got != "catch:absent,decision:1,lang:cel,policy:ImageValidatingPolicy,rule:verifyImages" {
		t.Errorf("labels %s", got)
	}
	if len(specs[0].Requires) != 1 || specs[0].Requires[0] != "celImageData" {
		t.Errorf("requires %v", specs[0].Requires)
	}
	if _, err := loadCEL(t, "evaluation", ""); err != nil {
		t.Errorf("rule evaluation: %v", err)
	}
	for _, c := range []struct{ rule, extra, want string }{
		{"check", "", `results[0].rule: want a rule name Kyverno reports for a ValidatingPolicy ("": the policy's result; evaluation, match, exception, mutateDigest), got "check"`},
		{`""`, "  context:\n    imageData.failed: true\n", "results[0].context: a ValidatingPolicy has no context entries to check"},
	} {
		if _, err := loadCEL(t, c.rule, c.extra); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("rule %s: got %v, want %q", c.rule, err, c.want)
		}
	}
}

func TestTranslates(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	src := strings.NewReplacer("ROW_RULE", `""`, "ROW_EXTRA", "").Replace(celFile)
	must(os.MkdirAll(filepath.Join(dir, "cel"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "legacy.yaml"), []byte(valid), 0o644))
	must(os.WriteFile(filepath.Join(dir, "cel", "t.yaml"), []byte(strings.Replace(src, "kind: Test\n", "kind: Test\ntranslates: ../legacy.yaml\n", 1)), 0o644))
	files, err := LoadDirs(dir)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, f := range files {
		if f.Name == "cel/t" {
			found = f.TranslatesName == "legacy"
		}
	}
	if !found {
		t.Errorf("cel/t does not translate legacy")
	}
	must(os.WriteFile(filepath.Join(dir, "cel", "t.yaml"), []byte(strings.Replace(src, "kind: Test\n", "kind: Test\ntranslates: ../gone.yaml\n", 1)), 0o644))
	if _, err := LoadDirs(dir); err == nil || !strings.Contains(err.Error(), "translates: want the path of the scenario file this one translates") {
		t.Errorf("a missing file: %v", err)
	}
}

// A file that gives registry Secrets requires the secrets capability on
// every spec, as one with ConfigMaps requires configMaps, whether or not it
// says so in requires.
func TestSecretsRequired(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.yaml")
	src := strings.NewReplacer("ROW_RULE", `""`, "ROW_EXTRA", "").Replace(celFile) +
		"registry:\n  secrets:\n    kyverno/regcred: [{username: alice, password: s3cret}]\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := LoadFile(path, "t")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Specs([]*File{f}) {
		if !slices.Contains(s.Requires, "secrets") {
			t.Errorf("%s requires %v, want secrets among them", s.Name, s.Requires)
		}
	}
}
