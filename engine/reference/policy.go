package reference

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/imagectx/conformance/engine/reference/conditions"
)

// The types below are the subset of kyverno.io/v1 ClusterPolicy and Policy
// that the reference engine evaluates, with Kyverno's json names. Decoding
// is strict: a field not declared here is an error, so a typo such as
// catchErrror never passes silently. Fields Kyverno has but this engine
// cannot honour are declared as unsupported and rejected with that reason.

// Policy is a decoded ClusterPolicy or Policy.
type Policy struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   ObjectMeta `json:"metadata"`
	Spec       Spec       `json:"spec"`
	// Status is output written by Kyverno; accepted and ignored.
	Status any `json:"status"`

	// raw is the document as JSON-like values, for checks that walk it.
	raw map[string]any
	// invalid is set when Kyverno's policy validation refuses the policy.
	invalid error
}

// Namespaced reports whether this is a namespaced Policy.
func (p *Policy) Namespaced() bool { return p.Kind == "Policy" }

// ObjectMeta holds the metadata fields the engine reads, plus the ones a
// policy fetched from a cluster carries (accepted, unused).
type ObjectMeta struct {
	Name              string            `json:"name"`
	Namespace         string            `json:"namespace"`
	Labels            map[string]string `json:"labels"`
	Annotations       map[string]string `json:"annotations"`
	UID               string            `json:"uid"`
	ResourceVersion   string            `json:"resourceVersion"`
	Generation        int64             `json:"generation"`
	CreationTimestamp any               `json:"creationTimestamp"`
	ManagedFields     any               `json:"managedFields"`
}

// Spec is the policy spec.
type Spec struct {
	Rules                   []Rule  `json:"rules"`
	FailurePolicy           *string `json:"failurePolicy"`
	ValidationFailureAction string  `json:"validationFailureAction"`
	Background              *bool   `json:"background"`
	Admission               *bool   `json:"admission"`
	EmitWarning             *bool   `json:"emitWarning"`
	SchemaValidation        *bool   `json:"schemaValidation"`
	WebhookTimeoutSeconds   *int32  `json:"webhookTimeoutSeconds"`
	UseServerSideApply      bool    `json:"useServerSideApply"`
	// ApplyRules "All" (default) is what the engine does; "One" is rejected.
	ApplyRules *string `json:"applyRules"`

	ValidationFailureActionOverrides unsupported `json:"validationFailureActionOverrides"`
	WebhookConfiguration             any         `json:"webhookConfiguration"`
	MutateExistingOnPolicyUpdate     bool        `json:"mutateExistingOnPolicyUpdate"`
	GenerateExistingOnPolicyUpdate   *bool       `json:"generateExistingOnPolicyUpdate"`
	GenerateExisting                 bool        `json:"generateExisting"`
}

// Rule is one policy rule.
type Rule struct {
	Name                   string            `json:"name"`
	Context                []ContextEntry    `json:"context"`
	ReportProperties       map[string]string `json:"reportProperties"`
	MatchResources         MatchResources    `json:"match"`
	ExcludeResources       *MatchResources   `json:"exclude"`
	Preconditions          *Conditions       `json:"preconditions"`
	Validation             *Validation       `json:"validate"`
	SkipBackgroundRequests *bool             `json:"skipBackgroundRequests"`
	FailurePolicy          *string           `json:"failurePolicy"`
	TimeoutSeconds         *int32            `json:"timeoutSeconds"`

	// Rule types this engine does not evaluate: kept so that a rule using
	// them gives an error result naming the type, never a silent pass.
	Mutation     any `json:"mutate"`
	Generation   any `json:"generate"`
	VerifyImages any `json:"verifyImages"`

	ImageExtractors  unsupported `json:"imageExtractors"`
	CELPreconditions unsupported `json:"celPreconditions"`
	MatchConditions  unsupported `json:"matchConditions"`
}

// unsupportedType names the rule type the engine cannot evaluate, or "".
func (r *Rule) unsupportedType() string {
	switch {
	case r.Mutation != nil:
		return "mutate"
	case r.Generation != nil:
		return "generate"
	case r.VerifyImages != nil:
		return "verifyImages"
	case r.Validation == nil:
		return "(no validate)"
	}
	return ""
}

