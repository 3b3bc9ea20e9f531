package inprocess

import (
	"cmp"
	"fmt"
	"net"
	"net/url"
	"strings"

	kyvernov1 "github.com/kyverno/kyverno/api/kyverno/v1"
	"github.com/kyverno/kyverno/cmd/cli/kubectl-kyverno/apis/v1alpha1"
	clistore "github.com/kyverno/kyverno/cmd/cli/kubectl-kyverno/store"
	"github.com/kyverno/kyverno/pkg/clients/dclient"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/imagectx/conformance/engine"
)

// resourceClient is the client kubectl-kyverno apply gives Kyverno's
// engine without --cluster: a fake client holding the resources it was
// given, API calls allowed. A GET of one of them (or a list of their kind)
// is answered from it; any other method is Kyverno's fake-client error
// ("method POST not supported for fake client").
func resourceClient(resources []*resource) (dclient.Interface, error) {
	gvrToListKind := map[schema.GroupVersionResource]string{}
	gvrToGVK := map[schema.GroupVersionResource]schema.GroupVersionKind{}
	var gvrs []schema.GroupVersionResource
	objects := make([]runtime.Object, 0, len(resources))
	for _, r := range resources {
		objects = append(objects, r.object.DeepCopy())
		gvk := r.object.GroupVersionKind()
		gvr, _ := meta.UnsafeGuessKindToResource(gvk)
		if _, seen := gvrToGVK[gvr]; !seen {
			gvrToListKind[gvr] = gvk.Kind + "List"
			gvrToGVK[gvr] = gvk
			gvrs = append(gvrs, gvr)
		}
	}
	client, err := dclient.NewFakeClient(runtime.NewScheme(), gvrToListKind, objects...)
	if err != nil {
		return nil, fmt.Errorf("inprocess: client for the resources: %w", err)
	}
	disco := dclient.NewFakeDiscoveryClient(gvrs)
	for gvr, gvk := range gvrToGVK {
		disco.AddGVRToGVKMapping(gvr, gvk)
	}
	client.SetDiscovery(disco)
	return client, nil
}

// apiCallStore is the CLI's store holding the request's API answers, as
// kubectl-kyverno test sets it up: local, registry access and API calls
// allowed. Its context loader (store.ContextLoaderFactory) answers an
// apiCall entry whose method and URL an answer names, and passes every
// other entry to Kyverno's loaders. nil without answers. Errors are
// Kyverno's check of the answers (url or urlPath, an absolute URL, one
// answer per method and URL).
func apiCallStore(responses []engine.APICallResponse) (*clistore.Store, error) {
	if len(responses) == 0 {
		return nil, nil
	}
	entries := make([]v1alpha1.APICallResponseEntry, 0, len(responses))
	for _, r := range responses {
		entries = append(entries, v1alpha1.APICallResponseEntry{
			URL: r.URL, URLPath: r.URLPath, Method: r.Method,
			Response: v1alpha1.APICallResponse{StatusCode: r.StatusCode, Body: runtime.RawExtension{Raw: r.Body}},
		})
	}
	if err := v1alpha1.ValidateAPICallResponses(entries); err != nil {
		return nil, fmt.Errorf("inprocess: %w", err)
	}
	s := &clistore.Store{}
	s.SetLocal(true)
	s.SetRegistryAccess(true)
	s.AllowApiCall(true)
	s.SetAPICallResponses(entries)
	return s, nil
}

// checkContextEntries refuses a batch with a context entry this engine
// would otherwise drop or send off the machine, as unsupported input
// (engine.ErrUnsupportedInput) naming the policy, rule and entry:
//   - an apiCall service.url that no answer names for its method (the CLI
//     store's lookup: "METHOD url", then an answer without a method) and
//     whose host is not loopback; a URL with variables cannot be decided
//     before substitution and is refused unless loopback;
//   - a globalReference entry: kubectl-kyverno apply builds its global
//     context from GlobalContextEntry resources, which a request cannot
//     give; Kyverno's loader would skip the entry without a word ("disabled
//     loading of GlobalContext context entry").
func checkContextEntries(policies []kyvernov1.PolicyInterface, responses []engine.APICallResponse) error {
	answered := map[string]bool{}
	for _, r := range responses {
		answered[strings.ToUpper(strings.TrimSpace(r.Method))+" "+strings.TrimSpace(r.URL)] = true
	}
	for _, p := range policies {
		for _, rule := range p.GetSpec().Rules {
			for _, e := range ruleContextEntries(rule) {
				where := fmt.Sprintf("policy %s rule %s context entry %s", p.GetName(), rule.Name, e.Name)
				if e.GlobalReference != nil {
					return fmt.Errorf("%w: %s reads the global context entry %q, which a request cannot give "+
						"(kubectl-kyverno apply builds it from GlobalContextEntry resources)", engine.ErrUnsupportedInput, where, e.GlobalReference.Name)
				}
				if e.APICall == nil || e.APICall.Service == nil {
					continue
				}
				u := strings.TrimSpace(e.APICall.Service.URL)
				method := cmp.Or(strings.ToUpper(string(e.APICall.Method)), "GET")
				if loopbackURL(u) {
					continue
				}
				if strings.Contains(u, "{{") {
					return fmt.Errorf("%w: %s calls service %q, whose host is known only after substitution; "+
						"the harness reaches only loopback addresses (write the URL without variables and answer it in apiCallResponses)",
						engine.ErrUnsupportedInput, where, u)
				}
				if answered[method+" "+u] || answered[" "+u] {
					continue
				}
				return fmt.Errorf("%w: %s calls service %s %q, which no apiCallResponses entry answers; "+
					"the harness reaches only loopback addresses (give its answer in apiCallResponses)", engine.ErrUnsupportedInput, where, method, u)
			}
		}
	}
	return nil
}

// ruleContextEntries are a rule's context entries and those of its
// validate and mutate foreach, at every depth.
func ruleContextEntries(rule kyvernov1.Rule) []kyvernov1.ContextEntry {
	out := append([]kyvernov1.ContextEntry{}, rule.Context...)
	var validations func([]kyvernov1.ForEachValidation)
	validations = func(fes []kyvernov1.ForEachValidation) {
		for i := range fes {
			out = append(out, fes[i].Context...)
			validations(fes[i].GetForEachValidation())
		}
	}
	var mutations func([]kyvernov1.ForEachMutation)
	mutations = func(fes []kyvernov1.ForEachMutation) {
		for i := range fes {
			out = append(out, fes[i].Context...)
			mutations(fes[i].GetForEachMutation())
		}
	}
	if rule.Validation != nil {
		validations(rule.Validation.ForEachValidation)
	}
	if rule.Mutation != nil {
		mutations(rule.Mutation.ForEachMutation)
	}
	return out
}

// loopbackURL reports whether u names a loopback address (an IP, or
// localhost).
func loopbackURL(u string) bool {
	parsed, err := url.Parse(u)
	if err != nil {
		return false
	}
	host := parsed.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
