package verdict

import (
	"strings"
	"testing"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/internal/judge"
	"github.com/imagectx/conformance/internal/mutants"
	"github.com/imagectx/conformance/internal/results"
	"github.com/imagectx/conformance/internal/scenario"
)

func TestWrite(t *testing.T) {
	exact := "preconditions not met"
	recs := func(outcome engine.Outcome) []*results.SpecRecord {
		return []*results.SpecRecord{
			{Name: "faults/missing-tag/catch-true/pre-or-empty/check/app", File: "faults/missing-tag", Path: "/home/me/imagectx/scenarios/faults/missing-tag.yaml", Line: 90,
				Policy: "pre-or-empty", Rule: "check", Resource: "app", Labels: []string{"catch:on", "decision:2", "fault:missing", "site:preconditions"},
				Outcome: outcome, Reason: "want skip, got error: boom",
				Want: results.Want{Result: "skip", Message: &scenario.Matcher{Exact: &exact}},
				Got:  &results.Got{Status: "error", Message: "boom", MessageTemplate: "boom"}},
			{Name: "faults/present/catch-absent/deny/check/app", Labels: []string{"catch:absent", "decision:1", "fault:none", "site:deny"}, Outcome: engine.OutcomePass,
				Got: &results.Got{Status: "pass", MessageTemplate: "validation rule 'check' passed."}},
			{Name: "faults/present/catch-true/deny/check/app", Labels: []string{"catch:on", "decision:3", "fault:none", "site:deny"}, Outcome: outcome,
				Reason: "REQUIRE_CATCHERROR=1 and the engine cannot run this case: catchError: the CLI drops such a policy", Refused: "catchError: the CLI drops such a policy"},
		}
	}
	pinned := results.NewFile("inprocess", engine.Capabilities{Version: "v1.19.1"}, judge.Options{}, recs(engine.OutcomePass))
	branch := results.NewFile("inprocess", engine.Capabilities{Version: "branch"}, judge.Options{}, recs(engine.OutcomeFail))
	var b strings.Builder
	err := Write(&b, Verdict{Checkout: "/home/me/src/kyverno-pr", Commit: "60f4522660d7aaaa", Subject: "feat: x", Harness: "h", Command: "make verdict KYVERNO_SRC=/home/me/src/kyverno-pr",
		Sites:  []Site{{Name: "in process", Results: branch}, {Name: "CLI", NotRun: "does not build"}},
		Pinned: pinned, Branch: branch,
		Power: &mutants.Report{Date: "2026-12-06T12:00:00Z", Source: "github.com/kyverno/kyverno at 361fc98d0f50", Generated: 10, Covered: 8, Judged: 8,
			Total: mutants.Tally{Killed: 7, Lived: 1}}, PowerFile: "/home/me/imagectx/docs/mutants.json"})
	if err != nil {
		t.Fatal(err)
	}
	text := b.String()
	if strings.Contains(text, "/home/me") {
		t.Errorf("the verdict names a local path:\n%s", text)
	}
	for _, want := range []string{
		"# Verdict: Kyverno 60f4522660d7\n",
		"- Power of this specification: kill rate 87.5 % (7 killed, 1 lived, 0 equivalent, of 8 judged; 8 of 10 mutants on covered lines); make mutants of github.com/kyverno/kyverno at 361fc98d0f50, 2026-12-06T12:00:00Z (`mutants.json`).",
		"| in process | inprocess branch | 3 | 1 | 2 | 0 |",
		"| CLI | not run: does not build | | | | |",
		"**2 spec(s) fail**",
		"| 3. catchError true, lookup succeeded: the 8 keys plus failed: false | (every file) | (every catchError case) | (as each row says) | not run: catchError: the CLI drops such a policy | in process 1 |",
		"- 1 spec(s) need catchError, which this site cannot run (`REQUIRE_CATCHERROR=1` makes that a failure): catchError: the CLI drops such a policy",
		"  `faults/present/catch-true/deny/check/app`<br>",
		"| 1. catchError absent or false: Kyverno v1.19.1 exactly | 1 / 0 / 0 |",
		"| 2. catchError true, lookup failed: imageData is {failed, errorMessage} | **0 / 1 / 0** |",
		"| preconditions | **0 / 1 / 0** |",
		"- `faults/missing-tag/catch-true/pre-or-empty/check/app` (faults/missing-tag.yaml:90)",
		"- Checkout: `kyverno-pr` at commit `60f4522660d7aaaa` (feat: x)",
		"command: `make verdict KYVERNO_SRC=kyverno-pr`",
		"what a Kyverno user sees: policy `pre-or-empty`, rule `check`, resource `app`, result `error`: `boom`",
		"expected: `skip` with message (exact) `preconditions not met`",
		"| pass → fail | 2 |",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("verdict lacks %q:\n%s", want, text)
		}
	}
}
