package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzScenarios is the scenario tree the fuzz inputs are placed in, so that
// a policy or resource file path ("files/x.yaml") of a real scenario
// resolves as it does when the suite loads it.
const fuzzScenarios = "../../scenarios"

// FuzzParse feeds scenario files, real and broken, to Parse: bad input is
// an error that names the file, never a panic. The seeds are every scenario
// file of scenarios/ (plus testdata/fuzz/FuzzParse); root picks the
// scenario folder the file is placed in, name is its spec-name prefix.
//
//	go test -run '^$' -fuzz '^FuzzParse$' -fuzztime 60s ./internal/scenario
func FuzzParse(f *testing.F) {
	roots := fuzzRoots(f)
	for i, root := range roots {
		dir := filepath.Join(fuzzScenarios, root)
		err := filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() && e.Name() == DataDir {
				return filepath.SkipDir
			}
			if e.IsDir() || !strings.HasSuffix(path, ".yaml") {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, path)
			f.Add(uint8(i), filepath.ToSlash(strings.TrimSuffix(rel, ".yaml")), data)
			return nil
		})
		if err != nil {
			f.Fatal(err)
		}
	}
	for _, broken := range []string{
		"",
		"---\n",
		"apiVersion: conformance.imagectx.io/v1alpha1\nkind: Test\n",
		"apiVersion: conformance.imagectx.io/v1alpha1\nkind: Test\npolicies: [files/nope.yaml]\nresources: [{}]\n",
		"apiVersion: conformance.imagectx.io/v1alpha1\nkind: Test\npolicies: [{kind: ClusterPolicy, metadata: {name: p}}]\nresources: [[]]\n",
		"apiVersion: conformance.imagectx.io/v1alpha1\nkind: Test\nregistry: {images: [{ref: 'a:b', fault: {}}]}\n",
		"a: &a [*a]\n",
		"{",
		"- [",
		"apiVersion: conformance.imagectx.io/v1alpha1\nkind: Test\ntranslates: ../x.yaml\n",
	} {
		f.Add(uint8(0), "broken", []byte(broken))
	}
	f.Fuzz(func(t *testing.T, root uint8, name string, data []byte) {
		dir := filepath.Join(fuzzScenarios, roots[int(root)%len(roots)])
		path := filepath.Join(dir, filepath.FromSlash(name)+".yaml")
		file, err := Parse(path, name, data)
		if err == nil {
			if file == nil {
				t.Fatal("Parse returned neither a file nor an error")
			}
			return
		}
		if file != nil {
			t.Errorf("Parse returned a file and the error %v", err)
		}
		msg := err.Error()
		if strings.TrimSpace(msg) == "" {
			t.Fatalf("Parse error %#v has no text", err)
		}
		var le *LoadError
		if errors.As(err, &le) && le.File != path {
			t.Errorf("error %q names the file %q, want %q", msg, le.File, path)
		}
		if !strings.Contains(msg, path) {
			t.Errorf("error %q does not name the file %s", msg, path)
		}
	})
}

// fuzzRoots are the scenario folders of scenarios/, in a stable order.
func fuzzRoots(f *testing.F) []string {
	entries, err := os.ReadDir(fuzzScenarios)
	if err != nil {
		f.Fatal(err)
	}
	var roots []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			roots = append(roots, e.Name())
		}
	}
	if len(roots) == 0 {
		f.Fatalf("no scenario folder in %s", fuzzScenarios)
	}
	return roots
}
