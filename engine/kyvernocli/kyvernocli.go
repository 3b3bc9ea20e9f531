// Package kyvernocli drives a real Kyverno CLI binary (kubectl-kyverno) out
// of process: one `apply --registry -p --output-format json` run per
// Evaluate call covers every policy against every resource.
package kyvernocli

import (
	"context"
	"fmt"
	"maps"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/imagectx/conformance/engine"
)

// Name is how ENGINE= selects this engine.
const Name = "kyverno"

// Engine runs one kubectl-kyverno binary. It is safe for concurrent use:
// every Evaluate has its own temporary directory and process.
type Engine struct {
	bin      string
	env      map[string]string
	tmpDir   string
	maxProcs int
	slots    chan struct{} // one token per running CLI process

	capMu    sync.Mutex
	capKey   string // binary identity the cached capabilities belong to
	capCache engine.Capabilities
}

var _ engine.Engine = (*Engine)(nil)

// Option configures an Engine.
type Option func(*Engine)

// WithBinary sets the kubectl-kyverno binary to run. Without it, New uses
// $KYVERNO_CLI or the binary `make kyverno-cli` cached (see DefaultBinary).
func WithBinary(path string) Option { return func(e *Engine) { e.bin = path } }

// WithEnv adds a variable to the CLI's environment, for example
// FLAG_ENABLE_DEFERRED_LOADING=false. The environment is otherwise
// hermetic (see workdir.env).
func WithEnv(key, value string) Option {
	return func(e *Engine) { e.env[key] = value }
}

// WithTempDir sets where per-run directories are created (default: the
// system temporary directory).
func WithTempDir(dir string) Option { return func(e *Engine) { e.tmpDir = dir } }

// WithMaxProcesses caps how many CLI processes run at once (default: twice
// the number of CPUs: a start costs about 0.5 s of CPU, but a run against a
// slow or retrying registry mostly waits). Waiting for a slot does not use
// up a caller's deadline.
func WithMaxProcesses(n int) Option { return func(e *Engine) { e.maxProcs = n } }

// New returns an engine for an existing binary; it does not build one.
func New(opts ...Option) (*Engine, error) {
	e := &Engine{env: map[string]string{}, maxProcs: 2 * runtime.NumCPU()}
	for _, o := range opts {
		o(e)
	}
	if e.maxProcs < 1 {
		return nil, fmt.Errorf("kyvernocli: WithMaxProcesses(%d): want at least 1", e.maxProcs)
	}
	e.slots = make(chan struct{}, e.maxProcs)
	if e.bin == "" {
		bin, err := DefaultBinary(context.Background())
		if err != nil {
			return nil, err
		}
		e.bin = bin
	}
	st, err := os.Stat(e.bin)
	if err != nil {
		return nil, fmt.Errorf("kyverno CLI binary: %w", err)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("kyverno CLI binary %s: not an executable file", e.bin)
	}
	return e, nil
}

// Name implements engine.Engine.
func (e *Engine) Name() string { return Name }

// Binary is the kubectl-kyverno the engine runs.
func (e *Engine) Binary() string { return e.bin }

