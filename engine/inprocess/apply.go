package inprocess

import (
	"context"
	"fmt"
	"strings"
	"sync"

	jsonpatchv5 "github.com/evanphx/json-patch/v5"
	"github.com/go-logr/logr"
	kyvernov1 "github.com/kyverno/kyverno/api/kyverno/v1"
	kyvernov2 "github.com/kyverno/kyverno/api/kyverno/v2"
	clireport "github.com/kyverno/kyverno/cmd/cli/kubectl-kyverno/report"
	clistore "github.com/kyverno/kyverno/cmd/cli/kubectl-kyverno/store"
	"github.com/kyverno/kyverno/pkg/config"
	kyvernoengine "github.com/kyverno/kyverno/pkg/engine"
	engineapi "github.com/kyverno/kyverno/pkg/engine/api"
	"github.com/kyverno/kyverno/pkg/engine/factories"
	"github.com/kyverno/kyverno/pkg/engine/jmespath"
	"github.com/kyverno/kyverno/pkg/engine/mutate/patch"
	"github.com/kyverno/kyverno/pkg/engine/policycontext"
	"github.com/kyverno/kyverno/pkg/exceptions"
	imageverifycache "github.com/kyverno/kyverno/pkg/image/verification/cache"
	"github.com/kyverno/kyverno/pkg/toggle"
	jsonutils "github.com/kyverno/kyverno/pkg/utils/json"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/inprocess/catcherror"
	"github.com/imagectx/conformance/engine/inprocess/celpolicy"
)

// batch is what every resource of one Evaluate shares.
type batch struct {
	policies  []kyvernov1.PolicyInterface
	flags     catcherror.Flags
	registry  engineapi.RegistryClientFactory
	operation string
	// namespaceLabels are the labels of the resources' Namespaces
	// (engine.Request.NamespaceLabels), for namespaceSelector matching.
	namespaceLabels map[string]map[string]string
	// configMaps answer configMap context entries.
	configMaps configMaps
	// client answers apiCall entries from the batch's resources, as
	// kubectl-kyverno apply's fake client does (resourceClient).
	client engineapi.Client
	// apiCalls holds the request's API answers (apiCallStore); nil
	// without any.
	apiCalls *clistore.Store
	// cel runs the batch's policies.kyverno.io policies; nil without any.
	cel      *celpolicy.Evaluator
	deferred bool
	logger   logr.Logger
	// cfg and jp are Kyverno's default configuration and JMESPath, shared
	// by the batch's goroutines as Kyverno's controllers share them.
	cfg config.Configuration
	jp  jmespath.Interface
	// ivCache is Kyverno's image verify cache: disabled (the CLI's), or
	// one enabled cache for the batch (imageVerifyCache).
	ivCache imageverifycache.Client
}

func newBatch(policies []kyvernov1.PolicyInterface, flags catcherror.Flags, reg engineapi.RegistryClientFactory,
	operation string, deferred bool, logger logr.Logger,
) *batch {
	cfg := config.NewDefaultConfiguration(false)
	return &batch{policies: policies, flags: flags, registry: reg, operation: operation, deferred: deferred,
		logger: logger, cfg: cfg, jp: jmespath.New(cfg), ivCache: imageverifycache.DisabledImageVerifyCache()}
}

// applyRecovered is apply on its own goroutine: a panic in Kyverno or here
// must not take the caller's process down; it fails the resource, which
// fails the batch with an *engine.PanicError (its value and frames), the
// evaluation's result.
func (b *batch) applyRecovered(ctx context.Context, r *resource) (out []engine.Result, err error) {
	defer func() {
		if v := recover(); v != nil {
			out, err = nil, engine.Recovered(v)
		}
	}()
	return b.apply(ctx, r)
}

