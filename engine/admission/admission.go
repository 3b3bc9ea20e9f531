// Package admission is an engine.Engine that evaluates a batch in a real
// cluster: it creates the batch's policies and resources through the API
// server, so Kyverno's admission controller sees them as it sees a user's,
// and reads the rule results from the PolicyReports Kyverno's reports
// controller writes. It answers admission requests (engine.AdmissionEngine):
// each resource's create gives the API server's answer (allowed, or denied
// with its text, the warnings, how long it took).
//
// Every evaluation gets a Namespace of its own; the batch's policies become
// namespaced Policies there (a ClusterPolicy would see every other
// evaluation's resources) and its resources are created there. Results and
// answers are given back in the batch's terms: policy names without the
// namespace, resources in the namespace the batch named, and that name in
// place of the evaluation's Namespace in every message, warning and
// annotation (so a text reads as for a Policy in the resource's namespace). The cluster comes
// from any provider of e2e/cluster (a rest.Config); see e2e/README.md.
package admission

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/policykind"
)

// Process is the process a PolicyReport result names in its properties
// (Kyverno's reports controller): which evaluation of a policy the result
// comes from.
type Process string

const (
	// ProcessAdmission: the admission review of a resource being created.
	ProcessAdmission Process = "admission review"
	// ProcessBackgroundScan: the reports controller's scan of resources
	// that exist; the engine creates the resources before the policies.
	ProcessBackgroundScan Process = "background scan"
)

// Engine names, as ENGINE= and the results files name them.
const (
	NameAdmission      = "admission"
	NameBackgroundScan = "background-scan"
)

