package cases

import (
	"fmt"
	"strings"
)

// Mode is one column of the matrix.
type Mode struct {
	Action        string // Enforce or Audit
	FailurePolicy string // Fail or Ignore
	CatchError    bool
}

// Modes is every combination, in a stable order.
func Modes() []Mode {
	var ms []Mode
	for _, a := range []string{"Enforce", "Audit"} {
		for _, fp := range []string{"Fail", "Ignore"} {
			for _, c := range []bool{false, true} {
				ms = append(ms, Mode{a, fp, c})
			}
		}
	}
	return ms
}

func (m Mode) String() string {
	c := "off"
	if m.CatchError {
		c = "on"
	}
	return fmt.Sprintf("%s/%s/catchError=%s", m.Action, m.FailurePolicy, c)
}

// Expectation is what the API server and the reports must show.
type Expectation struct {
	Allowed bool
	// Denied is the exact error text (when not Allowed and not a timeout).
	Denied string
	// DeniedPattern is a regular expression for the error (webhook timeout).
	DeniedPattern string
	// Warnings are the exact admission warnings (none when empty).
	Warnings []string
	// AtLeastWebhookTimeout: the request waited for the webhook to time out.
	AtLeastWebhookTimeout bool
	// Report is the PolicyReport result for the Pod; nil when none is
	// asserted (the Pod was denied, or Kyverno's request was cut short).
	Report *Outcome
}

// Expect derives the admission outcome of fault under m from the rule result
// (the rules are in admission.yaml's header). vars fills ${REGISTRY},
// ${NAMESPACE}, ${POD} and ${IMAGE}.
func (f *File) Expect(c Fault, m Mode, vars map[string]string) Expectation {
	rule := Outcome{c.Result, c.Message}
	if m.CatchError {
		rule = c.Caught
	}
	rule.Message = Expand(rule.Message, vars)
	if c.Slow {
		switch {
		case m.Action == "Audit":
			// Audit answers at once and validates afterwards, so the
			// result arrives once the registry delay has passed.
			return Expectation{Allowed: true, Report: &rule}
		case m.FailurePolicy == "Fail":
			return Expectation{DeniedPattern: f.Texts.WebhookTimeout, AtLeastWebhookTimeout: true}
		default:
			return Expectation{Allowed: true, AtLeastWebhookTimeout: true}
		}
	}
	blocking := rule.Result == "fail" || rule.Result == "error"
	switch {
	case !blocking || m.Action == "Audit":
		return Expectation{Allowed: true, Report: &rule}
	case rule.Result == "error" && m.FailurePolicy == "Ignore":
		w := Expand(f.Texts.Warning, map[string]string{"MESSAGE": rule.Message})
		return Expectation{Allowed: true, Warnings: []string{w}, Report: &rule}
	default:
		v := map[string]string{"MESSAGE_YAML": yamlQuote(rule.Message)}
		for k, x := range vars {
			v[k] = x
		}
		return Expectation{Denied: Expand(f.Texts.Denied, v)}
	}
}

// yamlQuote writes s the way Kyverno's YAML encoder does in the denial: in
// single quotes (with ' doubled) when it holds ": " or starts with a quote,
// else plain.
func yamlQuote(s string) string {
	if strings.Contains(s, ": ") || strings.HasPrefix(s, "'") || strings.HasSuffix(s, ":") {
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	return s
}
