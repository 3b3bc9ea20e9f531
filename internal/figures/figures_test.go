package figures

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// docs is the repository's docs folder, relative to this package.
var docs = filepath.Join("..", "..", "docs")

// docs/figures.md is what docs/figures.yaml renders, and the YAML is what
// Marshal writes for it (make figures keeps both).
func TestPublishedFiguresAreCurrent(t *testing.T) {
	f, err := Load(filepath.Join(docs, "figures.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(docs, "figures.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.Markdown(), md) {
		t.Errorf("docs/figures.md is stale or edited by hand: edit docs/figures.yaml and run make figures")
	}
	y, err := os.ReadFile(filepath.Join(docs, "figures.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := f.Marshal(); err != nil || !bytes.Equal(out, y) {
		t.Errorf("docs/figures.yaml is not as make figures writes it (%v): run make figures", err)
	}
}

// Every mistake of a figures file is reported at its line.
func TestParseErrors(t *testing.T) {
	src := "intro: x\nsections:\n- title: a\n  columns: [what, figure]\n  rows:\n  - [one]\n- title: a\n- rows: [[x]]\n  title: b\nextra: 1\n"
	_, err := Parse("f.yaml", []byte(src))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`f.yaml:10:1: extra: unknown field "extra"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	src = strings.Replace(src, "extra: 1\n", "", 1)
	_, err = Parse("f.yaml", []byte(src))
	for _, want := range []string{
		"f.yaml:6:5: sections[0].rows[0]: want 2 cells (what, figure), got 1",
		`f.yaml:7:3: sections[1].title: "a" is the title of an earlier section`,
		"f.yaml:8:3: sections[2].columns: want the table's columns for its 1 rows",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// Add puts a row first in its section's table and refuses one that does
// not fit or a section that does not exist.
func TestAdd(t *testing.T) {
	f := &File{Intro: "i\n", Sections: []Section{{Title: "runs", Columns: []string{"a", "b"}, Rows: [][]string{{"old", "1"}}}}}
	if err := f.Add("runs", []string{"new", "2"}); err != nil {
		t.Fatal(err)
	}
	if got := string(f.Markdown()); !strings.Contains(got, "| a | b |\n|---|---|\n| new | 2 |\n| old | 1 |\n") {
		t.Errorf("rendered:\n%s", got)
	}
	if err := f.Add("runs", []string{"x"}); err == nil {
		t.Error("a row of 1 cell in a 2-column table was taken")
	}
	if err := f.Add("nope", []string{"x", "y"}); err == nil {
		t.Error("a missing section was taken")
	}
}
