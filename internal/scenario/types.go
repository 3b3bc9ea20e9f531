// Package scenario loads the conformance scenarios (YAML test files), expands
// their binding matrices into specs, and checks an engine's results against
// a spec's expectations. It knows nothing about Ginkgo or any engine driver.
package scenario

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/policykind"
	"github.com/imagectx/conformance/fakeregistry"
)

// Expected is what a row expects of the rule on each of its resources:
// an engine.Status (pass, fail, warn, skip, error), ExpectNone,
// ExpectPanic, or ExpectAnswerOnly.
type Expected string

const (
	// ExpectNone: the engine reports no result for that rule and resource
	// (Kyverno's foreach skips every element).
	ExpectNone Expected = "none"
	// ExpectPanic: the engine crashed evaluating the binding
	// (engine.StatusPanic; the message is the panic value).
	ExpectPanic Expected = Expected(engine.StatusPanic)
	// ExpectAnswerOnly: no result is expected; the row checks only the
	// API server's answer (admission).
	ExpectAnswerOnly Expected = ""
)

// KnownExpected are the values a row's result may take (besides
// ExpectAnswerOnly, written as no result).
func KnownExpected() []Expected {
	return []Expected{
		Expected(engine.StatusPass), Expected(engine.StatusFail), Expected(engine.StatusWarn),
		Expected(engine.StatusSkip), Expected(engine.StatusError), ExpectNone, ExpectPanic,
	}
}

// Values lists what a row may expect (KnownExpected), as the scenario
// format's JSON Schema enumerates it.
func (Expected) Values() []string {
	var out []string
	for _, e := range KnownExpected() {
		out = append(out, string(e))
	}
	return out
}

// Is reports whether the row expects status st.
func (e Expected) Is(st engine.Status) bool { return e == Expected(st) }

// Result reports whether the row expects a rule result (a status or a
// panic), as opposed to none or only an admission answer.
func (e Expected) Result() bool { return e != ExpectNone && e != ExpectAnswerOnly }

// File is one scenario file as written (see scenarios/README.md).
type File struct {
	// Path is the file on disk; Name is its path relative to the scenario
	// folder without ".yaml" (the first part of every spec name).
	Path string `json:"-"`
	Name string `json:"-"`

	// APIVersion is the format's version, conformance.imagectx.io/v1alpha1.
	APIVersion string `json:"apiVersion" jsonschema:"required,enum=conformance.imagectx.io/v1alpha1"`
	// Kind is Test.
	Kind string `json:"kind" jsonschema:"required,enum=Test"`
	// Metadata names the file and labels every spec it produces.
	Metadata Metadata `json:"metadata"`
	// Description is free text: why the case matters.
	Description string `json:"description"`
	// Translates names the scenario file this one translates to another
	// policy language (a CEL file's legacy ClusterPolicy original), as a
	// path relative to this file; the migration report sets the two side
	// by side.
	Translates string `json:"translates"`
	// TranslatesName is Translates' file name (as File.Name).
	TranslatesName string `json:"-"`
	// Requires are capabilities every spec of the file needs; an engine
	// without one reports the spec unsupported with its reason.
	Requires []engine.Capability `json:"requires"`
	// Vars are ${NAME} substitutions, expanded in policies, resources and
	// expectations; they may use other vars and the built-in ${REGISTRY}.
	Vars map[string]string `json:"vars"`
	// Bindings are the matrix's columns: each evaluates the whole file once
	// with its placeholder values and catchError setting; none means one
	// binding named "default".
	Bindings []Binding `json:"bindings"`
	// Policies are Kyverno policies: file paths (relative to this file) or
	// inline documents.
	Policies []Documents `json:"policies"`
	// Resources are the resources the policies are applied to, in order:
	// file paths or inline documents.
	Resources []Documents `json:"resources"`
	// Namespaces are the Namespaces the resources live in, with labels,
	// for rules matching with a namespaceSelector.
	Namespaces []Namespace `json:"namespaces"`
	// ConfigMaps are the ConfigMaps configMap context entries read (file
	// paths or inline objects, like resources).
	ConfigMaps []Documents `json:"configMaps"`
	// APICallResponses answer apiCall context entries, in kubectl-kyverno
	// test's vocabulary (apiCallResponses); an entry none answers gets
	// what kubectl-kyverno apply's client gives: a GET of one of the
	// resources, or the fake client's error.
	APICallResponses []APICallResponse `json:"apiCallResponses"`
	// Registry is the fake registry's state (images, auth, faults) plus
	// what the engine presents to it (logins, secrets, deadline).
	Registry Registry `json:"registry"`
	// Registries are more fake registries, each with its own images, auth
	// and faults (a trusted and an untrusted one; ghcr.io beside Docker
	// Hub). The engine's logins, secrets and deadline stay in Registry.
	Registries []NamedRegistry `json:"registries"`
	// Results are the expected results, one row per policy, rule and
	// resources (each row and binding makes one spec per resource).
	Results []Row `json:"results"`
	// NotRunBy names engines (by their names in engine/engines) that do
	// not run the file at all, each with the reason its specs report as
	// unsupported: what an engine cannot show by construction, not a
	// capability it lacks. A suite refuses a name it cannot open.
	NotRunBy map[string]string `json:"notRunBy"`
	// notRunByAt is where each NotRunBy name is written, for
	// CheckEngines' errors.
	notRunByAt map[string]*yaml.Node

	// rules are each policy's rule names as Kyverno reports them, in the
	// order written; ruleTypes maps policy name and rule name to the
	// rule's type; kinds maps policy name to its kind.
	rules     map[string][]string
	ruleTypes map[string]map[string]policykind.RuleType
	kinds     map[string]policykind.Kind
}

