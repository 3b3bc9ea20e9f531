package kyvernocli

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	kyvernov1 "github.com/kyverno/kyverno/api/kyverno/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/imagectx/conformance/engine"
)

// ConfigMaps reach kubectl-kyverno apply through its values file.
//
// Without a cluster, v1.19.1's context loader (store.ContextLoaderFactory,
// local mode) has no ConfigMap resolver: it skips configMap context entries
// ("disabled loading of ConfigMap context entry"). Its initializer, which
// runs when a rule's context loads (and again for each foreach element),
// adds the values file's policies[].rules[].values to the JSON context with
// AddVariable first. A value named like the entry holding what Kyverno's
// ConfigMap loader (pkg/engine/context/loaders/configmap.go) would have
// added, {data: <ConfigMap data>, metadata: <ObjectMeta>}, answers the
// entry as a resolver would for every expression that reads it after the
// point where Kyverno would load it.
//
// The values are there from the start of the rule, and a missing ConfigMap
// cannot be an error; configMapValues refuses (engine.ErrUnsupportedInput)
// every entry where that shows.

// valuesPolicy and valuesRule are the values file's policies[] entries
// (cli.kyverno.io/v1alpha1 Values: policies[].name, rules[].name, values).
type valuesPolicy struct {
	Name  string       `json:"name"`
	Rules []valuesRule `json:"rules"`
}

type valuesRule struct {
	Name   string         `json:"name"`
	Values map[string]any `json:"values"`
}

// configMapValues is what the values file gives the CLI for the policies'
// configMap context entries, answered from configMaps. A ConfigMap document
// that is not a named v1 ConfigMap is an error; an entry the CLI cannot
// answer as a cluster would is an error wrapping engine.ErrUnsupportedInput
// that names every such entry and says why.
func configMapValues(policies, configMaps []engine.Document) ([]valuesPolicy, error) {
	cms, err := loadConfigMaps(configMaps)
	if err != nil {
		return nil, err
	}
	var (
		out     []valuesPolicy
		refused []string
		given   []policyRules // every kyverno.io policy, for the name check
	)
	for _, d := range policies {
		for _, yd := range splitDocuments(d) {
			m, err := readMeta(yd)
			if err != nil || !isKyvernoPolicy(m) {
				// writePolicies reports a broken document.
				continue
			}
			p, why, err := policyConfigMaps(yd, m, cms)
			if err != nil {
				return nil, err
			}
			refused = append(refused, why...)
			given = append(given, p.rules)
			if len(p.values.Rules) > 0 {
				out = append(out, p.values)
			}
		}
	}
	refused = append(refused, checkRuleLookup(given, out)...)
	if len(refused) > 0 {
		return nil, fmt.Errorf("kyvernocli: the CLI cannot answer these configMap context entries as a cluster would: %s: %w",
			strings.Join(refused, "; "), engine.ErrUnsupportedInput)
	}
	return out, nil
}

// loadConfigMaps decodes the ConfigMaps into the value Kyverno's loader
// adds to the context, by "namespace/name". A ConfigMap without a
// namespace is in "default", as an API server stores it (and where Kyverno
// looks when an entry names none).
func loadConfigMaps(docs []engine.Document) (map[string]any, error) {
	out := map[string]any{}
	where := map[string]string{}
	for _, d := range docs {
		for _, yd := range splitDocuments(d) {
			var cm corev1.ConfigMap
			if err := yaml.UnmarshalStrict(yd.Data, &cm); err != nil {
				return nil, fmt.Errorf("kyvernocli: ConfigMap %s: %w", yd.where(), err)
			}
			if cm.APIVersion != "v1" || cm.Kind != "ConfigMap" || cm.Name == "" {
				return nil, fmt.Errorf("kyvernocli: ConfigMap %s: want apiVersion v1, kind ConfigMap and metadata.name, got %s %s %q",
					yd.where(), cm.APIVersion, cm.Kind, cm.Name)
			}
			if cm.Namespace == "" {
				cm.Namespace = "default"
			}
			key := cm.Namespace + "/" + cm.Name
			if prev, dup := where[key]; dup {
				return nil, fmt.Errorf("kyvernocli: ConfigMap %s: %s is also given at %s", yd.where(), key, prev)
			}
			where[key] = yd.where()
			// loaders/configmap.go fetchConfigMap: data and metadata only
			// (not binaryData), marshalled to JSON and added with
			// AddContextEntry, which unmarshals it again.
			js, err := json.Marshal(map[string]any{"data": cm.Data, "metadata": cm.ObjectMeta})
			if err != nil {
				return nil, fmt.Errorf("kyvernocli: ConfigMap %s: %w", yd.where(), err)
			}
			var v any
			if err := json.Unmarshal(js, &v); err != nil {
				return nil, fmt.Errorf("kyvernocli: ConfigMap %s: %w", yd.where(), err)
			}
			out[key] = v
		}
	}
	return out, nil
}

