// Package markdown holds the few Markdown helpers every report writer
// under internal/report shares: table cells, code spans, table headers.
package markdown

import "strings"

// Cell makes s fit one Markdown table cell: a | is escaped and a newline
// is written as \n, so a denial's exact bytes stay readable.
func Cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", `\n`)
}

// Shorten cuts s to n bytes and marks the cut with "…".
func Shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Code renders s as a Markdown code span, also when s holds backticks.
func Code(s string) string {
	if strings.Contains(s, "`") {
		return "`` " + s + " ``"
	}
	return "`" + s + "`"
}

// TableHeader is a Markdown table's header and separator: first, then one
// column per name.
func TableHeader(first string, names []string) string {
	var b strings.Builder
	b.WriteString("| " + first + " |")
	for _, n := range names {
		b.WriteString(" " + n + " |")
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(names)) + "\n")
	return b.String()
}
