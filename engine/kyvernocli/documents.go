package kyvernocli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/imagectx/conformance/engine"
)

// yamlDoc is one YAML document cut out of an engine.Document, with where it
// came from so errors can name the file and line.
type yamlDoc struct {
	File string // the engine.Document's File
	Line int    // 1-based line of the document's first line in File
	Data []byte
}

func (d yamlDoc) where() string { return fmt.Sprintf("%s:%d", d.File, d.Line) }

// splitDocuments cuts a multi-document YAML file at its "---" separator
// lines. Documents holding only comments or blanks are dropped, as every
// YAML loader does.
func splitDocuments(doc engine.Document) []yamlDoc {
	var out []yamlDoc
	var cur bytes.Buffer
	start := 1
	flush := func() {
		if hasContent(cur.Bytes()) {
			out = append(out, yamlDoc{File: doc.File, Line: start, Data: append([]byte(nil), cur.Bytes()...)})
		}
		cur.Reset()
	}
	lines := bytes.SplitAfter(doc.Data, []byte("\n"))
	for i, line := range lines {
		if isSeparator(line) {
			flush()
			start = i + 2
			continue
		}
		cur.Write(line)
	}
	flush()
	return out
}

func isSeparator(line []byte) bool {
	s := strings.TrimRight(string(line), " \t\r\n")
	return s == "---" || strings.HasPrefix(s, "--- #")
}

func hasContent(b []byte) bool {
	for _, line := range bytes.Split(b, []byte("\n")) {
		t := bytes.TrimSpace(line)
		if len(t) > 0 && t[0] != '#' {
			return true
		}
	}
	return false
}

// blockStyle returns the document as the CLI can read it. A document in
// YAML flow style ("{apiVersion: v1, kind: Pod, ...}") starts with "{", and
// the CLI takes any such file for JSON and refuses the whole batch ("failed
// to load resources (couldn't get version/kind; json parse error ...)");
// it is rewritten in block style. Other documents are kept byte for byte,
// so the CLI's line numbers stay the user's.
func blockStyle(d yamlDoc) ([]byte, error) {
	for _, line := range bytes.Split(d.Data, []byte("\n")) {
		t := bytes.TrimSpace(line)
		if len(t) == 0 || t[0] == '#' {
			continue
		}
		if t[0] != '{' {
			return d.Data, nil
		}
		break
	}
	js, err := yaml.YAMLToJSON(d.Data)
	if err != nil {
		return nil, fmt.Errorf("%s: not valid YAML: %w", d.where(), err)
	}
	out, err := yaml.JSONToYAML(js)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.where(), err)
	}
	return out, nil
}

// objectMeta is what the driver reads from every document: enough to name
// the object in results and to know how many rules a policy holds.
type objectMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		Rules []struct {
			Name string `json:"name"`
		} `json:"rules"`
	} `json:"spec"`
}

// readMeta parses one document's identity, failing with the file, line
// and the missing field.
func readMeta(d yamlDoc) (objectMeta, error) {
	var m objectMeta
	js, err := yaml.YAMLToJSON(d.Data)
	if err != nil {
		return m, fmt.Errorf("%s: not valid YAML: %w", d.where(), err)
	}
	if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
		return m, fmt.Errorf("%s: empty document", d.where())
	}
	if err := json.Unmarshal(js, &m); err != nil {
		return m, fmt.Errorf("%s: expected a Kubernetes object (apiVersion, kind, metadata): %w", d.where(), err)
	}
	switch {
	case m.APIVersion == "":
		return m, fmt.Errorf("%s: field apiVersion: missing, expected e.g. kyverno.io/v1", d.where())
	case m.Kind == "":
		return m, fmt.Errorf("%s: field kind: missing", d.where())
	case m.Metadata.Name == "":
		return m, fmt.Errorf("%s: field metadata.name: missing", d.where())
	}
	return m, nil
}

// policyDoc is a policy the driver gives the CLI, in a file of its own:
// the v1.19.1 CLI drops a whole file when one document in it has an
// unknown field, so one policy per file keeps a drop attributable.
type policyDoc struct {
	yamlDoc
	Name      string
	Namespace string
	Kind      string
	Rules     []string
	Path      string // the file written for the CLI
}

// isKyvernoPolicy reports whether the document is a kyverno.io Policy or
// ClusterPolicy, the kinds whose rules the driver counts.
func isKyvernoPolicy(m objectMeta) bool {
	return strings.HasPrefix(m.APIVersion, "kyverno.io/") && (m.Kind == "ClusterPolicy" || m.Kind == "Policy")
}

// resourceDoc is a resource given to the CLI, one per file.
type resourceDoc struct {
	yamlDoc
	ID   engine.ResourceID
	Path string
}
