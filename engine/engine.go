// Package engine defines what every policy engine driver implements: Kyverno's
// engine in process (engine/inprocess), a real Kyverno CLI (engine/kyvernocli),
// and any later driver. The suites talk only to this interface.
package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"
)

// Status is a rule result as Kyverno reports it.
type Status string

const (
	StatusPass  Status = "pass"
	StatusFail  Status = "fail"
	StatusWarn  Status = "warn"
	StatusSkip  Status = "skip"
	StatusError Status = "error"
)

// Capability names something a scenario may need and an engine may lack:
// the values of a scenario's `requires` and the keys of
// Capabilities.Unsupported. Defined here once, for every engine and the
// scenario format.
type Capability string

const (
	// CapCatchError: the engine knows imageRegistry.catchError.
	CapCatchError Capability = "catchError"
	// CapContext: the engine shows a rule's loaded context (Result.Context).
	CapContext Capability = "context"
	// CapAdmission: results come from a real admission request.
	CapAdmission Capability = "admission"
	// CapClientDeadline: the engine bounds registry requests by the
	// evaluation's context, so a stalled registry ends in "context
	// deadline exceeded".
	CapClientDeadline Capability = "clientDeadline"
	// CapSecrets: the engine resolves imageRegistryCredentials.secrets.
	CapSecrets Capability = "secrets"
	// CapVerifyImagesPatch: the engine shows the resource a verifyImages
	// rule patched (image digests, the kyverno.io/verify-images
	// annotation).
	CapVerifyImagesPatch Capability = "verifyImagesPatch"
	// CapPatchedResource: the engine shows the resource a mutate rule's
	// policy (or a MutatingPolicy) patched (Result.PatchedResource).
	CapPatchedResource Capability = "patchedResource"
	// CapConfigMaps: the engine answers configMap context entries from
	// Request.ConfigMaps.
	CapConfigMaps Capability = "configMaps"
	// CapCELImageData: the engine runs policies.kyverno.io policies
	// (ValidatingPolicy, MutatingPolicy, ImageValidatingPolicy) and their
	// image lookups (image.GetMetadata, image verification) reach the
	// registry.
	CapCELImageData Capability = "celImageData"
	// CapEnginePanic: the engine reports a panic in Kyverno as the
	// evaluation's result (a *PanicError) instead of losing it.
	CapEnginePanic Capability = "enginePanic"
	// CapAPICallResponses: the engine answers apiCall context entries
	// from Request.APICallResponses.
	CapAPICallResponses Capability = "apiCallResponses"
	// CapImagePullSecrets: the engine runs Kyverno with the request's
	// --imagePullSecrets (RegistryConfig.ImagePullSecrets).
	CapImagePullSecrets Capability = "imagePullSecrets"
	// CapImageVerifyCache: the engine runs Kyverno's image verify cache
	// as its controllers' --imageVerifyCacheEnabled turns it on
	// (RegistryConfig.ImageVerifyCacheEnabled), one cache for the whole
	// request, its resources admitted one after the other.
	CapImageVerifyCache Capability = "imageVerifyCache"
)

// KnownCapabilities are every Capability, in the order reports list them.
func KnownCapabilities() []Capability {
	return []Capability{CapCatchError, CapContext, CapAdmission, CapClientDeadline, CapSecrets, CapVerifyImagesPatch, CapPatchedResource, CapConfigMaps, CapCELImageData, CapEnginePanic, CapAPICallResponses, CapImagePullSecrets, CapImageVerifyCache}
}

// Values lists the capabilities' names (KnownCapabilities), as the
// scenario format's JSON Schema enumerates a requires list.
func (Capability) Values() []string {
	var out []string
	for _, c := range KnownCapabilities() {
		out = append(out, string(c))
	}
	return out
}

// Outcome is the verdict on one spec of the specification against an
// engine's results; reports count and compare them.
type Outcome string

const (
	// OutcomePass: the engine gave the expected result.
	OutcomePass Outcome = "pass"
	// OutcomeFail: it did not; the reason says what differed.
	OutcomeFail Outcome = "fail"
	// OutcomeUnsupported: the engine cannot run the spec; the reason says
	// why (a capability it lacks, a path that cannot reach it).
	OutcomeUnsupported Outcome = "unsupported"
)

// Capabilities says what an engine can do, so that a case needing more is
// reported as unsupported instead of failing or passing by accident.
type Capabilities struct {
	// Version of the engine or Kyverno build, e.g. "v1.19.1".
	Version string
	// OneResultPerRule is true when results are PolicyReport entries: one
	// per policy, rule and resource. Where Kyverno's engine reports a rule
	// twice (a verifyImages rule: its verification, then its image
	// checks), the report keeps one of the two.
	OneResultPerRule bool
	// WebhookTimeout is the timeoutSeconds of the admission webhooks the
	// API server calls (admission engines only; 0 otherwise).
	WebhookTimeout time.Duration
	// Unsupported explains, per capability, why the engine lacks it; shown
	// in reports. Every capability without a reason here is supported.
	Unsupported map[Capability]string
}

