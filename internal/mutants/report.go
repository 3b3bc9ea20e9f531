package mutants

import (
	"encoding/json"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"
)

// Report is a run's summary: counts overall, per operator and per package.
type Report struct {
	Date      string           `json:"date"`
	Source    string           `json:"source"`
	Generated int              `json:"generated"`
	Judged    int              `json:"judged"`
	Total     Tally            `json:"total"`
	Operators map[string]Tally `json:"operators"`
	Packages  map[string]Tally `json:"packages"`
	Results   []Result         `json:"results"`
}

// Tally counts results by status.
type Tally struct {
	Killed    int `json:"killed"`
	Lived     int `json:"lived"`
	NotViable int `json:"notViable"`
	TimedOut  int `json:"timedOut"`
}

// KillRate is killed / (killed + lived), in percent; -1 without any.
func (t Tally) KillRate() float64 {
	if t.Killed+t.Lived == 0 {
		return -1
	}
	return 100 * float64(t.Killed) / float64(t.Killed+t.Lived)
}

func (t *Tally) add(s Status) {
	switch s {
	case Killed:
		t.Killed++
	case Lived:
		t.Lived++
	case NotViable:
		t.NotViable++
	case TimedOut:
		t.TimedOut++
	}
}

// NewReport tallies results; generated is how many mutants there were
// before sampling; source names the checkout and commit.
func NewReport(source string, generated int, results []Result, now time.Time) Report {
	r := Report{Date: now.UTC().Format(time.RFC3339), Source: source, Generated: generated, Judged: len(results),
		Operators: map[string]Tally{}, Packages: map[string]Tally{}, Results: results}
	for _, res := range results {
		r.Total.add(res.Status)
		op, pkg := r.Operators[string(res.Mutant.Operator)], r.Packages[path.Dir(res.Mutant.File)]
		op.add(res.Status)
		pkg.add(res.Status)
		r.Operators[string(res.Mutant.Operator)], r.Packages[path.Dir(res.Mutant.File)] = op, pkg
	}
	return r
}

// WriteJSON writes the report as JSON.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteMarkdown writes the report for people: the kill rate, the tallies,
// every survivor with its diff, the thin kills (one scenario file) and
// what killed each mutant.
func (r Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Mutation report\n\n")
	p("- source: %s\n- date: %s\n- mutants: %d generated, %d judged\n", r.Source, r.Date, r.Generated, r.Judged)
	p("- **kill rate: %s** (killed / (killed + lived))\n\n", rate(r.Total))
	p("| | killed | lived | not viable | timed out | kill rate |\n|---|---:|---:|---:|---:|---:|\n")
	row := func(name string, t Tally) {
		p("| %s | %d | %d | %d | %d | %s |\n", name, t.Killed, t.Lived, t.NotViable, t.TimedOut, rate(t))
	}
	row("**all**", r.Total)
	for _, k := range sortedKeys(r.Operators) {
		row("operator "+k, r.Operators[k])
	}
	for _, k := range sortedKeys(r.Packages) {
		row("`"+k+"`", r.Packages[k])
	}
	p("\n## Survivors\n\n")
	n := 0
	for _, res := range r.Results {
		if res.Status == Lived {
			p("- `%s` %s: `%s`\n", res.Mutant.ID, res.Mutant.Operator, res.Mutant.Diff())
			n++
		}
	}
	if n == 0 {
		p("None.\n")
	}
	p("\n## Killed\n\n")
	for _, res := range r.Results {
		if res.Status != Killed {
			continue
		}
		thin := ""
		if len(res.KilledBy) == 1 {
			thin = " **(thin: one file)**"
		}
		by := res.KilledBy
		more := ""
		if len(by) > 5 {
			by, more = by[:5], fmt.Sprintf(" and %d more files", len(by)-5)
		}
		p("- `%s` %s: `%s` by %s%s%s\n", res.Mutant.ID, res.Mutant.Operator, res.Mutant.Diff(), strings.Join(by, ", "), more, thin)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func rate(t Tally) string {
	if k := t.KillRate(); k >= 0 {
		return fmt.Sprintf("%.1f %%", k)
	}
	return "-"
}

func sortedKeys(m map[string]Tally) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
