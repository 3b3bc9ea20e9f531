// Package judge decides one spec's outcome against its evaluation (pass,
// fail with the difference, or unsupported with the capability the engine
// lacks): the status, the message matchers, the rule context, the patched
// resource, the API server's answer and the registry's request log, as the
// scenario's row expects them.
package judge

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/internal/run"
	"github.com/imagectx/conformance/internal/scenario"
)

// requireCatchErrorPrefix starts the reason of a spec that fails only
// because REQUIRE_CATCHERROR=1 and the engine cannot run catchError cases
// (Outcome.Refused holds the rest).
const requireCatchErrorPrefix = "REQUIRE_CATCHERROR=1 and the engine cannot run this case: "

// Options change how specs are judged.
type Options struct {
	// RequireCatchError turns "unsupported: catchError" into a failure
	// (REQUIRE_CATCHERROR=1, for gating the release that ships it).
	RequireCatchError bool
}

// OptionsFromEnv reads the options the suites take from the environment
// (getenv, os.Getenv in the suites): REQUIRE_CATCHERROR, 1 or true to
// require catchError, 0, false or unset not to. Errors: any other value.
func OptionsFromEnv(getenv func(string) string) (Options, error) {
	switch v := getenv("REQUIRE_CATCHERROR"); v {
	case "", "0", "false":
		return Options{}, nil
	case "1", "true":
		return Options{RequireCatchError: true}, nil
	default:
		return Options{}, fmt.Errorf("REQUIRE_CATCHERROR=%q: want 1 or 0", v)
	}
}

// Outcome is the verdict for one spec.
type Outcome struct {
	Outcome engine.Outcome `json:"outcome"`
	// Reason explains a fail or unsupported outcome; for a failure it reads
	// like kyverno test: "want skip, got error: <message>".
	Reason string `json:"reason,omitempty"`
	// Refused, on a failure, is why the engine cannot run the case at all
	// (the capability it lacks): REQUIRE_CATCHERROR=1 makes that a
	// failure, and reports group such failures by this reason.
	Refused string `json:"refused,omitempty"`
	// Unchecked lists expectations the engine cannot show, with why.
	Unchecked []string `json:"unchecked,omitempty"`
	// Got is the engine's result for the spec's rule and resource, nil when
	// it reported none.
	Got *engine.Result `json:"-"`
	// Others are further results for the same rule and resource (an engine
	// should report one).
	Others []engine.Result `json:"-"`
	// Admission is the API server's answer for the spec's resource, when
	// the row checks it and the engine gave one.
	Admission *engine.AdmissionResponse `json:"-"`
	// Panic is the engine's crash when the evaluation ended in one.
	Panic *engine.PanicError `json:"-"`
}

// Unsupported says why the engine cannot run the spec ("" when it can).
func Unsupported(s *scenario.Spec, caps engine.Capabilities, engineName string, opts Options) (reason string, fatal bool) {
	if why := s.File.NotRunBy[engineName]; why != "" {
		return fmt.Sprintf("not run by %s: %s", engineName, why), false
	}
	for _, c := range s.Requires {
		if caps.Has(c) {
			continue
		}
		why := caps.Unsupported[c]
		if why == "" {
			why = fmt.Sprintf("engine %s does not support %s", engineName, c)
		}
		reason := fmt.Sprintf("%s: %s", c, why)
		return reason, c == engine.CapCatchError && opts.RequireCatchError
	}
	return "", false
}

