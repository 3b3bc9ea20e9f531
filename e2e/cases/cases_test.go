package cases

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadAdmission(t *testing.T) {
	f, err := Load("../testdata/admission.yaml", map[string]string{"SLOW_DELAY": "8s"})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, c := range f.Faults {
		names[c.Name] = true
	}
	for _, want := range []string{"present", "missing", "unauthorized", "slow"} {
		if !names[want] {
			t.Errorf("fault %q missing from admission.yaml", want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, body, want string
	}{
		{"unknown field", "texts: {}\nfaults:\n- name: a\n  imagee: x\n", `bad.yaml:4: error unmarshaling JSON: while decoding JSON: json: unknown field "imagee"`},
		{"bad result", "texts: {denied: d, warning: w, webhookTimeout: t, unknownField: u}\nfaults:\n- {name: a, image: x, result: ok, message: m, caught: {result: pass, message: m}}\n", `want pass, fail, error, skip or warn, got "ok"`},
		{"no faults", "texts: {denied: d, warning: w, webhookTimeout: t, unknownField: u}\n", "faults: want at least one"},
		{"bad regexp", "texts: {denied: d, warning: w, webhookTimeout: '(', unknownField: u}\nfaults:\n- {name: a, image: x, result: pass, message: m, caught: {result: pass, message: m}}\n", "texts.webhookTimeout: error parsing regexp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, "bad.yaml")
			if err := os.WriteFile(p, []byte(tt.body), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(p, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want error containing %q, got %v", tt.want, err)
			}
		})
	}
}

func TestExpect(t *testing.T) {
	f := &File{Texts: Texts{Denied: "denied ${POD}: ${MESSAGE_YAML}", Warning: "policy p.r: ${MESSAGE}", WebhookTimeout: "timeout", UnknownField: "u"}}
	errFault := Fault{Name: "missing", Result: "error", Message: "boom: at ${REGISTRY}", Caught: Outcome{"skip", "preconditions not met"}}
	passFault := Fault{Name: "present", Result: "pass", Message: "ok", Caught: Outcome{"pass", "ok"}}
	slow := Fault{Name: "slow", Slow: true, Result: "pass", Message: "ok", Caught: Outcome{"pass", "ok"}}
	vars := map[string]string{"REGISTRY": "127.0.0.1:1", "POD": "app"}
	tests := []struct {
		fault Fault
		mode  Mode
		want  Expectation
	}{
		{errFault, Mode{"Enforce", "Fail", false}, Expectation{Denied: "denied app: 'boom: at 127.0.0.1:1'"}},
		{errFault, Mode{"Enforce", "Ignore", false}, Expectation{Allowed: true, Warnings: []string{"policy p.r: boom: at 127.0.0.1:1"}, Report: &Outcome{"error", "boom: at 127.0.0.1:1"}}},
		{errFault, Mode{"Audit", "Fail", false}, Expectation{Allowed: true, Report: &Outcome{"error", "boom: at 127.0.0.1:1"}}},
		{errFault, Mode{"Enforce", "Fail", true}, Expectation{Allowed: true, Report: &Outcome{"skip", "preconditions not met"}}},
		{passFault, Mode{"Enforce", "Fail", false}, Expectation{Allowed: true, Report: &Outcome{"pass", "ok"}}},
		{slow, Mode{"Enforce", "Fail", false}, Expectation{DeniedPattern: "timeout", AtLeastWebhookTimeout: true}},
		{slow, Mode{"Enforce", "Ignore", false}, Expectation{Allowed: true, AtLeastWebhookTimeout: true}},
		{slow, Mode{"Audit", "Fail", false}, Expectation{Allowed: true, Report: &Outcome{"pass", "ok"}}},
	}
	for _, tt := range tests {
		t.Run(tt.fault.Name+"/"+tt.mode.String(), func(t *testing.T) {
			got := f.Expect(tt.fault, tt.mode, vars)
			if got.Allowed != tt.want.Allowed || got.Denied != tt.want.Denied || got.DeniedPattern != tt.want.DeniedPattern ||
				got.AtLeastWebhookTimeout != tt.want.AtLeastWebhookTimeout || strings.Join(got.Warnings, "|") != strings.Join(tt.want.Warnings, "|") ||
				(got.Report == nil) != (tt.want.Report == nil) || (got.Report != nil && *got.Report != *tt.want.Report) {
				t.Errorf("got %+v (report %v), want %+v (report %v)", got, got.Report, tt.want, tt.want.Report)
			}
		})
	}
}

func TestYAMLQuote(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                "plain",
		"a: b":                 "'a: b'",
		"it's: x || 'root'":    "'it''s: x || ''root'''",
		"validation rule 'x'.": "validation rule 'x'.",
	} {
		if got := yamlQuote(in); got != want {
			t.Errorf("yamlQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestModes(t *testing.T) {
	if n := len(Modes()); n != 8 {
		t.Fatalf("want 8 modes, got %d", n)
	}
}