// Evaluate implements engine.Engine with one CLI run. Policies the CLI did
// not load (an unknown field such as catchError on v1.19.1, a policy that
// fails validation) come back as StatusError results for each of their
// rules and every resource given, never as a pass or as nothing.
func (e *Engine) Evaluate(ctx context.Context, req engine.Request) ([]engine.Result, error) {
	if len(req.Registry.ImagePullSecrets) > 0 {
		return nil, fmt.Errorf("kyvernocli: RegistryConfig.ImagePullSecrets given (%d), but kubectl-kyverno apply has no --imagePullSecrets "+
			"flag and no Secret lister; check Capabilities().Unsupported[%q]", len(req.Registry.ImagePullSecrets), engine.CapImagePullSecrets)
	}
	if req.Registry.ImageVerifyCacheEnabled {
		return nil, fmt.Errorf("kyvernocli: RegistryConfig.ImageVerifyCacheEnabled given, but kubectl-kyverno always runs "+
			"Kyverno's disabled image verify cache; check Capabilities().Unsupported[%q]", engine.CapImageVerifyCache)
	}
	if len(req.APICallResponses) > 0 {
		return nil, fmt.Errorf("kyvernocli: Request.APICallResponses given (%d), but kubectl-kyverno apply takes no apiCallResponses "+
			"(kubectl-kyverno test does); check Capabilities().Unsupported[%q]", len(req.APICallResponses), engine.CapAPICallResponses)
	}
	if len(req.Registry.Secrets) > 0 {
		return nil, fmt.Errorf("kyvernocli: RegistryConfig.Secrets given (%d), but kubectl-kyverno apply has no secret lister "+
			"and ignores imageRegistryCredentials.secrets; check Capabilities().Unsupported[%q]", len(req.Registry.Secrets), engine.CapSecrets)
	}
	if len(req.Policies) == 0 {
		return nil, fmt.Errorf("kyvernocli: no policies given")
	}
	if len(req.Resources) == 0 {
		return nil, fmt.Errorf("kyvernocli: no resources given")
	}
	op, err := normalizeOperation(req.Operation)
	if err != nil {
		return nil, err
	}
	// ConfigMaps go in as per-rule values (see configmaps.go); an entry
	// the CLI cannot answer as a cluster would makes the request
	// unsupported before a process slot is taken.
	var cmValues []valuesPolicy
	if len(req.ConfigMaps) > 0 {
		if cmValues, err = configMapValues(req.Policies, req.ConfigMaps); err != nil {
			return nil, err
		}
	}
	queued := time.Now()
	ctx, release, err := e.slot(ctx)
	if err != nil {
		return nil, fmt.Errorf("kyvernocli: waiting for a process slot: %w", err)
	}
	defer release()
	wait := time.Since(queued)
	wd, err := newWorkdir(e.tmpDir)
	if err != nil {
		return nil, err
	}
	defer wd.Remove()

	pols, err := writePolicies(wd, req.Policies)
	if err != nil {
		return nil, err
	}
	ress, err := writeResources(wd, req.Resources)
	if err != nil {
		return nil, err
	}
	env, err := wd.env(req.Registry, e.env)
	if err != nil {
		return nil, err
	}
	args := []string{"apply"}
	for _, p := range pols {
		args = append(args, p.Path)
	}
	for _, r := range ress {
		args = append(args, "--resource", r.Path)
	}
	args = append(args, "--registry", "--policy-report", "--output-format", "json", "--remove-color",
		// Level 3 is where v1.19.1 logs a policy file it skipped.
		"-v=3")
	if op != "CREATE" || len(req.NamespaceLabels) > 0 || len(cmValues) > 0 {
		values, err := valuesFile(op, req.NamespaceLabels, cmValues)
		if err != nil {
			return nil, err
		}
		p, err := wd.writeFile(values, "values.yaml")
		if err != nil {
			return nil, err
		}
		args = append(args, "--values-file", p)
	}
	run, err := runCLI(ctx, e.bin, args, env, wd.path("tmp"))
	if err != nil {
		budget := "none"
		if dl, ok := ctx.Deadline(); ok {
			budget = dl.Sub(queued.Add(wait)).Round(time.Millisecond).String()
		}
		return nil, fmt.Errorf("kyvernocli: %w (deadline budget %s after %s waiting for a process slot)", err, budget, wait.Round(time.Millisecond))
	}
	return interpretApply(run, pols, ress)
}

// valuesFile is the CLI's values file (cli.kyverno.io/v1alpha1 Values) for
// an operation other than CREATE (globalValues request.operation), the
// labels of the resources' Namespaces (namespaceSelector) and the
// ConfigMaps configMap context entries read (policies[].rules[].values,
// from configMapValues), which kubectl-kyverno apply has no cluster to
// read them from.
func valuesFile(op string, namespaces map[string]map[string]string, policies []valuesPolicy) ([]byte, error) {
	type namespaceSelector struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	}
	v := struct {
		APIVersion        string              `json:"apiVersion"`
		Kind              string              `json:"kind"`
		GlobalValues      map[string]string   `json:"globalValues,omitempty"`
		Policies          []valuesPolicy      `json:"policies,omitempty"`
		NamespaceSelector []namespaceSelector `json:"namespaceSelector,omitempty"`
	}{APIVersion: "cli.kyverno.io/v1alpha1", Kind: "Values", Policies: policies}
	if op != "CREATE" {
		v.GlobalValues = map[string]string{"request.operation": op}
	}
	for _, name := range slices.Sorted(maps.Keys(namespaces)) {
		v.NamespaceSelector = append(v.NamespaceSelector, namespaceSelector{Name: name, Labels: namespaces[name]})
	}
	out, err := yaml.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("kyvernocli: values file: %w", err)
	}
	return out, nil
}