// Check judges one spec against its evaluation.
func Check(s *scenario.Spec, ev *run.Evaluation, caps engine.Capabilities, engineName string, opts Options) Outcome {
	if why, fatal := Unsupported(s, caps, engineName, opts); why != "" {
		if fatal {
			return Outcome{Outcome: engine.OutcomeFail, Reason: requireCatchErrorPrefix + why, Refused: why}
		}
		return Outcome{Outcome: engine.OutcomeUnsupported, Reason: why}
	}
	if ev.Err != nil {
		if errors.Is(ev.Err, engine.ErrUnsupportedInput) {
			return Outcome{Outcome: engine.OutcomeUnsupported, Reason: ev.Err.Error()}
		}
		var crash *engine.PanicError
		if errors.As(ev.Err, &crash) {
			return checkPanic(s, ev, crash)
		}
		return Outcome{Outcome: engine.OutcomeFail, Reason: fmt.Sprintf("want %s, got no evaluation: %v", s.Row.Result, ev.Err)}
	}
	row := s.Row
	if row.Admission != nil {
		if !caps.Has(engine.CapAdmission) {
			out := Outcome{Unchecked: []string{fmt.Sprintf("admission: engine %s does not send resources through an admission request", engineName)}}
			if row.Result != scenario.ExpectAnswerOnly {
				return checkResult(s, ev, caps, engineName, out)
			}
		}
		answer, reason, err := checkAdmission(s, ev, caps)
		if err != nil {
			return Outcome{Outcome: engine.OutcomeFail, Reason: fmt.Sprintf("admission message matcher: %v", err)}
		}
		if reason != "" {
			return Outcome{Outcome: engine.OutcomeFail, Reason: reason}
		}
		out := Outcome{Admission: answer}
		if row.Result == scenario.ExpectAnswerOnly {
			out.Outcome = engine.OutcomePass
			return out
		}
		if !answer.Allowed {
			// A denied resource is never stored, so no PolicyReport
			// entry carries the rule's result; the denial names it.
			out.Unchecked = append(out.Unchecked, fmt.Sprintf("result: the API server denied the resource, so engine %s has no rule result for it", engineName))
			out.Outcome = engine.OutcomePass
			return out
		}
		return checkResult(s, ev, caps, engineName, out)
	}
	if caps.Has(engine.CapAdmission) && row.Result != scenario.ExpectNone {
		if a := answerFor(s, ev); a != nil && !a.Allowed {
			// Another row checks the denial; this one's result is not in
			// any PolicyReport either.
			return Outcome{Outcome: engine.OutcomePass, Unchecked: []string{fmt.Sprintf("result: the API server denied the resource, so engine %s has no rule result for it", engineName)}}
		}
	}
	return checkResult(s, ev, caps, engineName, Outcome{})
}

// checkPanic judges a spec whose evaluation ended in a panic: that is the
// result every spec of the evaluation sees (status panic, the panic value
// as its message), so a row expecting the panic passes and any other fails
// with it.
func checkPanic(s *scenario.Spec, ev *run.Evaluation, crash *engine.PanicError) Outcome {
	got := engine.Result{Policy: s.Row.Policy, Rule: s.Row.Rule, Resource: engine.ResourceID{Kind: s.Row.Kind, Name: s.Resource},
		Status: engine.StatusPanic, Message: crash.Value}
	out := Outcome{Outcome: engine.OutcomeFail, Got: &got, Panic: crash}
	if s.Row.Result != scenario.ExpectPanic {
		out.Reason = fmt.Sprintf("want %s, got %s: %s", s.Row.Result, got.Status, crash.Value)
		return out
	}
	if m := s.Row.Message; m != nil {
		ok, desc, err := m.Match(crash.Value, ev.Vars)
		if err != nil {
			out.Reason = fmt.Sprintf("message matcher: %v", err)
			return out
		}
		if !ok {
			out.Reason = fmt.Sprintf("want %s with message %s, got %s: %s", s.Row.Result, desc, got.Status, crash.Value)
			return out
		}
	}
	out.Outcome = engine.OutcomePass
	return out
}

// answerFor is the API server's answer for the spec's resource, or nil.
func answerFor(s *scenario.Spec, ev *run.Evaluation) *engine.AdmissionResponse {
	for i, a := range ev.Admissions {
		if a.Resource.Name == s.Resource && (s.Row.Kind == "" || a.Resource.Kind == s.Row.Kind) {
			return &ev.Admissions[i]
		}
	}
	return nil
}

