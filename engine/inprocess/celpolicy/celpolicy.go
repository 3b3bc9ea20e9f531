// Package celpolicy runs Kyverno's policies.kyverno.io policies
// (ValidatingPolicy, NamespacedValidatingPolicy, MutatingPolicy,
// NamespacedMutatingPolicy, ImageValidatingPolicy,
// NamespacedImageValidatingPolicy) in process with Kyverno's own CEL
// engines (pkg/cel/policies/{vpol,mpol,ivpol}/engine of the linked
// Kyverno), in the order and with the requests `kubectl-kyverno apply`
// v1.19.1 builds (cmd/cli/kubectl-kyverno/processor, commands/apply):
// MutatingPolicies on the resource as the kyverno.io policies left it,
// ValidatingPolicies on the result, ImageValidatingPolicies on the resource
// as given (HandleValidating only, as the CLI).
//
// Where it differs from the CLI, and why: image.GetMetadata reaches a
// registry (the CLI's CEL context is a fake without --cluster) through
// kyverno/sdk's image-data loader with the evaluation's registry access
// (imageDataContext), as Kyverno's controllers do with theirs.
//
// Kyverno v1.19.1 binds the CEL `image` library to the process-wide
// libs.LibraryContext when it compiles a ValidatingPolicy or a
// MutatingPolicy, and reads it again when it compiles an
// ImageValidatingPolicy per request. Compiles therefore set it to the
// evaluation's context under libraryContext (a write lock), and
// ImageValidatingPolicy requests hold it for their whole run: their
// matchConditions call image.GetMetadata on the value they compiled
// against (contextLock: one evaluation's context at a time, shared by
// its own requests).
package celpolicy

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	policiesv1beta1 "github.com/kyverno/api/api/policies.kyverno.io/v1beta1"
	clidata "github.com/kyverno/kyverno/cmd/cli/kubectl-kyverno/data"
	celengine "github.com/kyverno/kyverno/pkg/cel/engine"
	"github.com/kyverno/kyverno/pkg/cel/libs"
	"github.com/kyverno/kyverno/pkg/cel/matching"
	ivpolengine "github.com/kyverno/kyverno/pkg/cel/policies/ivpol/engine"
	mpolcompiler "github.com/kyverno/kyverno/pkg/cel/policies/mpol/compiler"
	mpolengine "github.com/kyverno/kyverno/pkg/cel/policies/mpol/engine"
	vpolcompiler "github.com/kyverno/kyverno/pkg/cel/policies/vpol/compiler"
	vpolengine "github.com/kyverno/kyverno/pkg/cel/policies/vpol/engine"
	"github.com/kyverno/kyverno/pkg/config"
	engineapi "github.com/kyverno/kyverno/pkg/engine/api"
	imageverifycache "github.com/kyverno/kyverno/pkg/image/verification/cache"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/openapi"
	"sigs.k8s.io/kubectl-validate/pkg/openapiclient"

	"github.com/imagectx/conformance/engine"
)

// libraryContext guards Kyverno's process-wide libs.LibraryContext (see
// the package comment).
var libraryContext = newContextLock()

// contextLock lets libs.LibraryContext hold one evaluation's context at a
// time: holders of the same context share it (the requests of one
// evaluation run concurrently), another context waits until none is held,
// and the value is written only then, so no compile reads it while it
// changes.
type contextLock struct {
	mu      sync.Mutex
	free    *sync.Cond
	owner   libs.Context
	holders int
}

func newContextLock() *contextLock {
	l := &contextLock{}
	l.free = sync.NewCond(&l.mu)
	return l
}

// hold sets libs.LibraryContext to lc (waiting while another context is
// held) and returns the function that releases it.
func (l *contextLock) hold(lc libs.Context) (release func()) {
	l.mu.Lock()
	for l.holders > 0 && l.owner != lc {
		l.free.Wait()
	}
	if l.holders == 0 {
		libs.LibraryContext, l.owner = lc, lc
	}
	l.holders++
	l.mu.Unlock()
	return sync.OnceFunc(func() {
		l.mu.Lock()
		if l.holders--; l.holders == 0 {
			l.free.Broadcast()
		}
		l.mu.Unlock()
	})
}

// Policies are the CEL policies of one batch, as Kyverno's CLI loader
// decodes them (clipolicy.LoaderResults).
type Policies struct {
	Validating      []policiesv1beta1.ValidatingPolicyLike
	Mutating        []policiesv1beta1.MutatingPolicyLike
	ImageValidating []policiesv1beta1.ImageValidatingPolicyLike
}

// Len is how many policies there are.
func (p Policies) Len() int { return len(p.Validating) + len(p.Mutating) + len(p.ImageValidating) }

