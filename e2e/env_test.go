package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/imagectx/conformance/e2e/cases"
	"github.com/imagectx/conformance/e2e/cluster"
	"github.com/imagectx/conformance/fakeregistry"
)

var (
	policyGVR = schema.GroupVersionResource{Group: "kyverno.io", Version: "v1", Resource: "policies"}
	reportGVR = schema.GroupVersionResource{Group: "wgpolicyk8s.io", Version: "v1alpha2", Resource: "policyreports"}
)

const resourceWebhookConfig = "kyverno-resource-validating-webhook-cfg"

// resourceMutatingWebhookConfig holds Kyverno's mutate and verifyImages
// webhooks (Kyverno v1.19.1 pkg/config MutatingWebhookConfigurationName).
const resourceMutatingWebhookConfig = "kyverno-resource-mutating-webhook-cfg"

// testEnv holds the clients of one Ginkgo process.
type testEnv struct {
	cluster *cluster.Cluster
	cfg     *rest.Config
	cs      kubernetes.Interface
	dyn     dynamic.Interface
}

func newTestEnv(c *cluster.Cluster) (*testEnv, error) {
	cfg, err := clientcmd.RESTConfigFromKubeConfig(c.Kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 50, 100
	// Warnings of setup calls (e.g. "Policy is deprecated") go to the
	// spec's output; createPod records its own.
	cfg.WarningHandlerWithContext = ginkgoWarnings{}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &testEnv{cluster: c, cfg: cfg, cs: cs, dyn: dyn}, nil
}

// namespace creates a namespace for the current spec and deletes it at the
// end of the spec, whatever happens.
func (e *testEnv) namespace(ctx context.Context) string {
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   "imagectx-e2e-" + hex.EncodeToString(suffix),
		Labels: map[string]string{"imagectx.io/e2e": "true"},
	}}
	_, err := e.cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func(ctx SpecContext) {
		// Without a controller-manager (local provider) the namespace
		// stays Terminating; the API server's data goes with the cluster.
		err := e.cs.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			Expect(err).NotTo(HaveOccurred())
		}
	}, NodeTimeout(time.Minute))
	return ns.Name
}

// registry starts a fake registry for the current spec on an address the
// cluster's Kyverno reaches, and closes it at the end of the spec.
func (e *testEnv) registry(cfg fakeregistry.Config) *fakeregistry.Server {
	var opts []fakeregistry.Option
	if h := e.cluster.RegistryHost; h != "" && h != "127.0.0.1" {
		opts = append(opts, fakeregistry.WithListenAddress(h+":0"))
	}
	srv, err := fakeregistry.Start(cfg, opts...)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(srv.Close)
	return srv
}

// createPolicy creates the policy from a template with strict field
// validation (as kubectl does), so an unknown field is an error rather than
// silently dropped. On success it waits until Kyverno marks the policy Ready
// and the webhook for its failurePolicy covers Pods, and deletes the policy
// at the end of the spec (before the namespace: deleting Pods would
// otherwise go through the slow registry again).
func (e *testEnv) createPolicy(ctx context.Context, template string, vars map[string]string) error {
	raw, err := os.ReadFile(template)
	Expect(err).NotTo(HaveOccurred())
	obj := &unstructured.Unstructured{}
	Expect(yaml.Unmarshal([]byte(cases.Expand(string(raw), vars)), &obj.Object)).To(Succeed(), template)
	return e.createPolicyObject(ctx, obj, vars["FAILURE_POLICY"])
}

// createPolicyObject is createPolicy for a decoded Policy; failurePolicy
// ("Fail" or "Ignore") names the webhook to wait for.
func (e *testEnv) createPolicyObject(ctx context.Context, obj *unstructured.Unstructured, failurePolicy string) error {
	ns := obj.GetNamespace()
	_, err := e.dyn.Resource(policyGVR).Namespace(ns).Create(ctx, obj, metav1.CreateOptions{FieldValidation: "Strict"})
	if err != nil {
		return err
	}
	DeferCleanup(func(ctx SpecContext) {
		err := e.dyn.Resource(policyGVR).Namespace(ns).Delete(ctx, obj.GetName(), metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			Expect(err).NotTo(HaveOccurred())
		}
	}, NodeTimeout(time.Minute))
	if !hasRule(obj, "validate", "verifyImages") {
		// A mutate-only policy has no validating webhook to wait for.
		return e.waitMutatingWebhook(ctx, obj, failurePolicy)
	}
	webhook := "validate.kyverno.svc-" + strings.ToLower(failurePolicy)
	Eventually(func(g Gomega) {
		e.expectReady(ctx, g, obj)
		vwc, err := e.cs.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, resourceWebhookConfig, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		var hooks []webhookView
		for _, w := range vwc.Webhooks {
			hooks = append(hooks, webhookView{w.Name, w.Rules, w.TimeoutSeconds})
		}
		w := expectCoversPods(g, hooks, webhook)
		g.Expect(w.timeout).NotTo(BeNil())
		Expect(int(*w.timeout)).To(Equal(e.cluster.WebhookTimeoutSeconds),
			"webhook %s timeout; the slow fault's delay assumes E2E_WEBHOOK_TIMEOUT=%d", webhook, e.cluster.WebhookTimeoutSeconds)
	}).WithContext(ctx).WithTimeout(time.Minute).WithPolling(250 * time.Millisecond).Should(Succeed())
	return e.waitMutatingWebhook(ctx, obj, failurePolicy)
}

