package cluster

import (
	"context"
	"fmt"
	"reflect"
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// aggregateClusterRoles does once what kube-controller-manager's
// clusterrole-aggregation controller keeps doing: every ClusterRole with an
// aggregationRule gets the rules of the ClusterRoles its selectors match.
// The local provider runs no controller-manager, so without it the
// bootstrap `view` role (bound to Kyverno's reports controller by its
// install manifest) and Kyverno's own aggregated roles stay empty, and
// Kyverno reports background-enabled policies.kyverno.io policies as "not
// ready for reporting, missing permissions". Roles are aggregated in
// passes until nothing changes (an aggregated role can select another).
func aggregateClusterRoles(ctx context.Context, cfg *rest.Config) error {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	for range 5 {
		list, err := cs.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("list ClusterRoles: %w", err)
		}
		changed := false
		for i := range list.Items {
			role := &list.Items[i]
			if role.AggregationRule == nil {
				continue
			}
			rules, err := aggregatedRules(role, list.Items)
			if err != nil {
				return err
			}
			if reflect.DeepEqual(rules, role.Rules) {
				continue
			}
			role.Rules = rules
			if _, err := cs.RbacV1().ClusterRoles().Update(ctx, role, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("aggregate ClusterRole %s: %w", role.Name, err)
			}
			changed = true
		}
		if !changed {
			return nil
		}
	}
	return nil
}

// aggregatedRules are the rules of every other role a selector of role
// matches, each rule once, in the order of the roles' names.
func aggregatedRules(role *rbacv1.ClusterRole, all []rbacv1.ClusterRole) ([]rbacv1.PolicyRule, error) {
	var out []rbacv1.PolicyRule
	sorted := slices.Clone(all)
	slices.SortFunc(sorted, func(a, b rbacv1.ClusterRole) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	for _, sel := range role.AggregationRule.ClusterRoleSelectors {
		selector, err := metav1.LabelSelectorAsSelector(&sel)
		if err != nil {
			return nil, fmt.Errorf("ClusterRole %s: aggregationRule: %w", role.Name, err)
		}
		for _, other := range sorted {
			if other.Name == role.Name || !selector.Matches(labels.Set(other.Labels)) {
				continue
			}
			for _, r := range other.Rules {
				if !slices.ContainsFunc(out, func(x rbacv1.PolicyRule) bool { return reflect.DeepEqual(x, r) }) {
					out = append(out, r)
				}
			}
		}
	}
	return out, nil
}