// Has reports whether the engine has capability c: it gives no reason it
// lacks it.
func (c Capabilities) Has(capability Capability) bool {
	_, lacks := c.Unsupported[capability]
	return !lacks
}

// Document is one YAML file given to an engine; File names it in errors.
type Document struct {
	File string
	Data []byte
}

// Credential is a registry login the engine presents, the way a docker
// config.json or a pull secret would.
type Credential struct {
	Registry string // host:port
	Username string
	Password string
}

// RegistryConfig is how an engine reaches registries.
type RegistryConfig struct {
	// Credentials the engine's default keychain holds (docker config).
	Credentials []Credential
	// Secrets resolves imageRegistryCredentials.secrets by name
	// ("name" or "namespace/name") to the logins they hold.
	Secrets map[string][]Credential
	// ImagePullSecrets is Kyverno's --imagePullSecrets flag ("name" in
	// Kyverno's namespace, or "namespace/name"; v1.19.1's default: none).
	// It changes two things in v1.19.1's controllers: an entry without
	// imageRegistryCredentials reads these Secrets only (no docker config),
	// and the Secrets Kyverno can read at all are those of its namespace
	// and of the namespaces named here (its Secret informers).
	ImagePullSecrets []string
	// ImageVerifyCacheEnabled is Kyverno's --imageVerifyCacheEnabled flag
	// (v1.19.1's controllers: true, with a TTL of 60m and 1000 keys; the
	// CLI: always off). On, a verifyImages rule that passed for an image
	// passes again "verified from cache" for a later resource of the same
	// request without reaching the registry (pkg/engine/internal
	// imageverifier.go; the key is the policy's UID and resourceVersion,
	// the rule's name and the image). Off (the default here): every
	// resource's images are verified.
	ImageVerifyCacheEnabled bool
	// CACertsPEM are extra trusted CA certificates, PEM encoded.
	CACertsPEM [][]byte
	// Proxy is the HTTPS_PROXY (and HTTP_PROXY) URL the engine uses, e.g.
	// "http://127.0.0.1:PORT" (fakeregistry/proxy, serving public registry
	// host names); as with the environment variables, loopback addresses
	// are always reached directly. Empty: no proxy.
	Proxy string
}

// Request is one batch: every policy is applied to every resource.
type Request struct {
	Policies  []Document
	Resources []Document
	// Operation is the admission operation (CREATE, UPDATE, DELETE);
	// empty means CREATE.
	Operation string
	// NamespaceLabels are the labels of the Namespaces the resources live
	// in, by name, for rules that match with a namespaceSelector (the
	// cluster's Namespaces, which a batch has no other way to know).
	NamespaceLabels map[string]map[string]string
	// ConfigMaps are the ConfigMaps configMap context entries read (a
	// cluster's, which a batch has no other way to know).
	ConfigMaps []Document
	// APICallResponses answer apiCall context entries by method and URL
	// (kubectl-kyverno test's apiCallResponses); an entry no response
	// names goes to the engine's client.
	APICallResponses []APICallResponse
	Registry         RegistryConfig
	// Expected are the results the caller's specification expects. An
	// engine whose results arrive after the request (an admission engine
	// reading PolicyReports) waits until each has arrived or its own
	// timeout passes; other engines ignore it.
	Expected []ResultKey
}

// APICallResponse is one answer to apiCall context entries, in
// kubectl-kyverno test's terms (cli.kyverno.io/v1alpha1 Test,
// apiCallResponses[]): exactly one of URL (an apiCall's service.url, an
// absolute http or https URL) and URLPath (its urlPath, e.g.
// /api/v1/namespaces); Method GET, POST or "" (any); StatusCode 0 means
// 200; Body is the JSON response body.
type APICallResponse struct {
	URL        string
	URLPath    string
	Method     string
	StatusCode int
	Body       []byte
}

// ResultKey names one rule applied to one resource, as Expected lists it.
type ResultKey struct {
	Policy   string
	Rule     string
	Resource ResourceID
}

// ResourceID names a resource in a result.
type ResourceID struct {
	Kind      string
	Namespace string
	Name      string
}

func (r ResourceID) String() string {
	if r.Namespace == "" {
		return r.Kind + "/" + r.Name
	}
	return r.Kind + "/" + r.Namespace + "/" + r.Name
}

// Result is one rule applied to one resource.
type Result struct {
	Policy   string
	Rule     string
	Resource ResourceID
	Status   Status
	Message  string
	// Context holds the rule's loaded context entries by name (for example
	// "imageData"), as JSON-like values; nil when the engine cannot show it.
	Context map[string]any
	// PatchedResource is the resource as the rule's policy left it (every
	// rule of a mutate or verifyImages policy carries the same object,
	// Kyverno's EngineResponse.PatchedResource, kyverno test's
	// patchedResource); nil for validate-only policies and when the engine
	// cannot show it (see CapPatchedResource).
	PatchedResource map[string]any `json:",omitempty"`
}