// Append adds q's policies after p's.
func (p *Policies) Append(q Policies) {
	p.Validating = append(p.Validating, q.Validating...)
	p.Mutating = append(p.Mutating, q.Mutating...)
	p.ImageValidating = append(p.ImageValidating, q.ImageValidating...)
}

// Objects are every policy, Validating, Mutating, then ImageValidating.
func (p Policies) Objects() []metav1.Object {
	var out []metav1.Object
	for _, v := range p.Validating {
		out = append(out, v)
	}
	for _, m := range p.Mutating {
		out = append(out, m)
	}
	for _, i := range p.ImageValidating {
		out = append(out, i)
	}
	return out
}

// DeepCopy copies every policy.
func (p Policies) DeepCopy() Policies {
	var out Policies
	for _, v := range p.Validating {
		out.Validating = append(out.Validating, v.DeepCopyObject().(policiesv1beta1.ValidatingPolicyLike))
	}
	for _, m := range p.Mutating {
		out.Mutating = append(out.Mutating, m.DeepCopyObject().(policiesv1beta1.MutatingPolicyLike))
	}
	for _, i := range p.ImageValidating {
		out.ImageValidating = append(out.ImageValidating, i.DeepCopyObject().(policiesv1beta1.ImageValidatingPolicyLike))
	}
	return out
}

// RegistryAccess is one evaluation's way to registries
// (engine/inprocess/registry.Factory).
type RegistryAccess interface {
	// RemoteOptions are the options of the default client: keychain,
	// transport, user agent, ctx (registryclient.GlobalOptsOrDefault's
	// shape).
	RemoteOptions(ctx context.Context) []remote.Option
	// SecretLister resolves Secrets by namespace and name; nil when the
	// evaluation has none.
	SecretLister() corev1listers.SecretLister
}

// Evaluator runs one batch's CEL policies: compiled once, bound to the
// batch's registry access, safe for concurrent use across resources.
type Evaluator struct {
	libsCtx    *imageDataContext
	lister     corev1listers.SecretLister
	namespaces celengine.NamespaceResolver
	operation  string

	// vpols has one engine per ValidatingPolicy: they validate
	// concurrently (a policy's result does not depend on another's), so
	// a batch waits once for a slow registry, not once per policy.
	vpols []vpolengine.Engine
	// mpol is compiled once; Mutate makes an engine per resource, since
	// Kyverno's static type converter manager (and the OpenAPI client
	// under it) is not safe for concurrent use.
	mpol mpolengine.Provider
	// ivpols has one provider per ImageValidatingPolicy: they verify
	// concurrently, as vpols validate.
	ivpols []ivpolengine.Provider
	// ivCache is Kyverno's image verify cache the ImageValidatingPolicies
	// use; Kyverno's disabled one unless UseImageVerifyCache set another.
	ivCache imageverifycache.Client
}

// NewEvaluator compiles the policies with Kyverno's compilers, bound to
// access (CPU-bound: the caller's registry deadline starts afterwards,
// with Start). namespaceLabels are the labels of
// the resources' Namespaces by name. operation is CREATE, UPDATE or DELETE.
// Errors: a policy that does not compile (Kyverno's message, "failed to
// compile policy <name> (...)").
func NewEvaluator(p Policies, access RegistryAccess, namespaceLabels map[string]map[string]string, operation string) (*Evaluator, error) {
	lc := newImageDataContext(access)
	e := &Evaluator{libsCtx: lc, lister: access.SecretLister(), operation: operation,
		namespaces: namespaceResolver(namespaceLabels), ivCache: imageverifycache.DisabledImageVerifyCache()}
	defer libraryContext.hold(lc)()
	for _, pol := range p.Validating {
		provider, err := vpolengine.NewProvider(vpolcompiler.NewCompiler(), []policiesv1beta1.ValidatingPolicyLike{pol}, nil)
		if err != nil {
			return nil, err
		}
		e.vpols = append(e.vpols, vpolengine.NewEngine(provider, e.namespaces, matching.NewMatcher()))
	}
	if len(p.Mutating) > 0 {
		provider, err := mpolengine.NewProvider(mpolcompiler.NewCompiler(), p.Mutating, nil, lc)
		if err != nil {
			return nil, err
		}
		e.mpol = provider
	}
	for _, pol := range p.ImageValidating {
		provider, err := ivpolengine.NewProvider([]policiesv1beta1.ImageValidatingPolicyLike{pol}, nil)
		if err != nil {
			return nil, err
		}
		e.ivpols = append(e.ivpols, provider)
	}
	return e, nil
}

// UseImageVerifyCache gives the ImageValidatingPolicies Kyverno's image
// verify cache c (as its controllers give theirs one with
// --imageVerifyCacheEnabled); call it before VerifyImages.
func (e *Evaluator) UseImageVerifyCache(c imageverifycache.Client) { e.ivCache = c }