// RuleType is the type of a rule of one of the file's policies
// (policykind.RuleMutate and the like), "" for an unknown policy or rule.
func (f *File) RuleType(policy, rule string) policykind.RuleType {
	base, _ := engine.AutogenRule(rule, f.rules[policy])
	return f.ruleTypes[policy][base]
}

// Languages are the policy languages of the file's policies, sorted.
func (f *File) Languages() []policykind.Language {
	var out []policykind.Language
	for _, k := range f.kinds {
		if !slices.Contains(out, k.Language) {
			out = append(out, k.Language)
		}
	}
	slices.Sort(out)
	return out
}

// PolicyKind is the kind of one of the file's policies; ok is false for a
// name the file does not define.
func (f *File) PolicyKind(policy string) (k policykind.Kind, ok bool) {
	k, ok = f.kinds[policy]
	return k, ok
}

// Metadata names the file and labels every spec it produces.
type Metadata struct {
	// Name is informational; specs are named by the file's path.
	Name string `json:"name"`
	// Labels become Ginkgo labels "key:value" on every spec (fault,
	// area, auth, ...).
	Labels map[string]string `json:"labels"`
}

// Binding is one column of the file's matrix (chainsaw's scenarios/bindings).
type Binding struct {
	// Name is the binding's part of every spec name.
	Name string `json:"name"`
	// Values replace placeholders "($name)" in policies and resources; a
	// placeholder whose name this binding does not set is removed together
	// with its key (so "absent" really means absent).
	Values map[string]Value `json:"values"`
	// CatchError, when set, writes catchError: <value> into every
	// imageRegistry context entry of every policy (rule and foreach
	// contexts); unset leaves the policies as written.
	CatchError *bool `json:"catchError"`
	// Operation is the admission operation the batch is evaluated for
	// (CREATE, UPDATE, DELETE; request.operation); empty means CREATE.
	Operation string `json:"operation" jsonschema:"enum=CREATE,enum=UPDATE,enum=DELETE"`
	// Labels are added to the binding's specs.
	Labels map[string]string `json:"labels"`
	// Requires are capabilities the binding's specs need.
	Requires []engine.Capability `json:"requires"`

	line int
}

