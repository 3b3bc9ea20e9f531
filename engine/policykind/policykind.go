// Package policykind is the vocabulary of the policy kinds the
// specification covers: Kyverno's legacy kyverno.io ClusterPolicy and
// Policy (JMESPath, imageRegistry context entries) and their successors in
// policies.kyverno.io (CEL, image.GetMetadata and image verification).
// What a kind means for a scenario (its language, the rule names Kyverno
// reports for it, the rule type of each) is written here once; the
// scenario loader, the labels, the reports and the admission engine (its
// resource and webhooks) read it from here. A new kind is one entry of
// kinds and, where an engine runs it, one package of that engine
// (engine/inprocess/celpolicy for the CEL kinds).
package policykind

import (
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/imagectx/conformance/yamlkit/yamlpath"
)

// Language is the expression language of a policy kind, the value of the
// `lang:` label of every spec.
type Language string

const (
	JMESPath Language = "jmespath"
	CEL      Language = "cel"
)

// RuleType is the type of a rule as Kyverno names it (Rule.HasValidate
// and the like); a CEL policy has one type, by its kind.
type RuleType string

const (
	RuleValidate     RuleType = "validate"
	RuleMutate       RuleType = "mutate"
	RuleVerifyImages RuleType = "verifyImages"
	RuleGenerate     RuleType = "generate"
)

// Patches says whether a rule of this type can patch the resource
// (mutate and verifyImages rules).
func (t RuleType) Patches() bool { return t == RuleMutate || t == RuleVerifyImages }

// Kind is one policy kind.
type Kind struct {
	// Name is the Kubernetes kind, e.g. "ValidatingPolicy".
	Name string
	// Group is its API group ("kyverno.io", "policies.kyverno.io").
	Group    string
	Language Language
	// Type is the rule type of every result of a CEL kind; "" for
	// kyverno.io kinds, whose rules each have their own.
	Type RuleType
	// Namespaced is the namespaced kind of the same group that runs the
	// same policy in one Namespace (ClusterPolicy: Policy; a Namespaced
	// kind: itself).
	Namespaced string
	// Resource is the kind's API resource, e.g.
	// "namespacedvalidatingpolicies" (what a cluster client creates and
	// reads it as).
	Resource string
	// Webhooks are the webhooks Kyverno v1.19.1 registers for a policy of
	// a namespaced CEL kind, by name prefix (pkg/config; the controllers
	// append "<failurePolicy>" and, for a policy with its own timeout or
	// matchConditions, "-finegrained-<policy>"): one must cover a
	// resource before the policy is served there. nil for kyverno.io
	// kinds (their webhooks follow their rules) and cluster-wide kinds.
	Webhooks []Webhook
	// ruleIsPolicyName: the policy's result is reported under the
	// policy's name, not "" (ImageValidatingPolicy, pkg/image/verification/evaluator).
	ruleIsPolicyName bool
}

// Webhook is one webhook a policy kind needs, by name prefix.
type Webhook struct {
	// Mutating: in Kyverno's mutating webhook configuration, not its
	// validating one.
	Mutating bool
	// Prefix is the webhook name up to its failurePolicy, e.g.
	// "nvpol.validate.kyverno.svc-".
	Prefix string
}

// CELRuleNames are the rule names Kyverno v1.19.1 reports for a
// policies.kyverno.io policy (pkg/cel/policies/*/engine): "" for the
// result of a ValidatingPolicy or MutatingPolicy (an
// ImageValidatingPolicy's carries the policy's own name instead, see
// Kind.Rules), "evaluation" when its evaluation failed (a
// matchCondition under failurePolicy Fail, an auditAnnotation, a
// MutatingPolicy's mutation), "match" when matching failed, "exception"
// when a PolicyException decided, "mutateDigest" for an
// ImageValidatingPolicy's digest pinning.
var CELRuleNames = []string{"", "evaluation", "match", "exception", "mutateDigest"}

