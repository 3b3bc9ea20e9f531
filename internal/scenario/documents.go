package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/imagectx/conformance/yamlkit/strictyaml"
	"github.com/imagectx/conformance/yamlkit/yamlpath"
)

// Doc is one policy or resource document, kept as a YAML node so bindings
// can patch it and errors can point at its lines.
type Doc struct {
	Source     string // "file.yaml:12" where the document starts
	Node       *yaml.Node
	APIVersion string
	Kind       string
	Name       string
	NS         string
}

// Documents is one entry of policies/resources: a file path (relative to
// the scenario file; it may hold several "---" documents) or an inline
// mapping.
type Documents struct {
	Docs []Doc
}

func (ds *Documents) DecodeNode(d *decoder, n *yaml.Node, field string) error {
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == "!!str":
		path := n.Value
		if !filepath.IsAbs(path) {
			path = filepath.Join(filepath.Dir(d.File), path)
		}
		docs, err := readDocs(path)
		if err != nil {
			return d.Errorf(n, field, "want a readable YAML file: %v", err)
		}
		if len(docs) == 0 {
			return d.Errorf(n, field, "file %s holds no document", path)
		}
		for i := range docs {
			if err := docs[i].identify(); err != nil {
				return d.Errorf(n, field, "%s: %v", docs[i].Source, err)
			}
		}
		ds.Docs = docs
		return nil
	case n.Kind == yaml.MappingNode:
		doc := Doc{Source: fmt.Sprintf("%s:%d", d.File, n.Line), Node: n}
		if err := doc.identify(); err != nil {
			return d.Errorf(n, field, "%v", err)
		}
		ds.Docs = []Doc{doc}
		return nil
	}
	return d.Errorf(n, field, "want a file path or an inline Kubernetes object, got %s", strictyaml.Describe(n))
}

func readDocs(path string) ([]Doc, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var out []Doc
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		root := yamlpath.Resolve(&n)
		if root == nil || (root.Kind == yaml.ScalarNode && root.Tag == "!!null") {
			continue
		}
		out = append(out, Doc{Source: path + ":" + strconv.Itoa(root.Line), Node: root})
	}
	return out, nil
}

// identify reads kind, metadata.name and metadata.namespace.
func (doc *Doc) identify() error {
	n := doc.Node
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("want a Kubernetes object (a mapping), got %s", strictyaml.Describe(n))
	}
	doc.APIVersion = scalarAt(n, "apiVersion")
	doc.Kind = scalarAt(n, "kind")
	doc.Name = scalarAt(n, "metadata", "name")
	doc.NS = scalarAt(n, "metadata", "namespace")
	if doc.Kind == "" {
		return errors.New("want a kind")
	}
	if doc.Name == "" {
		return errors.New("want metadata.name")
	}
	return nil
}

func scalarAt(n *yaml.Node, path ...string) string {
	for _, p := range path {
		n = yamlpath.Child(n, p)
	}
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}
