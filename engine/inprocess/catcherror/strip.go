package catcherror

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strings"

	kyvernov1 "github.com/kyverno/kyverno/api/kyverno/v1"
	"gopkg.in/yaml.v3"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/yamlkit/yamlpath"
)

// Field is the proposed field's name in an imageRegistry context entry
// (kyverno/kyverno issue 14302, PRs 15760 and 17000).
const Field = "catchError"

// Native reports whether the linked Kyverno API already has
// imageRegistry.catchError (a build such as PR 17000's branch, linked with
// KYVERNO_SRC). Then Kyverno's own loader implements the field: policies are
// passed through as written and this package's loader is not used.
func Native() bool {
	t := reflect.TypeOf(kyvernov1.ImageRegistry{})
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name == Field {
			return true
		}
	}
	return false
}

// entryKey identifies an imageRegistry context entry within a batch: the
// policy's namespace and name, the rule, and the entry's name and jmesPath.
// Not its reference: Kyverno's autogen rewrites the references of the rules
// it generates for Pod controllers (request.object.spec becomes
// request.object.spec.template.spec), and those rules are found through the
// rule they come from (engine.AutogenRule).
type entryKey struct {
	namespace, policy, rule string
	name, jmesPath          string
}

func keyOf(namespace, policy, rule string, e kyvernov1.ContextEntry) entryKey {
	return entryKey{namespace: namespace, policy: policy, rule: rule, name: e.Name, jmesPath: e.ImageRegistry.JMESPath}
}

// Flags records, for every imageRegistry entry whose policy set catchError,
// the value it set. Entries without the field are absent, which is what
// "catchError: false" means too.
type Flags struct {
	set map[entryKey]bool
}

// Caught reports whether the entry of the given policy's rule asked for
// catchError: true; an autogen rule answers for the rule it was made from.
func (f Flags) Caught(namespace, policy, rule string, e kyvernov1.ContextEntry) bool {
	if e.ImageRegistry == nil {
		return false
	}
	want := keyOf(namespace, policy, rule, e)
	if v, ok := f.set[want]; ok {
		return v
	}
	for k, v := range f.set {
		if k.namespace == namespace && k.policy == policy && k.name == want.name && k.jmesPath == want.jmesPath {
			if _, ok := engine.AutogenRule(rule, []string{k.rule}); ok {
				return v
			}
		}
	}
	return false
}

// Any reports whether any entry of the given policy set catchError: true.
func (f Flags) Any(namespace, policy string) bool {
	for k, v := range f.set {
		if v && k.namespace == namespace && k.policy == policy {
			return true
		}
	}
	return false
}

// Len is the number of entries that carried the field (true or false).
func (f Flags) Len() int { return len(f.set) }

// Strip removes imageRegistry.catchError from every context entry of every
// policy document in data (multi-document YAML; rule and foreach contexts at
// any depth) and returns the documents without it, with the flags it held,
// added to into. Kyverno v1.19.1's API has no such field and refuses it.
//
// Errors name the file, the line and the field path: a catchError that is not
// a boolean, given twice in one entry, two entries of one policy identical
// but for catchError, or documents that cannot be written back without the
// field and mean the same otherwise (see render).
func Strip(file string, data []byte, into *Flags) ([]byte, error) {
	if into.set == nil {
		into.set = map[entryKey]bool{}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	changed := false
	// blank collects the lines of block-style "catchError: <bool>" pairs
	// and what they become (an empty line, or "{}" where the entry had
	// nothing else): this keeps every other line where the user wrote it, so
	// Kyverno's errors point at the user's lines. Anything else (flow style)
	// is re-rendered.
	blank := map[int][]byte{}
	rerender := false
	for i := 0; ; i++ {
		doc := &yaml.Node{}
		err := dec.Decode(doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", file, i+1, err)
		}
		docs = append(docs, doc)
		s := stripper{file: file, flags: into, blank: blank}
		if len(doc.Content) == 1 {
			root := doc.Content[0]
			meta := yamlpath.Child(root, "metadata")
			s.namespace, s.policy = scalarValue(meta, "namespace"), scalarValue(meta, "name")
			if err := s.walk(root, ""); err != nil {
				return nil, err
			}
		}
		changed = changed || s.changed
		rerender = rerender || s.rerender
	}
	if !changed {
		// Untouched documents go to Kyverno byte for byte.
		return data, nil
	}
	return render(file, data, docs, blank, rerender)
}

// render writes the stripped documents: data with the blank lines
// replaced when every catchError was a block-style pair of its own line,
// else the documents re-rendered by yaml.v3. Either text is used only if
// it reads back as the stripped documents: yaml.v3 counts line breaks that
// bytes.SplitAfter does not ("\r", U+2028), and re-rendering does not
// round-trip everything (the null value of a flow mapping's "{a}" comes
// back as an empty string).
func render(file string, data []byte, docs []*yaml.Node, blank map[int][]byte, rerender bool) ([]byte, error) {
	if !rerender {
		lines := bytes.SplitAfter(data, []byte("\n"))
		fits := true
		for l, with := range blank {
			if l > len(lines) {
				fits = false
				break
			}
			lines[l-1] = with
		}
		if fits {
			out := bytes.Join(lines, nil)
			if at, err := differs(out, docs); at == nil && err == nil {
				return out, nil
			}
		}
	}
	var out bytes.Buffer
	for i, doc := range docs {
		if i > 0 {
			out.WriteString("---\n")
		}
		b, err := yaml.Marshal(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", file, i+1, err)
		}
		out.Write(b)
	}
	at, err := differs(out.Bytes(), docs)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: removing %s means writing the documents again, and yaml.v3 writes YAML it cannot read back (%w); write each %s: <bool> in block style, on a line of its own (then only its line is emptied)",
			file, Field, err, Field)
	case at != nil:
		return nil, fmt.Errorf("%s:%d:%d: removing %s means writing the documents again, and yaml.v3 does not write this value back as it was read; write each %s: <bool> in block style, on a line of its own (then only its line is emptied)",
			file, at.Line, at.Column, Field, Field)
	}
	return out.Bytes(), nil
}

