package reference

import (
	"fmt"

	"github.com/imagectx/conformance/engine/reference/conditions"
)

// checkConditions evaluates preconditions or deny conditions as Kyverno
// does: any (at least one true, evaluation stops at the first true) and
// all (every one true, stops at the first false); the older list form is
// all. The message is the joined messages of the conditions that decided.
// No conditions at all hold.
func (c *evalContext) checkConditions(conds *Conditions) (bool, string, error) {
	if conds == nil {
		return true, "", nil
	}
	if conds.AnyAll == nil {
		var trueMsgs []string
		for _, cond := range conds.List {
			ok, msg, err := c.evalCondition(cond)
			if err != nil {
				return false, "", err
			}
			if !ok {
				return false, msg, nil
			}
			trueMsgs = append(trueMsgs, msg)
		}
		return true, joinNonEmpty(trueMsgs, ";"), nil
	}
	anyResult, allResult := true, true
	var falseMsgs, trueMsgs []string
	if conds.AnyAll.Any != nil {
		anyResult = false
		for _, cond := range conds.AnyAll.Any {
			ok, msg, err := c.evalCondition(cond)
			if err != nil {
				return false, "", err
			}
			if ok {
				anyResult = true
				trueMsgs = append(trueMsgs, msg)
				break
			}
			falseMsgs = append(falseMsgs, msg)
		}
	}
	for _, cond := range conds.AnyAll.All {
		ok, msg, err := c.evalCondition(cond)
		if err != nil {
			return false, "", err
		}
		if !ok {
			allResult = false
			falseMsgs = append(falseMsgs, msg)
			break
		}
		trueMsgs = append(trueMsgs, msg)
	}
	if anyResult && allResult {
		return true, joinNonEmpty(trueMsgs, "; "), nil
	}
	return false, joinNonEmpty(falseMsgs, "; "), nil
}

// evalCondition substitutes the key and the value (a failure names which)
// and applies the operator.
func (c *evalContext) evalCondition(cond Condition) (bool, string, error) {
	key, err := c.substitute(cond.Key, "")
	if err != nil {
		return false, "", fmt.Errorf("failed to substitute variables in condition key: %w", err)
	}
	value, err := c.substitute(cond.Value, "")
	if err != nil {
		return false, "", fmt.Errorf("failed to substitute variables in condition value: %w", err)
	}
	ok, err := conditions.Evaluate(key, cond.Operator, value)
	if err != nil {
		return false, "", err
	}
	return ok, cond.Message, nil
}