// interpretApply turns one apply run into results, checking that every
// policy given was loaded.
func interpretApply(run runResult, pols []policyDoc, ress []resourceDoc) ([]engine.Result, error) {
	out, err := parseApplyOutput(run.Stdout)
	if err != nil {
		return nil, fmt.Errorf("kyvernocli: %w\n%s", err, stderrSummary(run.Stderr))
	}
	if run.ExitCode != 0 && run.ExitCode != 1 {
		return nil, fmt.Errorf("kyvernocli: apply exited %d\n%s", run.ExitCode, stderrSummary(run.Stderr))
	}
	dropped, err := droppedPolicies(run.Stderr, pols)
	if err != nil {
		return nil, fmt.Errorf("kyvernocli: %w", err)
	}
	if run.ExitCode == 1 && len(out.Reports) == 0 && len(out.Skipped) == 0 {
		// Exit 1 without a report: the run failed before applying (bad
		// resource file, loader error), not a rule result.
		return nil, fmt.Errorf("kyvernocli: apply exited 1 without a report\n%s", stderrSummary(run.Stderr))
	}
	// Stdout that is neither a report, a mutated resource, a skip list nor
	// a warning may be a report the driver could not read: reading that as
	// "no result" would pass `result: none` rows untested. (No report at
	// all is what the CLI prints when no rule matched.)
	for _, l := range out.Other {
		if !strings.HasPrefix(strings.TrimSpace(l), "Warning:") {
			return nil, fmt.Errorf("kyvernocli: apply exited %d; stdout has a line the driver cannot read: %q\n%s",
				run.ExitCode, l, stderrSummary(run.Stderr))
		}
	}
	results, err := out.results()
	if err != nil {
		return nil, fmt.Errorf("kyvernocli: %w", err)
	}

	byName := map[string]*policyDoc{}
	for i := range pols {
		byName[pols[i].Name] = &pols[i]
	}
	for _, r := range results {
		p, ok := byName[r.Policy]
		if !ok {
			return nil, fmt.Errorf("kyvernocli: the report names policy %q, which was not given", r.Policy)
		}
		if !p.hasRule(r.Rule) {
			return nil, fmt.Errorf("kyvernocli: the report names rule %q of policy %q (%s), which has rules %v", r.Rule, r.Policy, p.where(), p.Rules)
		}
	}
	// A policy the CLI did not load was evaluated against nothing, so
	// whether it matches a resource is unknown: it gets an error result for
	// every rule and every resource given.
	seen := map[string]bool{}
	policyError := func(p policyDoc, msg string) {
		seen[p.Name] = true
		rules := p.Rules
		if len(rules) == 0 {
			rules = []string{""}
		}
		for _, rule := range rules {
			for _, r := range ress {
				results = append(results, engine.Result{Policy: p.Name, Rule: rule, Resource: r.ID, Status: engine.StatusError, Message: msg})
			}
		}
	}
	for _, d := range dropped {
		policyError(d.policy, fmt.Sprintf("policy not loaded by the Kyverno CLI: %s", d.reason))
	}
	for _, s := range out.Skipped {
		p, ok := byName[s.Name]
		if !ok {
			return nil, fmt.Errorf("kyvernocli: the CLI skipped policy %q, which was not given: %s", s.Name, s.Reason)
		}
		if !seen[p.Name] {
			policyError(*p, s.Reason)
		}
	}
	engine.SortResults(results)
	return results, nil
}

func (p policyDoc) hasRule(rule string) bool {
	_, ok := engine.AutogenRule(rule, p.Rules)
	return ok
}

type droppedPolicy struct {
	policy policyDoc
	reason string
}

// logErrorLine matches an error line of the CLI's level-3 log
// ("2026-11-25T22:28:59Z ERR pkg/file.go:42 > ...").
var logErrorLine = regexp.MustCompile(`^\S+ ERR `)

// ansiEscape matches the colour codes the CLI's logger writes.
var ansiEscape = regexp.MustCompile("\x1b\\[[0-9;]*m")

func stripANSI(b []byte) string { return ansiEscape.ReplaceAllString(string(b), "") }

var logError = regexp.MustCompile(`(?:err|error)="((?:[^"\\]|\\.)*)"`)

// droppedPolicies finds the policy files the CLI logged as skipped (at
// -v 3: "skipping invalid YAML file", or "Non-fatal parsing error"). A
// skip line naming no given file is an error: something was dropped and
// cannot be attributed.
func droppedPolicies(stderr []byte, pols []policyDoc) ([]droppedPolicy, error) {
	var out []droppedPolicy
	found := map[string]bool{}
	for _, line := range strings.Split(stripANSI(stderr), "\n") {
		if !strings.Contains(line, "skipping invalid YAML file") && !strings.Contains(line, "Non-fatal parsing error") {
			continue
		}
		matched := false
		for _, p := range pols {
			if !strings.Contains(line, p.Path) {
				continue
			}
			matched = true
			if found[p.Path] {
				continue
			}
			found[p.Path] = true
			reason := strings.TrimSpace(line)
			if m := logError.FindStringSubmatch(line); m != nil {
				if s, err := strconv.Unquote(`"` + m[1] + `"`); err == nil {
					reason = s
				}
			}
			out = append(out, droppedPolicy{policy: p, reason: strings.ReplaceAll(reason, p.Path, p.where())})
		}
		if !matched {
			return nil, fmt.Errorf("the CLI skipped a document it cannot attribute to a given policy: %s", strings.TrimSpace(line))
		}
	}
	return out, nil
}