// Start binds every image lookup to ctx (the evaluation's registry
// deadline); call it once, before Mutate, Validate and VerifyImages.
func (e *Evaluator) Start(ctx context.Context) error { return e.libsCtx.bind(ctx) }

// openAPI is the schema source `kubectl-kyverno apply` gives the
// MutatingPolicy type converter without --cluster or CRD paths: Kyverno's
// embedded CRDs and Kubernetes 1.32's built-in types.
func openAPI() openapi.Client {
	clients := []openapi.Client{}
	if crds, err := clidata.Crds(); err == nil {
		clients = append(clients, openapiclient.NewLocalSchemaFiles(crds))
	}
	clients = append(clients, openapiclient.NewHardcodedBuiltins("1.32"))
	return openapiclient.NewComposite(clients...)
}

func namespaceResolver(labels map[string]map[string]string) celengine.NamespaceResolver {
	return func(name string) *corev1.Namespace {
		ns := &corev1.Namespace{}
		ns.Name = name
		ns.Labels = labels[name]
		return ns
	}
}

// request is the engine request the CLI builds for a resource.
func (e *Evaluator) request(resource *unstructured.Unstructured) celengine.EngineRequest {
	gvk := resource.GroupVersionKind()
	gvr, _ := meta.UnsafeGuessKindToResource(gvk)
	op, object, oldObject := admissionShape(e.operation, resource)
	return celengine.Request(e.libsCtx, gvk, gvr, "", resource.GetName(), resource.GetNamespace(), op,
		authenticationv1.UserInfo{}, object, oldObject, false, nil)
}

// admissionShape is the operation, object and oldObject the CLI gives a
// resource (v1.19.1 processor.AdmissionRequestShape): UPDATE compares the
// resource with itself, DELETE has only the old object.
func admissionShape(operation string, resource *unstructured.Unstructured) (admissionv1.Operation, runtime.Object, runtime.Object) {
	switch operation {
	case "UPDATE":
		return admissionv1.Update, resource, resource.DeepCopy()
	case "DELETE":
		return admissionv1.Delete, nil, resource.DeepCopy()
	}
	return admissionv1.Create, resource, nil
}

// Mutate runs the MutatingPolicies on resource and returns one response
// per policy that matched (PatchedResource: the resource after it) and the
// resource after all of them.
func (e *Evaluator) Mutate(ctx context.Context, resource unstructured.Unstructured) ([]engineapi.EngineResponse, unstructured.Unstructured, error) {
	if e.mpol == nil {
		return nil, resource, nil
	}
	eng := mpolengine.NewEngine(e.mpol, e.namespaces, matching.NewMatcher(),
		mpolcompiler.NewStaticTypeConverterManager(openAPI()), e.libsCtx)
	reps, err := eng.Handle(ctx, e.request(&resource), nil)
	if err != nil {
		return nil, resource, fmt.Errorf("failed to apply mutating policies on resource %s (%w)", resource.GetName(), err)
	}
	var out []engineapi.EngineResponse
	for _, r := range reps.Policies {
		if len(r.Rules) == 0 {
			continue
		}
		patched := *reps.Resource
		if reps.PatchedResource != nil {
			patched = *reps.PatchedResource
		}
		resp := engineapi.EngineResponse{Resource: *reps.Resource, PatchedResource: patched,
			PolicyResponse: engineapi.PolicyResponse{Rules: r.Rules}}
		out = append(out, resp.WithPolicy(engineapi.NewMutatingPolicyFromLike(r.Policy)))
		resource = patched
	}
	return out, resource, nil
}

// Validate runs the ValidatingPolicies on resource, concurrently: one
// response per policy that matched, in the policies' order.
func (e *Evaluator) Validate(ctx context.Context, resource unstructured.Unstructured) ([]engineapi.EngineResponse, error) {
	return eachPolicy(len(e.vpols), "ValidatingPolicy", func(i int) ([]engineapi.EngineResponse, error) {
		resource := resource.DeepCopy()
		reps, err := e.vpols[i].Handle(ctx, e.request(resource), nil)
		if err != nil {
			return nil, fmt.Errorf("failed to apply validating policies on resource %s (%w)", resource.GetName(), err)
		}
		var out []engineapi.EngineResponse
		for _, r := range reps.Policies {
			if len(r.Rules) == 0 {
				continue
			}
			resp := engineapi.EngineResponse{Resource: *reps.Resource, PolicyResponse: engineapi.PolicyResponse{Rules: r.Rules}}
			out = append(out, resp.WithPolicy(engineapi.NewValidatingPolicyFromLike(r.Policy)))
		}
		return out, nil
	})
}