// policyRules names a policy's rules and the configMap values each gets,
// for checkRuleLookup.
type policyRules struct {
	name   string
	where  string
	rules  []string
	values map[string]map[string]any // rule -> values; nil for none
}

type policyResult struct {
	values valuesPolicy
	rules  policyRules
}

// cmEntry is a configMap context entry found in a rule.
type cmEntry struct {
	block []any // keys and indexes from the rule to the map holding the context list
	index int   // in that context list
	entry kyvernov1.ContextEntry
}

func (e cmEntry) path(rule int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "spec.rules[%d]", rule)
	for _, p := range e.block {
		switch p := p.(type) {
		case string:
			b.WriteString("." + p)
		case int:
			fmt.Fprintf(&b, "[%d]", p)
		}
	}
	fmt.Fprintf(&b, ".context[%d]", e.index)
	return b.String()
}

// policyConfigMaps answers one policy's configMap entries; why lists the
// entries it cannot answer.
func policyConfigMaps(yd yamlDoc, m objectMeta, cms map[string]any) (res policyResult, why []string, err error) {
	res.values.Name = m.Metadata.Name
	res.rules = policyRules{name: m.Metadata.Name, where: yd.where(), values: map[string]map[string]any{}}
	for _, r := range m.Spec.Rules {
		res.rules.rules = append(res.rules.rules, r.Name)
	}
	js, err := yaml.YAMLToJSON(yd.Data)
	if err != nil {
		return res, nil, fmt.Errorf("kyvernocli: policy %s: not valid YAML: %w", yd.where(), err)
	}
	var pol kyvernov1.PolicyInterface = &kyvernov1.ClusterPolicy{}
	if m.Kind == "Policy" {
		pol = &kyvernov1.Policy{}
	}
	var raw struct {
		Spec struct {
			Rules []any `json:"rules"`
		} `json:"spec"`
	}
	err = json.Unmarshal(js, pol)
	if err == nil {
		err = json.Unmarshal(js, &raw)
	}
	if err != nil {
		if bytes.Contains(js, []byte(`"configMap"`)) {
			why = append(why, fmt.Sprintf("policy %s (%s): not a %s the driver can decode to find its configMap entries: %v", m.Metadata.Name, yd.where(), m.Kind, err))
		}
		return res, why, nil
	}
	// As the loader's factory: a namespaced policy's namespace (even
	// empty, when the document names none).
	policyNamespace := ""
	if pol.IsNamespaced() {
		policyNamespace = pol.GetNamespace()
	}
	for i, rawRule := range raw.Spec.Rules {
		rule, ok := rawRule.(map[string]any)
		if !ok || i >= len(m.Spec.Rules) {
			continue
		}
		ruleName := m.Spec.Rules[i].Name
		var entries []cmEntry
		if err := findConfigMapEntries(rule, nil, &entries); err != nil {
			why = append(why, fmt.Sprintf("policy %s (%s) rule %s: %v", m.Metadata.Name, yd.where(), ruleName, err))
			continue
		}
		values := map[string]any{}
		for _, e := range entries {
			at := fmt.Sprintf("policy %s (%s) rule %s context entry %q (%s)", m.Metadata.Name, yd.where(), ruleName, e.entry.Name, e.path(i))
			v, reason, skip := answerEntry(rule, e, policyNamespace, cms)
			switch {
			case skip:
			case reason != "":
				why = append(why, at+": "+reason)
			default:
				values[valuesKey(e.entry.Name)] = v
			}
		}
		if len(values) > 0 {
			res.rules.values[ruleName] = values
			res.values.Rules = append(res.values.Rules, valuesRule{Name: ruleName, Values: values})
			// v1.19.1 store.GetPolicyRule finds a rule's values under its
			// name, "autogen-<name>" and "autogen-cronjob-<name>", but
			// Kyverno cuts autogen names to 63 characters: a cut name gets
			// an entry of its own.
			for _, prefix := range []string{"autogen-", "autogen-cronjob-"} {
				if n := autogenRuleName(prefix, ruleName); n != prefix+ruleName {
					res.values.Rules = append(res.values.Rules, valuesRule{Name: n, Values: values})
				}
			}
		}
	}
	return res, why, nil
}

