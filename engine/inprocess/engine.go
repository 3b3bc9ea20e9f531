// Package inprocess is the default engine: Kyverno's own engine
// (github.com/kyverno/kyverno/pkg/engine, the version go.mod pins, or a
// checkout linked in its place) run in process, driven the way
// `kubectl-kyverno apply --registry --policy-report` drives it, with
// imageRegistry.catchError implemented by this project's context loader
// (package catcherror) when the linked Kyverno does not have the field.
//
// What comes from Kyverno: policy decoding and schema checks (the CLI's
// policy loader), policy validation, autogen, matching, every context entry
// type, mutate, verifyImages and validate rules, and the report results
// (status and message) the CLI prints. What is this project's: the order of
// calls (mirroring the CLI's processor, whose context loader cannot be
// replaced), the catchError loader, and the request's registry access
// (package registry).
package inprocess

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/go-logr/logr"
	kyvernoengine "github.com/kyverno/kyverno/pkg/engine"
	"github.com/kyverno/kyverno/pkg/engine/adapters"
	imageverifycache "github.com/kyverno/kyverno/pkg/image/verification/cache"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/inprocess/catcherror"
	"github.com/imagectx/conformance/engine/inprocess/celpolicy"
	"github.com/imagectx/conformance/engine/inprocess/registry"
)

// Name is how ENGINE= selects this engine.
const Name = "inprocess"

const kyvernoModule = "github.com/kyverno/kyverno"

// Engine evaluates policies with Kyverno's engine in process. It is safe for
// concurrent use; every Evaluate has its own registry access and engines.
type Engine struct {
	deferred    bool
	concurrency int
	logger      logr.Logger
	decoded     *policyCache
}

var _ engine.Engine = (*Engine)(nil)

// Option configures New.
type Option func(*Engine)

// WithDeferredLoading sets Kyverno's deferred context loading (its
// --enableDeferredLoading flag, default true). With false every entry loads
// before the rule runs and a failure reads "failed to load context: ...".
func WithDeferredLoading(on bool) Option { return func(e *Engine) { e.deferred = on } }

// WithConcurrency bounds how many resources one Evaluate works on at once
// (default 16: the work mostly waits on registries). n < 1 panics.
func WithConcurrency(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("inprocess.WithConcurrency(%d): expected at least 1", n))
	}
	return func(e *Engine) { e.concurrency = n }
}

// WithLogger receives the logs of the catchError loader (default: discarded).
func WithLogger(l logr.Logger) Option { return func(e *Engine) { e.logger = l } }