// apply runs every policy on one resource the way the Kyverno CLI's
// processor (PolicyProcessor.ApplyPoliciesOnResource) does: mutate rules of
// every policy first, each on the previous one's patched resource, then
// verifyImages (with the verified-images annotation patch), then validate;
// then the report results of every response.
func (b *batch) apply(ctx context.Context, r *resource) ([]engine.Result, error) {
	if !b.deferred {
		ctx = toggle.NewContext(ctx, deferredLoading{Toggles: toggle.FromContext(ctx), on: false})
	}
	cfg, jp := b.cfg, b.jp
	rec := &recorder{}
	// Without ConfigMaps, no resolver, as kubectl-kyverno apply has none.
	var cmResolver engineapi.ConfigmapResolver
	if b.configMaps != nil {
		cmResolver = b.configMaps
	}
	base := factories.DefaultContextLoaderFactory(cmResolver)
	if b.apiCalls != nil {
		// kubectl-kyverno test's loader: answers first, then Kyverno's.
		base = clistore.ContextLoaderFactory(b.apiCalls, cmResolver)
	}
	loaders := rec.factory(catcherror.Factory(base, b.flags, b.logger))
	isCluster := false
	eng := kyvernoengine.NewEngine(cfg, jp, b.client, b.registry, b.ivCache,
		loaders, exceptions.New(noExceptions{}), &isCluster)

	resource := *r.object.DeepCopy()
	var responses []engineapi.EngineResponse
	for _, pol := range b.policies {
		if !pol.GetSpec().HasMutate() {
			continue
		}
		pc, err := b.policyContext(jp, cfg, resource, pol)
		if err != nil {
			return nil, err
		}
		resp := eng.Mutate(ctx, pc)
		responses = append(responses, resp)
		resource = resp.PatchedResource
	}
	for _, pol := range b.policies {
		if !pol.GetSpec().HasVerifyImages() {
			continue
		}
		pc, err := b.policyContext(jp, cfg, resource, pol)
		if err != nil {
			return nil, err
		}
		resp, verified := eng.VerifyAndPatchImages(ctx, pc)
		if !verified.IsEmpty() {
			if err := annotateVerifiedImages(&resp, verified, b.logger); err != nil {
				return nil, err
			}
		}
		responses = append(responses, resp)
		resource = resp.PatchedResource
	}
	validated, err := b.validate(ctx, eng, jp, cfg, resource)
	if err != nil {
		return nil, err
	}
	var mutated, celValidated, verified []engineapi.EngineResponse
	if b.cel != nil {
		// The CLI's order: MutatingPolicies on the resource as the
		// kyverno.io policies left it, ValidatingPolicies on the result,
		// ImageValidatingPolicies on the resource as given.
		if mutated, resource, err = b.cel.Mutate(ctx, resource); err != nil {
			return nil, err
		}
		if celValidated, err = b.cel.Validate(ctx, resource); err != nil {
			return nil, err
		}
		if verified, err = b.cel.VerifyImages(ctx, *r.object.DeepCopy()); err != nil {
			return nil, err
		}
	}
	// Mutate and verifyImages responses carry the resource their policy
	// patched; validate responses carry it unchanged, so only the first
	// ones report it.
	responses = append(responses, mutated...)
	patching := len(responses)
	responses = append(responses, validated...)
	responses = append(responses, celValidated...)
	responses = append(responses, verified...)

	var out []engine.Result
	for i, resp := range responses {
		var patched map[string]any
		if i < patching && len(resp.PatchedResource.Object) > 0 {
			// A mutate rule that errors leaves an empty resource.
			patched = resp.PatchedResource.DeepCopy().Object
		}
		for _, rule := range resp.PolicyResponse.Rules {
			rr := clireport.ComputePolicyReportResult(false, resp, rule)
			policy := rr.Policy
			if _, name, ok := strings.Cut(policy, "/"); ok {
				policy = name
			}
			out = append(out, engine.Result{
				Policy:   policy,
				Rule:     rr.Rule,
				Resource: r.id,
				Status:   engine.Status(rr.Result),
				Message:  rr.Description,
				Context:  rec.context(resp.Policy().GetNamespace(), resp.Policy().GetName(), rule.Name()),

				PatchedResource: patched,
			})
		}
	}
	return out, nil
}

