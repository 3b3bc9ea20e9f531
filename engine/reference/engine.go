// Package reference is the reference policy engine: pure Go, in process,
// evaluating kyverno.io/v1 ClusterPolicy and Policy validate rules the way
// Kyverno v1.19.1 does around imageRegistry context entries (deferred
// loading, variable substitution, preconditions, deny, pattern, foreach,
// byte-identical messages), and implementing the proposed
// imageRegistry.catchError as DESIGN.md's contract decisions 1-4 say.
// See README.md for what is supported.
package reference

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/reference/jmespath"
)

// KyvernoVersion is the Kyverno release whose behaviour the engine follows.
const KyvernoVersion = "v1.19.1"

// Engine is the reference engine. It is safe for concurrent use.
type Engine struct {
	deferred    bool
	concurrency int
	queries     *queryCache
	fetcher     imageFetcher // nil: real registries
	decoded     *decodeCache
}

var _ engine.Engine = (*Engine)(nil)

// Option configures New.
type Option func(*Engine)

// WithDeferredLoading sets Kyverno's --enableDeferredLoading (default true).
// With false, every context entry loads before preconditions, and a failure
// reads "failed to load context: ...", even for an unreferenced entry.
func WithDeferredLoading(on bool) Option {
	return func(e *Engine) { e.deferred = on }
}

// WithConcurrency bounds how many policy x resource pairs one Evaluate
// works on at once (default 32; the work is mostly waiting on registries).
// An n below 1 is a programming error: it panics rather than being ignored.
func WithConcurrency(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("reference.WithConcurrency(%d): expected at least 1", n))
	}
	return func(e *Engine) { e.concurrency = n }
}

// WithJMESPathOptions passes options (such as a fixed clock) to the
// JMESPath evaluator.
func WithJMESPathOptions(opts ...jmespath.Option) Option {
	return func(e *Engine) { e.queries = &queryCache{jp: jmespath.New(opts...)} }
}

// withFetcher replaces registry access (benchmarks measure the engine
// alone with recorded registry answers).
func withFetcher(f imageFetcher) Option {
	return func(e *Engine) { e.fetcher = f }
}

// New returns a reference engine.
func New(opts ...Option) *Engine {
	e := &Engine{deferred: true, concurrency: 32, decoded: &decodeCache{}}
	for _, o := range opts {
		o(e)
	}
	if e.queries == nil {
		e.queries = &queryCache{jp: jmespath.New()}
	}
	return e
}

// Name is "reference".
func (e *Engine) Name() string { return "reference" }

// Capabilities: catchError and white-box context, no admission.
func (e *Engine) Capabilities(context.Context) (engine.Capabilities, error) {
	return engine.Capabilities{
		Version:    "reference (Kyverno " + KyvernoVersion + " semantics, " + runtime.Version() + ")",
		CatchError: true,
		Context:    true,
		Unsupported: map[string]string{
			"admission": "the reference engine evaluates in process; there is no API server or webhook",
		},
	}, nil
}

