package inprocess

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"strings"
	"sync"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/memfs"
	kyvernov1 "github.com/kyverno/kyverno/api/kyverno/v1"
	clipolicy "github.com/kyverno/kyverno/cmd/cli/kubectl-kyverno/policy"
	cliresource "github.com/kyverno/kyverno/cmd/cli/kubectl-kyverno/resource"
	yamlutils "github.com/kyverno/kyverno/ext/yaml"
	"github.com/kyverno/kyverno/pkg/config"
	policyvalidation "github.com/kyverno/kyverno/pkg/validation/policy"
	"golang.org/x/sync/singleflight"
	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/inprocess/catcherror"
	"github.com/imagectx/conformance/engine/inprocess/celpolicy"
	"github.com/imagectx/conformance/engine/policykind"
	"github.com/imagectx/conformance/yamlkit/yamlpath"
)

// refusedPolicy is a policy Kyverno's policy validation refused: the CLI
// skips it and prints the reason; here every rule it would have run gets an
// error result with that reason, for every resource, never nothing.
type refusedPolicy struct {
	policy kyvernov1.PolicyInterface
	reason string
}

func (p refusedPolicy) results(resources []*resource) []engine.Result {
	var out []engine.Result
	for _, rule := range p.policy.GetSpec().Rules {
		for _, r := range resources {
			out = append(out, engine.Result{Policy: p.policy.GetName(), Rule: rule.Name, Resource: r.id,
				Status: engine.StatusError, Message: p.reason})
		}
	}
	return out
}

// policyCache keeps what Kyverno made of a policy document (decoded
// policies and validation verdicts), keyed by the document's name and
// bytes: decoding through the CLI's loader costs milliseconds and is
// serialized, and a suite evaluates the same documents many times. Stored
// documents are never handed out: callers get deep copies. It is bounded:
// when full it starts over.
type policyCache struct {
	mu       sync.Mutex
	entries  map[[sha256.Size]byte]decodedDocument
	inflight singleflight.Group // one decode per document at a time
}

const policyCacheSize = 512

type decodedDocument struct {
	policies []kyvernov1.PolicyInterface
	refusals []string // per policy: Kyverno's validation error, "" when valid
	// cel are the document's policies.kyverno.io policies (compiled once
	// to check them; each batch compiles its own, bound to its registry).
	cel celpolicy.Policies
}

func (d decodedDocument) deepCopy() decodedDocument {
	out := decodedDocument{refusals: d.refusals, cel: d.cel.DeepCopy()}
	for _, p := range d.policies {
		out.policies = append(out.policies, p.CreateDeepCopy())
	}
	return out
}

func (c *policyCache) get(key [sha256.Size]byte) (decodedDocument, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.entries[key]
	return d, ok
}

func (c *policyCache) put(key [sha256.Size]byte, d decodedDocument) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= policyCacheSize {
		c.entries = map[[sha256.Size]byte]decodedDocument{}
	}
	c.entries[key] = d
}

// loadedPolicies are a batch's policies: the kyverno.io ones Kyverno's
// validation accepted and refused, and the policies.kyverno.io ones.
type loadedPolicies struct {
	valid   []kyvernov1.PolicyInterface
	refused []refusedPolicy
	cel     celpolicy.Policies
}

func (l loadedPolicies) len() int { return len(l.valid) + len(l.refused) + l.cel.Len() }

// loadPolicies decodes every policy document with the Kyverno CLI's own
// loader (its schema checks included) after taking catchError out when
// strip is set, then runs Kyverno's policy validation as `apply` does
// (kyverno.io policies) or Kyverno's CEL compilers (policies.kyverno.io).
func (c *policyCache) loadPolicies(docs []engine.Document, strip bool, flags *catcherror.Flags) (loadedPolicies, error) {
	var out loadedPolicies
	var valid []kyvernov1.PolicyInterface
	var refused []refusedPolicy
	seen := map[string]string{}
	for _, d := range docs {
		data := d.Data
		if strip {
			var err error
			if data, err = catcherror.Strip(d.File, data, flags); err != nil {
				return out, err
			}
		}
		parts, err := yamlutils.SplitDocuments(data)
		if err != nil {
			return out, decodeError(d.File, d.Data, err.Error())
		}
		for _, doc := range parts {
			if len(bytes.TrimSpace(doc)) == 0 {
				continue
			}
			dec, err := c.decode(d, doc)
			if err != nil {
				return out, err
			}
			for _, name := range dec.names() {
				if prev, dup := seen[name]; dup {
					return out, fmt.Errorf("%s: policy %q is also defined in %s; results are keyed by policy name", d.File, name, prev)
				}
				seen[name] = d.File
			}
			out.cel.Append(dec.cel)
			for i, pol := range dec.policies {
				if dec.refusals[i] != "" {
					refused = append(refused, refusedPolicy{policy: pol, reason: dec.refusals[i]})
					continue
				}
				valid = append(valid, pol)
			}
		}
	}
	out.valid, out.refused = valid, refused
	return out, nil
}