var (
	reportGVR = schema.GroupVersionResource{Group: "wgpolicyk8s.io", Version: "v1alpha2", Resource: "policyreports"}
	crdGVR    = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

// Options configure an Engine.
type Options struct {
	// Process selects the PolicyReport results that are the engine's
	// (default ProcessAdmission).
	Process Process
	// AuditCopies makes every validate rule audit (failureAction Audit),
	// so each rule result reaches the PolicyReport whatever the policy
	// enforces, and sets spec.background to whether the process is the
	// background scan. Off: policies are applied as written.
	AuditCopies bool
	// WebhookTimeout is the timeoutSeconds the controllers give their
	// webhooks; the engine checks it when it waits for a policy's
	// webhooks, and reports it in Capabilities (required).
	WebhookTimeout time.Duration
	// Version describes the Kyverno build, e.g. "v1.19.1".
	Version string
	// Proxy is the HTTPS_PROXY the controllers were started with ("" for
	// none). A request must name the same proxy: the engine cannot give
	// the controllers another.
	Proxy string
	// TrustedCAs are the CA certificates (PEM) the controllers trust
	// besides the system roots; a request's CACertsPEM must be among them.
	TrustedCAs [][]byte
	// ReportTimeout bounds the wait for a request's expected results
	// (default 2 minutes).
	ReportTimeout time.Duration
	// Log receives progress lines (the API server's warnings on setup
	// calls); nil discards them.
	Log io.Writer
}

// Engine is an admission engine over one cluster. It is safe for
// concurrent use: evaluations do not share a Namespace.
type Engine struct {
	cfg  *rest.Config
	cs   kubernetes.Interface
	dyn  dynamic.Interface
	opts Options
}

// New connects to the cluster cfg names.
func New(cfg *rest.Config, opts Options) (*Engine, error) {
	if opts.Process == "" {
		opts.Process = ProcessAdmission
	}
	if opts.Process != ProcessAdmission && opts.Process != ProcessBackgroundScan {
		return nil, fmt.Errorf("admission: Options.Process %q: want %q or %q", opts.Process, ProcessAdmission, ProcessBackgroundScan)
	}
	if opts.WebhookTimeout <= 0 {
		return nil, errors.New("admission: Options.WebhookTimeout: want the controllers' webhook timeout (> 0)")
	}
	if opts.ReportTimeout == 0 {
		opts.ReportTimeout = 2 * time.Minute
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	cfg = rest.CopyConfig(cfg)
	cfg.WarningHandlerWithContext = logWarnings{opts.Log}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("admission: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("admission: %w", err)
	}
	return &Engine{cfg: cfg, cs: cs, dyn: dyn, opts: opts}, nil
}

// Name is "admission", or "background-scan" for ProcessBackgroundScan.
func (e *Engine) Name() string {
	if e.opts.Process == ProcessBackgroundScan {
		return NameBackgroundScan
	}
	return NameAdmission
}

// Capabilities are what the webhook path shows. CatchError is read from
// the cluster: whether Kyverno's Policy CRD has imageRegistry.catchError.
func (e *Engine) Capabilities(ctx context.Context) (engine.Capabilities, error) {
	catch, err := e.knowsCatchError(ctx)
	if err != nil {
		return engine.Capabilities{}, err
	}
	caps := engine.Capabilities{
		Version:          e.opts.Version,
		OneResultPerRule: true,
		WebhookTimeout:   e.opts.WebhookTimeout,
		Unsupported: map[engine.Capability]string{
			engine.CapContext:          "a PolicyReport entry carries the rule's result and message, not its context",
			engine.CapClientDeadline:   "the webhook timeout, not a per-evaluation deadline, bounds a request",
			engine.CapSecrets:          "the controllers are given no registry Secrets",
			engine.CapConfigMaps:       "the scenario's ConfigMaps are not created in the cluster",
			engine.CapAPICallResponses: "the cluster's API server and services answer apiCall entries, not the scenario's apiCallResponses",
			engine.CapImagePullSecrets: "the controllers run with the flags make e2e gives them (no --imagePullSecrets)",
			engine.CapImageVerifyCache: "make e2e starts the controllers with --imageVerifyCacheEnabled=false, " +
				"so scenario files sharing them do not share verification results",
			engine.CapVerifyImagesPatch: "a PolicyReport entry does not carry the patched resource",
			engine.CapPatchedResource:   "a PolicyReport entry does not carry the patched resource",
			engine.CapEnginePanic: "a panic in Kyverno's controller reaches the API server as a failed webhook call " +
				"(or no PolicyReport entry), not as the panic value",
		},
	}
	if !catch {
		caps.Unsupported[engine.CapCatchError] = "this Kyverno's Policy CRD has no imageRegistry.catchError field (the API server would reject such a policy as an unknown field)"
	}
	if e.opts.Process == ProcessBackgroundScan {
		caps.Unsupported[engine.CapAdmission] = "a background scan reads resources that exist; it answers no admission request"
	}
	return caps, nil
}

// knowsCatchError looks for catchError in the schema of Kyverno's Policy
// CRD (the field sits under every imageRegistry context entry).
func (e *Engine) knowsCatchError(ctx context.Context) (bool, error) {
	crd, err := e.dyn.Resource(crdGVR).Get(ctx, "policies.kyverno.io", metav1.GetOptions{})
	if err != nil {
		return false, fmt.Errorf("admission: read Kyverno's Policy CRD: %w", err)
	}
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	for _, v := range versions {
		m, _ := v.(map[string]any)
		if m["name"] != "v1" {
			continue
		}
		return hasProperty(m["schema"], "imageRegistry", "catchError"), nil
	}
	return false, errors.New("admission: Kyverno's Policy CRD has no version v1")
}

// hasProperty reports whether an OpenAPI schema has a property named
// child under a property named parent, at any depth.
func hasProperty(node any, parent, child string) bool {
	switch n := node.(type) {
	case map[string]any:
		if props, ok := n["properties"].(map[string]any); ok {
			if p, ok := props[parent].(map[string]any); ok {
				if pp, ok := p["properties"].(map[string]any); ok && pp[child] != nil {
					return true
				}
			}
		}
		for _, v := range n {
			if hasProperty(v, parent, child) {
				return true
			}
		}
	case []any:
		for _, v := range n {
			if hasProperty(v, parent, child) {
				return true
			}
		}
	}
	return false
}

// Evaluate is Admit without the answers.
func (e *Engine) Evaluate(ctx context.Context, req engine.Request) ([]engine.Result, error) {
	results, _, err := e.Admit(ctx, req)
	return results, err
}

// Admit creates the batch in a Namespace of its own: for admission the
// policies first (waiting until Kyverno serves them), then the resources;
// for a background scan the other way round. It then waits until every
// result of req.Expected is in the PolicyReports (or ReportTimeout has
// passed) and returns the results of the engine's process and the API
// server's answer to each resource create. The context's deadline (a
// registry client deadline) does not bound it: the webhook timeout does;
// cancelling ctx ends it. Inputs the cluster cannot be given (registry
// logins, Secrets, ConfigMaps, a different proxy or CA, a resource other
// than a Pod, a Pod the API server rejects before admission) are errors
// wrapping engine.ErrUnsupportedInput. Everything created is deleted
// before it returns.
func (e *Engine) Admit(ctx context.Context, req engine.Request) ([]engine.Result, []engine.AdmissionResponse, error) {
	ctx, cancel := engine.Budget{}.Start(ctx) // cancellation only
	defer cancel()
	if err := e.supported(req); err != nil {
		return nil, nil, err
	}
	policies, err := decodeAll(req.Policies)
	if err != nil {
		return nil, nil, err
	}
	resources, err := decodeAll(req.Resources)
	if err != nil {
		return nil, nil, err
	}
	if len(policies) == 0 || len(resources) == 0 {
		return nil, nil, errors.New("admission: want at least one policy and one resource")
	}
	nsLabels, err := namespaceLabels(req, resources)
	if err != nil {
		return nil, nil, err
	}
	var cleanups []func(context.Context) error
	defer func() {
		// Policies before the Namespace: deleting its Pods would
		// otherwise go through the policies (and a slow registry) again.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		for i := len(cleanups) - 1; i >= 0; i-- {
			if err := cleanups[i](cctx); err != nil {
				fmt.Fprintf(e.opts.Log, "admission: clean up: %v\n", err)
			}
		}
	}()
	ns, deleteNS, err := e.CreateNamespace(ctx, nsLabels)
	if err != nil {
		return nil, nil, err
	}
	cleanups = append(cleanups, deleteNS)

	createPolicies := func() error {
		for _, p := range policies {
			obj, err := e.namespaced(p, ns)
			if err != nil {
				return err
			}
			del, err := e.CreatePolicy(ctx, obj)
			if err != nil {
				return fmt.Errorf("admission: %s: create policy %s: %w", p.file, obj.GetName(), err)
			}
			cleanups = append(cleanups, del)
		}
		return nil
	}
	if e.opts.Process == ProcessAdmission {
		if err := createPolicies(); err != nil {
			return nil, nil, err
		}
	}
	var answers []engine.AdmissionResponse
	for _, r := range resources {
		if r.obj.GetKind() != "Pod" || r.obj.GetAPIVersion() != "v1" {
			return nil, nil, fmt.Errorf("admission: %s: %s %s: the admission engine creates v1 Pods only: %w", r.file, r.obj.GetKind(), r.obj.GetName(), engine.ErrUnsupportedInput)
		}
		orig := r.obj.GetNamespace()
		obj := r.obj.DeepCopy()
		obj.SetNamespace(ns)
		a, err := e.CreateResource(ctx, obj)
		if err != nil {
			return nil, nil, fmt.Errorf("admission: %s: %w", r.file, err)
		}
		a.Resource.Namespace = orig
		a.Message = strings.ReplaceAll(a.Message, ns, orig)
		for i := range a.Warnings {
			a.Warnings[i] = strings.ReplaceAll(a.Warnings[i], ns, orig)
		}
		for k, v := range a.Annotations {
			a.Annotations[k] = strings.ReplaceAll(v, ns, orig)
		}
		answers = append(answers, a)
	}
	if e.opts.Process == ProcessBackgroundScan {
		if err := createPolicies(); err != nil {
			return nil, nil, err
		}
	}

	// Wait for the expected results of the resources that were stored (a
	// denied resource has no report).
	stored := map[string]bool{}
	for _, a := range answers {
		stored[a.Resource.Kind+"/"+a.Resource.Name] = a.Allowed
	}
	var want []engine.ResultKey
	for _, k := range req.Expected {
		for key, ok := range stored {
			if ok && (key == k.Resource.Kind+"/"+k.Resource.Name || (k.Resource.Kind == "" && strings.HasSuffix(key, "/"+k.Resource.Name))) {
				want = append(want, k)
			}
		}
	}
	results, err := e.awaitResults(ctx, ns, want)
	if err != nil {
		return nil, nil, err
	}
	origNS := map[string]string{}
	for _, r := range resources {
		origNS[r.obj.GetKind()+"/"+r.obj.GetName()] = r.obj.GetNamespace()
	}
	for i := range results {
		orig := origNS[results[i].Resource.Kind+"/"+results[i].Resource.Name]
		results[i].Resource.Namespace = orig
		results[i].Message = strings.ReplaceAll(results[i].Message, ns, orig)
	}
	engine.SortResults(results)
	return results, answers, nil
}

// supported refuses what the controllers cannot be given per request.
func (e *Engine) supported(req engine.Request) error {
	unsupported := func(format string, args ...any) error {
		return fmt.Errorf("admission: %s: %w", fmt.Sprintf(format, args...), engine.ErrUnsupportedInput)
	}
	switch {
	case len(req.Registry.Credentials) > 0:
		return unsupported("the request gives registry credentials; the admission controller has no login for the fake registry")
	case len(req.Registry.Secrets) > 0:
		return unsupported("the request gives registry Secrets; the controllers are given none")
	case len(req.ConfigMaps) > 0:
		return unsupported("the request gives ConfigMaps; they are not created in the cluster")
	case len(req.Registry.ImagePullSecrets) > 0:
		return unsupported("the request gives Kyverno's --imagePullSecrets; the controllers run with the flags make e2e gives them")
	case req.Registry.ImageVerifyCacheEnabled:
		return unsupported("the request turns on Kyverno's image verify cache; make e2e starts the controllers with --imageVerifyCacheEnabled=false")
	case len(req.APICallResponses) > 0:
		return unsupported("the request gives apiCallResponses; the cluster's API server and services answer apiCall entries")
	case req.Operation != "" && req.Operation != "CREATE":
		return unsupported("operation %s: the admission engine creates resources", req.Operation)
	case req.Registry.Proxy != e.opts.Proxy:
		return unsupported("the request names registry proxy %q; the controllers were started with %q", req.Registry.Proxy, e.opts.Proxy)
	}
	for _, ca := range req.Registry.CACertsPEM {
		if !slices.ContainsFunc(e.opts.TrustedCAs, func(t []byte) bool { return string(t) == string(ca) }) {
			return unsupported("the request trusts a CA the controllers were not started with (the admission controller uses its own trust store)")
		}
	}
	return nil
}

// namespaceLabels are the labels of the one Namespace the resources live
// in, from req.NamespaceLabels; resources in two Namespaces with labels
// cannot share the evaluation's Namespace.
func namespaceLabels(req engine.Request, resources []document) (map[string]string, error) {
	names := map[string]bool{}
	for _, r := range resources {
		names[r.obj.GetNamespace()] = true
	}
	var labels map[string]string
	for name := range names {
		if l, ok := req.NamespaceLabels[name]; ok {
			if len(names) > 1 {
				return nil, fmt.Errorf("admission: resources in %d Namespaces with labels given for %q: the engine creates them in one Namespace: %w", len(names), name, engine.ErrUnsupportedInput)
			}
			labels = l
		}
	}
	return labels, nil
}

// namespaced turns a policy of the batch into its namespaced kind in ns
// (a ClusterPolicy a Policy, a ValidatingPolicy a
// NamespacedValidatingPolicy, ...), made an audit copy with AuditCopies.
func (e *Engine) namespaced(p document, ns string) (*unstructured.Unstructured, error) {
	obj := p.obj.DeepCopy()
	kind, ok := policykind.Lookup(obj.GetAPIVersion(), obj.GetKind())
	if !ok {
		return nil, fmt.Errorf("admission: %s: want one of the policy kinds %s, got %s %s", p.file, strings.Join(policykind.Names(), ", "), obj.GetKind(), obj.GetName())
	}
	obj.SetKind(kind.Namespaced)
	obj.SetNamespace(ns)
	obj.SetResourceVersion("")
	if kind.Language == policykind.CEL {
		// The version this engine reads back (status, webhooks) is v1.
		obj.SetAPIVersion(celGroupVersion.String())
	}
	if !e.opts.AuditCopies {
		return obj, nil
	}
	// Kyverno's reports controller replaces a policy's admission results
	// with its background scan's when it scans in the background, so each
	// process gets the policy that reports only through it.
	background := e.opts.Process == ProcessBackgroundScan
	if kind.Language == policykind.CEL {
		if err := unstructured.SetNestedField(obj.Object, background, "spec", "evaluation", "background", "enabled"); err != nil {
			return nil, fmt.Errorf("admission: %s: %w", p.file, err)
		}
		if kind.Type != policykind.RuleMutate {
			if err := unstructured.SetNestedStringSlice(obj.Object, []string{"Audit"}, "spec", "validationActions"); err != nil {
				return nil, fmt.Errorf("admission: %s: %w", p.file, err)
			}
		}
		return obj, nil
	}
	if err := unstructured.SetNestedField(obj.Object, background, "spec", "background"); err != nil {
		return nil, fmt.Errorf("admission: %s: %w", p.file, err)
	}
	rules, _, _ := unstructured.NestedSlice(obj.Object, "spec", "rules")
	for i, r := range rules {
		rule, _ := r.(map[string]any)
		if v, ok := rule["validate"].(map[string]any); ok {
			v["failureAction"] = "Audit"
		}
		rules[i] = rule
	}
	if err := unstructured.SetNestedSlice(obj.Object, rules, "spec", "rules"); err != nil {
		return nil, fmt.Errorf("admission: %s: %w", p.file, err)
	}
	return obj, nil
}

// CreateNamespace creates a Namespace with a random name and the labels;
// the returned function deletes it. (Without a controller-manager, the
// local provider's, it stays Terminating; its data goes with the cluster.)
func (e *Engine) CreateNamespace(ctx context.Context, labels map[string]string) (string, func(context.Context) error, error) {
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	l := map[string]string{"imagectx.io/e2e": "true"}
	for k, v := range labels {
		l[k] = v
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "imagectx-e2e-" + hex.EncodeToString(suffix), Labels: l}}
	if _, err := e.cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return "", nil, fmt.Errorf("admission: create namespace: %w", err)
	}
	return ns.Name, func(ctx context.Context) error {
		err := e.cs.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete namespace %s: %w", ns.Name, err)
		}
		return nil
	}, nil
}

