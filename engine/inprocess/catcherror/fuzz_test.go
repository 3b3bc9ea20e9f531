package catcherror

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/imagectx/conformance/yamlkit/yamlpath"
)

// FuzzStrip feeds policies, real and broken, to Strip. Bad input is an
// error that names the file, never a panic; Strip is deterministic; and
// what it returns is the input without its catchError keys:
//
//   - stripping the output again finds no catchError and returns it as is;
//   - the output means what the input means once every imageRegistry
//     mapping has lost its catchError key (the documents compared as
//     decoded values, so that emptied lines and re-rendering both count).
//
// The seeds are strip_test.go's policy (twoEntries) and broken variants of
// it, every policy of scenarios/ (scenarioPolicies), and the inputs in
// testdata/fuzz/FuzzStrip (what the fuzzer found, fixed since).
//
//	go test -run '^$' -fuzz '^FuzzStrip$' -fuzztime 60s ./engine/inprocess/catcherror
func FuzzStrip(f *testing.F) {
	f.Add([]byte(twoEntries))
	f.Add([]byte(strings.Replace(twoEntries, "catchError: true", `catchError: "yes"`, 1)))
	f.Add([]byte(strings.Replace(twoEntries, "catchError: true", "catchError: [true]", 1)))
	f.Add([]byte(twoEntries + "---\n" + strings.ReplaceAll(twoEntries, "name: p\n", "name: q\n")))
	f.Add([]byte("imageRegistry:\n  reference: x\n  catchError: false # off\n---\n---\nimageRegistry: {catchError: true}\n"))
	for _, seed := range scenarioPolicies(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const file = "fuzz.yaml"
		in := bytes.Clone(data)
		var flags Flags
		out, err := Strip(file, data, &flags)
		if !bytes.Equal(in, data) {
			t.Fatal("Strip changed its input")
		}
		var again Flags
		out2, err2 := Strip(file, data, &again)
		if !bytes.Equal(out, out2) || (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) || !reflect.DeepEqual(flags.set, again.set) {
			t.Fatalf("Strip is not deterministic: %q, %v, %v; then %q, %v, %v", out, err, flags.set, out2, err2, again.set)
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), file+":") {
				t.Errorf("error %q does not start with the file name", err)
			}
			return
		}
		var restrip Flags
		out3, err := Strip(file, out, &restrip)
		if err != nil {
			t.Fatalf("the output does not strip again: %v\ninput:\n%s\noutput:\n%s", err, data, out)
		}
		if restrip.Len() != 0 || !bytes.Equal(out3, out) {
			t.Fatalf("the output still has %d catchError keys:\ninput:\n%s\noutput:\n%s", restrip.Len(), data, out)
		}
		want, ok := decodeAll(data, true)
		if !ok {
			return // not plain data (duplicate keys, tags): no oracle
		}
		got, ok := decodeAll(out, false)
		if !ok || !reflect.DeepEqual(got, want) {
			t.Fatalf("the output means something else:\ninput:\n%s\noutput:\n%s\nwant %#v\ngot  %#v", data, out, want, got)
		}
	})
}

// scenarioPolicies are the policies of scenarios/: the policy files under
// files/ folders and every inline policy of the scenario files, each one
// document, so that a seed costs what one policy costs.
func scenarioPolicies(f *testing.F) [][]byte {
	var out [][]byte
	seen := map[string]bool{}
	add := func(b []byte) {
		if !seen[string(b)] {
			seen[string(b)] = true
			out = append(out, b)
		}
	}
	err := filepath.WalkDir("../../../scenarios", func(path string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if filepath.Base(filepath.Dir(path)) == "files" {
			add(data)
			return nil
		}
		var root yaml.Node
		if err := yaml.Unmarshal(data, &root); err != nil {
			return err
		}
		policies := yamlpath.Child(&root, "policies")
		if policies == nil {
			return nil
		}
		for _, p := range policies.Content {
			if p.Kind != yaml.MappingNode {
				continue // a file path: its file is a seed already
			}
			b, err := yaml.Marshal(p)
			if err != nil {
				return err
			}
			add(b)
		}
		return nil
	})
	if err != nil || len(out) == 0 {
		f.Fatalf("no policy in scenarios/: %v", err)
	}
	return out
}

// decodeAll decodes every document of data as Kyverno reads it (plain
// values), after removing catchError from imageRegistry mappings if strip;
// ok is false for what has no plain value here (a decoding error, NaN).
func decodeAll(data []byte, strip bool) (docs []any, ok bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, true
		}
		if err != nil {
			return nil, false
		}
		if strip && len(n.Content) == 1 {
			removeCatchError(n.Content[0])
		}
		var v any
		if err := n.Decode(&v); err != nil || hasNaN(v) {
			return nil, false
		}
		docs = append(docs, v)
	}
}

// removeCatchError is the oracle's strip: every mapping whose imageRegistry
// value is a mapping loses the catchError key of that mapping.
func removeCatchError(n *yaml.Node) {
	switch n.Kind {
	case yaml.SequenceNode:
		for _, c := range n.Content {
			removeCatchError(c)
		}
	case yaml.MappingNode:
		if reg := yamlpath.Child(n, "imageRegistry"); reg != nil && reg.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(reg.Content); i += 2 {
				if reg.Content[i].Value == Field {
					reg.Content = append(reg.Content[:i], reg.Content[i+2:]...)
					break
				}
			}
		}
		for i := 1; i < len(n.Content); i += 2 {
			removeCatchError(n.Content[i])
		}
	}
}

func hasNaN(v any) bool {
	switch v := v.(type) {
	case float64:
		return math.IsNaN(v)
	case []any:
		for _, e := range v {
			if hasNaN(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range v {
			if hasNaN(e) {
				return true
			}
		}
	case map[any]any:
		for k, e := range v {
			if hasNaN(k) || hasNaN(e) {
				return true
			}
		}
	}
	return false
}