// answerEntry is the value that answers entry e of rule, or why it cannot
// be given; skip is true for an entry the CLI's policy validation rejects
// (then the CLI reports the policy as skipped, as an API server would
// refuse it).
func answerEntry(rule map[string]any, e cmEntry, policyNamespace string, cms map[string]any) (v any, reason string, skip bool) {
	ref := e.entry.ConfigMap
	if e.entry.Name == "" || len(e.block) == 0 && (ref.Name == "" || ref.Namespace == "") {
		// pkg/validation/policy validateRuleContext and validateConfigMap
		// reject these at rule level; an entry without a name elsewhere
		// is one no expression can read.
		return nil, "", true
	}
	for _, s := range []string{ref.Name, ref.Namespace} {
		if strings.Contains(s, "{{") || strings.Contains(s, "$(") {
			return nil, fmt.Sprintf("configMap name %q / namespace %q holds variables, which the driver cannot resolve before the CLI runs", ref.Name, ref.Namespace), false
		}
	}
	ns := ref.Namespace
	if ns == "" {
		// loaders/configmap.go: the policy's namespace, else "default".
		ns = policyNamespace
		if ns == "" {
			ns = "default"
		}
	}
	if policyNamespace != "" && ns != policyNamespace {
		return nil, fmt.Sprintf("a cluster fails the lookup (configMap namespace %q is different from policy namespace %q), which the CLI's values file cannot reproduce", ns, policyNamespace), false
	}
	key := ns + "/" + ref.Name
	v, ok := cms[key]
	if !ok {
		return nil, fmt.Sprintf("ConfigMap %s is not among the ConfigMaps given: a cluster answers `configmaps %q not found`, which the CLI's values file cannot reproduce", key, ref.Name), false
	}
	if other := sameNameEntries(rule, e); other != "" {
		return nil, fmt.Sprintf("the rule has another context entry named %q (%s); the values file gives a rule one value per name", e.entry.Name, other), false
	}
	if at := readBeforeLoaded(rule, e); at != "" {
		return nil, fmt.Sprintf("%s reads %q where Kyverno has not loaded the entry yet, but the CLI's values are there from the start of the rule", at, e.entry.Name), false
	}
	return v, "", false
}

// findConfigMapEntries walks a rule (JSON) for context lists and records
// their configMap entries: rule-level, validate/mutate foreach at any depth
// (nested foreach is raw JSON in the API types), and any other place, which
// is an error naming it.
func findConfigMapEntries(node any, path []any, out *[]cmEntry) error {
	switch n := node.(type) {
	case map[string]any:
		if list, ok := n["context"].([]any); ok {
			for k, item := range list {
				im, ok := item.(map[string]any)
				if !ok {
					continue
				}
				if _, ok := im["configMap"]; !ok {
					continue
				}
				js, err := json.Marshal(im)
				if err != nil {
					return err
				}
				var entry kyvernov1.ContextEntry
				if err := json.Unmarshal(js, &entry); err != nil {
					return fmt.Errorf("context entry %s: %v", cmEntry{block: path, index: k}.path(0), err)
				}
				if entry.ConfigMap == nil {
					continue
				}
				block := append([]any(nil), path...)
				if !foreachBlock(block) {
					return fmt.Errorf("configMap context entry %q at %s: the driver knows where Kyverno loads rule-level and validate/mutate foreach entries, not this place",
						entry.Name, strings.TrimPrefix(cmEntry{block: block, index: k}.path(0), "spec.rules[0]."))
				}
				*out = append(*out, cmEntry{block: block, index: k, entry: entry})
			}
		}
		for _, key := range sortedKeys(n) {
			if key == "context" {
				continue // entries hold data, not rules
			}
			if err := findConfigMapEntries(n[key], append(path, key), out); err != nil {
				return err
			}
		}
	case []any:
		for i, item := range n {
			if err := findConfigMapEntries(item, append(path, i), out); err != nil {
				return err
			}
		}
	}
	return nil
}

