package mutants

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// Report is a run's summary: counts overall, per module, per operator and
// per package.
type Report struct {
	Date   string `json:"date"`
	Source string `json:"source"`
	// Generated counts every mutant of the files; Covered those on lines
	// the unmutated suite executed (the others are not judged; equal to
	// Generated when the run did not filter by coverage).
	Generated int `json:"generated"`
	Covered   int `json:"covered"`
	Judged    int `json:"judged"`
	// OlderSpec counts the lived results judged by an older specification
	// than the report's (judged again by the next run).
	OlderSpec int              `json:"olderSpec,omitempty"`
	Total     Tally            `json:"total"`
	Modules   map[string]Tally `json:"modules"`
	Operators map[string]Tally `json:"operators"`
	Packages  map[string]Tally `json:"packages"`
	Results   []Result         `json:"results"`
}

// Tally counts results by status; a lived mutant shown equivalent (see
// Result.Equivalent) counts as Equivalent, not Lived.
type Tally struct {
	Killed     int `json:"killed"`
	Lived      int `json:"lived"`
	Equivalent int `json:"equivalent"`
	NotViable  int `json:"notViable"`
	TimedOut   int `json:"timedOut"`
}

// KillRate is killed / (killed + lived), in percent, equivalent mutants
// left out; -1 without any.
func (t Tally) KillRate() float64 {
	if t.Killed+t.Lived == 0 {
		return -1
	}
	return 100 * float64(t.Killed) / float64(t.Killed+t.Lived)
}

func (t *Tally) add(res Result) {
	switch res.Status {
	case Killed:
		t.Killed++
	case Lived:
		if res.Equivalent != "" {
			t.Equivalent++
		} else {
			t.Lived++
		}
	case NotViable:
		t.NotViable++
	case TimedOut:
		t.TimedOut++
	}
}

// NewReport tallies results; generated is how many mutants there were,
// covered how many of them lie on covered lines (before sampling); source
// names the checkouts and commits.
func NewReport(source string, generated, covered int, results []Result, now time.Time) Report {
	r := Report{Date: now.UTC().Format(time.RFC3339), Source: source, Generated: generated, Covered: covered, Judged: len(results),
		Modules: map[string]Tally{}, Operators: map[string]Tally{}, Packages: map[string]Tally{}, Results: results}
	count := func(m map[string]Tally, key string, res Result) {
		t := m[key]
		t.add(res)
		m[key] = t
	}
	for _, res := range results {
		r.Total.add(res)
		count(r.Modules, res.Mutant.Module, res)
		count(r.Operators, string(res.Mutant.Operator), res)
		count(r.Packages, res.Mutant.Package(), res)
	}
	return r
}

// ReadReport reads a report WriteJSON wrote (mutants.json). Errors: the
// file cannot be read or is not such a report.
func ReadReport(path string) (Report, error) {
	var r Report
	data, err := os.ReadFile(path)
	if err != nil {
		return r, fmt.Errorf("mutants report: %w", err)
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("mutants report %s: %w", path, err)
	}
	if r.Date == "" || r.Judged == 0 {
		return r, fmt.Errorf("mutants report %s: want a make mutants report (date and judged mutants)", path)
	}
	return r, nil
}

// Summary is the report in one line: kill rate, counts, per module, the
// sources and the date.
func (r Report) Summary() string {
	s := fmt.Sprintf("kill rate %s (%d killed, %d lived, %d equivalent, of %d judged; %d of %d mutants on covered lines)",
		rate(r.Total), r.Total.Killed, r.Total.Lived, r.Total.Equivalent, r.Judged, r.Covered, r.Generated)
	for _, k := range sortedKeys(r.Modules) {
		s += fmt.Sprintf("; %s %s", k, rate(r.Modules[k]))
	}
	return s + fmt.Sprintf("; make mutants of %s, %s", r.Source, r.Date)
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
	p("- source: %s\n- date: %s\n", r.Source, r.Date)
	p("- mutants: %d generated, %d on lines the unmutated suite covers (%s), %d judged\n", r.Generated, r.Covered, percent(r.Covered, r.Generated), r.Judged)
	if r.OlderSpec > 0 {
		p("- %d lived results were judged by an older specification and count as lived (the next run judges them again)\n", r.OlderSpec)
	}
	p("- **kill rate: %s** (killed / (killed + lived))", rate(r.Total))
	for _, k := range sortedKeys(r.Modules) {
		p("; %s: %s", k, rate(r.Modules[k]))
	}
	p("\n\n")
	p("| | killed | lived | equivalent | not viable | timed out | kill rate |\n|---|---:|---:|---:|---:|---:|---:|\n")
	row := func(name string, t Tally) {
		p("| %s | %d | %d | %d | %d | %d | %s |\n", name, t.Killed, t.Lived, t.Equivalent, t.NotViable, t.TimedOut, rate(t))
	}
	row("**all**", r.Total)
	for _, k := range sortedKeys(r.Modules) {
		row("module `"+k+"`", r.Modules[k])
	}
	for _, k := range sortedKeys(r.Operators) {
		row("operator "+k, r.Operators[k])
	}
	for _, k := range sortedKeys(r.Packages) {
		row("`"+k+"`", r.Packages[k])
	}
	p("\n## Survivors\n\n")
	n := 0
	for _, res := range r.Results {
		if res.Status == Lived && res.Equivalent == "" {
			p("- `%s` %s: `%s`\n", res.Mutant.ID, res.Mutant.Operator, res.Mutant.Diff())
			n++
		}
	}
	if n == 0 {
		p("None.\n")
	}
	p("\n## Equivalent\n\nSurvivors no scenario can kill, with the reason (%s).\n\n", EquivalentsFile)
	n = 0
	for _, res := range r.Results {
		if res.Status == Lived && res.Equivalent != "" {
			p("- `%s` %s: `%s`: %s\n", res.Mutant.ID, res.Mutant.Operator, res.Mutant.Diff(), res.Equivalent)
			n++
		}
	}
	if n == 0 {
		p("None.\n")
	}
	p("\n## Not viable or timed out\n\n")
	n = 0
	for _, res := range r.Results {
		if res.Status == NotViable || res.Status == TimedOut {
			p("- `%s` %s (%s): `%s`\n", res.Mutant.ID, res.Mutant.Operator, res.Status, res.Mutant.Diff())
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
		p("- `%s` %s: `%s`: %d failing specs in %s%s%s\n", res.Mutant.ID, res.Mutant.Operator, res.Mutant.Diff(), res.KilledSpecs, strings.Join(by, ", "), more, thin)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func percent(n, of int) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f %%", 100*float64(n)/float64(of))
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
