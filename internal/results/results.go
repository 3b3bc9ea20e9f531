// Package results is the one model of what a run produced: the results
// file of an engine ($ARTIFACTS/results-<engine>.json, one record per
// spec; suites/README.md), how a checked spec becomes a record, and how
// the file is written and read. Every report under internal/report reads
// this model.
package results

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/internal/judge"
	"github.com/imagectx/conformance/internal/run"
	"github.com/imagectx/conformance/internal/scenario"
)

// SchemaVersion names the results file's schema; bump it on a breaking change.
const SchemaVersion = "imagectx.conformance.results/v1"

// File is $ARTIFACTS/results-<engine>.json (see suites/README.md).
type File struct {
	Format            string        `json:"format"`
	Engine            string        `json:"engine"`
	Version           string        `json:"version"`
	Capabilities      CapsRecord    `json:"capabilities"`
	RequireCatchError bool          `json:"requireCatchError"`
	Summary           Summary       `json:"summary"`
	Specs             []*SpecRecord `json:"specs"`
}

// CapsRecord is engine.Capabilities as written to the results file.
type CapsRecord struct {
	CatchError  bool                         `json:"catchError"`
	Context     bool                         `json:"context"`
	Admission   bool                         `json:"admission"`
	Unsupported map[engine.Capability]string `json:"unsupported,omitempty"`
}

// Summary counts outcomes.
type Summary struct {
	Pass        int `json:"pass"`
	Fail        int `json:"fail"`
	Unsupported int `json:"unsupported"`
}

// SpecRecord is one spec's outcome.
type SpecRecord struct {
	Name     string              `json:"name"`
	File     string              `json:"file"`
	Path     string              `json:"path"`
	Line     int                 `json:"line"`
	Binding  string              `json:"binding"`
	Policy   string              `json:"policy"`
	Rule     string              `json:"rule"`
	Resource string              `json:"resource"`
	Labels   []string            `json:"labels"`
	Requires []engine.Capability `json:"requires,omitempty"`

	Outcome engine.Outcome `json:"outcome"`
	Reason  string         `json:"reason,omitempty"`
	// Refused is Outcome.Refused: a failure because the engine cannot
	// run the case at all (REQUIRE_CATCHERROR=1), and why.
	Refused   string   `json:"refused,omitempty"`
	Unchecked []string `json:"unchecked,omitempty"`

	Want Want `json:"want"`
	Got  *Got `json:"got"`
	// Admission is the API server's answer for the resource (admission
	// engines, rows with an admission check).
	Admission *AdmissionGot `json:"admission,omitempty"`
	// Panic is the engine's crash (its value and first frames) when the
	// evaluation ended in one.
	Panic *engine.PanicError `json:"panic,omitempty"`

	// Registry is the fake registry's host:port for the evaluation.
	Registry   string `json:"registry,omitempty"`
	DurationMS int64  `json:"evaluationMs"`
}

// Want is the row's expectation, placeholders unexpanded.
type Want struct {
	Result    scenario.Expected        `json:"result,omitempty"`
	Message   *scenario.Matcher        `json:"message,omitempty"`
	Admission *scenario.AdmissionCheck `json:"admission,omitempty"`
}