// waitMutatingWebhook waits, for a policy with mutate or verifyImages
// rules, until Kyverno's mutating webhook of its failurePolicy covers Pods
// and the policy is Ready.
func (e *testEnv) waitMutatingWebhook(ctx context.Context, obj *unstructured.Unstructured, failurePolicy string) error {
	if !hasRule(obj, "mutate", "verifyImages") {
		return nil
	}
	mutating := "mutate.kyverno.svc-" + strings.ToLower(failurePolicy)
	Eventually(func(g Gomega) {
		e.expectReady(ctx, g, obj)
		mwc, err := e.cs.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, resourceMutatingWebhookConfig, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		var hooks []webhookView
		for _, w := range mwc.Webhooks {
			hooks = append(hooks, webhookView{w.Name, w.Rules, w.TimeoutSeconds})
		}
		expectCoversPods(g, hooks, mutating)
	}).WithContext(ctx).WithTimeout(time.Minute).WithPolling(250 * time.Millisecond).Should(Succeed())
	return nil
}

// webhookView is what a validating and a mutating webhook share for the
// wait: name, rules, timeout.
type webhookView struct {
	name    string
	rules   []admissionregistrationv1.RuleWithOperations
	timeout *int32
}

// expectCoversPods fails g until the webhook named want exists and one of
// its rules covers Pods; it returns that webhook.
func expectCoversPods(g Gomega, hooks []webhookView, want string) webhookView {
	var names []string
	for _, w := range hooks {
		names = append(names, w.name)
		if w.name != want {
			continue
		}
		covers := false
		for _, r := range w.rules {
			covers = covers || slices.Contains(r.Resources, "pods")
		}
		g.Expect(covers).To(BeTrue(), "webhook %s does not cover pods yet", want)
		return w
	}
	g.Expect(names).To(ContainElement(want))
	return webhookView{}
}

// skipUnknownCatchError turns the API server's refusal of a catchError
// policy (an unknown field on a Kyverno without the feature) into an
// unsupported spec with that reason, a failure with REQUIRE_CATCHERROR=1.
// Any other error, or none, returns.
func skipUnknownCatchError(err error, catchError bool, policy string) {
	reason := unknownCatchError(err, catchError, policy)
	if reason == "" {
		return
	}
	reason = "unsupported: " + reason
	AddReportEntry("catchError", reason)
	if os.Getenv("REQUIRE_CATCHERROR") == "1" {
		Fail("REQUIRE_CATCHERROR=1: " + reason)
	}
	Skip(reason)
}

// unknownCatchError says why a policy with catchError was refused by a
// Kyverno whose CRD lacks the field, or "" for any other outcome.
func unknownCatchError(err error, catchError bool, policy string) string {
	// Any depth: rule contexts, foreach contexts.
	if err == nil || !catchError || !strings.Contains(err.Error(), "strict decoding error: unknown field") ||
		!strings.Contains(err.Error(), `.imageRegistry.catchError"`) {
		return ""
	}
	return fmt.Sprintf("catchError: this Kyverno does not know catchError; the API server rejects %s: %v", policy, err)
}

