// Package compare writes the behaviour-change report between two runs
// (compare.md, make compare): every case whose outcome, failure text or
// actual rule result differs.
package compare

import (
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/imagectx/conformance/internal/results"
)

// CaseOutcome is one case's result in one run, as a comparison shows it.
type CaseOutcome struct {
	// ID names the case, e.g. "catch/missing.yaml/catch-on/check/Pod/default/app".
	ID string
	// State is "pass", "fail", "unsupported", "skipped" or "error".
	State string
	// Detail is the failure text or the unsupported reason.
	Detail string
	// Actual is the engine's rule result ("error: <message>"), when the run
	// recorded it; empty when it did not.
	Actual string
	// Answer is the API server's answer for the resource ("admission:
	// denied: <text>"), when the run is an admission engine's.
	Answer string
}

// Run is every case of one run, one side of a comparison.
type Run struct {
	Name    string
	File    string
	Version string // the engine's version, when the results file says it
	Cases   map[string]CaseOutcome
}

// Loopback addresses carry a fresh port on every run; the report compares
// behaviour, not ports.
var loopbackPort = regexp.MustCompile(`(127\.0\.0\.1|localhost|\[::1\]):\d+`)

func normalizePorts(s string) string { return loopbackPort.ReplaceAllString(s, "${1}:PORT") }

// Load reads a results file (results-<engine>.json) as one side
// of a comparison; name labels it in the report.
func Load(name, path string) (Run, error) {
	rf, err := results.Read(path)
	if err != nil {
		return Run{}, fmt.Errorf("read results of %s: %w", name, err)
	}
	return FromResults(name, path, rf)
}

// FromResults is rf as one side of a comparison, named name; file is
// where it was read ("" when it was not). Errors: two specs of the same
// name, or none at all.
func FromResults(name, file string, rf *results.File) (Run, error) {
	where := file
	if where == "" {
		where = "the results of " + name
	}
	run := Run{Name: name, File: file, Version: rf.Engine + " " + rf.Version, Cases: map[string]CaseOutcome{}}
	for _, rec := range rf.Specs {
		o := outcomeOfRecord(rec)
		if _, dup := run.Cases[o.ID]; dup {
			return Run{}, fmt.Errorf("%s: two specs are named %q", where, o.ID)
		}
		run.Cases[o.ID] = o
	}
	if len(run.Cases) == 0 {
		return Run{}, fmt.Errorf("%s: no specs in the results", where)
	}
	return run, nil
}

// outcomeOfRecord reads one spec of a results file. The message template
// has the registry's address as ${REGISTRY} already.
func outcomeOfRecord(rec *results.SpecRecord) CaseOutcome {
	o := CaseOutcome{ID: rec.Name, State: string(rec.Outcome), Detail: normalizePorts(strings.TrimSpace(rec.Reason))}
	if rec.Got != nil {
		msg := rec.Got.MessageTemplate
		if msg == "" {
			msg = rec.Got.Message
		}
		o.Actual = normalizePorts(rec.Got.Status + ": " + msg)
	}
	if a := rec.Admission; a != nil {
		answer := "admission: allowed"
		if !a.Allowed {
			answer = "admission: denied: " + a.Message
		}
		if len(a.Warnings) > 0 {
			answer += " (warnings: " + strings.Join(a.Warnings, "; ") + ")"
		}
		o.Answer = normalizePorts(answer)
	}
	return o
}

// Change is one case that differs between the two runs.
type Change struct {
	ID   string
	A, B *CaseOutcome // nil when the case is missing from that run
}

