package reference

import (
	"fmt"
	"strings"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/reference/pattern"
)

// response is a rule response: Kyverno's status and message.
type response struct {
	status  engine.Status
	message string
}

func ruleError(msg string, err error) *response {
	if err != nil {
		msg = fmt.Sprintf("%s: %s", msg, err.Error())
	}
	return &response{status: engine.StatusError, message: msg}
}

func ruleSkip(msg string) *response { return &response{status: engine.StatusSkip, message: msg} }
func rulePass(msg string) *response { return &response{status: engine.StatusPass, message: msg} }
func ruleFail(msg string) *response { return &response{status: engine.StatusFail, message: msg} }

func joinNonEmpty(parts []string, sep string) string {
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, sep)
}

// validateRule is Kyverno's rule handler flow for a validate rule that
// matched: load the rule context, check preconditions, then validate.
// Audit and Enforce give the same statuses, as the Kyverno CLI reports
// them (its --audit-warn flag, off by default, would turn Audit fails into
// warn).
func validateRule(ec *evalContext, rule *Rule, object map[string]any) *response {
	if err := ec.register(rule.Context); err != nil {
		return ruleError("failed to load context", err)
	}
	ok, msg, err := ec.checkConditions(rule.Preconditions)
	if err != nil {
		return ruleError("failed to evaluate preconditions", err)
	}
	if !ok {
		return ruleSkip(joinNonEmpty([]string{"preconditions not met", msg}, "; "))
	}
	v := &validator{
		ec:         ec,
		rule:       rule,
		pattern:    rule.Validation.Pattern,
		anyPattern: rule.Validation.AnyPattern,
		deny:       rule.Validation.Deny,
		forEach:    rule.Validation.ForEach,
		object:     object,
	}
	// The rule's preconditions were just checked; Kyverno's validator checks
	// them again with the same context, which cannot change the outcome.
	return v.validateBody()
}

// validator validates one rule, or one foreach element of it.
type validator struct {
	ec         *evalContext
	rule       *Rule
	entries    []ContextEntry
	conds      *Conditions
	pattern    any
	anyPattern any
	deny       *Deny
	forEach    []ForEachValidation
	nesting    int
	// element is the current foreach element when it is scoped (a map);
	// patterns apply to it instead of the resource.
	element map[string]any
	object  map[string]any // this evaluation's copy of the resource
}

func (v *validator) validate() *response {
	if err := v.ec.register(v.entries); err != nil {
		return ruleError("failed to load context", err)
	}
	ok, msg, err := v.ec.checkConditions(v.conds)
	if err != nil {
		return ruleError("failed to evaluate preconditions", err)
	}
	if !ok {
		return ruleSkip(joinNonEmpty([]string{"preconditions not met", msg}, "; "))
	}
	return v.validateBody()
}

func (v *validator) validateBody() *response {
	switch {
	case v.deny != nil:
		return v.validateDeny()
	case v.pattern != nil || v.anyPattern != nil:
		if err := v.substitutePatterns(); err != nil {
			return ruleError("variable substitution failed", err)
		}
		if v.element == nil && v.ec.deleteOp {
			// Kyverno skips patterns on a deleted resource.
			return nil
		}
		return v.validatePatterns()
	case v.forEach != nil:
		return v.validateForEach()
	}
	return nil
}

func (v *validator) validateDeny() *response {
	deny, msg, err := v.ec.checkConditions(v.deny.Conditions)
	if err != nil {
		return ruleError("failed to check deny conditions", err)
	}
	if deny {
		return ruleFail(v.denyMessage(msg))
	}
	return rulePass(fmt.Sprintf("validation rule '%s' passed.", v.rule.Name))
}

// denyMessage: the rule message and the condition messages, substituted;
// when substitution fails Kyverno falls back to the condition messages
// alone, so a registry failure referenced only from the message is
// swallowed.
func (v *validator) denyMessage(msg string) string {
	if v.rule.Validation.Message == "" && msg == "" {
		return fmt.Sprintf("validation error: rule %s failed", v.rule.Name)
	}
	s := joinNonEmpty([]string{v.rule.Validation.Message, msg}, "; ")
	raw, err := v.ec.substitute(s, "")
	if err != nil {
		return msg
	}
	if str, ok := raw.(string); ok {
		return str
	}
	return "the produced message didn't resolve to a string, check your policy definition."
}

func (v *validator) substitutePatterns() error {
	if v.pattern != nil {
		p, err := v.ec.substitute(v.pattern, "")
		if err != nil {
			return err
		}
		v.pattern = p
		return nil
	}
	p, err := v.ec.substitute(v.anyPattern, "")
	if err != nil {
		return err
	}
	v.anyPattern = p
	return nil
}

