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

// Equivalents are the survivors no scenario can kill, by the mutant's ID
// (which names one version of the file: a changed file is triaged again),
// each with the reason (why no status or message a user sees changes). The
// file is a YAML list; mutant is the report's line for the ID, checked:
//
//   - id: 50321f79db97
//     mutant: "pkg/engine/context/loaders/imagedata.go:93: -err != nil +false"
//     reason: "..."
type Equivalents map[string]equivalent

type equivalent struct{ diff, reason string }

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
			ID     string `yaml:"id"`
			Mutant string `yaml:"mutant"`
			Reason string `yaml:"reason"`
		}
		if err := n.Decode(&e); err != nil {
			return nil, fmt.Errorf("mutants: %s:%d: %w", path, n.Line, err)
		}
		if e.ID == "" || e.Mutant == "" || e.Reason == "" {
			return nil, fmt.Errorf("mutants: %s:%d: want id, mutant (file:line: -old +new, as the report prints it) and reason", path, n.Line)
		}
		if _, dup := out[e.ID]; dup {
			return nil, fmt.Errorf("mutants: %s:%d: mutant %s is listed twice", path, n.Line, e.ID)
		}
		out[e.ID] = equivalent{diff: e.Mutant, reason: e.Reason}
	}
	return out, nil
}

// Lists reports whether the list names the mutant.
func (e Equivalents) Lists(m Mutant) bool {
	_, ok := e[m.ID]
	return ok
}

// Mark sets Equivalent on each lived result the list names. Errors: an
// entry whose mutant line is not the judged mutant's (the list is stale).
func (e Equivalents) Mark(results []Result) error {
	for i, res := range results {
		eq, ok := e[res.Mutant.ID]
		if !ok || res.Status != Lived {
			continue
		}
		if eq.diff != res.Mutant.Diff() {
			return fmt.Errorf("mutants: %s: mutant %s is %q, the list says %q", EquivalentsFile, res.Mutant.ID, res.Mutant.Diff(), eq.diff)
		}
		results[i].Equivalent = eq.reason
	}
	return nil
}