// Diff lists the cases whose state, detail or actual result differ, and
// the cases only one run has, sorted by ID. Cases neither run can run are
// not listed (see bothUnsupported).
func Diff(a, b Run) []Change {
	ids := map[string]bool{}
	for id := range a.Cases {
		ids[id] = true
	}
	for id := range b.Cases {
		ids[id] = true
	}
	var out []Change
	for id := range ids {
		oa, inA := a.Cases[id]
		ob, inB := b.Cases[id]
		switch {
		case inA && inB:
			// Unsupported on both sides is no behaviour change, even when
			// the reasons name different builds.
			if oa.State == "unsupported" && ob.State == "unsupported" {
				continue
			}
			// A result or answer only one run can show (an admission
			// engine has no result for a denied resource; other engines
			// give no answer) is no difference.
			if oa.State != ob.State || oa.Detail != ob.Detail || (oa.Actual != "" && ob.Actual != "" && oa.Actual != ob.Actual) ||
				(oa.Answer != "" && ob.Answer != "" && oa.Answer != ob.Answer) {
				out = append(out, Change{ID: id, A: &oa, B: &ob})
			}
		case inA:
			out = append(out, Change{ID: id, A: &oa})
		default:
			out = append(out, Change{ID: id, B: &ob})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// compareTotals counts the states of a run.
func compareTotals(r Run) map[string]int {
	t := map[string]int{}
	for _, o := range r.Cases {
		t[o.State]++
	}
	return t
}

// bothUnsupported counts the cases neither run can run.
func bothUnsupported(a, b Run) int {
	n := 0
	for id, oa := range a.Cases {
		if ob, ok := b.Cases[id]; ok && oa.State == "unsupported" && ob.State == "unsupported" {
			n++
		}
	}
	return n
}

// compareCell renders an outcome for a Markdown table cell: the state, then what
// the engine did (the actual result or the failure/unsupported text).
func compareCell(o *CaseOutcome) string {
	if o == nil {
		return "*(not in this run)*"
	}
	var parts []string
	parts = append(parts, "**"+o.State+"**")
	if o.Actual != "" {
		parts = append(parts, "`"+compareEscape(o.Actual)+"`")
	}
	if o.Answer != "" {
		parts = append(parts, "`"+compareEscape(o.Answer)+"`")
	}
	if o.Detail != "" && o.Detail != o.Actual {
		parts = append(parts, compareEscape(o.Detail))
	}
	return strings.Join(parts, "<br>")
}

// compareEscape keeps a message on one table row: pipes and newlines would break
// the table, backticks would break the code span.
func compareEscape(s string) string {
	r := strings.NewReplacer("|", `\|`, "\r", "", "\n", "<br>", "`", "'")
	return r.Replace(s)
}

var stateOrder = []string{"pass", "fail", "unsupported", "skipped", "error"}

// Write writes the behaviour-change report (Markdown): totals,
// the changes by kind, why cases are unsupported, every case that differs.
func Write(w io.Writer, a, b Run, changes []Change) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, "# Behaviour change: %s → %s\n\n", a.Name, b.Name)
	fmt.Fprintf(&sb, "What does **%s** change compared with **%s**? Every case whose state, failure text or "+
		"actual rule result differs, side by side. Loopback ports are shown as `PORT`.\n\n", b.Name, a.Name)
	for _, r := range []struct {
		label string
		run   Run
	}{{"A", a}, {"B", b}} {
		fmt.Fprintf(&sb, "- %s: %s", r.label, r.run.Name)
		if r.run.Version != "" {
			fmt.Fprintf(&sb, ", engine %s", r.run.Version)
		}
		if r.run.File != "" {
			fmt.Fprintf(&sb, " (`%s`)", r.run.File)
		}
		sb.WriteString("\n")
	}
	sb.WriteString("\n")

	ta, tb := compareTotals(a), compareTotals(b)
	states := append([]string{}, stateOrder...)
	for s := range ta {
		if !slices.Contains(states, s) {
			states = append(states, s)
		}
	}
	for s := range tb {
		if !slices.Contains(states, s) {
			states = append(states, s)
		}
	}
	sort.SliceStable(states[len(stateOrder):], func(i, j int) bool { return states[len(stateOrder)+i] < states[len(stateOrder)+j] })
	sb.WriteString("## Totals\n\n| state | " + compareEscape(a.Name) + " | " + compareEscape(b.Name) + " |\n|---|---:|---:|\n")
	for _, s := range states {
		if ta[s] == 0 && tb[s] == 0 {
			continue
		}
		fmt.Fprintf(&sb, "| %s | %d | %d |\n", s, ta[s], tb[s])
	}
	fmt.Fprintf(&sb, "| **cases** | %d | %d |\n\n", len(a.Cases), len(b.Cases))

	onlyA, onlyB, changed := 0, 0, 0
	transitions := map[string]int{}
	for _, c := range changes {
		switch {
		case c.B == nil:
			onlyA++
		case c.A == nil:
			onlyB++
		default:
			changed++
			transitions[c.A.State+" → "+c.B.State]++
		}
	}
	fmt.Fprintf(&sb, "**%d case(s) differ** (%d changed, %d only in %s, %d only in %s).", len(changes), changed, onlyA, a.Name, onlyB, b.Name)
	if n := bothUnsupported(a, b); n > 0 {
		fmt.Fprintf(&sb, " %d case(s) are unsupported in both runs and not compared.", n)
	}
	sb.WriteString("\n\n")
	if len(transitions) > 0 {
		keys := make([]string, 0, len(transitions))
		for k := range transitions {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		sb.WriteString("| change | cases |\n|---|---:|\n")
		for _, k := range keys {
			fmt.Fprintf(&sb, "| %s | %d |\n", k, transitions[k])
		}
		sb.WriteString("\n")
	}
	writeUnsupportedReasons(&sb, a, b, changes)
	if len(changes) > 0 {
		sb.WriteString("## Cases that differ\n\n| case | " + compareEscape(a.Name) + " | " + compareEscape(b.Name) + " |\n|---|---|---|\n")
		for _, c := range changes {
			fmt.Fprintf(&sb, "| %s | %s | %s |\n", compareEscape(c.ID), compareCell(c.A), compareCell(c.B))
		}
	} else {
		sb.WriteString("No case differs.\n")
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

// writeUnsupportedReasons groups the changed cases one run cannot run by
// reason, so a long reason repeated in many rows is read once.
func writeUnsupportedReasons(sb *strings.Builder, a, b Run, changes []Change) {
	type key struct{ run, reason string }
	counts := map[key]int{}
	for _, c := range changes {
		for _, side := range []struct {
			run string
			o   *CaseOutcome
		}{{a.Name, c.A}, {b.Name, c.B}} {
			if side.o != nil && side.o.State == "unsupported" {
				counts[key{side.run, side.o.Detail}]++
			}
		}
	}
	if len(counts) == 0 {
		return
	}
	keys := make([]key, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if counts[keys[i]] != counts[keys[j]] {
			return counts[keys[i]] > counts[keys[j]]
		}
		return keys[i].run+keys[i].reason < keys[j].run+keys[j].reason
	})
	sb.WriteString("## Why cases are unsupported\n\n| run | cases | reason |\n|---|---:|---|\n")
	for _, k := range keys {
		fmt.Fprintf(sb, "| %s | %d | %s |\n", compareEscape(k.run), counts[k], compareEscape(k.reason))
	}
	sb.WriteString("\n")
}
