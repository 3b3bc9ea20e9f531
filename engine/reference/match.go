package reference

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	wildcard "github.com/IGLOU-EU/go-wildcard"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// resource is one decoded input resource.
type resource struct {
	object     map[string]any
	apiVersion string
	kind       string
	name       string
	namespace  string
	labels     map[string]string
	annots     map[string]string
}

func (r *resource) group() string {
	g, _, ok := strings.Cut(r.apiVersion, "/")
	if !ok {
		return ""
	}
	return g
}

func (r *resource) version() string {
	if _, v, ok := strings.Cut(r.apiVersion, "/"); ok {
		return v
	}
	return r.apiVersion
}

// ruleMatches reports whether the rule applies to the resource under the
// operation, following Kyverno's match/exclude semantics: match.any (one
// filter matches), match.all (every filter matches) or the older
// match.resources; then exclude the same way.
func ruleMatches(r *Rule, policyNamespace string, res *resource, operation string) (bool, error) {
	if policyNamespace != "" && policyNamespace != res.namespace {
		return false, nil
	}
	m := &r.MatchResources
	switch {
	case len(m.Any) > 0:
		one := false
		for i := range m.Any {
			ok, err := descriptionMatches(&m.Any[i].Resources, res, operation)
			if err != nil {
				return false, err
			}
			if ok {
				one = true
				break
			}
		}
		if !one {
			return false, nil
		}
	case len(m.All) > 0:
		for i := range m.All {
			ok, err := descriptionMatches(&m.All[i].Resources, res, operation)
			if err != nil || !ok {
				return false, err
			}
		}
	default:
		if m.Resources.empty() {
			return false, nil // Kyverno: "match cannot be empty"
		}
		ok, err := descriptionMatches(&m.Resources, res, operation)
		if err != nil || !ok {
			return false, err
		}
	}
	x := r.ExcludeResources
	if x == nil {
		return true, nil
	}
	switch {
	case len(x.Any) > 0:
		for i := range x.Any {
			if x.Any[i].Resources.empty() {
				continue
			}
			ok, err := descriptionMatches(&x.Any[i].Resources, res, operation)
			if err != nil {
				return false, err
			}
			if ok {
				return false, nil
			}
		}
	case len(x.All) > 0:
		for i := range x.All {
			if x.All[i].Resources.empty() {
				return true, nil
			}
			ok, err := descriptionMatches(&x.All[i].Resources, res, operation)
			if err != nil {
				return false, err
			}
			if !ok {
				return true, nil
			}
		}
		return false, nil
	default:
		if x.Resources.empty() {
			return true, nil
		}
		ok, err := descriptionMatches(&x.Resources, res, operation)
		if err != nil {
			return false, err
		}
		return !ok, nil
	}
	return true, nil
}

// descriptionMatches: every criterion that is set must hold.
func descriptionMatches(d *ResourceDescription, res *resource, operation string) (bool, error) {
	if len(d.Operations) > 0 && !slices.Contains(d.Operations, operation) {
		return false, nil
	}
	if len(d.Kinds) > 0 && !kindMatches(d.Kinds, res) {
		return false, nil
	}
	if d.Name != "" && !wildcard.Match(d.Name, res.name) {
		return false, nil
	}
	if len(d.Names) > 0 && !slices.ContainsFunc(d.Names, func(n string) bool { return wildcard.Match(n, res.name) }) {
		return false, nil
	}
	if len(d.Namespaces) > 0 {
		ns := res.namespace
		if res.kind == "Namespace" {
			ns = res.name
		}
		if !slices.ContainsFunc(d.Namespaces, func(n string) bool { return wildcard.Match(n, ns) }) {
			return false, nil
		}
	}
	if len(d.Annotations) > 0 && !annotationsMatch(d.Annotations, res.annots) {
		return false, nil
	}
	if d.Selector != nil {
		ok, err := selectorMatches(d.Selector, res.labels)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

func annotationsMatch(want, have map[string]string) bool {
	for k, v := range want {
		found := false
		for hk, hv := range have {
			if wildcard.Match(k, hk) && wildcard.Match(v, hv) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func selectorMatches(s *LabelSelector, labels map[string]string) (bool, error) {
	ls := &metav1.LabelSelector{MatchLabels: s.MatchLabels}
	for _, e := range s.MatchExpressions {
		ls.MatchExpressions = append(ls.MatchExpressions, metav1.LabelSelectorRequirement{
			Key: e.Key, Operator: metav1.LabelSelectorOperator(e.Operator), Values: e.Values,
		})
	}
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		return false, fmt.Errorf("failed to parse selector: %v", err)
	}
	return sel.Matches(labelSet(labels)), nil
}

type labelSet map[string]string

func (l labelSet) Has(k string) bool              { _, ok := l[k]; return ok }
func (l labelSet) Get(k string) string            { return l[k] }
func (l labelSet) Lookup(k string) (string, bool) { v, ok := l[k]; return v, ok }

var versionRE = regexp.MustCompile(`^(v\d((alpha|beta)\d)?|\*)$`)

// kindMatches parses each kind selector as Kyverno does (Kind,
// version/Kind, group/version/Kind, optional /subresource; dots in the
// last part split a subresource too) and matches it with wildcards.
// Resources given to the engine are never subresources.
func kindMatches(kinds []string, res *resource) bool {
	for _, k := range kinds {
		group, version, kind, sub := parseKindSelector(k)
		if wildcard.Match(group, res.group()) && wildcard.Match(version, res.version()) &&
			wildcard.Match(kind, res.kind) && wildcard.Match(sub, "") {
			return true
		}
	}
	return false
}

func parseKindSelector(input string) (group, version, kind, sub string) {
	parts := strings.Split(input, "/")
	last := parts[len(parts)-1]
	parts = append(parts[:len(parts)-1], strings.Split(last, ".")...)
	switch len(parts) {
	case 1:
		return "*", "*", parts[0], ""
	case 2:
		if parts[0] == "*" && parts[1] == "*" {
			return "*", "*", "*", "*"
		}
		if parts[0] == "*" && strings.ToLower(parts[1]) == parts[1] {
			return "*", "*", parts[0], parts[1]
		}
		if versionRE.MatchString(parts[0]) {
			return "*", parts[0], parts[1], ""
		}
		return "*", "*", parts[0], parts[1]
	case 3:
		if versionRE.MatchString(parts[0]) {
			return "*", parts[0], parts[1], parts[2]
		}
		return parts[0], parts[1], parts[2], ""
	case 4:
		return parts[0], parts[1], parts[2], parts[3]
	}
	return "", "", "", ""
}