// names are the policies' keys in results: namespace/name, every kind.
func (d decodedDocument) names() []string {
	var out []string
	for _, p := range d.policies {
		out = append(out, p.GetNamespace()+"/"+p.GetName())
	}
	for _, p := range d.cel.Objects() {
		out = append(out, p.GetNamespace()+"/"+p.GetName())
	}
	return out
}

// decode runs the CLI's loader and Kyverno's policy validation on one YAML
// document of d (data: without catchError), through the cache; concurrent
// calls for the same document share one decode.
func (c *policyCache) decode(d engine.Document, data []byte) (decodedDocument, error) {
	key := sha256.Sum256(append([]byte(path.Base(d.File)+"\x00"), data...))
	v, err, _ := c.inflight.Do(string(key[:]), func() (any, error) {
		if dec, ok := c.get(key); ok {
			return dec, nil
		}
		dec, err := decodeDocument(d, data)
		if err != nil {
			return nil, err
		}
		c.put(key, dec)
		return dec, nil
	})
	if err != nil {
		return decodedDocument{}, err
	}
	return v.(decodedDocument).deepCopy(), nil
}

func decodeDocument(d engine.Document, data []byte) (decodedDocument, error) {
	// The CLI's loader reads a file system; an in-memory one holds the
	// document under its own base name, so Kyverno's messages name it.
	fs := memfs.New()
	p := "/" + path.Base(d.File)
	if err := writeFile(fs, p, data); err != nil {
		return decodedDocument{}, err
	}
	res, err := loadWithCLILoader(fs, p)
	if err != nil {
		return decodedDocument{}, decodeError(d.File, d.Data, strings.ReplaceAll(err.Error(), p, d.File))
	}
	for _, nf := range res.NonFatalErrors {
		return decodedDocument{}, decodeError(d.File, d.Data, strings.ReplaceAll(nf.Error.Error(), p, d.File))
	}
	if n := otherKinds(res); n != "" {
		return decodedDocument{}, fmt.Errorf("%s: %s: this engine evaluates %s", d.File, n, supportedKinds())
	}
	dec := decodedDocument{policies: res.Policies, cel: celpolicy.Policies{
		Validating: res.ValidatingPolicies, Mutating: res.MutatingPolicies, ImageValidating: res.ImageValidatingPolicies}}
	if len(res.Policies)+dec.cel.Len() == 0 {
		return decodedDocument{}, fmt.Errorf("%s: no policy in the document; this engine evaluates %s", d.File, supportedKinds())
	}
	if err := celpolicy.Check(dec.cel); err != nil {
		return decodedDocument{}, decodeError(d.File, d.Data, err.Error())
	}
	for _, pol := range res.Policies {
		// As `kubectl-kyverno apply`: Kyverno's service account, mock mode.
		sa := config.KyvernoUserName(config.KyvernoServiceAccountName())
		reason := ""
		if _, err := policyvalidation.Validate(pol, nil, nil, true, sa, sa); err != nil {
			// Trimmed as the CLI prints it (some of Kyverno's texts end in a space).
			reason = strings.TrimSpace(err.Error())
		}
		dec.refusals = append(dec.refusals, reason)
	}
	return dec, nil
}

// cliLoader serializes calls to the Kyverno CLI's policy loader: it shares
// one process-wide kubectl-validate validator whose schema cache is not safe
// for concurrent use (the CLI itself is single-threaded).
var cliLoader sync.Mutex

func loadWithCLILoader(fs billy.Filesystem, p string) (*clipolicy.LoaderResults, error) {
	cliLoader.Lock()
	defer cliLoader.Unlock()
	return clipolicy.LoadWithLoader(nil, fs, "", p)
}