// CreateResource creates obj (in its namespace) and returns the API
// server's answer; the error is for anything that is not an admission
// answer: a resource the API server rejects before admission (object
// validation runs first, so such a resource never reaches Kyverno) wraps
// engine.ErrUnsupportedInput.
func (e *Engine) CreateResource(ctx context.Context, obj *unstructured.Unstructured) (engine.AdmissionResponse, error) {
	rec := &warningRecorder{}
	cfg := rest.CopyConfig(e.cfg)
	cfg.WarningHandlerWithContext = rec
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return engine.AdmissionResponse{}, err
	}
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	start := time.Now()
	stored, err := dyn.Resource(gvr).Namespace(obj.GetNamespace()).Create(ctx, obj, metav1.CreateOptions{})
	a := engine.AdmissionResponse{
		Resource: engine.ResourceID{Kind: obj.GetKind(), Namespace: obj.GetNamespace(), Name: obj.GetName()},
		Allowed:  err == nil, Duration: time.Since(start), Warnings: rec.list(),
	}
	if err == nil {
		a.Annotations = stored.GetAnnotations()
		if a.Annotations == nil {
			a.Annotations = map[string]string{}
		}
	}
	switch {
	case apierrors.IsInvalid(err):
		return a, fmt.Errorf("%s %s: not reachable at admission, the API server rejects the resource first: %v: %w", obj.GetKind(), obj.GetName(), err, engine.ErrUnsupportedInput)
	case err != nil && ctx.Err() != nil:
		return a, fmt.Errorf("create %s %s: %w", obj.GetKind(), obj.GetName(), err)
	case err != nil:
		a.Message = err.Error()
	}
	return a, nil
}