// Value is any YAML value a binding substitutes, kept as a node.
type Value struct {
	Node *yaml.Node
}

func (v *Value) DecodeNode(_ *decoder, n *yaml.Node, _ string) error {
	v.Node = n
	return nil
}

// Namespace is one Namespace the resources live in (a cluster's, which a
// policy's namespaceSelector reads).
type Namespace struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
}

// Registry is the fake registry's state for the file plus what the engine
// presents to it.
type Registry struct {
	// The fakeregistry.Config model, verbatim.
	fakeregistry.Config `json:",inline"`
	// Credentials the engine's default keychain holds; Registry defaults
	// to the fake registry's host:port.
	Credentials []Credential `json:"credentials"`
	// Secrets resolves imageRegistryCredentials.secrets names.
	Secrets map[string][]Credential `json:"secrets"`
	// ImagePullSecrets is Kyverno's --imagePullSecrets flag, "name" (in
	// Kyverno's namespace) or "namespace/name" each (v1.19.1's default:
	// none). With it, an entry without imageRegistryCredentials presents
	// these Secrets (not the docker config), and Kyverno reads Secrets of
	// the namespaces it names besides its own (engine.RegistryConfig).
	ImagePullSecrets []string `json:"imagePullSecrets"`
	// ImageVerifyCacheEnabled is Kyverno's --imageVerifyCacheEnabled flag
	// (default here: false, as the CLI and make e2e's controllers run;
	// Kyverno's controllers default to true). With it, the file's
	// resources are admitted one after the other and a verifyImages
	// verification that passed is "verified from cache" for the later ones.
	ImageVerifyCacheEnabled bool `json:"imageVerifyCacheEnabled"`
	// Deadline bounds the whole evaluation (the client's context), e.g. "2s".
	Deadline fakeregistry.Duration `json:"deadline"`
	// TrustCA gives the engine the registry's CA certificate (with tls: true).
	TrustCA bool `json:"trustCA"`
}

// NamedRegistry is one of File.Registries.
type NamedRegistry struct {
	// Name sets ${REGISTRY_<name>} to the registry's 127.0.0.1:PORT;
	// letters, digits and '_', starting with a letter.
	Name string `json:"name"`
	// The fakeregistry.Config model, verbatim (hosts: names it serves).
	fakeregistry.Config `json:",inline"`
}

// RegistryModel is one fake registry of a file with where it was written:
// Field is "registry" or "registries[i]", Name is "" for the first.
type RegistryModel struct {
	Field  string
	Name   string
	Config fakeregistry.Config
}

// RegistryModels are the file's fake registries: registry, then
// registries in order.
func (f *File) RegistryModels() []RegistryModel {
	out := []RegistryModel{{Field: "registry", Config: f.Registry.Config}}
	for i, r := range f.Registries {
		out = append(out, RegistryModel{Field: fmt.Sprintf("registries[%d]", i), Name: r.Name, Config: r.Config})
	}
	return out
}

// Credential is a login the engine presents.
type Credential struct {
	Registry string `json:"registry"`
	Username string `json:"username"`
	Password string `json:"password"`
}