func (r Result) String() string {
	return fmt.Sprintf("%s/%s %s: %s: %s", r.Policy, r.Rule, r.Resource, r.Status, r.Message)
}

// Engine evaluates Kyverno policies against resources.
type Engine interface {
	// Name is how ENGINE= selects the engine, e.g. "inprocess" or "kyverno".
	Name() string
	Capabilities(ctx context.Context) (Capabilities, error)
	// Evaluate applies every policy to every resource. The context bounds
	// every registry request (the scenario's client deadline). An error
	// means the batch could not be evaluated at all (bad policy YAML, a
	// driver failure); per-rule failures are Results with StatusError.
	Evaluate(ctx context.Context, req Request) ([]Result, error)
}

// AdmissionResponse is the API server's answer to creating one resource
// through its admission chain (an AdmissionEngine's).
type AdmissionResponse struct {
	Resource ResourceID
	// Allowed is true when the API server stored the resource.
	Allowed bool
	// Message is the API server's error text when it did not (a webhook's
	// denial, the API server's own "failed calling webhook" when a webhook
	// timed out under failurePolicy Fail).
	Message string
	// Warnings are the admission warnings, in the order the API server
	// sent them.
	Warnings []string
	// Annotations are the stored resource's annotations (mutating
	// webhooks write some); nil when it was not stored.
	Annotations map[string]string
	// Duration is how long the create request took, wall clock.
	Duration time.Duration
}

// AdmissionEngine is an Engine that sends every resource through a real
// admission request: besides the rule results it gives the API server's
// answer for each resource. Its Capabilities have Admission set.
type AdmissionEngine interface {
	Engine
	// Admit is Evaluate that also returns the answer for every resource
	// of req, in the order of req.Resources.
	Admit(ctx context.Context, req Request) ([]Result, []AdmissionResponse, error)
}

// ErrUnsupportedInput marks an Evaluate error that says the engine cannot
// take the request as given (a resource its path cannot carry, an input it
// has no way to honour), as opposed to a failure: specs of such a batch
// are unsupported with the error's text as the reason.
var ErrUnsupportedInput = errors.New("unsupported input")

// AutogenRule resolves a rule name as Kyverno reports it against the rules
// a policy was written with: the rule itself, or the rule an autogen rule
// was generated from. Kyverno (v1.19.1 pkg/autogen/v1 getAutogenRuleName)
// names the rules it adds for Pod controllers "autogen-<rule>" (Deployment
// and the like) and "autogen-cronjob-<rule>" (CronJob), cut to 63
// characters. A name that two rules' autogen copies share (the Deployment
// copy of "cronjob-x" and the CronJob copy of "x") resolves to the first
// of them in rules. ok is false when name is none of these.
func AutogenRule(name string, rules []string) (rule string, ok bool) {
	if slices.Contains(rules, name) {
		return name, true
	}
	for _, r := range rules {
		if autogenName("autogen", r) == name || autogenName("autogen-cronjob", r) == name {
			return r, true
		}
	}
	return "", false
}

func autogenName(prefix, rule string) string {
	name := prefix + "-" + rule
	if len(name) > 63 {
		name = name[:63]
	}
	return name
}

// SortResults orders results by policy, rule, resource, status and message,
// so that every driver returns a batch in the same order.
func SortResults(rs []Result) {
	sort.SliceStable(rs, func(i, j int) bool {
		a, b := rs[i], rs[j]
		if a.Policy != b.Policy {
			return a.Policy < b.Policy
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		if a.Resource != b.Resource {
			return a.Resource.String() < b.Resource.String()
		}
		// One rule can report twice on a resource (a verifyImages rule from
		// its verification and from its checks): the order of those is
		// the order of their texts.
		if a.Status != b.Status {
			return a.Status < b.Status
		}
		return a.Message < b.Message
	})
}

// Budget is what is left of a caller's deadline when an engine starts.
// A deadline given to Evaluate is a registry client deadline: it bounds the
// engine's registry work, not its CPU-bound setup (starting a CLI process,
// decoding policies), which on a loaded machine can take longer than the
// registry itself. Engines take the budget on entry and Start it when the
// registry work begins.
type Budget struct {
	remaining time.Duration
	bounded   bool
}

// BudgetOf records what is left of ctx's deadline (unbounded without one).
func BudgetOf(ctx context.Context) Budget {
	deadline, ok := ctx.Deadline()
	return Budget{remaining: time.Until(deadline), bounded: ok}
}

// Start returns a context with the budget's remaining time counted from now.
// A cancellation of ctx (not its deadline) still ends it at once. The
// returned cancel must be called.
func (b Budget) Start(ctx context.Context) (context.Context, context.CancelFunc) {
	run, cancel := context.WithCancel(context.WithoutCancel(ctx))
	if b.bounded {
		run, cancel = context.WithTimeout(context.WithoutCancel(ctx), b.remaining)
	}
	stop := context.AfterFunc(ctx, func() {
		if ctx.Err() == context.Canceled {
			cancel()
		}
	})
	return run, func() { stop(); cancel() }
}