// awaitResults polls the PolicyReport results of the engine's process in
// ns until every key of want has one, or ReportTimeout passes; a key
// still missing then is the check's "got no result", not an error.
func (e *Engine) awaitResults(ctx context.Context, ns string, want []engine.ResultKey) ([]engine.Result, error) {
	deadline := time.Now().Add(e.opts.ReportTimeout)
	for {
		results, err := e.ReportResults(ctx, ns)
		if err != nil {
			return nil, err
		}
		missing := 0
		for _, k := range want {
			if !slices.ContainsFunc(results, func(r engine.Result) bool {
				return r.Policy == k.Policy && r.Rule == k.Rule && r.Resource.Name == k.Resource.Name && (k.Resource.Kind == "" || r.Resource.Kind == k.Resource.Kind)
			}) {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			return results, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("admission: waiting for %d PolicyReport result(s): %w", missing, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// ReportResults are the PolicyReport results of the engine's process in
// ns, policy names without the namespace Kyverno prefixes namespaced
// Policies with.
func (e *Engine) ReportResults(ctx context.Context, ns string) ([]engine.Result, error) {
	list, err := e.dyn.Resource(reportGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("admission: list PolicyReports in %s: %w", ns, err)
	}
	var out []engine.Result
	for _, r := range list.Items {
		kind, _, _ := unstructured.NestedString(r.Object, "scope", "kind")
		name, _, _ := unstructured.NestedString(r.Object, "scope", "name")
		results, _, _ := unstructured.NestedSlice(r.Object, "results")
		for _, x := range results {
			m, _ := x.(map[string]any)
			props, _ := m["properties"].(map[string]any)
			if p, _ := props["process"].(string); p != string(e.opts.Process) {
				continue
			}
			policy, _ := m["policy"].(string)
			rule, _ := m["rule"].(string)
			status, _ := m["result"].(string)
			msg, _ := m["message"].(string)
			out = append(out, engine.Result{
				Policy: strings.TrimPrefix(policy, ns+"/"), Rule: rule,
				Resource: engine.ResourceID{Kind: kind, Namespace: ns, Name: name},
				Status:   engine.Status(status), Message: msg,
			})
		}
	}
	return out, nil
}

type warningRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warningRecorder) HandleWarningHeaderWithContext(_ context.Context, _ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

func (w *warningRecorder) list() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.msgs)
}

type logWarnings struct{ w io.Writer }

func (l logWarnings) HandleWarningHeaderWithContext(_ context.Context, _ int, _ string, text string) {
	fmt.Fprintf(l.w, "API server warning: %s\n", text)
}