// differs reads text and returns the first node of docs it does not match
// (the documents' own node when the count differs), or the read error.
func differs(text []byte, docs []*yaml.Node) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(text))
	for _, want := range docs {
		var got yaml.Node
		if err := dec.Decode(&got); err != nil {
			if errors.Is(err, io.EOF) {
				return want, nil
			}
			return nil, err
		}
		if at := firstDiff(want, &got); at != nil {
			return at, nil
		}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, err
		}
		return docs[len(docs)-1], nil
	}
	return nil, nil
}

// firstDiff compares two node trees as data: kinds, scalar tags and values,
// anchors and alias names (aliases are not followed, so a tree of aliases
// costs its size, not its expansion); comments, styles and lines do not
// count. It returns the first node of want that got does not match.
func firstDiff(want, got *yaml.Node) *yaml.Node {
	if want.Kind != got.Kind || want.Anchor != got.Anchor || len(want.Content) != len(got.Content) {
		return want
	}
	switch want.Kind {
	case yaml.ScalarNode:
		if want.ShortTag() != got.ShortTag() || want.Value != got.Value {
			return want
		}
	case yaml.AliasNode:
		if want.Value != got.Value {
			return want
		}
	}
	for i := range want.Content {
		if at := firstDiff(want.Content[i], got.Content[i]); at != nil {
			if at == want.Content[i] && want.Kind == yaml.MappingNode && i%2 == 1 {
				// A value is reported at its key: an implicit null
				// ("{a}") has no position of its own.
				return want.Content[i-1]
			}
			return at
		}
	}
	return nil
}

// ruleItem is the field path of a policy's rule.
var ruleItem = regexp.MustCompile(`^spec\.rules\[\d+\]$`)

type stripper struct {
	file              string
	namespace, policy string
	rule              string // the rule being walked
	flags             *Flags
	blank             map[int][]byte
	changed, rerender bool
}

// walk visits every mapping; a mapping with an imageRegistry mapping is a
// context entry.
func (s *stripper) walk(n *yaml.Node, path string) error {
	switch n.Kind {
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if err := s.walk(c, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		if ruleItem.MatchString(path) {
			// Entries below belong to this rule.
			s.rule = scalarValue(n, "name")
		}
		if reg := yamlpath.Child(n, "imageRegistry"); reg != nil && reg.Kind == yaml.MappingNode {
			if err := s.entry(n, reg, path); err != nil {
				return err
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := n.Content[i].Value
			if path != "" {
				p = path + "." + p
			}
			if err := s.walk(n.Content[i+1], p); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *stripper) entry(entry, reg *yaml.Node, path string) error {
	for i := 0; i+1 < len(reg.Content); i += 2 {
		if reg.Content[i].Value != Field {
			continue
		}
		v := reg.Content[i+1]
		var caught bool
		if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" || v.Decode(&caught) != nil {
			return fmt.Errorf("%s:%d:%d: %s.imageRegistry.%s: want a boolean (true or false), got %s",
				s.file, v.Line, v.Column, path, Field, describe(v))
		}
		for j := i + 2; j+1 < len(reg.Content); j += 2 {
			if reg.Content[j].Value == Field {
				return fmt.Errorf("%s:%d:%d: %s.imageRegistry.%s: given twice (also at line %d); keep one",
					s.file, reg.Content[j].Line, reg.Content[j].Column, path, Field, reg.Content[i].Line)
			}
		}
		key := reg.Content[i]
		_, taken := s.blank[key.Line]
		reg.Content = append(reg.Content[:i], reg.Content[i+2:]...)
		if reg.Style&yaml.FlowStyle == 0 && key.Line == v.Line && !taken && v.HeadComment == "" && v.LineComment == "" {
			s.blank[key.Line] = []byte("\n")
			if len(reg.Content) == 0 {
				// An emptied line would leave imageRegistry null, not {}.
				s.blank[key.Line] = append(bytes.Repeat([]byte(" "), key.Column-1), "{}\n"...)
			}
		} else {
			s.rerender = true
		}
		s.changed = true
		e := kyvernov1.ContextEntry{Name: scalarValue(entry, "name"), ImageRegistry: &kyvernov1.ImageRegistry{
			Reference: scalarValue(reg, "reference"), JMESPath: scalarValue(reg, "jmesPath")}}
		k := keyOf(s.namespace, s.policy, s.rule, e)
		if prev, dup := s.flags.set[k]; dup && prev != caught {
			return fmt.Errorf("%s:%d:%d: %s.imageRegistry.%s: rule %s of policy %s has another imageRegistry entry %q with the same jmesPath but %s: %v; the entries cannot be told apart",
				s.file, v.Line, v.Column, path, Field, s.rule, s.policy, e.Name, Field, prev)
		}
		s.flags.set[k] = caught
		return nil
	}
	return nil
}

func describe(v *yaml.Node) string {
	switch v.Kind {
	case yaml.ScalarNode:
		return fmt.Sprintf("%s %q", strings.TrimPrefix(v.Tag, "!!"), v.Value)
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a sequence"
	}
	return "a value that is not a boolean"
}

func scalarValue(n *yaml.Node, key string) string {
	if v := yamlpath.Child(n, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}