// checkResult judges the row's rule result; out carries what the
// admission check found.
func checkResult(s *scenario.Spec, ev *run.Evaluation, caps engine.Capabilities, engineName string, out Outcome) Outcome {
	row := s.Row
	var matches []engine.Result
	for _, r := range ev.Results {
		if r.Policy == row.Policy && r.Rule == row.Rule && r.Resource.Name == s.Resource && (row.Kind == "" || r.Resource.Kind == row.Kind) {
			matches = append(matches, r)
		}
	}
	fail := func(format string, args ...any) Outcome {
		out.Outcome = engine.OutcomeFail
		out.Reason = fmt.Sprintf(format, args...)
		if len(ev.Refused) > 0 {
			// A host the file does not serve explains most surprises.
			out.Reason += fmt.Sprintf(" (the registry proxy refused %s: no registry of the file serves it; add it to hosts)", strings.Join(ev.Refused, ", "))
		}
		return out
	}
	// Rows and results pair one to one (a verifyImages rule reports
	// twice); a spec expecting one result reports that one even when it
	// differs.
	got, err := pick(matches, s.Siblings, row, ev.Vars)
	if err != nil {
		return fail("message matcher: %v", err)
	}
	if got >= 0 {
		g := matches[got]
		out.Got = &g
		out.Others = append(append([]engine.Result{}, matches[:got]...), matches[got+1:]...)
	}
	if row.Result == scenario.ExpectNone {
		if out.Got != nil {
			return fail("want no result, got %s: %s", out.Got.Status, out.Got.Message)
		}
	} else {
		if out.Got == nil {
			return fail("want %s, got no result", row.Result)
		}
		if caps.OneResultPerRule && len(s.Siblings) > 1 && len(matches) == 1 {
			// A report keeps one of the rule's results: this row is
			// checked when it is that one, and unsupported when the
			// entry is another row's.
			mine, err := rowMatches(row, matches[0], ev.Vars)
			if err != nil {
				return fail("message matcher: %v", err)
			}
			if !mine {
				for _, other := range s.Siblings {
					if theirs, _ := rowMatches(other, matches[0], ev.Vars); theirs && other != row {
						return Outcome{Outcome: engine.OutcomeUnsupported, Got: out.Got,
							Reason: fmt.Sprintf("the %s engine keeps one result per policy, rule and resource (a PolicyReport entry); it is the row at line %d", engineName, other.Line())}
					}
				}
			}
		} else if len(matches) != len(s.Siblings) {
			return fail("want %d result(s) for this rule and resource (one per row), got %d: %s", len(s.Siblings), len(matches), describeResults(matches))
		}
		if !row.Result.Is(out.Got.Status) {
			return fail("want %s, got %s: %s", row.Result, out.Got.Status, out.Got.Message)
		}
		if row.Message != nil {
			ok, desc, err := row.Message.Match(out.Got.Message, ev.Vars)
			if err != nil {
				return fail("message matcher: %v", err)
			}
			if !ok {
				return fail("want %s with message %s, got %s", row.Result, desc, describeResults(matches))
			}
		}
		if p := row.PatchedResource; p != nil {
			if ok, why := p.Match(out.Got.PatchedResource, ev.Vars); !ok {
				return fail("want %s with its patched resource: %s", row.Result, why)
			}
		}
		if len(row.Context) > 0 {
			if !caps.Has(engine.CapContext) {
				why := caps.Unsupported[engine.CapContext]
				if why == "" {
					why = "the engine cannot show the rule context"
				}
				out.Unchecked = append(out.Unchecked, "context: "+why)
			} else {
				var problems []string
				for _, c := range row.Context {
					ok, desc, err := c.Run(out.Got.Context, ev.Vars)
					if err != nil {
						return fail("context %s: %v", c.Key, err)
					}
					if !ok {
						problems = append(problems, desc)
					}
				}
				if len(problems) > 0 {
					return fail("want %s with context %s", row.Result, strings.Join(problems, "; "))
				}
			}
		}
	}
	if rc := row.Requests; rc != nil {
		for _, ref := range rc.Never {
			if ev.Requested[ref] {
				return fail("want %s never requested from the registry, got requests: %s", ref, requestsFor(ev, ref))
			}
		}
		for _, ref := range rc.Seen {
			if !ev.Requested[ref] {
				return fail("want %s requested from the registry, got no request for it (%d requests in all)", ref, len(ev.Requests))
			}
		}
	}
	out.Outcome = engine.OutcomePass
	return out
}