// Evaluate applies every policy to every resource. Pairs run concurrently;
// results come in a fixed order: policies in order, then rules, then
// resources. Evaluate returns only when every registry request it started
// has ended, and ctx bounds them all.
func (e *Engine) Evaluate(ctx context.Context, req engine.Request) ([]engine.Result, error) {
	var policies []*Policy
	for _, d := range req.Policies {
		ps, err := e.policies(d.File, d.Data)
		if err != nil {
			return nil, err
		}
		policies = append(policies, ps...)
	}
	var resources []*resource
	for _, d := range req.Resources {
		rs, err := e.resources(d.File, d.Data)
		if err != nil {
			return nil, err
		}
		resources = append(resources, rs...)
	}
	operation := req.Operation
	if operation == "" {
		operation = "CREATE"
	}
	switch operation {
	case "CREATE", "UPDATE", "DELETE", "CONNECT":
	default:
		return nil, fmt.Errorf("operation %q: expected CREATE, UPDATE, DELETE or CONNECT", req.Operation)
	}
	if !e.deferred {
		// Without deferred loading Kyverno extracts the images variable
		// when it creates the policy context, and the Kyverno CLI gives up
		// on the whole batch when an image does not parse.
		for _, r := range resources {
			if _, err := extractImages(r.kind, r.object); err != nil {
				return nil, fmt.Errorf("failed to apply policies on resource %s (failed to create policy context (%v))", r.name, err)
			}
		}
	}
	reg, err := newRegistrySession(req.Registry, e.fetcher)
	if err != nil {
		return nil, err
	}
	defer reg.close()

	// results[p][r] holds the per-rule results of policy p on resource r.
	results := make([][][]ruleOutcome, len(policies))
	var wg sync.WaitGroup
	sem := make(chan struct{}, e.concurrency)
	for pi, p := range policies {
		results[pi] = make([][]ruleOutcome, len(resources))
		for ri, r := range resources {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				results[pi][ri] = e.evaluatePairRecovered(ctx, reg, p, r, operation)
			}()
		}
	}
	wg.Wait()

	var out []engine.Result
	for pi, p := range policies {
		for rule := range p.Spec.Rules {
			for ri, r := range resources {
				o := results[pi][ri][rule]
				if !o.present {
					continue
				}
				out = append(out, engine.Result{
					Policy:   p.Metadata.Name,
					Rule:     p.Spec.Rules[rule].Name,
					Resource: engine.ResourceID{Kind: r.kind, Namespace: r.namespace, Name: r.name},
					Status:   o.status,
					Message:  o.message,
					Context:  o.context,
				})
			}
		}
	}
	return out, nil
}

// ruleOutcome is one rule's result on one resource; present is false when
// Kyverno reports nothing (rule not matched, foreach with no element).
type ruleOutcome struct {
	present bool
	status  engine.Status
	message string
	context map[string]any
}

// evaluatePairRecovered is evaluatePair run on its own goroutine: a bug must
// not take the caller's process down, so a panic makes every rule of the
// pair an error result saying so.
func (e *Engine) evaluatePairRecovered(ctx context.Context, reg *registrySession, p *Policy, r *resource, operation string) (out []ruleOutcome) {
	defer func() {
		if v := recover(); v != nil {
			out = make([]ruleOutcome, len(p.Spec.Rules))
			for i := range out {
				out[i] = ruleOutcome{present: true, status: engine.StatusError,
					message: fmt.Sprintf("internal error in the reference engine: %v", v)}
			}
		}
	}()
	return e.evaluatePair(ctx, reg, p, r, operation)
}

// evaluatePair runs every rule of a policy on one resource, in order.
func (e *Engine) evaluatePair(ctx context.Context, reg *registrySession, p *Policy, r *resource, operation string) []ruleOutcome {
	out := make([]ruleOutcome, len(p.Spec.Rules))
	policyNS := ""
	if p.Namespaced() {
		policyNS = p.Metadata.Namespace
		if policyNS == "" {
			policyNS = "default"
		}
	}
	object := deepCopy(r.object).(map[string]any)
	// As Kyverno's policy context: a DELETE carries only the old object.
	request := map[string]any{
		"operation": operation,
		"namespace": r.namespace,
	}
	if operation == "DELETE" {
		request["oldObject"] = object
	} else {
		request["object"] = object
	}
	for i := range p.Spec.Rules {
		if p.invalid != nil {
			// Kyverno refuses the policy; reported like the CLI driver does.
			out[i] = ruleOutcome{present: true, status: engine.StatusError, message: p.invalid.Error()}
			continue
		}
		rule := &p.Spec.Rules[i]
		ok, err := ruleMatches(rule, policyNS, r, operation)
		if err != nil {
			out[i] = ruleOutcome{present: true, status: engine.StatusError, message: err.Error()}
			continue
		}
		if !ok {
			continue
		}
		if t := rule.unsupportedType(); t != "" {
			out[i] = ruleOutcome{present: true, status: engine.StatusError,
				message: fmt.Sprintf("rule type %s is not supported by the reference engine (only validate rules are)", t)}
			continue
		}
		ec := newEvalContext(ctx, e, reg, request, operation)
		if err := ec.registerImages(r.kind, object); err != nil {
			out[i] = ruleOutcome{present: true, status: engine.StatusError, message: err.Error()}
			continue
		}
		resp := validateRule(ec, rule, object)
		if resp == nil {
			continue
		}
		out[i] = ruleOutcome{present: true, status: resp.status, message: resp.message, context: ec.loadedEntries()}
	}
	return out
}
