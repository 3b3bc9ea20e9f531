package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// cell renders an outcome for a Markdown table cell: the state, then what
// the engine did (the actual result or the failure/unsupported text).
func cell(o *Outcome) string {
	if o == nil {
		return "*(not in this run)*"
	}
	var parts []string
	parts = append(parts, "**"+o.State+"**")
	if o.Actual != "" {
		parts = append(parts, "`"+escape(o.Actual)+"`")
	}
	if o.Detail != "" && o.Detail != o.Actual {
		parts = append(parts, escape(o.Detail))
	}
	return strings.Join(parts, "<br>")
}

// escape keeps a message on one table row: pipes and newlines would break
// the table, backticks would break the code span.
func escape(s string) string {
	r := strings.NewReplacer("|", `\|`, "\r", "", "\n", "<br>", "`", "'")
	return r.Replace(s)
}

var stateOrder = []string{"pass", "fail", "unsupported", "skipped", "error"}

// writeMarkdown writes the behaviour-change report.
func writeMarkdown(w io.Writer, a, b Run, changes []Change) error {
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
		fmt.Fprintf(&sb, " (`%s`)\n", r.run.File)
	}
	sb.WriteString("\n")

	ta, tb := totals(a), totals(b)
	states := append([]string{}, stateOrder...)
	for s := range ta {
		if !contains(states, s) {
			states = append(states, s)
		}
	}
	for s := range tb {
		if !contains(states, s) {
			states = append(states, s)
		}
	}
	sort.SliceStable(states[len(stateOrder):], func(i, j int) bool { return states[len(stateOrder)+i] < states[len(stateOrder)+j] })
	sb.WriteString("## Totals\n\n| state | " + escape(a.Name) + " | " + escape(b.Name) + " |\n|---|---:|---:|\n")
	for _, s := range states {
		if ta[s] == 0 && tb[s] == 0 {
			continue
		}
		fmt.Fprintf(&sb, "| %s | %d | %d |\n", s, ta[s], tb[s])
	}
	fmt.Fprintf(&sb, "| **cases** | %d | %d |\n\n", len(a.Outcomes), len(b.Outcomes))

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
		sb.WriteString("## Cases that differ\n\n| case | " + escape(a.Name) + " | " + escape(b.Name) + " |\n|---|---|---|\n")
		for _, c := range changes {
			fmt.Fprintf(&sb, "| %s | %s | %s |\n", escape(c.ID), cell(c.A), cell(c.B))
		}
	} else {
		sb.WriteString("No case differs.\n")
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// writeUnsupportedReasons groups the changed cases one run cannot run by
// reason, so a long reason repeated in many rows is read once.
func writeUnsupportedReasons(sb *strings.Builder, a, b Run, changes []Change) {
	type key struct{ run, reason string }
	counts := map[key]int{}
	for _, c := range changes {
		for _, side := range []struct {
			run string
			o   *Outcome
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
		fmt.Fprintf(sb, "| %s | %d | %s |\n", escape(k.run), counts[k], escape(k.reason))
	}
	sb.WriteString("\n")
}
