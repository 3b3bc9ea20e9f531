package reference

import (
	"testing"
)

func TestRuleMatches(t *testing.T) {
	pod := &resource{apiVersion: "v1", kind: "Pod", name: "web-1", namespace: "team-a",
		labels: map[string]string{"app": "web"}, annots: map[string]string{"owner": "alice"}}
	deploy := &resource{apiVersion: "apps/v1", kind: "Deployment", name: "web", namespace: "team-a"}
	ns := &resource{apiVersion: "v1", kind: "Namespace", name: "team-a"}
	rd := func(d ResourceDescription) *Rule { return &Rule{MatchResources: MatchResources{Resources: d}} }
	anyOf := func(ds ...ResourceDescription) *Rule {
		r := &Rule{}
		for _, d := range ds {
			r.MatchResources.Any = append(r.MatchResources.Any, ResourceFilter{Resources: d})
		}
		return r
	}
	allOf := func(ds ...ResourceDescription) *Rule {
		r := &Rule{}
		for _, d := range ds {
			r.MatchResources.All = append(r.MatchResources.All, ResourceFilter{Resources: d})
		}
		return r
	}
	exclude := func(r *Rule, x MatchResources) *Rule { r.ExcludeResources = &x; return r }
	cases := []struct {
		name     string
		rule     *Rule
		res      *resource
		policyNS string
		op       string
		want     bool
	}{
		{"kind", rd(ResourceDescription{Kinds: []string{"Pod"}}), pod, "", "CREATE", true},
		{"other kind", rd(ResourceDescription{Kinds: []string{"Pod"}}), deploy, "", "CREATE", false},
		{"version/kind", rd(ResourceDescription{Kinds: []string{"v1/Pod"}}), pod, "", "CREATE", true},
		{"group/version/kind", rd(ResourceDescription{Kinds: []string{"apps/v1/Deployment"}}), deploy, "", "CREATE", true},
		{"wrong group", rd(ResourceDescription{Kinds: []string{"batch/v1/Deployment"}}), deploy, "", "CREATE", false},
		{"wildcard kind", rd(ResourceDescription{Kinds: []string{"*"}}), deploy, "", "CREATE", true},
		{"subresource selector", rd(ResourceDescription{Kinds: []string{"Pod/status"}}), pod, "", "CREATE", false},
		{"name wildcard", rd(ResourceDescription{Kinds: []string{"Pod"}, Name: "web-*"}), pod, "", "CREATE", true},
		{"names", rd(ResourceDescription{Kinds: []string{"Pod"}, Names: []string{"db", "web-?"}}), pod, "", "CREATE", true},
		{"names miss", rd(ResourceDescription{Kinds: []string{"Pod"}, Names: []string{"db"}}), pod, "", "CREATE", false},
		{"namespaces", rd(ResourceDescription{Kinds: []string{"Pod"}, Namespaces: []string{"team-*"}}), pod, "", "CREATE", true},
		{"namespace of a Namespace is its name", rd(ResourceDescription{Kinds: []string{"Namespace"}, Namespaces: []string{"team-a"}}), ns, "", "CREATE", true},
		{"operations", rd(ResourceDescription{Kinds: []string{"Pod"}, Operations: []string{"UPDATE"}}), pod, "", "CREATE", false},
		{"operations hit", rd(ResourceDescription{Kinds: []string{"Pod"}, Operations: []string{"CREATE", "UPDATE"}}), pod, "", "UPDATE", true},
		{"annotations", rd(ResourceDescription{Kinds: []string{"Pod"}, Annotations: map[string]string{"own*": "a*"}}), pod, "", "CREATE", true},
		{"selector", rd(ResourceDescription{Kinds: []string{"Pod"}, Selector: &LabelSelector{MatchLabels: map[string]string{"app": "db"}}}), pod, "", "CREATE", false},
		{"any one", anyOf(ResourceDescription{Kinds: []string{"Deployment"}}, ResourceDescription{Kinds: []string{"Pod"}}), pod, "", "CREATE", true},
		{"all must", allOf(ResourceDescription{Kinds: []string{"Pod"}}, ResourceDescription{Names: []string{"db"}}), pod, "", "CREATE", false},
		{"empty match", rd(ResourceDescription{}), pod, "", "CREATE", false},
		{"exclude", exclude(rd(ResourceDescription{Kinds: []string{"Pod"}}), MatchResources{Resources: ResourceDescription{Namespaces: []string{"team-a"}}}), pod, "", "CREATE", false},
		{"exclude any", exclude(rd(ResourceDescription{Kinds: []string{"Pod"}}), MatchResources{Any: []ResourceFilter{{Resources: ResourceDescription{Names: []string{"x"}}}, {Resources: ResourceDescription{Names: []string{"web-*"}}}}}), pod, "", "CREATE", false},
		{"exclude all partial", exclude(rd(ResourceDescription{Kinds: []string{"Pod"}}), MatchResources{All: []ResourceFilter{{Resources: ResourceDescription{Names: []string{"x"}}}, {Resources: ResourceDescription{Names: []string{"web-*"}}}}}), pod, "", "CREATE", true},
		{"namespaced policy, same namespace", rd(ResourceDescription{Kinds: []string{"Pod"}}), pod, "team-a", "CREATE", true},
		{"namespaced policy, other namespace", rd(ResourceDescription{Kinds: []string{"Pod"}}), pod, "team-b", "CREATE", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ruleMatches(tc.rule, tc.policyNS, tc.res, tc.op)
			if err != nil || got != tc.want {
				t.Errorf("want %v, got %v (%v)", tc.want, got, err)
			}
		})
	}
}