// foreachBlock reports whether path leads from a rule to itself or to a
// validate.foreach / mutate.foreach element, at any nesting depth.
func foreachBlock(path []any) bool {
	if len(path) == 0 {
		return true
	}
	if k, ok := path[0].(string); !ok || (k != "validate" && k != "mutate") {
		return false
	}
	rest := path[1:]
	if len(rest) == 0 || len(rest)%2 != 0 {
		return false
	}
	for i := 0; i < len(rest); i += 2 {
		if k, ok := rest[i].(string); !ok || k != "foreach" {
			return false
		}
		if _, ok := rest[i+1].(int); !ok {
			return false
		}
	}
	return true
}

// sameNameEntries names another context entry of the rule (anywhere) with
// e's name, or "".
func sameNameEntries(rule map[string]any, e cmEntry) string {
	var found string
	var walk func(node any, path []any)
	walk = func(node any, path []any) {
		if found != "" {
			return
		}
		switch n := node.(type) {
		case map[string]any:
			if list, ok := n["context"].([]any); ok {
				for k, item := range list {
					im, _ := item.(map[string]any)
					if name, _ := im["name"].(string); name == e.entry.Name && !(samePath(path, e.block) && k == e.index) {
						found = strings.TrimPrefix(cmEntry{block: path, index: k}.path(0), "spec.rules[0].")
						return
					}
				}
			}
			for _, key := range sortedKeys(n) {
				walk(n[key], append(append([]any(nil), path...), key))
			}
		case []any:
			for i, item := range n {
				walk(item, append(append([]any(nil), path...), i))
			}
		}
	}
	walk(rule, nil)
	return found
}