func (v *validator) target() map[string]any {
	if v.element != nil {
		return v.element
	}
	return v.object
}

// validatePatterns checks pattern or anyPattern with the pattern package,
// which builds Kyverno's statuses and messages; the rule message is
// substituted only when a check fails, as in Kyverno.
func (v *validator) validatePatterns() *response {
	rule := pattern.Rule{Name: v.rule.Name, Message: v.rule.Validation.Message, Substitute: v.substituteMessage}
	var out pattern.Outcome
	if v.pattern != nil {
		out = rule.Pattern(v.target(), v.pattern)
	} else {
		list, ok := v.anyPattern.([]any)
		if !ok {
			return ruleError("failed to deserialize anyPattern, expected type array",
				fmt.Errorf("json: cannot unmarshal %s into Go value of type []interface {}", jsonTypeName(v.anyPattern)))
		}
		out = rule.AnyPattern(v.target(), list)
	}
	return &response{status: engine.Status(out.Status), message: out.Message}
}

// substituteMessage resolves the variables of validate.message; a message
// that substitutes to a non-string reads as its JSON.
func (v *validator) substituteMessage(message string) (string, error) {
	raw, err := v.ec.substitute(message, "")
	if err != nil {
		return "", err
	}
	msg, _ := spliceValue(raw)
	return msg, nil
}

func jsonTypeName(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	}
	return "value"
}

// validateForEach runs each foreach list. A list whose query hits a
// missing key is skipped; with no element applied there is no result.
func (v *validator) validateForEach() *response {
	applied := 0
	var listErr error
	for i := range v.forEach {
		fe := &v.forEach[i]
		elements, err := v.evaluateList(fe.List)
		if err != nil {
			if strings.Contains(err.Error(), "Unknown key") {
				continue
			}
			listErr = err
			continue
		}
		resp, n := v.validateElements(fe, elements)
		if resp.status != engine.StatusPass {
			return resp
		}
		applied += n
	}
	if applied == 0 {
		if listErr != nil {
			return ruleError("failed to evaluate list", listErr)
		}
		return nil
	}
	return rulePass("rule passed")
}

func (v *validator) evaluateList(expr string) ([]any, error) {
	i, err := v.ec.query(expr)
	if err != nil {
		return nil, err
	}
	if l, ok := i.([]any); ok {
		return l, nil
	}
	return []any{i}, nil
}

func (v *validator) validateElements(fe *ForEachValidation, elements []any) (*response, int) {
	ec := v.ec
	ec.pushLayer()
	defer ec.popLayer()
	applied := 0
	for index, element := range elements {
		if element == nil {
			continue
		}
		ec.resetTop()
		data, err := jsonRoundTrip(element)
		if err != nil {
			return ruleError("failed to process foreach", err), applied
		}
		lvl := ec.level()
		ec.set(lvl, "element", data)
		ec.set(lvl, fmt.Sprintf("element%d", v.nesting), data)
		// Kyverno adds the index as int64 without a JSON round trip.
		ec.set(lvl, "elementIndex", int64(index))
		ec.set(lvl, fmt.Sprintf("elementIndex%d", v.nesting), int64(index))
		m, isMap := data.(map[string]any)
		scoped := isMap
		if fe.ElementScope != nil {
			if *fe.ElementScope && !isMap {
				return ruleError("failed to process foreach", fmt.Errorf("cannot use elementScope=true foreach rules for elements that are not maps, expected type=map got type=%T", data)), applied
			}
			scoped = *fe.ElementScope
		}
		child := &validator{
			ec:         ec,
			rule:       v.rule,
			entries:    fe.Context,
			pattern:    fe.Pattern,
			anyPattern: fe.AnyPattern,
			deny:       fe.Deny,
			forEach:    fe.ForEach,
			nesting:    v.nesting + 1,
			element:    v.element,
			object:     v.object,
		}
		if fe.Preconditions != nil {
			child.conds = &Conditions{AnyAll: fe.Preconditions}
		}
		if scoped {
			child.element = m
		}
		r := child.validate()
		if r == nil || r.status == engine.StatusSkip {
			continue
		}
		if r.status != engine.StatusPass {
			if r.status == engine.StatusError && strings.Contains(r.message, "failed to evaluate preconditions") {
				continue
			}
			return &response{status: r.status, message: fmt.Sprintf("validation failure: %v", r.message)}, applied
		}
		applied++
	}
	return rulePass(""), applied
}