// VerifyImages runs the ImageValidatingPolicies on resource (their
// validating half, as the CLI; digests are not patched), concurrently: one
// response per policy that gave a result, in the policies' order.
func (e *Evaluator) VerifyImages(ctx context.Context, resource unstructured.Unstructured) ([]engineapi.EngineResponse, error) {
	return eachPolicy(len(e.ivpols), "ImageValidatingPolicy", func(i int) ([]engineapi.EngineResponse, error) {
		resource := resource.DeepCopy()
		eng := ivpolengine.NewEngine(e.ivpols[i], e.namespaces, matching.NewMatcher(), e.lister,
			e.ivCache, config.NewDefaultConfiguration(false))
		// The request compiles the policy against libs.LibraryContext, and
		// its matchConditions call image.GetMetadata on what it held then,
		// so the evaluation's context is held for the whole request (no
		// hook of Kyverno's marks the end of the compile).
		release := libraryContext.hold(e.libsCtx)
		reps, err := eng.HandleValidating(ctx, e.request(resource), nil)
		release()
		if err != nil {
			return nil, fmt.Errorf("failed to apply image validating policies on resource %s (%w)", resource.GetName(), err)
		}
		var out []engineapi.EngineResponse
		for _, r := range reps.Policies {
			resp := engineapi.EngineResponse{Resource: *resource, PolicyResponse: engineapi.PolicyResponse{Rules: []engineapi.RuleResponse{r.Result}}}
			out = append(out, resp.WithPolicy(engineapi.NewImageValidatingPolicyFromLike(r.Policy)))
		}
		return out, nil
	})
}

// eachPolicy runs evaluate for policies 0..n-1 concurrently (a policy's
// result does not depend on another's) and returns their responses in
// that order, or the first policy's error; a panic in Kyverno's engine of
// kind is that policy's error.
func eachPolicy(n int, kind string, evaluate func(i int) ([]engineapi.EngineResponse, error)) ([]engineapi.EngineResponse, error) {
	perPolicy := make([][]engineapi.EngineResponse, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			defer func() {
				if v := recover(); v != nil {
					errs[i] = fmt.Errorf("Kyverno's %s engine: %w", kind, engine.Recovered(v))
				}
			}()
			perPolicy[i], errs[i] = evaluate(i)
		})
	}
	wg.Wait()
	var out []engineapi.EngineResponse
	for i := range perPolicy {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out = append(out, perPolicy[i]...)
	}
	return out, nil
}

// ImageValidatingInputs says whether cfg can be honoured for
// ImageValidatingPolicies applied to resources: Kyverno v1.19.1's image
// verification (pkg/cel/libs/imageverify) takes its registry options from
// the process (registryclient.GlobalOptsOrDefault: the global client's
// keychain and kyverno/sdk's default transport), so an evaluation's own
// docker-config logins and CA certificates cannot reach it, nor its proxy
// (which matters for an image on a host other than loopback). Such a
// request is engine.ErrUnsupportedInput; Secrets (the policy's
// credentials.secrets) are the evaluation's.
func ImageValidatingInputs(cfg engine.RegistryConfig, resources []*unstructured.Unstructured) error {
	var inputs []string
	if len(cfg.Credentials) > 0 {
		inputs = append(inputs, "docker-config logins")
	}
	if len(cfg.CACertsPEM) > 0 {
		inputs = append(inputs, "CA certificates")
	}
	if cfg.Proxy != "" {
		for _, r := range resources {
			if host, ok := nonLoopbackImage(r.Object); ok {
				inputs = append(inputs, "a proxy (for "+host+")")
				break
			}
		}
	}
	if len(inputs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: ImageValidatingPolicy in process: %s cannot be given to one evaluation; Kyverno v1.19.1's image verification reads the process-wide registry options (registryclient.GlobalOptsOrDefault)",
		engine.ErrUnsupportedInput, strings.Join(inputs, ", "))
}

// nonLoopbackImage finds an "image" field anywhere in obj naming a
// registry host that is not loopback (a parse error is no host).
func nonLoopbackImage(obj any) (string, bool) {
	switch v := obj.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "image" {
				if ref, err := name.ParseReference(s); err == nil && !loopback(ref.Context().RegistryStr()) {
					return ref.Context().RegistryStr(), true
				}
				continue
			}
			if host, ok := nonLoopbackImage(x); ok {
				return host, true
			}
		}
	case []any:
		for _, x := range v {
			if host, ok := nonLoopbackImage(x); ok {
				return host, true
			}
		}
	}
	return "", false
}

func loopback(registry string) bool {
	host := registry
	if h, _, err := net.SplitHostPort(registry); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