// AdmissionGot is the API server's answer (engine.AdmissionResponse).
type AdmissionGot struct {
	Allowed     bool              `json:"allowed"`
	Message     string            `json:"message,omitempty"`
	Warnings    []string          `json:"warnings,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	DurationMS  int64             `json:"durationMs"`
}

// Got is the engine's result.
type Got struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	// MessageTemplate is Message with the registry's address (and the
	// refused address) put back as ${REGISTRY} (${REFUSED}), so results of
	// different runs and engines compare equal.
	MessageTemplate string `json:"messageTemplate"`
	// Context is the rule context, written for failed specs only.
	Context map[string]any `json:"context,omitempty"`
}

// Record builds the results-file record for a checked spec. Secrets from
// the scenario (registry passwords) are masked in every string.
func Record(s *scenario.Spec, ev *run.Evaluation, out judge.Outcome) *SpecRecord {
	rec := &SpecRecord{
		Name: s.Name, File: s.File.Name, Path: s.File.Path, Line: s.Row.Line(),
		Binding: s.Binding.Name, Policy: s.Row.Policy, Rule: s.Row.Rule, Resource: s.Resource,
		Labels: s.Labels, Requires: s.Requires,
		Outcome: out.Outcome, Unchecked: out.Unchecked,
		Want: Want{Result: s.Row.Result, Message: s.Row.Message, Admission: s.Row.Admission},
	}
	mask := SecretMasker(s.File)
	rec.Reason, rec.Refused = mask(out.Reason), mask(out.Refused)
	if a := out.Admission; a != nil {
		rec.Admission = &AdmissionGot{Allowed: a.Allowed, Message: mask(a.Message), Annotations: a.Annotations, DurationMS: a.Duration.Milliseconds()}
		for _, w := range a.Warnings {
			rec.Admission.Warnings = append(rec.Admission.Warnings, mask(w))
		}
	}
	if p := out.Panic; p != nil {
		rec.Panic = &engine.PanicError{Value: mask(p.Value), Frames: p.Frames}
	}
	if ev != nil {
		rec.Registry = ev.Vars[scenario.VarRegistry]
		rec.DurationMS = ev.Duration.Milliseconds()
	}
	if out.Got != nil {
		g := &Got{Status: string(out.Got.Status), Message: mask(out.Got.Message)}
		g.MessageTemplate = Template(g.Message, ev)
		if out.Outcome == engine.OutcomeFail {
			g.Context = maskContext(out.Got.Context, mask)
		}
		rec.Got = g
	}
	return rec
}

// Template puts ${REGISTRY} and ${REFUSED} back into a message.
func Template(msg string, ev *run.Evaluation) string {
	if ev == nil {
		return msg
	}
	keys := []string{scenario.VarRegistry, scenario.VarRefused}
	for k := range ev.Vars {
		if strings.HasPrefix(k, scenario.VarRegistryPrefix) {
			keys = append(keys, k)
		}
	}
	// Longest address first: 127.0.0.1:4123 is a prefix of 127.0.0.1:41234.
	slices.SortStableFunc(keys, func(a, b string) int { return len(ev.Vars[b]) - len(ev.Vars[a]) })
	for _, k := range keys {
		if v := ev.Vars[k]; v != "" {
			msg = strings.ReplaceAll(msg, v, "${"+k+"}")
		}
	}
	return msg
}

// SecretMasker returns a function that replaces the scenario's registry
// passwords with "***". Passwords shorter than 3 characters are left alone:
// masking them would mangle ordinary words of a message.
func SecretMasker(f *scenario.File) func(string) string {
	var secrets []string
	add := func(password string) {
		if len(password) >= 3 {
			secrets = append(secrets, password)
		}
	}
	for _, c := range f.Registry.Credentials {
		add(c.Password)
	}
	for _, cs := range f.Registry.Secrets {
		for _, c := range cs {
			add(c.Password)
		}
	}
	for _, m := range f.RegistryModels() {
		for _, img := range m.Config.Images {
			if img.Auth != nil {
				add(img.Auth.Password)
			}
		}
		for _, r := range m.Config.Repositories {
			if r.Auth != nil {
				add(r.Auth.Password)
			}
		}
	}
	return func(s string) string {
		for _, sec := range secrets {
			s = strings.ReplaceAll(s, sec, "***")
		}
		return s
	}
}

// maskContext copies a rule context with mask applied to every string in
// it, keys included; the engine's map is left as it was.
func maskContext(ctx map[string]any, mask func(string) string) map[string]any {
	if ctx == nil {
		return nil
	}
	return maskValue(ctx, mask).(map[string]any)
}

func maskValue(v any, mask func(string) string) any {
	switch v := v.(type) {
	case string:
		return mask(v)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[mask(k)] = maskValue(e, mask)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = maskValue(e, mask)
		}
		return out
	default:
		return v
	}
}

// NewFile assembles the file from records (sorted by name).
func NewFile(engineName string, caps engine.Capabilities, opts judge.Options, recs []*SpecRecord) *File {
	sort.Slice(recs, func(i, j int) bool { return recs[i].Name < recs[j].Name })
	rf := &File{
		Format: SchemaVersion, Engine: engineName, Version: caps.Version,
		Capabilities:      CapsRecord{CatchError: caps.Has(engine.CapCatchError), Context: caps.Has(engine.CapContext), Admission: caps.Has(engine.CapAdmission), Unsupported: caps.Unsupported},
		RequireCatchError: opts.RequireCatchError,
		Specs:             recs,
	}
	for _, r := range recs {
		switch r.Outcome {
		case engine.OutcomePass:
			rf.Summary.Pass++
		case engine.OutcomeFail:
			rf.Summary.Fail++
		case engine.OutcomeUnsupported:
			rf.Summary.Unsupported++
		}
	}
	return rf
}

// Write writes dir/results-<engine>.json.
func Write(dir string, rf *File) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("results folder: %w", err)
	}
	path := filepath.Join(dir, "results-"+rf.Engine+".json")
	b, err := json.MarshalIndent(rf, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encode results: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("write results: %w", err)
	}
	return path, nil
}

// Read reads a results file and checks its format.
func Read(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, b)
}

// Parse decodes a results file already read; name (its path) is
// used in errors.
func Parse(name string, data []byte) (*File, error) {
	var rf File
	if err := json.Unmarshal(data, &rf); err != nil {
		return nil, fmt.Errorf("%s: not a results file: %w", name, err)
	}
	if rf.Format != SchemaVersion {
		return nil, fmt.Errorf("%s: format %q, want %q", name, rf.Format, SchemaVersion)
	}
	return &rf, nil
}

// FailUnexplained turns the passes among recs into failures with message
// when none of them is a failure: recs are the records one test-framework
// spec checked, and that spec failed for a reason no record gives (an
// interrupt, a timeout, an assertion outside the checks), so no record of
// it may read as a pass. A failing record already explains the failure;
// then every record keeps its outcome.
func FailUnexplained(recs []*SpecRecord, message string) {
	for _, rec := range recs {
		if rec.Outcome == engine.OutcomeFail {
			return
		}
	}
	for _, rec := range recs {
		if rec.Outcome == engine.OutcomePass {
			rec.Outcome, rec.Reason = engine.OutcomeFail, message
		}
	}
}
