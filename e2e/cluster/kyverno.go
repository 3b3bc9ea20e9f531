package cluster

import (
	"context"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Names Kyverno v1.19 uses for its webhook configurations and leases.
const (
	policyWebhookConfig   = "kyverno-policy-validating-webhook-cfg"
	resourceWebhookConfig = "kyverno-resource-validating-webhook-cfg"
	// ImageVerifyCacheOff is the flag every provider that starts Kyverno
	// gives its admission and reports controllers: verifyImages results
	// then carry the verifier's message, never "verified from cache".
	ImageVerifyCacheOff = "--imageVerifyCacheEnabled=false"
	admissionLease      = "kyverno"
	reportsLease        = "kyverno-reports-controller"
)

// waitKyverno returns when the admission controller has registered its
// webhooks and actually answers through the API server (a dry-run Policy with
// an invalid image reference is denied by validate-policy.kyverno.svc), and
// both controllers hold their leader leases. procs, when given, are checked
// for an early exit.
func waitKyverno(ctx context.Context, cfg *rest.Config, procs ...*Process) error {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	var last string
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		for _, p := range procs {
			if done, werr := p.Exited(); done {
				return false, fmt.Errorf("%s exited (%v); log tail:\n%s", p.Name, werr, p.Tail(3000))
			}
		}
		for _, name := range []string{policyWebhookConfig, resourceWebhookConfig} {
			if _, err := cs.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{}); err != nil {
				last = fmt.Sprintf("ValidatingWebhookConfiguration %s: %v", name, err)
				return false, nil
			}
		}
		for _, name := range []string{admissionLease, reportsLease} {
			l, err := cs.CoordinationV1().Leases("kyverno").Get(ctx, name, metav1.GetOptions{})
			if err != nil || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
				last = fmt.Sprintf("lease kyverno/%s not held yet (%v)", name, err)
				return false, nil
			}
		}
		probe := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
			"metadata": map[string]any{"name": "imagectx-e2e-readiness-probe"},
			"spec": map[string]any{"rules": []any{map[string]any{
				"name":  "probe",
				"match": map[string]any{"any": []any{map[string]any{"resources": map[string]any{"kinds": []any{"Pod"}}}}},
				"context": []any{map[string]any{"name": "img", "imageRegistry": map[string]any{
					"reference": "127.0.0.1:1/Bad Repo::tag"}}},
				"validate": map[string]any{"failureAction": "Audit", "deny": map[string]any{}},
			}}},
		}}
		gvr := schema.GroupVersionResource{Group: "kyverno.io", Version: "v1", Resource: "clusterpolicies"}
		_, err := dyn.Resource(gvr).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil {
			last = "readiness probe policy was admitted: validate-policy webhook not called yet"
			return false, nil
		}
		if apierrors.IsForbidden(err) || apierrors.IsBadRequest(err) || strings.Contains(err.Error(), "denied the request") {
			if strings.Contains(err.Error(), "validate-policy.kyverno.svc") {
				return true, nil
			}
		}
		last = "readiness probe: " + err.Error()
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("Kyverno not ready (last: %s): %w", last, err)
	}
	return nil
}