// expectReady fails g until Kyverno marks the policy Ready.
func (e *testEnv) expectReady(ctx context.Context, g Gomega, obj *unstructured.Unstructured) {
	p, err := e.dyn.Resource(policyGVR).Namespace(obj.GetNamespace()).Get(ctx, obj.GetName(), metav1.GetOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	conds, _, _ := unstructured.NestedSlice(p.Object, "status", "conditions")
	ready := false
	for _, c := range conds {
		m, _ := c.(map[string]any)
		ready = ready || (m["type"] == "Ready" && m["status"] == "True")
	}
	g.Expect(ready).To(BeTrue(), "policy %s/%s Ready condition: %v", obj.GetNamespace(), obj.GetName(), conds)
}

// hasRule reports whether a policy has a rule of one of the types
// (validate and verifyImages rules are served by Kyverno's validating
// webhook, mutate and verifyImages rules by its mutating webhook).
func hasRule(obj *unstructured.Unstructured, types ...string) bool {
	rules, _, _ := unstructured.NestedSlice(obj.Object, "spec", "rules")
	for _, r := range rules {
		m, _ := r.(map[string]any)
		for _, t := range types {
			if m[t] != nil {
				return true
			}
		}
	}
	return false
}

// failurePolicyOf is the policy's spec.failurePolicy (Kyverno's default
// Fail when unset), which names the webhooks that serve it.
func failurePolicyOf(obj *unstructured.Unstructured) string {
	if fp, _, _ := unstructured.NestedString(obj.Object, "spec", "failurePolicy"); fp != "" {
		return fp
	}
	return "Fail"
}

// admission is the API server's answer to one Pod create.
type admission struct {
	Err      error
	Warnings []string
	Took     time.Duration
}

type warningRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warningRecorder) HandleWarningHeaderWithContext(_ context.Context, _ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

type ginkgoWarnings struct{}

func (ginkgoWarnings) HandleWarningHeaderWithContext(_ context.Context, _ int, _ string, text string) {
	fmt.Fprintf(GinkgoWriter, "API server warning: %s\n", text)
}

// createPod creates Pod "app" running image and records the warnings.
func (e *testEnv) createPod(ctx context.Context, ns, image string) admission {
	rec := &warningRecorder{}
	cfg := rest.CopyConfig(e.cfg)
	cfg.WarningHandlerWithContext = rec
	cs, err := kubernetes.NewForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
	}
	start := time.Now()
	_, err = cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	took := time.Since(start)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return admission{Err: err, Warnings: append([]string(nil), rec.msgs...), Took: took}
}

// reportResult is one PolicyReport result for the Pod.
type reportResult struct {
	Policy, Rule, Result, Message, Process string
}

// podResult returns the check-image result in the PolicyReport whose scope
// is Pod "app" in ns, or nil when there is none yet.
func (e *testEnv) podResult(ctx context.Context, ns string) (*reportResult, error) {
	rs, err := e.results(ctx, ns, "Pod", "app", "check-image", "check-image")
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	return &rs[0], nil
}

// results returns every result of policy/rule in the PolicyReport whose
// scope is kind/name in ns (a verifyImages rule reports twice: its
// verification and its image checks); none yet is an empty list. A
// namespaced Policy is reported as "<namespace>/<name>".
func (e *testEnv) results(ctx context.Context, ns, scopeKind, scopeName, policyName, ruleName string) ([]reportResult, error) {
	list, err := e.dyn.Resource(reportGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []reportResult
	for _, r := range list.Items {
		kind, _, _ := unstructured.NestedString(r.Object, "scope", "kind")
		name, _, _ := unstructured.NestedString(r.Object, "scope", "name")
		if kind != scopeKind || name != scopeName {
			continue
		}
		results, _, _ := unstructured.NestedSlice(r.Object, "results")
		for _, x := range results {
			m, _ := x.(map[string]any)
			policy, _ := m["policy"].(string)
			rule, _ := m["rule"].(string)
			if (policy != policyName && policy != ns+"/"+policyName) || rule != ruleName {
				continue
			}
			res := reportResult{Policy: policy, Rule: rule}
			res.Result, _ = m["result"].(string)
			res.Message, _ = m["message"].(string)
			if props, ok := m["properties"].(map[string]any); ok {
				res.Process, _ = props["process"].(string)
			}
			out = append(out, res)
		}
	}
	return out, nil
}

// expectReport waits for the Pod's check-image result to equal want, with
// the given process ("admission review" or "background scan").
func (e *testEnv) expectReport(ctx context.Context, ns string, want cases.Outcome, process string, timeout time.Duration) {
	var last *reportResult
	Eventually(func(g Gomega) {
		got, err := e.podResult(ctx, ns)
		g.Expect(err).NotTo(HaveOccurred())
		last = got
		g.Expect(got).NotTo(BeNil(), "no PolicyReport result for Pod %s/app yet", ns)
		g.Expect(got.Result).To(Equal(want.Result), "want %s, got %s: %s", want.Result, got.Result, got.Message)
		g.Expect(got.Message).To(Equal(want.Message))
		g.Expect(got.Process).To(Equal(process))
	}).WithContext(ctx).WithTimeout(timeout).WithPolling(time.Second).Should(Succeed())
	AddReportEntry("policy report", fmt.Sprintf("%+v", *last))
}