func otherKinds(r *clipolicy.LoaderResults) string {
	switch {
	case len(r.PolicyExceptions)+len(r.PolicyCELExceptions)+len(r.PolicyCelExceptions) > 0:
		return "PolicyException"
	case len(r.VAPs)+len(r.VAPBindings)+len(r.MAPs)+len(r.MAPBindings) > 0:
		return "admission policy"
	case len(r.GeneratingPolicies) > 0:
		return "GeneratingPolicy"
	case len(r.DeletingPolicies) > 0:
		return "DeletingPolicy"
	case len(r.EnvoyPolicies)+len(r.HTTPPolicies) > 0:
		return "ValidatingPolicy with evaluation mode Envoy or HTTP"
	case len(r.CleanupPolicies) > 0:
		return "CleanupPolicy"
	}
	return ""
}

// supportedKinds lists the policy kinds this engine evaluates: every kind
// of the specification's vocabulary.
func supportedKinds() string { return strings.Join(policykind.Names(), ", ") }

func writeFile(fs billy.Filesystem, name string, data []byte) error {
	f, err := fs.Create(name)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// fieldPath finds a field path in Kyverno's decoding errors, e.g.
// "spec.rules[0].context[0].imageRegistry.catchErrror".
var fieldPath = regexp.MustCompile(`\.?((?:[A-Za-z_$][\w$-]*)(?:\[\d+\])*(?:\.[A-Za-z_$][\w$-]*(?:\[\d+\])*)+)`)

// decodeError names the file, and the line and column of the field the
// message names when the document has it.
func decodeError(file string, data []byte, msg string) error {
	for _, m := range fieldPath.FindAllStringSubmatch(msg, -1) {
		if line, col, ok := locate(data, m[1]); ok {
			return fmt.Errorf("%s:%d:%d: %s", file, line, col, msg)
		}
	}
	return fmt.Errorf("%s: %s", file, msg)
}

// locate returns where the field path is in the first document that has it.
func locate(data []byte, fieldPath string) (int, int, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		if dec.Decode(&doc) != nil {
			return 0, 0, false
		}
		if _, name, found := yamlpath.Find(&doc, fieldPath); found && name != nil {
			return name.Line, name.Column, true
		}
	}
}

// resource is one resource document, decoded as the CLI decodes it
// (a namespaced kind without a namespace is in "default").
type resource struct {
	object *unstructured.Unstructured
	id     engine.ResourceID
}

func loadResources(docs []engine.Document) ([]*resource, error) {
	var out []*resource
	where := map[engine.ResourceID]string{}
	for _, d := range docs {
		objs, err := cliresource.GetUnstructuredResources(d.Data)
		if err != nil {
			return nil, decodeError(d.File, d.Data, err.Error())
		}
		for _, o := range objs {
			if err := numbersAsFloat64(o); err != nil {
				return nil, fmt.Errorf("%s: %w", d.File, err)
			}
		}
		for _, o := range objs {
			id := engine.ResourceID{Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: o.GetName()}
			if id.Kind == "" || id.Name == "" {
				return nil, fmt.Errorf("%s: a resource without kind or metadata.name", d.File)
			}
			if prev, dup := where[id]; dup {
				return nil, fmt.Errorf("%s: %s is also defined in %s; results are keyed by resource", d.File, id, prev)
			}
			where[id] = d.File
			out = append(out, &resource{object: o, id: id})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("inprocess: no resources given")
	}
	return out, nil
}

// numbersAsFloat64 gives o's numbers as float64, as kubectl-kyverno apply
// does to the resources it loads (its test.ProcessResources; a decoded
// manifest holds int64): a JMESPath or a panic text then sees the same
// values in process as through the CLI (kyverno/kyverno #16978 panics with
// "interface {} is float64, not string" there).
func numbersAsFloat64(o *unstructured.Unstructured) error {
	data, err := json.Marshal(o.Object)
	if err != nil {
		return fmt.Errorf("resource %s: %w", o.GetName(), err)
	}
	obj := map[string]any{}
	if err := json.Unmarshal(data, &obj); err != nil {
		return fmt.Errorf("resource %s: %w", o.GetName(), err)
	}
	o.Object = obj
	return nil
}