func samePath(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// readBeforeLoaded says where the rule may read e's name before Kyverno
// loads the entry ("" when nowhere). A cluster loads a rule-level entry
// with the rule's context, so only the entries before it are earlier; a
// foreach entry is loaded for each element, so everything in the rule
// outside that foreach element's later entries, preconditions and body is
// earlier (or later: after the foreach, the element's context is gone).
// The CLI has the value from the start of the rule. The test is textual
// and errs on the side of refusing: any expression in those places that
// names the entry as a variable (a word not after a ".", or after "@." or
// "$.") counts.
func readBeforeLoaded(rule map[string]any, e cmEntry) string {
	cp, err := deepCopyJSON(rule)
	if err != nil {
		return "the rule (not JSON)"
	}
	var earlier any
	if len(e.block) == 0 {
		list, _ := cp.(map[string]any)["context"].([]any)
		earlier = map[string]any{"context": list[:e.index]}
	} else {
		parent := cp
		for _, p := range e.block[:len(e.block)-1] {
			switch p := p.(type) {
			case string:
				parent = parent.(map[string]any)[p]
			case int:
				parent = parent.([]any)[p]
			}
		}
		list := parent.([]any)
		idx := e.block[len(e.block)-1].(int)
		block := list[idx].(map[string]any)
		ctx, _ := block["context"].([]any)
		// The foreach element keeps its list (read before the elements'
		// context) and the entries before e.
		list[idx] = map[string]any{"list": block["list"], "context": ctx[:e.index]}
		// A rule's name and match/exclude are not expressions.
		m := cp.(map[string]any)
		delete(m, "name")
		delete(m, "match")
		delete(m, "exclude")
		earlier = m
	}
	stripEntryNames(earlier)
	ref := variableRef(e.entry.Name)
	found := false
	eachString(earlier, func(s string) {
		found = found || ref.MatchString(s)
	})
	if !found {
		return ""
	}
	if len(e.block) == 0 {
		return fmt.Sprintf("an entry before it (context[:%d])", e.index)
	}
	return "the rule outside that foreach element's later entries, preconditions and body"
}

// eachString calls fn with every string value in a JSON value (a list or
// jmesPath is an expression without braces) and every map key holding a
// variable (a patchStrategicMerge key can).
func eachString(node any, fn func(string)) {
	switch n := node.(type) {
	case string:
		fn(n)
	case map[string]any:
		for k, v := range n {
			if strings.Contains(k, "{{") {
				fn(k)
			}
			eachString(v, fn)
		}
	case []any:
		for _, v := range n {
			eachString(v, fn)
		}
	}
}

// stripEntryNames removes context entries' names (not expressions).
func stripEntryNames(node any) {
	switch n := node.(type) {
	case map[string]any:
		if list, ok := n["context"].([]any); ok {
			for _, item := range list {
				if im, ok := item.(map[string]any); ok {
					delete(im, "name")
				}
			}
		}
		for _, v := range n {
			stripEntryNames(v)
		}
	case []any:
		for _, v := range n {
			stripEntryNames(v)
		}
	}
}

// variableRef matches name used as a JMESPath variable in a string.
func variableRef(name string) *regexp.Regexp {
	return regexp.MustCompile(`(?:^|[^.0-9A-Za-z_]|[@$]\.)` + regexp.QuoteMeta(name) + `(?:$|[^0-9A-Za-z_])`)
}

func deepCopyJSON(v any) (any, error) {
	js, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(js, &out)
	return out, err
}

// valuesKey is the values-file key the CLI's AddVariable (a CSV reader
// splitting at ".") reads back as the single field name: AddContextEntry
// adds an entry under its name as one key, dots and all.
func valuesKey(name string) string {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Comma = '.'
	_ = w.Write([]string{name})
	w.Flush()
	return strings.TrimSuffix(b.String(), "\n")
}

// autogenRuleName is Kyverno's name for a rule it generates for Pod
// controllers (v1.19.1 pkg/autogen/v1 getAutogenRuleName): cut to 63
// characters.
func autogenRuleName(prefix, rule string) string {
	name := prefix + rule
	if len(name) > 63 {
		name = name[:63]
	}
	return name
}

// checkRuleLookup replays v1.19.1 store.GetPolicyRule over the values
// written: for every rule of every policy given, under each name Kyverno
// may evaluate it by (its own and its autogen names), the values found
// must be those of that rule. Policies are found by name alone (a Policy
// and a ClusterPolicy of one name share them), and a rule's name can be
// another's autogen name.
func checkRuleLookup(given []policyRules, written []valuesPolicy) []string {
	lookup := func(policy, rule string) map[string]any {
		for _, p := range written {
			if p.Name != policy {
				continue
			}
			for _, r := range p.Rules {
				switch rule {
				case r.Name, "autogen-" + r.Name, "autogen-cronjob-" + r.Name:
					return r.Values
				}
			}
		}
		return nil
	}
	var why []string
	for _, p := range given {
		for _, rule := range p.rules {
			want := p.values[rule]
			for _, name := range []string{rule, autogenRuleName("autogen-", rule), autogenRuleName("autogen-cronjob-", rule)} {
				got := lookup(p.name, name)
				if !sameValues(got, want) {
					why = append(why, fmt.Sprintf("policy %s (%s) rule %s: the CLI looks values up by policy and rule name, and under %q it would find another rule's configMap values (a policy or rule name shared, or an autogen name that is another rule's)",
						p.name, p.where, rule, name))
					break
				}
			}
		}
	}
	return why
}

func sameValues(a, b map[string]any) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

func sortedKeys(m map[string]any) []string {
	return slices.Sorted(maps.Keys(m))
}
