// Package report writes the harness's reports from one model (the
// results files of internal/results, and the scenarios): one typed Format,
// one writer per format, each in the package of its name below this one
// (matrix, catalogue, migration, compare, verdict), as chainsaw's
// report.Save switches on its report format. A new format is a new
// package there, a Format value and its case in Save; `imagectx report
// -format NAME` then writes it without any other change.
package report

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/imagectx/conformance/internal/report/catalogue"
	"github.com/imagectx/conformance/internal/report/compare"
	"github.com/imagectx/conformance/internal/report/matrix"
	"github.com/imagectx/conformance/internal/report/migration"
	"github.com/imagectx/conformance/internal/report/verdict"
	"github.com/imagectx/conformance/internal/results"
	"github.com/imagectx/conformance/internal/scenario"
)

// Format is a report the harness writes (Markdown, each).
type Format string

const (
	// Matrix: every case (file x binding) of every results file side by
	// side (conformance-matrix.md); reads Input.Results.
	Matrix Format = "matrix"
	// Catalogue: every expected result and string by fault and site
	// (docs/error-strings.md); reads Input.Scenarios.
	Catalogue Format = "catalogue"
	// Migration: each legacy policy beside its CEL translation per
	// registry state (migration.md); reads Input.Scenarios and one results
	// file (Input.Results[0]).
	Migration Format = "migration"
	// Compare: every case whose outcome or text differs between two runs
	// (compare.md); reads Input.A and Input.B, or two results files.
	Compare Format = "compare"
	// Verdict: a Kyverno checkout judged at every site; reads
	// Input.Verdict (imagectx verdict assembles it).
	Verdict Format = "verdict"
)

// Formats lists every format, in the order of the constants.
func Formats() []Format { return []Format{Matrix, Catalogue, Migration, Compare, Verdict} }

// Input is what the reports read. Each format reads the part it needs;
// Save names what is missing and refuses what the format would ignore.
type Input struct {
	Scenarios []*scenario.File
	Results   []*results.File
	// A and B are the two sides of a comparison (compare.Load reads one
	// from a results file); without them, Compare compares Results[0] and
	// Results[1].
	A, B    *compare.Run
	Verdict *verdict.Verdict
}

// ErrMissingInput is returned (wrapped, naming the input) when a format
// is given less than it reads.
var ErrMissingInput = errors.New("missing input")

// Save writes the report of format f from in to w. Errors: an unknown
// format (listing the known ones), ErrMissingInput, an input the format
// does not read (it would be ignored), or the writer's.
func Save(w io.Writer, f Format, in Input) error {
	missing := func(what string) error { return fmt.Errorf("report %s: want %s: %w", f, what, ErrMissingInput) }
	given := map[string]bool{"scenarios": len(in.Scenarios) > 0, "results files": len(in.Results) > 0, "compare runs": in.A != nil || in.B != nil, "a verdict": in.Verdict != nil}
	reads := map[Format][]string{
		Matrix: {"results files"}, Catalogue: {"scenarios"}, Migration: {"scenarios", "results files"},
		Compare: {"compare runs", "results files"}, Verdict: {"a verdict"},
	}
	if r, ok := reads[f]; ok {
		for _, input := range []string{"scenarios", "results files", "compare runs", "a verdict"} {
			if given[input] && !slices.Contains(r, input) {
				return fmt.Errorf("report %s: reads no %s, so they would be ignored", f, input)
			}
		}
	}
	switch f {
	case Matrix:
		if len(in.Results) == 0 {
			return missing("at least one results file")
		}
		return matrix.Write(w, in.Results)
	case Catalogue:
		if len(in.Scenarios) == 0 {
			return missing("the scenarios")
		}
		return catalogue.Write(w, in.Scenarios)
	case Migration:
		if len(in.Scenarios) == 0 || len(in.Results) != 1 {
			return missing("the scenarios and one results file")
		}
		return migration.Write(w, in.Scenarios, in.Results[0])
	case Compare:
		a, b := in.A, in.B
		if a == nil || b == nil {
			if len(in.Results) != 2 {
				return missing("two runs or two results files")
			}
			ra, err := compare.FromResults(in.Results[0].Engine, "", in.Results[0])
			if err != nil {
				return err
			}
			rb, err := compare.FromResults(in.Results[1].Engine, "", in.Results[1])
			if err != nil {
				return err
			}
			a, b = &ra, &rb
		} else if len(in.Results) > 0 {
			return fmt.Errorf("report compare: give two runs or two results files, not both")
		}
		return compare.Write(w, *a, *b, compare.Diff(*a, *b))
	case Verdict:
		if in.Verdict == nil {
			return missing("a verdict (imagectx verdict assembles it)")
		}
		return verdict.Write(w, *in.Verdict)
	}
	return fmt.Errorf("unknown report format %q; want one of %v", f, Formats())
}

// ParseFormat reads a format's name. Errors: an unknown name, listing the
// known ones.
func ParseFormat(name string) (Format, error) {
	if f := Format(name); slices.Contains(Formats(), f) {
		return f, nil
	}
	return "", fmt.Errorf("unknown report format %q; want one of %v", name, Formats())
}