// ContextEntry is one rule (or foreach) context entry.
type ContextEntry struct {
	Name          string         `json:"name"`
	ImageRegistry *ImageRegistry `json:"imageRegistry"`
	Variable      *Variable      `json:"variable"`

	ConfigMap       unsupported `json:"configMap"`
	APICall         unsupported `json:"apiCall"`
	GlobalReference unsupported `json:"globalReference"`
}

// ImageRegistry loads image metadata from a registry.
type ImageRegistry struct {
	Reference                string                    `json:"reference"`
	JMESPath                 string                    `json:"jmesPath"`
	ImageRegistryCredentials *ImageRegistryCredentials `json:"imageRegistryCredentials"`
	// CatchError is the proposed field (kyverno/kyverno issue 14302).
	CatchError bool `json:"catchError"`
}

// ImageRegistryCredentials selects how the registry is reached.
type ImageRegistryCredentials struct {
	AllowInsecureRegistry bool     `json:"allowInsecureRegistry"`
	Providers             []string `json:"providers"`
	Secrets               []string `json:"secrets"`
}

// Variable is a context variable.
type Variable struct {
	Value    any    `json:"value"`
	JMESPath string `json:"jmesPath"`
	Default  any    `json:"default"`
}

// MatchResources is match or exclude.
type MatchResources struct {
	Any       []ResourceFilter    `json:"any"`
	All       []ResourceFilter    `json:"all"`
	Resources ResourceDescription `json:"resources"`

	Subjects     unsupported `json:"subjects"`
	Roles        unsupported `json:"roles"`
	ClusterRoles unsupported `json:"clusterRoles"`
}

// ResourceFilter is one entry of match.any / match.all.
type ResourceFilter struct {
	Resources ResourceDescription `json:"resources"`

	Subjects     unsupported `json:"subjects"`
	Roles        unsupported `json:"roles"`
	ClusterRoles unsupported `json:"clusterRoles"`
}

// ResourceDescription selects resources.
type ResourceDescription struct {
	Kinds             []string          `json:"kinds"`
	Name              string            `json:"name"`
	Names             []string          `json:"names"`
	Namespaces        []string          `json:"namespaces"`
	Annotations       map[string]string `json:"annotations"`
	Selector          *LabelSelector    `json:"selector"`
	Operations        []string          `json:"operations"`
	NamespaceSelector unsupported       `json:"namespaceSelector"`
}

func (r *ResourceDescription) empty() bool {
	return len(r.Kinds) == 0 && r.Name == "" && len(r.Names) == 0 && len(r.Namespaces) == 0 &&
		len(r.Annotations) == 0 && r.Selector == nil && len(r.Operations) == 0
}

// LabelSelector is metav1.LabelSelector.
type LabelSelector struct {
	MatchLabels      map[string]string `json:"matchLabels"`
	MatchExpressions []struct {
		Key      string   `json:"key"`
		Operator string   `json:"operator"`
		Values   []string `json:"values"`
	} `json:"matchExpressions"`
}

// Validation is a validate rule.
type Validation struct {
	FailureAction           *string             `json:"failureAction"`
	Message                 string              `json:"message"`
	ForEach                 []ForEachValidation `json:"foreach"`
	Pattern                 any                 `json:"pattern"`
	AnyPattern              any                 `json:"anyPattern"`
	Deny                    *Deny               `json:"deny"`
	AllowExistingViolations *bool               `json:"allowExistingViolations"`

	FailureActionOverrides unsupported `json:"failureActionOverrides"`
	Manifests              unsupported `json:"manifests"`
	PodSecurity            unsupported `json:"podSecurity"`
	CEL                    unsupported `json:"cel"`
	Assert                 unsupported `json:"assert"`
}

// Deny holds deny conditions.
type Deny struct {
	Conditions *Conditions `json:"conditions"`
}