// New returns the in-process engine.
func New(opts ...Option) *Engine {
	e := &Engine{deferred: true, concurrency: 16, logger: logr.Discard(), decoded: &policyCache{}}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Name implements engine.Engine.
func (e *Engine) Name() string { return Name }

// linkedCheckout names the Kyverno checkout linked in place of the pinned
// module ("<path> at <commit>"), set with -ldflags -X by the Makefile's
// KYVERNO_SRC build: a -trimpath test binary has no module list and names
// a replaced module's files by the version it replaces.
var linkedCheckout string

// KyvernoVersion is the linked Kyverno module's version, with its
// replacement when one is linked in its place ("v1.19.1", or
// "v1.19.1 => /src/kyverno"). Test binaries carry no module list, so the
// source path of Kyverno's engine package (module cache "...@v1.19.1/...",
// or a checkout's directory) is the fallback.
func KyvernoVersion() string {
	if linkedCheckout != "" {
		return "checkout " + linkedCheckout
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, m := range info.Deps {
			if m.Path != kyvernoModule {
				continue
			}
			if m.Replace != nil {
				return fmt.Sprintf("%s => %s %s", m.Version, m.Replace.Path, m.Replace.Version)
			}
			return m.Version
		}
	}
	file, _ := runtime.FuncForPC(reflect.ValueOf(kyvernoengine.NewEngine).Pointer()).FileLine(0)
	dir := strings.TrimSuffix(file, "/pkg/engine/engine.go")
	if _, v, ok := strings.Cut(dir, kyvernoModule+"@"); ok {
		return v
	}
	if dir != file {
		return "source " + dir
	}
	return "unknown"
}

// Capabilities implements engine.Engine: catchError (this project's loader,
// or Kyverno's own when the linked API has the field), the rule context, a
// client deadline and secrets; no admission.
func (e *Engine) Capabilities(context.Context) (engine.Capabilities, error) {
	loader := "catchError by this project's context loader"
	if catcherror.Native() {
		loader = "catchError by Kyverno's own loader"
	}
	return engine.Capabilities{
		Version: fmt.Sprintf("Kyverno %s in process (%s)", KyvernoVersion(), loader),
		Unsupported: map[engine.Capability]string{
			engine.CapAdmission: "the in-process engine calls Kyverno's engine directly; there is no API server or webhook",
		},
	}, nil
}

// Evaluate applies every policy to every resource, as one
// `kubectl-kyverno apply --registry` run would, and returns the report
// results in a fixed order (policy, rule, resource). ctx bounds every
// registry request (its time counted from when the policies are decoded). An error means the batch could not be evaluated: a
// document that does not decode (its file, line and field), an operation
// other than CREATE, UPDATE or DELETE, or a resource Kyverno cannot build a
// policy context for (the CLI's "failed to apply policies on resource ...").
// With req.Registry.ImageVerifyCacheEnabled, the resources are applied one
// after the other, in the request's order, sharing one Kyverno image verify
// cache (imageVerifyCache); otherwise concurrently, with the CLI's disabled
// cache.
func (e *Engine) Evaluate(ctx context.Context, req engine.Request) ([]engine.Result, error) {
	budget := engine.BudgetOf(ctx)
	op, err := operation(req.Operation)
	if err != nil {
		return nil, err
	}
	var flags catcherror.Flags
	loaded, err := e.decoded.loadPolicies(req.Policies, !catcherror.Native(), &flags)
	if err != nil {
		return nil, err
	}
	resources, err := loadResources(req.Resources)
	if err != nil {
		return nil, err
	}
	if loaded.len() == 0 {
		return nil, fmt.Errorf("inprocess: no policies given")
	}
	if len(loaded.cel.ImageValidating) > 0 {
		objects := make([]*unstructured.Unstructured, 0, len(resources))
		for _, r := range resources {
			objects = append(objects, r.object)
		}
		if err := celpolicy.ImageValidatingInputs(req.Registry, objects); err != nil {
			return nil, err
		}
	}
	ivCache := imageverifycache.DisabledImageVerifyCache() // the CLI's
	if req.Registry.ImageVerifyCacheEnabled {
		// Before the CEL policies compile: it gives every policy its UID.
		if ivCache, err = imageVerifyCache(loaded, e.logger); err != nil {
			return nil, err
		}
	}
	rcf, err := registry.NewFactory(req.Registry)
	if err != nil {
		return nil, fmt.Errorf("inprocess: %w", err)
	}
	defer rcf.Close()
	var cel *celpolicy.Evaluator
	if loaded.cel.Len() > 0 {
		// Compiling is CPU-bound setup, before the registry deadline starts.
		if cel, err = celpolicy.NewEvaluator(loaded.cel, rcf, req.NamespaceLabels, op); err != nil {
			return nil, fmt.Errorf("inprocess: %w", err)
		}
	}
	// The caller's deadline bounds the registry work, counted from here,
	// after the CPU-bound decoding (as the CLI driver counts it from the
	// process start; see engine.Budget).
	ctx, cancel := budget.Start(ctx)
	defer cancel()

	cms, err := loadConfigMaps(req.ConfigMaps)
	if err != nil {
		return nil, err
	}
	if err := checkContextEntries(loaded.valid, req.APICallResponses); err != nil {
		return nil, err
	}
	client, err := resourceClient(resources)
	if err != nil {
		return nil, err
	}
	answers, err := apiCallStore(req.APICallResponses)
	if err != nil {
		return nil, err
	}
	run := newBatch(loaded.valid, flags, rcf, op, e.deferred, e.logger)
	run.client, run.apiCalls, run.ivCache = adapters.Client(client), answers, ivCache
	concurrency := e.concurrency
	if req.Registry.ImageVerifyCacheEnabled {
		// A cached verification is seen by the resources after it: they
		// are admitted one after the other, in the request's order.
		concurrency = 1
	}
	run.namespaceLabels = req.NamespaceLabels
	if cel != nil {
		if err := cel.Start(ctx); err != nil {
			return nil, fmt.Errorf("inprocess: %w", err)
		}
		cel.UseImageVerifyCache(ivCache)
		run.cel = cel
	}
	run.configMaps = cms
	perResource := make([][]engine.Result, len(resources))
	errs := make([]error, len(resources))
	var wg sync.WaitGroup
	sem := make(chan struct{}, concurrency)
	for i, r := range resources {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			perResource[i], errs[i] = run.applyRecovered(ctx, r)
		}()
	}
	wg.Wait()

	var out []engine.Result
	for i, r := range resources {
		if errs[i] != nil {
			// The CLI stops at the first resource that fails (no --continue-on-fail).
			return nil, fmt.Errorf("failed to apply policies on resource %s (%w)", r.object.GetName(), errs[i])
		}
		out = append(out, perResource[i]...)
	}
	for _, p := range loaded.refused {
		out = append(out, p.results(resources)...)
	}
	engine.SortResults(out)
	return out, nil
}

func operation(op string) (string, error) {
	switch strings.ToUpper(op) {
	case "", "CREATE":
		return "CREATE", nil
	case "UPDATE", "DELETE":
		return strings.ToUpper(op), nil
	}
	return "", fmt.Errorf("inprocess: Request.Operation %q: expected CREATE, UPDATE or DELETE", op)
}