// validate runs the validate rules of every policy on the resource. Unlike
// mutate and verifyImages, validation patches nothing (the CLI passes each
// response's unchanged PatchedResource on), so policies run concurrently:
// a batch of policies against a slow registry waits once, not once per
// policy, within the caller's deadline. Responses keep the policies' order.
func (b *batch) validate(ctx context.Context, eng engineapi.Engine, jp jmespath.Interface, cfg config.Configuration,
	resource unstructured.Unstructured,
) ([]engineapi.EngineResponse, error) {
	responses := make([]*engineapi.EngineResponse, len(b.policies))
	errs := make([]error, len(b.policies))
	var wg sync.WaitGroup
	for i, pol := range b.policies {
		if !hasValidateOrVerifyImageChecks(pol) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if v := recover(); v != nil {
					errs[i] = fmt.Errorf("validating policy %s: %w", pol.GetName(), engine.Recovered(v))
				}
			}()
			pc, err := b.policyContext(jp, cfg, *resource.DeepCopy(), pol)
			if err != nil {
				errs[i] = err
				return
			}
			resp := eng.Validate(ctx, pc)
			responses[i] = &resp
		}()
	}
	wg.Wait()
	var out []engineapi.EngineResponse
	for i, r := range responses {
		if errs[i] != nil {
			return nil, errs[i]
		}
		if r != nil {
			out = append(out, *r)
		}
	}
	return out, nil
}

// annotateVerifiedImages adds the kyverno.io/verify-images annotation patch
// to the response's patched resource, as the CLI's processor does.
func annotateVerifiedImages(resp *engineapi.EngineResponse, verified engineapi.ImageVerificationMetadata, logger logr.Logger) error {
	patches, err := verified.Patches(len(resp.PatchedResource.GetAnnotations()) != 0, logger)
	if err != nil {
		return err
	}
	if len(patches) == 0 {
		return nil
	}
	decoded, err := jsonpatchv5.DecodePatch(jsonutils.JoinPatches(patch.ConvertPatches(patches...)...))
	if err != nil {
		return err
	}
	doc, err := resp.PatchedResource.MarshalJSON()
	if err != nil {
		return err
	}
	patched, err := decoded.ApplyWithOptions(doc, &jsonpatchv5.ApplyOptions{SupportNegativeIndices: true, AllowMissingPathOnRemove: true, EnsurePathExistsOnAdd: true})
	if err != nil {
		return err
	}
	return resp.PatchedResource.UnmarshalJSON(patched)
}

func hasValidateOrVerifyImageChecks(p kyvernov1.PolicyInterface) bool {
	for _, rule := range p.GetSpec().Rules {
		if rule.HasValidate() || rule.HasVerifyImageChecks() {
			return true
		}
	}
	return false
}

// policyContext builds the policy context the CLI's processor builds for
// an operation given without a values file: the resource as request.object
// (request.oldObject too for UPDATE; only request.oldObject for DELETE).
func (b *batch) policyContext(jp jmespath.Interface, cfg config.Configuration, resource unstructured.Unstructured,
	pol kyvernov1.PolicyInterface,
) (*policycontext.PolicyContext, error) {
	op := kyvernov1.AdmissionOperation(b.operation)
	newResource := resource
	if op == kyvernov1.Delete {
		newResource = unstructured.Unstructured{}
	}
	pc, err := kyvernoengine.NewPolicyContext(jp, newResource, op, nil, cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to create policy context (%w)", err)
	}
	switch op {
	case kyvernov1.Update:
		old := resource.DeepCopy()
		pc = pc.WithOldResource(*old)
		if err := pc.JSONContext().AddOldResource(old.Object); err != nil {
			return nil, fmt.Errorf("failed to update old resource in json context (%w)", err)
		}
	case kyvernov1.Delete:
		pc = pc.WithOldResource(resource)
		if err := pc.JSONContext().AddOldResource(resource.Object); err != nil {
			return nil, fmt.Errorf("failed to update old resource in json context (%w)", err)
		}
		pc = pc.WithNewResource(unstructured.Unstructured{})
	}
	return pc.WithPolicy(pol).WithNamespaceLabels(b.namespaceLabels[resource.GetNamespace()]).WithResourceKind(resource.GroupVersionKind(), ""), nil
}

// deferredLoading overrides Kyverno's deferred-loading toggle for one
// evaluation (the flag is process-wide in Kyverno; the context carries it).
type deferredLoading struct {
	toggle.Toggles
	on bool
}

func (d deferredLoading) EnableDeferredLoading() bool { return d.on }

// noExceptions: a batch carries no PolicyException.
type noExceptions struct{}

func (noExceptions) List(labels.Selector) ([]*kyvernov2.PolicyException, error) { return nil, nil }
