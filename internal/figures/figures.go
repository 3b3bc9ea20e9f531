// Package figures keeps the harness's measured figures as data,
// docs/figures.yaml, and renders docs/figures.md from it (make figures):
// one place for every figure, each with the command that measures it, and
// a Markdown page nobody edits by hand. Figures a run measures itself are
// recorded from its artifacts (Record: the results files and the run
// times imagectx run and imagectx e2e write); the others are rows written
// into the YAML.
package figures

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/imagectx/conformance/yamlkit/strictyaml"
	"github.com/imagectx/conformance/yamlkit/yamlpath"
)

// File is docs/figures.yaml.
type File struct {
	// Intro is the Markdown under the page's title.
	Intro string `json:"intro"`
	// Sections are the page's sections, in order.
	Sections []Section `json:"sections"`
}

// Section is one "## Title" of the page: an optional Markdown text, then
// an optional table.
type Section struct {
	Title string `json:"title"`
	Text  string `json:"text,omitempty"`
	// Columns are the table's headers; every row has one cell per column.
	Columns []string `json:"columns,omitempty"`
	// Rows are the table's rows, newest first; a cell is Markdown with
	// '|' written '\|'.
	Rows [][]string `json:"rows,omitempty"`
}

// header starts the YAML as Marshal writes it.
const header = `# Measured figures: the source of docs/figures.md (make figures renders it;
# go test ./internal/figures fails when the two differ). Each section has
# an optional text and a table; a row's cells are Markdown, '|' written '\|'.
`

// Parse decodes and checks a figures file; name is its path for errors.
// Errors (every one, each at its line): an unknown field, a section
// without a title or with the title of another, a table without columns,
// a row whose cell count is not its table's.
func Parse(name string, data []byte) (*File, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &strictyaml.FieldError{File: name, Msg: fmt.Sprintf("not valid YAML: %v", err)}
	}
	if len(root.Content) == 0 {
		return nil, &strictyaml.FieldError{File: name, Msg: "empty file; want intro and sections"}
	}
	d := &strictyaml.Decoder{File: name}
	var f File
	if err := d.Decode(root.Content[0], &f, ""); err != nil {
		return nil, err
	}
	var errs []error
	seen := map[string]bool{}
	sections := yamlpath.Child(root.Content[0], "sections")
	for i, s := range f.Sections {
		field := fmt.Sprintf("sections[%d]", i)
		sn := item(sections, i)
		switch {
		case strings.TrimSpace(s.Title) == "":
			errs = append(errs, d.Errorf(sn, field+".title", "want the section's title"))
		case seen[s.Title]:
			errs = append(errs, d.Errorf(sn, field+".title", "%q is the title of an earlier section", s.Title))
		}
		seen[s.Title] = true
		if len(s.Rows) > 0 && len(s.Columns) == 0 {
			errs = append(errs, d.Errorf(sn, field+".columns", "want the table's columns for its %d rows", len(s.Rows)))
		}
		rows := yamlpath.Child(sn, "rows")
		for j, r := range s.Rows {
			if len(s.Columns) > 0 && len(r) != len(s.Columns) {
				errs = append(errs, d.Errorf(item(rows, j), fmt.Sprintf("%s.rows[%d]", field, j), "want %d cells (%s), got %d", len(s.Columns), strings.Join(s.Columns, ", "), len(r)))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &f, nil
}

// Load reads and checks a figures file (Parse).
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Markdown renders the page.
func (f *File) Markdown() []byte {
	var b bytes.Buffer
	b.WriteString("# Figures\n\n")
	b.WriteString(strings.TrimRight(f.Intro, "\n") + "\n")
	for _, s := range f.Sections {
		fmt.Fprintf(&b, "\n## %s\n\n", s.Title)
		if s.Text != "" {
			b.WriteString(strings.TrimRight(s.Text, "\n") + "\n")
			if len(s.Columns) > 0 {
				b.WriteString("\n")
			}
		}
		if len(s.Columns) == 0 {
			continue
		}
		b.WriteString(row(s.Columns))
		b.WriteString("|" + strings.Repeat("---|", len(s.Columns)) + "\n")
		for _, r := range s.Rows {
			b.WriteString(row(r))
		}
	}
	return b.Bytes()
}

// row is one table row; an empty cell is written "| |".
func row(cells []string) string {
	var b strings.Builder
	b.WriteString("|")
	for _, c := range cells {
		if c == "" {
			b.WriteString(" |")
			continue
		}
		b.WriteString(" " + c + " |")
	}
	return b.String() + "\n"
}

// Add puts row first in the table of the section titled title (newest
// first). Errors: no such section, or a row that does not fit its table.
func (f *File) Add(title string, cells []string) error {
	i := slices.IndexFunc(f.Sections, func(s Section) bool { return s.Title == title })
	if i < 0 {
		return fmt.Errorf("figures: no section %q", title)
	}
	s := &f.Sections[i]
	if len(cells) != len(s.Columns) {
		return fmt.Errorf("figures: section %q: want %d cells (%s), got %d", title, len(s.Columns), strings.Join(s.Columns, ", "), len(cells))
	}
	s.Rows = append([][]string{cells}, s.Rows...)
	return nil
}

// Marshal writes the file back as YAML, with its header comment.
func (f *File) Marshal() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(header)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(f.node()); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// node is f as YAML, multi-line strings as literal blocks and the keys in
// the order the types declare them.
func (f *File) node() *yaml.Node {
	str := func(s string) *yaml.Node {
		n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
		if strings.Contains(s, "\n") {
			n.Style = yaml.LiteralStyle
		}
		return n
	}
	mapping := func(kv ...any) *yaml.Node {
		m := &yaml.Node{Kind: yaml.MappingNode}
		for i := 0; i < len(kv); i += 2 {
			m.Content = append(m.Content, str(kv[i].(string)), kv[i+1].(*yaml.Node))
		}
		return m
	}
	list := func(items []*yaml.Node) *yaml.Node { return &yaml.Node{Kind: yaml.SequenceNode, Content: items} }
	strs := func(ss []string) *yaml.Node {
		var items []*yaml.Node
		for _, s := range ss {
			items = append(items, str(s))
		}
		return list(items)
	}
	var sections []*yaml.Node
	for _, s := range f.Sections {
		kv := []any{"title", str(s.Title)}
		if s.Text != "" {
			kv = append(kv, "text", str(s.Text))
		}
		if len(s.Columns) > 0 {
			var rows []*yaml.Node
			for _, r := range s.Rows {
				rows = append(rows, strs(r))
			}
			kv = append(kv, "columns", strs(s.Columns), "rows", list(rows))
		}
		sections = append(sections, mapping(kv...))
	}
	return mapping("intro", str(f.Intro), "sections", list(sections))
}

func item(n *yaml.Node, i int) *yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode || i >= len(n.Content) {
		return n
	}
	return n.Content[i]
}
