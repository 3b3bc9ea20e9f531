// Package verdict writes a Kyverno checkout's verdict (make verdict): the
// checkout judged at every site against the whole specification, per
// contract decision, with every failing spec and what it changes against
// the pinned release.
package verdict

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/internal/mutants"
	"github.com/imagectx/conformance/internal/report/compare"
	"github.com/imagectx/conformance/internal/report/markdown"
	"github.com/imagectx/conformance/internal/results"
	"github.com/imagectx/conformance/internal/scenario"
)

// Site is one site's results: a results file, or why the site
// could not run at all (a build that failed).
type Site struct {
	// Name is how the verdict names the site, e.g. "in process".
	Name    string
	Results *results.File
	// NotRun says why there are no results (Results nil).
	NotRun string
}

// Verdict is everything a verdict report says.
type Verdict struct {
	// Checkout is the Kyverno checkout judged: its path, commit, subject.
	Checkout, Commit, Subject string
	// Harness is this repository's commit; Command the command run.
	Harness, Command string
	Sites            []Site
	// Pinned is the in-process results of the pinned release, and
	// Branch the checkout's, for what the checkout changes.
	Pinned, Branch *results.File
	// Power is the last make mutants report: how many broken builds the
	// specification catches (nil: none was given).
	Power *mutants.Report
	// PowerFile is where Power was read from.
	PowerFile string
}

// decisionOf names the contract decision a spec tests, from the
// decision label the loader gives every spec (scenario.Decision).
func decisionOf(labels []string) string {
	d, err := scenario.DecisionOf(labels)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return d.String()
}

// siteOf is the spec's site label (where imageData is first used), or its
// rule type.
func siteOf(labels []string) string {
	site, rule := "", ""
	for _, l := range labels {
		if v, ok := strings.CutPrefix(l, "site:"); ok {
			site = v
		}
		if v, ok := strings.CutPrefix(l, "rule:"); ok {
			rule = v
		}
	}
	if site == "" {
		return "(" + rule + " rule, no site label)"
	}
	return site
}

type tally struct{ pass, fail, unsup int }

func (t *tally) add(o engine.Outcome) {
	switch o {
	case engine.OutcomePass:
		t.pass++
	case engine.OutcomeFail:
		t.fail++
	default:
		t.unsup++
	}
}

func (t tally) String() string {
	if t == (tally{}) {
		return "-"
	}
	s := fmt.Sprintf("%d / %d / %d", t.pass, t.fail, t.unsup)
	if t.fail > 0 {
		s = "**" + s + "**"
	}
	return s
}

// Failures is the number of failing specs over the sites that ran.
func (v Verdict) Failures() int {
	n := 0
	for _, s := range v.Sites {
		if s.Results != nil {
			n += s.Results.Summary.Fail
		}
	}
	return n
}

