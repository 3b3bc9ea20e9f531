package mutants

import (
	"fmt"
	"io"
	"path"

	"golang.org/x/tools/cover"
)

// Coverage is the set of lines a run executed, per file, read from a Go
// coverage profile (`-test.coverprofile`, files named by import path:
// "github.com/kyverno/kyverno/pkg/engine/context/loaders/imagedata.go").
// A line counts as covered when a block with a non-zero count spans it.
type Coverage map[string]map[int]bool

// ParseCoverage reads a Go coverage profile. Errors: the profile does not
// parse (golang.org/x/tools/cover's message).
func ParseCoverage(r io.Reader) (Coverage, error) {
	profiles, err := cover.ParseProfilesFromReader(r)
	if err != nil {
		return nil, fmt.Errorf("mutants: coverage profile: %w", err)
	}
	c := Coverage{}
	for _, p := range profiles {
		lines := c[p.FileName]
		if lines == nil {
			lines = map[int]bool{}
			c[p.FileName] = lines
		}
		for _, b := range p.Blocks {
			if b.Count == 0 {
				continue
			}
			for l := b.StartLine; l <= b.EndLine; l++ {
				lines[l] = true
			}
		}
	}
	return c, nil
}

// Covers reports whether the run executed m's line.
func (c Coverage) Covers(m Mutant) bool {
	return c[path.Join(m.Module, m.File)][m.Line]
}

// Filter splits ms into the mutants on covered lines and the others.
func (c Coverage) Filter(ms []Mutant) (covered, uncovered []Mutant) {
	for _, m := range ms {
		if c.Covers(m) {
			covered = append(covered, m)
		} else {
			uncovered = append(uncovered, m)
		}
	}
	return covered, uncovered
}