// ForEachValidation is one validate.foreach entry (nested foreach too).
type ForEachValidation struct {
	List          string              `json:"list"`
	ElementScope  *bool               `json:"elementScope"`
	Context       []ContextEntry      `json:"context"`
	Preconditions *AnyAllConditions   `json:"preconditions"`
	Pattern       any                 `json:"pattern"`
	AnyPattern    any                 `json:"anyPattern"`
	Deny          *Deny               `json:"deny"`
	ForEach       []ForEachValidation `json:"foreach"`
}

// Condition is one condition.
type Condition struct {
	Key      any    `json:"key"`
	Operator string `json:"operator"`
	Value    any    `json:"value"`
	Message  string `json:"message"`
}

func (c *Condition) decodeNode(d *decoder, n *yaml.Node, path string) error {
	type plain Condition
	var p plain
	if err := d.decodeStruct(n, reflectValue(&p), path); err != nil {
		return err
	}
	*c = Condition(p)
	if !knownOperator(c.Operator) {
		at := childNode(n, "operator")
		if at == nil {
			at = n
		}
		return d.errorf(at, joinPath(path, "operator"), "unsupported operator %q; expected one of %s", c.Operator, strings.Join(conditions.Operators(), ", "))
	}
	return nil
}

// knownOperator reports whether Kyverno's schema accepts the operator name
// (the canonical names and the aliases Equal and NotEqual).
func knownOperator(op string) bool {
	return op == "Equal" || op == "NotEqual" || slices.Contains(conditions.Operators(), op)
}

// AnyAllConditions is the any/all form.
type AnyAllConditions struct {
	Any []Condition `json:"any"`
	All []Condition `json:"all"`
}

// Conditions is either the any/all form or, for backwards compatibility,
// a plain list of conditions that must all hold.
type Conditions struct {
	AnyAll *AnyAllConditions
	List   []Condition
}

func (c *Conditions) decodeNode(d *decoder, n *yaml.Node, path string) error {
	switch n.Kind {
	case yaml.SequenceNode:
		c.List = []Condition{}
		return d.decode(n, reflectValue(&c.List), path)
	case yaml.MappingNode:
		c.AnyAll = &AnyAllConditions{}
		return d.decode(n, reflectValue(c.AnyAll), path)
	}
	if n.Tag == "!!null" {
		return nil
	}
	return d.errorf(n, path, "expected an object with any/all or a list of conditions, got %s", kindName(n))
}

// unsupported marks a Kyverno field this engine does not implement; any
// value given is a decoding error that says so.
type unsupported struct{}

func (u *unsupported) decodeNode(d *decoder, n *yaml.Node, path string) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	return d.errorf(n, path, "not supported by the reference engine")
}

// decodePolicies decodes every ClusterPolicy/Policy document in a file.
func decodePolicies(file string, data []byte) ([]*Policy, error) {
	docs, err := splitDocuments(file, data)
	if err != nil {
		return nil, err
	}
	d := &decoder{file: file}
	var out []*Policy
	for _, doc := range docs {
		p := &Policy{}
		if err := d.decode(doc, reflectValue(p), ""); err != nil {
			return nil, err
		}
		if err := p.check(d, doc); err != nil {
			return nil, err
		}
		raw, err := d.toValue(doc, "")
		if err != nil {
			return nil, err
		}
		p.raw = raw.(map[string]any)
		out = append(out, p)
	}
	return out, nil
}

