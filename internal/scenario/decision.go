package scenario

import (
	"fmt"
	"strconv"
	"strings"
)

// Decision is the contract decision a spec tests (docs/design.md, "The
// contract"; scenarios/README.md). The loader decides it for every spec
// from what the file declares (the binding's catchError, the `fault` and
// `area` labels of the file or the row) and gives it as the spec label
// "decision:<n>", so `LABEL_FILTER=decision:1` runs today's behaviour
// alone and the verdict groups by it.
type Decision int

// The decisions a spec can test; 0 is none of them.
const (
	DecisionOther Decision = iota
	// DecisionToday: catchError absent or false, Kyverno v1.19.1 exactly.
	DecisionToday
	// DecisionFailureIsData: catchError true, the lookup failed: the
	// entry is {failed, errorMessage}.
	DecisionFailureIsData
	// DecisionSuccessKeys: catchError true, the lookup succeeded: the 8
	// keys plus failed: false.
	DecisionSuccessKeys
	// DecisionNotCaught: what catchError does not catch (substitution,
	// a non-string reference, jmesPath).
	DecisionNotCaught
)

// String is the decision as the verdict names it.
func (d Decision) String() string {
	switch d {
	case DecisionToday:
		return "1. catchError absent or false: Kyverno v1.19.1 exactly"
	case DecisionFailureIsData:
		return "2. catchError true, lookup failed: imageData is {failed, errorMessage}"
	case DecisionSuccessKeys:
		return "3. catchError true, lookup succeeded: the 8 keys plus failed: false"
	case DecisionNotCaught:
		return "4. not caught (substitution, non-string reference, jmesPath)"
	}
	return "catchError true, other cases"
}

// decide is the decision of a spec from its labels: "catch" (how its
// binding's policies set catchError, CatchMode) and the file's or row's
// "fault" and "area".
func decide(labels map[string]string) Decision {
	fault := labels["fault"]
	switch {
	case labels["area"] == "not-caught":
		return DecisionNotCaught
	case labels["catch"] != CatchOn:
		return DecisionToday
	case fault == "none" || fault == "present":
		return DecisionSuccessKeys
	case fault != "":
		return DecisionFailureIsData
	}
	return DecisionOther
}

// DecisionOf reads the decision from a spec's labels (a results file's
// record keeps them). Errors: no decision label (a results file written
// before the label), or one that is not a decision.
func DecisionOf(labels []string) (Decision, error) {
	for _, l := range labels {
		if v, ok := strings.CutPrefix(l, "decision:"); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < int(DecisionOther) || n > int(DecisionNotCaught) {
				return 0, fmt.Errorf("label %q: want decision:0 to decision:%d", l, DecisionNotCaught)
			}
			return Decision(n), nil
		}
	}
	return 0, fmt.Errorf("no decision label among %v (a results file older than it)", labels)
}