// pick is the index of the result among matches that row is paired with:
// the sibling rows, in file order, each take the first result not taken yet
// with their status and message. A row left without one gets (to report
// the difference) the only result there is, else the first untaken result
// with its status, else the first untaken result; -1 when there is none.
func pick(matches []engine.Result, siblings []*scenario.Row, row *scenario.Row, vars scenario.Vars) (int, error) {
	if len(siblings) == 0 {
		siblings = []*scenario.Row{row}
	}
	taken := make([]bool, len(matches))
	for _, sib := range siblings {
		for i, r := range matches {
			if taken[i] || !sib.Result.Is(r.Status) {
				continue
			}
			ok := true
			if sib.Message != nil {
				var err error
				if ok, _, err = sib.Message.Match(r.Message, vars); err != nil {
					return -1, err
				}
			}
			if ok {
				taken[i] = true
				if sib == row {
					return i, nil
				}
				break
			}
		}
	}
	if len(matches) == 1 {
		return 0, nil
	}
	fallback := -1
	for i, r := range matches {
		if taken[i] {
			continue
		}
		if row.Result.Is(r.Status) {
			return i, nil
		}
		if fallback < 0 {
			fallback = i
		}
	}
	return fallback, nil
}

func describeResults(rs []engine.Result) string {
	var parts []string
	for _, r := range rs {
		parts = append(parts, fmt.Sprintf("[%s: %s]", r.Status, r.Message))
	}
	return strings.Join(parts, " ")
}

func requestsFor(ev *run.Evaluation, ref string) string {
	repo, _, _ := strings.Cut(ref, ":")
	var parts []string
	for _, r := range ev.Requests {
		if r.Repository == repo {
			parts = append(parts, r.Method+" "+r.Path)
		}
	}
	return strings.Join(parts, ", ")
}

// rowMatches is true when result has the row's status and message.
func rowMatches(row *scenario.Row, r engine.Result, vars scenario.Vars) (bool, error) {
	if !row.Result.Is(r.Status) {
		return false, nil
	}
	if row.Message == nil {
		return true, nil
	}
	ok, _, err := row.Message.Match(r.Message, vars)
	return ok, err
}

// checkAdmission compares the API server's answer for the spec's resource
// with the row's admission check; reason is "" when it matches.
func checkAdmission(s *scenario.Spec, ev *run.Evaluation, caps engine.Capabilities) (*engine.AdmissionResponse, string, error) {
	want := s.Row.Admission
	got := answerFor(s, ev)
	if got == nil {
		return nil, fmt.Sprintf("want an admission answer for %s, got none (%d answers)", s.Resource, len(ev.Admissions)), nil
	}
	verdict := func(allowed bool) string {
		if allowed {
			return "allowed"
		}
		return "denied"
	}
	if got.Allowed != *want.Allowed {
		return got, fmt.Sprintf("want %s at admission, got %s: %q (warnings %q)", verdict(*want.Allowed), verdict(got.Allowed), got.Message, got.Warnings), nil
	}
	if want.Message != nil {
		ok, desc, err := want.Message.Match(got.Message, ev.Vars)
		if err != nil || !ok {
			return got, fmt.Sprintf("want denied at admission with message %s, got %q", desc, got.Message), err
		}
	}
	if len(got.Warnings) != len(want.Warnings) {
		return got, fmt.Sprintf("want %d admission warning(s), got %d: %q", len(want.Warnings), len(got.Warnings), got.Warnings), nil
	}
	for i := range want.Warnings {
		ok, desc, err := want.Warnings[i].Match(got.Warnings[i], ev.Vars)
		if err != nil || !ok {
			return got, fmt.Sprintf("want admission warning %d %s, got %q", i+1, desc, got.Warnings[i]), err
		}
	}
	if want.Annotations != nil {
		wantAnn := map[string]string{}
		for k, v := range want.Annotations {
			wantAnn[k] = ev.Vars.Expand(v)
		}
		if !maps.Equal(wantAnn, got.Annotations) {
			return got, fmt.Sprintf("want the stored resource's annotations %v, got %v", wantAnn, got.Annotations), nil
		}
	}
	if w := want.WebhookTimeout; w != nil && caps.WebhookTimeout > 0 {
		waited := got.Duration >= caps.WebhookTimeout
		if *w != waited {
			return got, fmt.Sprintf("want the answer to take %s the webhook timeout (%s), it took %s", map[bool]string{true: "at least", false: "less than"}[*w], caps.WebhookTimeout, got.Duration.Round(time.Millisecond)), nil
		}
	}
	return got, "", nil
}