// Write writes the verdict report (Markdown).
func Write(w io.Writer, v Verdict) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	short := v.Commit
	if len(short) > 12 {
		short = short[:12]
	}
	p("# Verdict: Kyverno %s\n\n", short)
	p("- Checkout: `%s` at commit `%s` (%s)\n", v.Checkout, v.Commit, v.Subject)
	p("- Harness: imagectx conformance at `%s`; command: `%s`\n", v.Harness, v.Command)
	if v.Power != nil {
		p("- Power of this specification: %s (`%s`).\n", v.Power.Summary(), filepath.Base(v.PowerFile))
	} else {
		p("- Power of this specification: unknown (no make mutants report given).\n")
	}
	p("- Counts are pass / fail / unsupported. A spec is unsupported when the site cannot run it (a capability it lacks, with the reason in the results file); `REQUIRE_CATCHERROR=1` makes a missing catchError a failure.\n\n")

	totalFail := v.Failures()
	p("## Sites\n\n| site | engine | specs | pass | fail | unsupported |\n|---|---|---:|---:|---:|---:|\n")
	for _, s := range v.Sites {
		if s.Results == nil {
			p("| %s | not run: %s | | | | |\n", s.Name, markdown.Cell(markdown.Shorten(s.NotRun, 300)))
			continue
		}
		r := s.Results
		p("| %s | %s %s | %d | %d | %d | %d |\n", s.Name, r.Engine, markdown.Cell(r.Version), len(r.Specs), r.Summary.Pass, r.Summary.Fail, r.Summary.Unsupported)
	}
	p("\n")
	if totalFail == 0 {
		p("**No spec fails at any site that ran.**\n\n")
	} else {
		p("**%d spec(s) fail** (listed below with both strings).\n\n", totalFail)
	}

	// The violations, grouped: one line per decision, scenario, policy and
	// rule, expected and actual status, with the sites that show it.
	if totalFail > 0 {
		type key struct{ decision, file, rule, want, got string }
		groups := map[key]map[string]int{}
		var order []key
		for _, s := range v.Sites {
			if s.Results == nil {
				continue
			}
			for _, rec := range s.Results.Specs {
				if rec.Outcome != engine.OutcomeFail {
					continue
				}
				got := "no result"
				if rec.Got != nil {
					got = rec.Got.Status
				}
				if got == string(rec.Want.Result) {
					// The status matched; the message, context or answer did not.
					got += ": " + markdown.Shorten(rec.Reason, 160)
				}
				k := key{decisionOf(rec.Labels), rec.File, rec.Policy + "/" + rec.Rule, string(rec.Want.Result), got}
				if why := rec.Refused; why != "" {
					// One row for every case the site refuses to run.
					k.file, k.rule, k.want, k.got = "(every file)", "(every catchError case)", "(as each row says)", "not run: "+markdown.Shorten(why, 240)
				}
				if slices.Contains(rec.Labels, "area:compat") {
					k.decision += " (the known divergence, label area:compat)"
				}
				if groups[k] == nil {
					groups[k] = map[string]int{}
					order = append(order, k)
				}
				groups[k][s.Name]++
			}
		}
		sort.SliceStable(order, func(i, j int) bool {
			if order[i].decision != order[j].decision {
				return order[i].decision < order[j].decision
			}
			return order[i].file+order[i].rule < order[j].file+order[j].rule
		})
		p("## Contract violations\n\n| decision broken | scenario | policy/rule | expected | got | specs per site |\n|---|---|---|---|---|---|\n")
		for _, k := range order {
			var sites []string
			for _, s := range v.Sites {
				if n := groups[k][s.Name]; n > 0 {
					sites = append(sites, fmt.Sprintf("%s %d", s.Name, n))
				}
			}
			p("| %s | %s | %s | %s | %s | %s |\n", markdown.Cell(k.decision), k.file, k.rule, k.want, k.got, strings.Join(sites, ", "))
		}
		p("\n")
	}

	// Per decision and per site.
	var ran []Site
	for _, s := range v.Sites {
		if s.Results != nil {
			ran = append(ran, s)
		}
	}
	writeTallies := func(title, column string, key func([]string) string) {
		rows := map[string][]tally{}
		for i, s := range ran {
			for _, rec := range s.Results.Specs {
				k := key(rec.Labels)
				if rows[k] == nil {
					rows[k] = make([]tally, len(ran))
				}
				rows[k][i].add(rec.Outcome)
			}
		}
		keys := make([]string, 0, len(rows))
		for k := range rows {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		siteNames := make([]string, 0, len(ran))
		for _, s := range ran {
			siteNames = append(siteNames, s.Name)
		}
		p("## %s\n\n%s", title, markdown.TableHeader(column, siteNames))
		for _, k := range keys {
			p("| %s |", markdown.Cell(k))
			for _, t := range rows[k] {
				p(" %s |", t)
			}
			p("\n")
		}
		p("\n")
	}
	writeTallies("Per contract decision", "decision", decisionOf)
	writeTallies("Per site (where imageData is first used)", "site", siteOf)

	// Every failure, with both strings.
	if totalFail > 0 {
		p("## Failing specs\n\n")
		for _, s := range ran {
			var fails []*results.SpecRecord
			for _, rec := range s.Results.Specs {
				if rec.Outcome == engine.OutcomeFail {
					fails = append(fails, rec)
				}
			}
			if len(fails) == 0 {
				continue
			}
			p("### %s (%d)\n\n", s.Name, len(fails))
			// Cases the site refuses to run share one reason: named once,
			// the specs listed after it.
			refused := map[string][]string{}
			var reasons []string
			var checked []*results.SpecRecord
			for _, rec := range fails {
				why := rec.Refused
				if why == "" {
					checked = append(checked, rec)
					continue
				}
				if refused[why] == nil {
					reasons = append(reasons, why)
				}
				refused[why] = append(refused[why], rec.Name)
			}
			for _, why := range reasons {
				p("- %d spec(s) need catchError, which this site cannot run (`REQUIRE_CATCHERROR=1` makes that a failure): %s\n\n  <details><summary>the specs</summary>\n\n", len(refused[why]), markdown.Cell(why))
				for _, n := range refused[why] {
					p("  `%s`<br>\n", n)
				}
				p("\n  </details>\n\n")
			}
			for _, rec := range checked {
				// The file within its scenario folder: a report names no
				// path of the machine it was made on.
				p("- `%s` (%s.yaml:%d)\n", rec.Name, rec.File, rec.Line)
				p("  - decision: %s; site: %s\n", decisionOf(rec.Labels), siteOf(rec.Labels))
				p("  - what a Kyverno user sees: policy `%s`, rule `%s`, resource `%s`", rec.Policy, rec.Rule, rec.Resource)
				if rec.Got != nil {
					p(", result `%s`: %s", rec.Got.Status, markdown.Code(markdown.Cell(rec.Got.MessageTemplate)))
				} else {
					p(", no result")
				}
				if a := rec.Admission; a != nil {
					if a.Allowed {
						p("; the Pod is admitted")
					} else {
						p("; the Pod is denied: %s", markdown.Code(markdown.Cell(a.Message)))
					}
				}
				p("\n  - expected: `%s`", rec.Want.Result)
				if rec.Want.Message != nil {
					kind, texts := rec.Want.Message.Parts()
					p(" with message (%s) %s", kind, markdown.Code(markdown.Cell(strings.Join(texts, " and "))))
				}
				p("\n  - why it fails: %s\n", markdown.Cell(rec.Reason))
			}
			p("\n")
		}
	}

	// What the checkout changes against the pinned release, in process.
	if v.Pinned != nil && v.Branch != nil {
		a, err := compare.FromResults("pinned", "", v.Pinned)
		if err != nil {
			return err
		}
		bb, err := compare.FromResults("checkout "+short, "", v.Branch)
		if err != nil {
			return err
		}
		changes := compare.Diff(a, bb)
		p("## What the checkout changes against the pinned release (in process)\n\n")
		p("The pinned release in process (%s) against the checkout linked in its place, spec by spec (as `make compare` reports it):\n\n", v.Pinned.Version)
		var cmp strings.Builder
		if err := compare.Write(&cmp, a, bb, changes); err != nil {
			return err
		}
		// The comparison's own title is replaced by this section's.
		text := cmp.String()
		if i := strings.Index(text, "## Totals"); i >= 0 {
			text = text[i:]
		}
		b.WriteString("#" + strings.ReplaceAll(text, "\n## ", "\n### "))
	}
	out := b.String()
	if v.Checkout != "" {
		// The checkout by its folder's name: the report names no path of
		// the machine it was made on (the commit identifies it).
		out = strings.ReplaceAll(out, v.Checkout, filepath.Base(v.Checkout))
	}
	_, err := io.WriteString(w, out)
	return err
}