// Row is one expected result (kyverno-test.yaml's results entry, plus the
// message, context and request expectations it cannot express).
type Row struct {
	// Policy is the policy's name as the file writes it.
	Policy string `json:"policy"`
	// Rule is the rule's name as Kyverno reports it (autogen-<rule> for
	// a Pod controller; "" for a ValidatingPolicy's result).
	Rule string `json:"rule"`
	// Kind is the resources' kind (default Pod).
	Kind string `json:"kind"`
	// Resources are resource names ("name" or "namespace/name").
	Resources []string `json:"resources"`
	// Bindings limits the row to these bindings (default: every one).
	Bindings []string `json:"bindings"`
	// Result is the rule's status (kyverno test's result); none: no
	// result at all; panic: the evaluation crashes; absent: the row checks
	// only its admission answer.
	Result Expected `json:"result"`
	// Message checks the result's message.
	Message *Matcher `json:"message"`
	// Context checks the rule's loaded context by dotted key
	// (imageData.failed: true); engines that cannot show it leave it
	// unchecked.
	Context ContextChecks `json:"context"`
	// PatchedResource is the resource the rule's policy must leave
	// (mutate and verifyImages policies).
	PatchedResource *PatchedResource `json:"patchedResource"`
	// Requests checks the fake registry's request log (paths seen, never).
	Requests *RequestChecks `json:"requests"`
	// Admission is the API server's answer to creating the resource, for
	// engines that send it through a real admission request.
	Admission *AdmissionCheck `json:"admission"`
	// Requires are capabilities the row's specs need besides the file's
	// and the binding's.
	Requires []engine.Capability `json:"requires"`
	// Labels are added to the row's specs (site: where imageData is first
	// used, for the matrix and the verdict).
	Labels map[string]string `json:"labels"`

	line int
}

// AdmissionCheck is what the API server must answer when the row's
// resource is created (engine.AdmissionResponse): allowed or denied with
// a message, the exact warnings, and whether the answer waited for the
// webhook timeout. Engines that do not answer admission requests leave it
// unchecked; a row without result checks only this and needs the
// admission capability.
type AdmissionCheck struct {
	// Allowed: the API server stored the resource (required).
	Allowed *bool `json:"allowed"`
	// Message is the API server's error text (denied only, required then).
	Message *Matcher `json:"message"`
	// Warnings are the admission warnings, one matcher each, in order;
	// none when empty.
	Warnings []Matcher `json:"warnings"`
	// WebhookTimeout, when set, says whether the answer took at least the
	// webhooks' timeout (true: the API server gave up on the webhook).
	WebhookTimeout *bool `json:"webhookTimeout"`
	// Annotations, when set, are exactly the stored resource's annotations
	// (what mutating webhooks wrote, ${VARS} expanded); allowed only.
	Annotations map[string]string `json:"annotations"`
}

// RequestChecks are expectations on the fake registry's request log for the
// evaluation the row belongs to (paths only, e.g. "/v2/team/app/manifests/v1").
type RequestChecks struct {
	// Never lists path prefixes no request may have.
	Never []string `json:"never"`
	// Seen lists path prefixes at least one request must have.
	Seen []string `json:"seen"`
}

// APICallResponse is one apiCallResponses entry (kubectl-kyverno test's
// cli.kyverno.io/v1alpha1 APICallResponseEntry): an apiCall entry whose
// method and URL (its service.url) or URL path (its urlPath) match gets
// Response. Method is GET, POST or empty (any method).
type APICallResponse struct {
	URL      string        `json:"url"`
	URLPath  string        `json:"urlPath"`
	Method   string        `json:"method"`
	Response APICallAnswer `json:"response"`
	line     int
}

// APICallAnswer is the HTTP answer: StatusCode (0 means 200; Kyverno's
// apiCall treats any other than 2xx as the entry's failure) and Body, a
// JSON object.
type APICallAnswer struct {
	StatusCode int             `json:"statusCode"`
	Body       json.RawMessage `json:"body"`
}

// CheckEngines refuses every engine name a file's notRunBy gives that
// is not among known (the names engine/engines opens; the suites pass
// engines.Names(), as this package cannot import it: it links Kyverno's
// engine): one *LoadError per name, at its line. A new engine is then its
// folder and its entry in engine/engines, and nothing here.
func CheckEngines(files []*File, known []string) error {
	var errs []error
	for _, f := range files {
		d := &decoder{File: f.Path}
		for _, name := range sortedKeys(f.NotRunBy) {
			if !slices.Contains(known, name) {
				errs = append(errs, d.Errorf(f.notRunByAt[name], "notRunBy."+name, "unknown engine %q; want one of %s", name, strings.Join(known, ", ")))
			}
		}
	}
	return errors.Join(errs...)
}
