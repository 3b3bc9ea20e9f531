package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/imagectx/conformance/internal/conformance"
)

// Outcome is one case's result in one run, in the terms the report shows.
type Outcome struct {
	// ID names the case, e.g. "catch/missing.yaml/catch-on/check/Pod/default/app".
	ID string
	// State is "pass", "fail", "unsupported", "skipped" or "error".
	State string
	// Detail is the failure text or the unsupported reason.
	Detail string
	// Actual is the engine's rule result ("error: <message>"), when the run
	// recorded it; empty when it did not.
	Actual string
}

// Run is every case of one suite run.
type Run struct {
	Name     string
	File     string
	Version  string // the engine's version, when the results file says it
	Outcomes map[string]Outcome
}

// loopback addresses carry a fresh port on every run; the report compares
// behaviour, not ports.
var loopbackPort = regexp.MustCompile(`(127\.0\.0\.1|localhost|\[::1\]):\d+`)

func normalize(s string) string { return loopbackPort.ReplaceAllString(s, "${1}:PORT") }

// loadRun reads a results file: the suites' results-<engine>.json
// (internal/conformance.ResultsFile), or a Ginkgo JSON report
// (--json-report) for suites that write no results file.
func loadRun(name, path string) (Run, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Run{}, fmt.Errorf("read results of %s: %w", name, err)
	}
	run := Run{Name: name, File: path, Outcomes: map[string]Outcome{}}
	var probe struct {
		Format string `json:"format"`
	}
	if json.Unmarshal(data, &probe) == nil && probe.Format != "" {
		rf, err := conformance.ParseResults(path, data)
		if err != nil {
			return Run{}, err
		}
		run.Version = rf.Engine + " " + rf.Version
		for _, rec := range rf.Specs {
			o := outcomeOfRecord(rec)
			if _, dup := run.Outcomes[o.ID]; dup {
				return Run{}, fmt.Errorf("%s: two specs are named %q", path, o.ID)
			}
			run.Outcomes[o.ID] = o
		}
	} else {
		var reports []types.Report
		if err := json.Unmarshal(data, &reports); err != nil {
			return Run{}, fmt.Errorf("%s: expected a results file (format %s) or a Ginkgo JSON report (a list of suite reports): %w",
				path, conformance.ResultsFormat, err)
		}
		for _, rep := range reports {
			for _, spec := range rep.SpecReports {
				if spec.LeafNodeType != types.NodeTypeIt {
					continue
				}
				o := outcomeOfSpec(spec)
				if prev, dup := run.Outcomes[o.ID]; dup && prev != o {
					return Run{}, fmt.Errorf("%s: two specs are named %q", path, o.ID)
				}
				run.Outcomes[o.ID] = o
			}
		}
	}
	if len(run.Outcomes) == 0 {
		return Run{}, fmt.Errorf("%s: no specs in the results", path)
	}
	return run, nil
}

// outcomeOfRecord reads one spec of a results file. The message template
// has the registry's address as ${REGISTRY} already.
func outcomeOfRecord(rec *conformance.SpecRecord) Outcome {
	o := Outcome{ID: rec.Name, State: string(rec.Outcome), Detail: normalize(strings.TrimSpace(rec.Reason))}
	if rec.Got != nil {
		msg := rec.Got.MessageTemplate
		if msg == "" {
			msg = rec.Got.Message
		}
		o.Actual = normalize(rec.Got.Status + ": " + msg)
	}
	return o
}

// actualEntry is the report entry holding the engine's result; the suites
// attach it with AddReportEntry.
var actualEntry = regexp.MustCompile(`(?i)^(actual|result|got)`)

func outcomeOfSpec(spec types.SpecReport) Outcome {
	o := Outcome{ID: strings.Join(append(append([]string{}, spec.ContainerHierarchyTexts...), spec.LeafNodeText), " / ")}
	switch spec.State {
	case types.SpecStatePassed:
		o.State = "pass"
	case types.SpecStateSkipped, types.SpecStatePending:
		o.State = "skipped"
		if msg := spec.Failure.Message; strings.HasPrefix(strings.ToLower(msg), "unsupported") {
			o.State = "unsupported"
		}
		o.Detail = spec.Failure.Message
	case types.SpecStateFailed:
		o.State = "fail"
		o.Detail = spec.Failure.Message
	default:
		o.State = "error"
		o.Detail = spec.State.String() + ": " + spec.Failure.Message
	}
	for _, e := range spec.ReportEntries {
		if actualEntry.MatchString(e.Name) {
			o.Actual = e.StringRepresentation()
			break
		}
	}
	o.Detail = normalize(strings.TrimSpace(o.Detail))
	o.Actual = normalize(strings.TrimSpace(o.Actual))
	return o
}

// Change is one case that differs between the two runs.
type Change struct {
	ID   string
	A, B *Outcome // nil when the case is missing from that run
}

// diff lists the cases whose state, detail or actual result differ, and
// the cases only one run has, sorted by ID. Cases neither run can run are
// not listed (see bothUnsupported).
func diff(a, b Run) []Change {
	ids := map[string]bool{}
	for id := range a.Outcomes {
		ids[id] = true
	}
	for id := range b.Outcomes {
		ids[id] = true
	}
	var out []Change
	for id := range ids {
		oa, inA := a.Outcomes[id]
		ob, inB := b.Outcomes[id]
		switch {
		case inA && inB:
			// Unsupported on both sides is no behaviour change, even when
			// the reasons name different builds.
			if oa.State == "unsupported" && ob.State == "unsupported" {
				continue
			}
			if oa.State != ob.State || oa.Detail != ob.Detail || (oa.Actual != "" && ob.Actual != "" && oa.Actual != ob.Actual) {
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

// totals counts the states of a run.
func totals(r Run) map[string]int {
	t := map[string]int{}
	for _, o := range r.Outcomes {
		t[o.State]++
	}
	return t
}

// bothUnsupported counts the cases neither run can run.
func bothUnsupported(a, b Run) int {
	n := 0
	for id, oa := range a.Outcomes {
		if ob, ok := b.Outcomes[id]; ok && oa.State == "unsupported" && ob.State == "unsupported" {
			n++
		}
	}
	return n
}
