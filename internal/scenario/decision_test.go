package scenario

import (
	"strings"
	"testing"
)

// Each spec's decision follows from its binding's catchError and the
// file's or row's fault and area labels; DecisionOf reads it back and
// names a missing or wrong label.
func TestDecision(t *testing.T) {
	for _, tc := range []struct {
		labels map[string]string
		want   Decision
	}{
		{map[string]string{"catch": CatchAbsent, "fault": "missing"}, DecisionToday},
		{map[string]string{"catch": CatchOff, "fault": "none"}, DecisionToday},
		{map[string]string{"catch": CatchOn, "fault": "missing"}, DecisionFailureIsData},
		{map[string]string{"catch": CatchOn, "fault": "none"}, DecisionSuccessKeys},
		{map[string]string{"catch": CatchOn, "fault": "present"}, DecisionSuccessKeys},
		{map[string]string{"catch": CatchAbsent, "area": "not-caught"}, DecisionNotCaught},
		{map[string]string{"catch": CatchOn, "area": "foreach"}, DecisionOther},
	} {
		d := decide(tc.labels)
		if d != tc.want {
			t.Errorf("%v: %v, want %v", tc.labels, d, tc.want)
		}
		back, err := DecisionOf([]string{"catch:x", "decision:" + string(rune('0'+int(d)))})
		if err != nil || back != d {
			t.Errorf("DecisionOf(decision:%d) = %v, %v", d, back, err)
		}
	}
	if !strings.HasPrefix(DecisionFailureIsData.String(), "2. catchError true, lookup failed") {
		t.Errorf("String: %q", DecisionFailureIsData)
	}
	for _, labels := range [][]string{{"catch:on"}, {"decision:9"}, {"decision:x"}} {
		if _, err := DecisionOf(labels); err == nil {
			t.Errorf("DecisionOf(%v): no error", labels)
		}
	}
}