// check validates what the schema requires beyond field names.
func (p *Policy) check(d *decoder, doc *yaml.Node) error {
	fail := func(path, format string, args ...any) error {
		return &FieldError{File: d.file, Line: lineOf(doc, path), Path: path, Msg: fmt.Sprintf(format, args...)}
	}
	if p.APIVersion != "kyverno.io/v1" {
		return fail("apiVersion", "expected kyverno.io/v1, got %q", p.APIVersion)
	}
	if p.Kind != "ClusterPolicy" && p.Kind != "Policy" {
		return fail("kind", "expected ClusterPolicy or Policy, got %q", p.Kind)
	}
	if p.Metadata.Name == "" {
		return fail("metadata.name", "required")
	}
	if p.Kind == "ClusterPolicy" && p.Metadata.Namespace != "" {
		return fail("metadata.namespace", "a ClusterPolicy is cluster-scoped and has no namespace")
	}
	if p.Spec.ApplyRules != nil && *p.Spec.ApplyRules != "All" {
		return fail("spec.applyRules", "only All is supported by the reference engine, got %q", *p.Spec.ApplyRules)
	}
	if err := checkAction(p.Spec.ValidationFailureAction); err != nil {
		return fail("spec.validationFailureAction", "%v", err)
	}
	if p.Spec.FailurePolicy != nil && *p.Spec.FailurePolicy != "Fail" && *p.Spec.FailurePolicy != "Ignore" {
		return fail("spec.failurePolicy", "expected Fail or Ignore, got %q", *p.Spec.FailurePolicy)
	}
	if len(p.Spec.Rules) == 0 {
		return fail("spec.rules", "at least one rule is required")
	}
	names := map[string]bool{}
	for i := range p.Spec.Rules {
		r := &p.Spec.Rules[i]
		rp := indexPath("spec.rules", i)
		if r.Name == "" {
			return fail(rp+".name", "required")
		}
		if names[r.Name] {
			return fail(rp+".name", "duplicate rule name %q", r.Name)
		}
		names[r.Name] = true
		if r.Validation != nil {
			if r.Validation.FailureAction != nil {
				if err := checkAction(*r.Validation.FailureAction); err != nil {
					return fail(rp+".validate.failureAction", "%v", err)
				}
			}
			if err := checkForEach(r.Validation.ForEach, rp+".validate.foreach", fail); err != nil {
				return err
			}
		}
		if err := checkContext(r.Context, rp+".context", fail); err != nil {
			return err
		}
	}
	return nil
}

func checkForEach(fe []ForEachValidation, path string, fail func(string, string, ...any) error) error {
	for i := range fe {
		p := indexPath(path, i)
		if fe[i].List == "" {
			return fail(p+".list", "required")
		}
		if err := checkContext(fe[i].Context, p+".context", fail); err != nil {
			return err
		}
		if err := checkForEach(fe[i].ForEach, p+".foreach", fail); err != nil {
			return err
		}
	}
	return nil
}

func checkContext(entries []ContextEntry, path string, fail func(string, string, ...any) error) error {
	for i, e := range entries {
		p := indexPath(path, i)
		if e.Name == "" {
			return fail(p+".name", "required")
		}
		if e.ImageRegistry == nil && e.Variable == nil {
			return fail(p, "exactly one of configMap or apiCall or imageRegistry or variable is required for context entries")
		}
		if e.ImageRegistry != nil && e.Variable != nil {
			return fail(p, "exactly one of configMap or apiCall or imageRegistry or variable is required for context entries")
		}
		if e.ImageRegistry != nil && e.ImageRegistry.ImageRegistryCredentials != nil {
			for j, pr := range e.ImageRegistry.ImageRegistryCredentials.Providers {
				switch pr {
				case "default", "google", "azure", "amazon", "github":
				default:
					return fail(indexPath(p+".imageRegistry.imageRegistryCredentials.providers", j), "unsupported value %q: expected one of default, google, azure, amazon, github", pr)
				}
			}
		}
	}
	return nil
}

func checkAction(a string) error {
	switch strings.ToLower(a) {
	case "", "audit", "enforce":
		return nil
	}
	return fmt.Errorf("expected Audit or Enforce, got %q", a)
}

// lineOf finds the line of a dotted path in a document; when the path
// does not exist, the line of its deepest existing parent.
func lineOf(doc *yaml.Node, path string) int {
	n := doc
	for _, part := range strings.Split(path, ".") {
		name, rest, _ := strings.Cut(part, "[")
		next := childNode(n, name)
		if next == nil {
			return n.Line
		}
		n = next
		for rest != "" {
			var idx int
			if _, err := fmt.Sscanf(rest, "%d]", &idx); err != nil {
				return n.Line
			}
			n = resolveAlias(n)
			if n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return n.Line
			}
			n = n.Content[idx]
			_, rest, _ = strings.Cut(rest, "[")
		}
	}
	return n.Line
}

func childNode(n *yaml.Node, key string) *yaml.Node {
	n = resolveAlias(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
