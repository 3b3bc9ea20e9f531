package reference

import (
	"github.com/imagectx/conformance/engine/reference/conditions"
)

// evalOperator applies one condition operator to substituted operands.
func evalOperator(key any, operator string, value any) (bool, error) {
	return conditions.Evaluate(key, operator, value)
}

// knownOperator reports whether Kyverno's schema accepts the operator name.
func knownOperator(op string) bool {
	if op == "Equal" || op == "NotEqual" {
		return true
	}
	for _, o := range conditions.Operators() {
		if o == op {
			return true
		}
	}
	return false
}
