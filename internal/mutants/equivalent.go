package mutants

import (
	"bytes"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"
)

// EquivalentsFile is where survivors shown equivalent are listed, relative
// to this project's root.
const EquivalentsFile = "internal/mutants/equivalent.yaml"

// Equivalents are the survivors no scenario can kill, by the mutant's
// module and Diff, each with the reason (why no status or message a user
// sees changes). The file is a YAML list:
//
//   - module: github.com/kyverno/kyverno
//     mutant: "pkg/engine/context/deferred.go:98: -< +<="
//     reason: "..."
type Equivalents map[[2]string]string

// LoadEquivalents reads the equivalents file; a missing file is none.
// Errors: the file does not parse, an entry misses a field or repeats one
// (named by line).
func LoadEquivalents(path string) (Equivalents, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return Equivalents{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mutants: %w", err)
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("mutants: %s: %w", path, err)
	}
	out := Equivalents{}
	if len(doc.Content) == 0 {
		return out, nil
	}
	list := doc.Content[0]
	if list.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("mutants: %s:%d: want a list of {module, mutant, reason}", path, list.Line)
	}
	for _, n := range list.Content {
		var e struct {
			Module string `yaml:"module"`
			Mutant string `yaml:"mutant"`
			Reason string `yaml:"reason"`
		}
		if err := n.Decode(&e); err != nil {
			return nil, fmt.Errorf("mutants: %s:%d: %w", path, n.Line, err)
		}
		if e.Module == "" || e.Mutant == "" || e.Reason == "" {
			return nil, fmt.Errorf("mutants: %s:%d: want module, mutant (file:line: -old +new, as the report prints it) and reason", path, n.Line)
		}
		key := [2]string{e.Module, e.Mutant}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("mutants: %s:%d: %s %q is listed twice", path, n.Line, e.Module, e.Mutant)
		}
		out[key] = e.Reason
	}
	return out, nil
}

// Mark sets Equivalent on each lived result the list names.
func (e Equivalents) Mark(results []Result) {
	for i, res := range results {
		if res.Status == Lived {
			results[i].Equivalent = e[[2]string{res.Mutant.Module, res.Mutant.Diff()}]
		}
	}
}
