package engine

import (
	"strings"
	"testing"
)

func TestAutogenRule(t *testing.T) {
	long := strings.Repeat("r", 60) // autogen names of it are cut to 63 characters
	rules := []string{"check", "cronjob-x", "x", long}
	for _, tc := range []struct {
		name, want string
		ok         bool
	}{
		{"check", "check", true},
		{"autogen-check", "check", true},
		{"autogen-cronjob-check", "check", true},
		// "autogen-cronjob-x" is both the Deployment copy of "cronjob-x"
		// and the CronJob copy of "x": the first rule in the policy's
		// order whose autogen name it is wins.
		{"autogen-cronjob-x", "cronjob-x", true},
		{("autogen-" + long)[:63], long, true},
		{("autogen-cronjob-" + long)[:63], long, true},
		{"autogen-other", "", false},
		{"other", "", false},
	} {
		got, ok := AutogenRule(tc.name, rules)
		if got != tc.want || ok != tc.ok {
			t.Errorf("AutogenRule(%q) = %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
