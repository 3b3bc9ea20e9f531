// Package matrix writes the conformance matrix (conformance-matrix.md,
// make matrix): every case (file x binding) of every engine's results file
// side by side, and the short summary a run prints.
package matrix

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/internal/report/markdown"
	"github.com/imagectx/conformance/internal/results"
)

// Write writes the Markdown conformance matrix: one row per case
// (file x binding), one column per engine, each cell pass, fail (with the
// first reason) or unsupported (with the reason); then every failing spec.
func Write(w io.Writer, files []*results.File) error {
	sort.Slice(files, func(i, j int) bool { return files[i].Engine < files[j].Engine })
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }

	p("# Conformance matrix\n\n")
	writeEngineTable(w, files)
	p("\n")

	type agg struct {
		total, pass, fail, unsup int
		reason                   string
	}
	cases := map[string]map[string]*agg{}
	var names []string
	for _, f := range files {
		for _, s := range f.Specs {
			key := s.File + " / " + s.Binding
			if cases[key] == nil {
				cases[key] = map[string]*agg{}
				names = append(names, key)
			}
			a := cases[key][f.Engine]
			if a == nil {
				a = &agg{}
				cases[key][f.Engine] = a
			}
			a.total++
			switch s.Outcome {
			case engine.OutcomePass:
				a.pass++
			case engine.OutcomeFail:
				a.fail++
				if a.reason == "" {
					a.reason = s.Policy + "/" + s.Rule + "/" + s.Resource + ": " + s.Reason
				}
			case engine.OutcomeUnsupported:
				a.unsup++
				if a.reason == "" {
					a.reason = s.Reason
				}
			}
		}
	}
	sort.Strings(names)
	engines := make([]string, 0, len(files))
	for _, f := range files {
		engines = append(engines, f.Engine)
	}
	fmt.Fprint(w, markdown.TableHeader("case (file / binding)", engines))
	for _, n := range names {
		p("| %s |", n)
		for _, f := range files {
			a := cases[n][f.Engine]
			switch {
			case a == nil:
				p(" not run |")
			case a.fail > 0:
				p(" **fail** %d/%d: %s |", a.fail, a.total, markdown.Cell(markdown.Shorten(a.reason, 160)))
			case a.unsup == a.total:
				p(" unsupported: %s |", markdown.Cell(a.reason))
			case a.unsup > 0:
				p(" pass %d, unsupported %d: %s |", a.pass, a.unsup, markdown.Cell(a.reason))
			default:
				p(" pass (%d) |", a.total)
			}
		}
		p("\n")
	}
	for _, f := range files {
		var failed []*results.SpecRecord
		for _, s := range f.Specs {
			if s.Outcome == engine.OutcomeFail {
				failed = append(failed, s)
			}
		}
		if len(failed) == 0 {
			continue
		}
		p("\n## Failing specs on %s\n\n", f.Engine)
		for _, s := range failed {
			p("- `%s` (%s:%d): %s\n", s.Name, s.Path, s.Line, s.Reason)
		}
	}
	return nil
}

// writeEngineTable writes the matrix's first table: one row per engine
// (files sorted by engine) with its version and outcome counts.
func writeEngineTable(w io.Writer, files []*results.File) {
	fmt.Fprintf(w, "| engine | version | specs | pass | fail | unsupported |\n|---|---|---|---|---|---|\n")
	for _, f := range files {
		fmt.Fprintf(w, "| %s | %s | %d | %d | %d | %d |\n", f.Engine, markdown.Cell(f.Version), len(f.Specs), f.Summary.Pass, f.Summary.Fail, f.Summary.Unsupported)
	}
}

// maxSummaryFailures is how many failing specs WriteSummary names.
const maxSummaryFailures = 20

// WriteSummary writes dir/conformance-matrix.md as WriteFiles does
// and prints to w only what a run's reader needs first: the engines table,
// current's failing specs (name, file:line and reason; the first
// maxSummaryFailures, then how many more) and where the matrix is. The
// whole matrix is `make matrix`.
func WriteSummary(w io.Writer, dir string, current *results.File) error {
	files, err := matrixFiles(dir, current)
	if err != nil {
		return err
	}
	// Write sorts files by engine, the order of the table below.
	if _, err := writeMatrixFile(dir, files); err != nil {
		return err
	}
	writeEngineTable(w, files)
	var failing []*results.SpecRecord
	for _, s := range current.Specs {
		if s.Outcome == engine.OutcomeFail {
			failing = append(failing, s)
		}
	}
	if len(failing) > 0 {
		fmt.Fprintf(w, "\nfailing specs on %s (%d):\n", current.Engine, len(failing))
		for i, s := range failing {
			if i == maxSummaryFailures {
				fmt.Fprintf(w, "- ... and %d more (results-%s.json)\n", len(failing)-i, current.Engine)
				break
			}
			fmt.Fprintf(w, "- %s (%s:%d): %s\n", s.Name, s.Path, s.Line, firstLine(s.Reason))
		}
	}
	fmt.Fprintf(w, "\nmatrix, every file and binding side by side: %s (make matrix prints it)\n", filepath.Join(dir, "conformance-matrix.md"))
	return nil
}

// firstLine is s up to its first line break.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}

// matrixFiles are every results-<engine>.json in dir, with current (when
// not nil) in place of its engine's file. Errors: a file that does not
// read, or none at all.
func matrixFiles(dir string, current *results.File) ([]*results.File, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "results-*.json"))
	if err != nil {
		return nil, err
	}
	var files []*results.File
	for _, p := range paths {
		if current != nil && filepath.Base(p) == "results-"+current.Engine+".json" {
			continue
		}
		rf, err := results.Read(p)
		if err != nil {
			return nil, err
		}
		files = append(files, rf)
	}
	if current != nil {
		files = append(files, current)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no results-*.json in %s", dir)
	}
	return files, nil
}

// WriteFiles writes the matrix of every results-<engine>.json in dir,
// with current (when not nil) in place of its engine's file, to
// dir/conformance-matrix.md and to w.
func WriteFiles(w io.Writer, dir string, current *results.File) error {
	files, err := matrixFiles(dir, current)
	if err != nil {
		return err
	}
	matrix, err := writeMatrixFile(dir, files)
	if err != nil {
		return err
	}
	_, err = w.Write(matrix)
	return err
}

// writeMatrixFile writes the matrix of files to dir/conformance-matrix.md
// and returns it.
func writeMatrixFile(dir string, files []*results.File) ([]byte, error) {
	var buf bytes.Buffer
	if err := Write(&buf, files); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "conformance-matrix.md"), buf.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("write the matrix: %w", err)
	}
	return buf.Bytes(), nil
}