// stderrSummary keeps the lines of stderr that explain a failure: cobra's
// "Error:" lines, or the last few lines. Level-3 logs are long.
func stderrSummary(stderr []byte) string {
	lines := strings.Split(strings.TrimRight(stripANSI(stderr), "\n"), "\n")
	var errs []string
	for _, l := range lines {
		if strings.HasPrefix(l, "Error:") || logErrorLine.MatchString(l) {
			errs = append(errs, l)
		}
	}
	if len(errs) == 0 {
		if len(lines) > 10 {
			lines = lines[len(lines)-10:]
		}
		errs = lines
	}
	if len(errs) > 20 {
		errs = errs[len(errs)-20:]
	}
	return "stderr:\n" + strings.Join(errs, "\n")
}

func normalizeOperation(op string) (string, error) {
	switch strings.ToUpper(op) {
	case "":
		return "CREATE", nil
	case "CREATE", "UPDATE", "DELETE":
		return strings.ToUpper(op), nil
	}
	return "", fmt.Errorf("kyvernocli: Request.Operation %q: expected CREATE, UPDATE or DELETE", op)
}

// writePolicies writes every policy document to a file of its own.
func writePolicies(wd *workdir, docs []engine.Document) ([]policyDoc, error) {
	var pols []policyDoc
	names := map[string]string{}
	for _, d := range docs {
		for _, yd := range splitDocuments(d) {
			m, err := readMeta(yd)
			if err != nil {
				return nil, fmt.Errorf("policy %w", err)
			}
			key := m.Metadata.Namespace + "/" + m.Metadata.Name
			if prev, dup := names[key]; dup {
				return nil, fmt.Errorf("policy %s: name %q is also used at %s; results are keyed by policy name", yd.where(), m.Metadata.Name, prev)
			}
			names[key] = yd.where()
			p := policyDoc{yamlDoc: yd, Name: m.Metadata.Name, Namespace: m.Metadata.Namespace, Kind: m.Kind}
			if isKyvernoPolicy(m) {
				for i, r := range m.Spec.Rules {
					if r.Name == "" {
						return nil, fmt.Errorf("policy %s: field spec.rules[%d].name: missing", yd.where(), i)
					}
					p.Rules = append(p.Rules, r.Name)
				}
			}
			data, err := blockStyle(yd)
			if err != nil {
				return nil, fmt.Errorf("policy %w", err)
			}
			p.Path, err = wd.writeFile(data, "policies", fmt.Sprintf("p%04d-%s.yaml", len(pols), fileSafe(p.Name)))
			if err != nil {
				return nil, err
			}
			pols = append(pols, p)
		}
	}
	if len(pols) == 0 {
		return nil, fmt.Errorf("kyvernocli: the policy documents hold no YAML document")
	}
	return pols, nil
}

// writeResources writes every resource document to a file of its own.
func writeResources(wd *workdir, docs []engine.Document) ([]resourceDoc, error) {
	var out []resourceDoc
	ids := map[engine.ResourceID]string{}
	for _, d := range docs {
		for _, yd := range splitDocuments(d) {
			m, err := readMeta(yd)
			if err != nil {
				return nil, fmt.Errorf("resource %w", err)
			}
			id := engine.ResourceID{Kind: m.Kind, Namespace: m.Metadata.Namespace, Name: m.Metadata.Name}
			if prev, dup := ids[id]; dup {
				return nil, fmt.Errorf("resource %s: %s is also defined at %s; results are keyed by resource", yd.where(), id, prev)
			}
			ids[id] = yd.where()
			data, err := blockStyle(yd)
			if err != nil {
				return nil, fmt.Errorf("resource %w", err)
			}
			p, err := wd.writeFile(data, "resources", fmt.Sprintf("r%04d-%s.yaml", len(out), fileSafe(m.Metadata.Name)))
			if err != nil {
				return nil, err
			}
			out = append(out, resourceDoc{yamlDoc: yd, ID: id, Path: p})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("kyvernocli: the resource documents hold no YAML document")
	}
	return out, nil
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func fileSafe(s string) string {
	s = unsafeChars.ReplaceAllString(s, "_")
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}

// sortResults orders results for stable output and tests.