var kinds = []Kind{
	{Name: "ClusterPolicy", Group: "kyverno.io", Language: JMESPath, Namespaced: "Policy", Resource: "clusterpolicies"},
	{Name: "Policy", Group: "kyverno.io", Language: JMESPath, Namespaced: "Policy", Resource: "policies"},
	{Name: "ValidatingPolicy", Group: "policies.kyverno.io", Language: CEL, Type: RuleValidate, Namespaced: "NamespacedValidatingPolicy", Resource: "validatingpolicies"},
	{Name: "NamespacedValidatingPolicy", Group: "policies.kyverno.io", Language: CEL, Type: RuleValidate, Namespaced: "NamespacedValidatingPolicy", Resource: "namespacedvalidatingpolicies",
		Webhooks: []Webhook{{Mutating: false, Prefix: "nvpol.validate.kyverno.svc-"}}},
	{Name: "MutatingPolicy", Group: "policies.kyverno.io", Language: CEL, Type: RuleMutate, Namespaced: "NamespacedMutatingPolicy", Resource: "mutatingpolicies"},
	{Name: "NamespacedMutatingPolicy", Group: "policies.kyverno.io", Language: CEL, Type: RuleMutate, Namespaced: "NamespacedMutatingPolicy", Resource: "namespacedmutatingpolicies",
		Webhooks: []Webhook{{Mutating: true, Prefix: "nmpol.validate.kyverno.svc-"}}},
	{Name: "ImageValidatingPolicy", Group: "policies.kyverno.io", Language: CEL, Type: RuleVerifyImages, ruleIsPolicyName: true, Namespaced: "NamespacedImageValidatingPolicy", Resource: "imagevalidatingpolicies"},
	{Name: "NamespacedImageValidatingPolicy", Group: "policies.kyverno.io", Language: CEL, Type: RuleVerifyImages, ruleIsPolicyName: true, Namespaced: "NamespacedImageValidatingPolicy", Resource: "namespacedimagevalidatingpolicies",
		Webhooks: []Webhook{{Mutating: false, Prefix: "ivpol.validate.kyverno.svc-"}}},
}

// Lookup finds the kind of a document by its apiVersion and kind; ok is
// false for any other kind or group.
func Lookup(apiVersion, kind string) (Kind, bool) {
	group, _, _ := strings.Cut(apiVersion, "/")
	i := slices.IndexFunc(kinds, func(k Kind) bool { return k.Name == kind && k.Group == group })
	if i < 0 {
		return Kind{}, false
	}
	return kinds[i], true
}

// Names lists every kind as "<group> <Kind>", for error messages.
func Names() []string {
	out := make([]string, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, k.Group+" "+k.Name)
	}
	return out
}

// Rules are the rule names Kyverno reports for a policy document of this
// kind: spec.rules[].name for kyverno.io kinds, CELRuleNames for CEL (the
// first, the policy's own result, is metadata.name for an
// ImageValidatingPolicy).
func (k Kind) Rules(doc *yaml.Node) []string {
	if k.Language == CEL {
		names := slices.Clone(CELRuleNames)
		if k.ruleIsPolicyName {
			names[0] = scalar(yamlpath.Child(yamlpath.Child(doc, "metadata"), "name"))
		}
		return names
	}
	rules := yamlpath.Child(yamlpath.Child(doc, "spec"), "rules")
	if rules == nil || rules.Kind != yaml.SequenceNode {
		return nil
	}
	var out []string
	for _, r := range rules.Content {
		if name := scalar(yamlpath.Child(r, "name")); name != "" {
			out = append(out, name)
		}
	}
	return out
}

// RuleTypes maps each rule name of Rules to its type: for kyverno.io
// kinds the first of validate, mutate, verifyImages, generate the rule
// has; for CEL kinds the kind's type.
func (k Kind) RuleTypes(doc *yaml.Node) map[string]RuleType {
	out := map[string]RuleType{}
	if k.Language == CEL {
		for _, name := range k.Rules(doc) {
			out[name] = k.Type
		}
		return out
	}
	rules := yamlpath.Child(yamlpath.Child(doc, "spec"), "rules")
	if rules == nil || rules.Kind != yaml.SequenceNode {
		return out
	}
	for _, r := range rules.Content {
		name := scalar(yamlpath.Child(r, "name"))
		for _, t := range []RuleType{RuleValidate, RuleMutate, RuleVerifyImages, RuleGenerate} {
			if yamlpath.Child(r, string(t)) != nil {
				out[name] = t
				break
			}
		}
	}
	return out
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}
