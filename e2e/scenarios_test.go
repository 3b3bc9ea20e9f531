package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/imagectx/conformance/internal/scenario"
)

// The fault scenarios (scenarios/faults) run at admission too: every policy
// of a file becomes a namespaced Audit Policy in the spec's namespace (so
// parallel specs do not see each other's Pods, and nothing is blocked), the
// file's resources are created there, and each expected row must appear in
// the PolicyReport with the same result and message as in the engine suites.
var scenarioFiles = func() []*scenario.File {
	files, err := scenario.LoadDirs("../scenarios/faults")
	if err != nil {
		panic(fmt.Sprintf("e2e: load scenarios: %v", err))
	}
	return files
}()

// admissionCapabilities are the scenario capabilities Kyverno's admission
// controller provides; the others need an engine-side setting the webhook
// path does not have (a client deadline per evaluation, credentials it is
// handed, named secrets).
var admissionCapabilities = []string{scenario.CapContext, scenario.CapAdmission, scenario.CapCatchError}

// scenarioSkipReason says why a file cannot run at admission, or "".
func scenarioSkipReason(f *scenario.File, b *scenario.Binding) string {
	for _, req := range append(append([]string{}, f.Requires...), b.Requires...) {
		if !slices.Contains(admissionCapabilities, req) {
			return fmt.Sprintf("needs %q, which the admission path does not provide (the webhook timeout, not a per-evaluation deadline, bounds a request)", req)
		}
	}
	if len(f.Registry.Credentials) > 0 || len(f.Registry.Secrets) > 0 {
		return "hands the engine registry credentials; the admission controller has no login for the fake registry"
	}
	if f.Registry.TrustCA {
		return "trusts the fake registry's CA; the admission controller uses the host's trust store"
	}
	return ""
}

var _ = Describe("Fault scenarios at admission", Label("area:scenarios"), func() {
	var entries []TableEntry
	for _, f := range scenarioFiles {
		for bi := range f.Bindings {
			b := &f.Bindings[bi]
			labels := []string{}
			for k, v := range f.Metadata.Labels {
				labels = append(labels, k+":"+v)
			}
			catch := "off"
			if f.UsesCatchError(b) {
				catch = "on"
			}
			labels = append(labels, "catch:"+catch, "binding:"+b.Name)
			entries = append(entries, Entry(f.Name+"/"+b.Name, Label(labels...), SpecTimeout(4*time.Minute), f, b))
		}
	}
	DescribeTable("reports the scenario's rule results and messages",
		func(ctx SpecContext, f *scenario.File, b *scenario.Binding) {
			if reason := scenarioSkipReason(f, b); reason != "" {
				Skip(f.Path + ": " + reason)
			}
			ns := env.namespace(ctx)
			srv := env.registry(f.RegistryConfig())
			refused, err := srv.RefusedAddr()
			Expect(err).NotTo(HaveOccurred())
			vars := f.Substitutions(srv.Addr(), refused, srv.PublicKeys())
			policies, resources, err := f.Render(b, vars)
			Expect(err).NotTo(HaveOccurred(), f.Path)

			for _, doc := range policies {
				obj := asAuditPolicy(doc.Data, ns, doc.File)
				if err := env.createPolicyObject(ctx, obj, "Fail"); err != nil {
					if f.UsesCatchError(b) && strings.Contains(err.Error(), "strict decoding error: unknown field") {
						reason := fmt.Sprintf("unsupported: this Kyverno does not know catchError; the API server rejects %s: %v", obj.GetName(), err)
						AddReportEntry("catchError", reason)
						if os.Getenv("REQUIRE_CATCHERROR") == "1" {
							Fail("REQUIRE_CATCHERROR=1: " + reason)
						}
						Skip(reason)
					}
					Expect(err).NotTo(HaveOccurred(), "create policy %s from %s", obj.GetName(), doc.File)
				}
			}
			for _, doc := range resources {
				createResource(ctx, doc.Data, ns, doc.File)
			}

			for ri := range f.Results {
				row := &f.Results[ri]
				if !row.AppliesTo(b.Name) {
					continue
				}
				kind := row.Kind
				if kind == "" {
					kind = "Pod"
				}
				for _, res := range row.Resources {
					where := fmt.Sprintf("%s:%d %s/%s on %s", f.Path, row.Line(), row.Policy, row.Rule, res)
					if row.Result == "none" {
						continue // checked below, once the others are in
					}
					Eventually(func(g Gomega) {
						got, err := env.result(ctx, ns, kind, res, row.Policy, row.Rule)
						g.Expect(err).NotTo(HaveOccurred())
						g.Expect(got).NotTo(BeNil(), "%s: no PolicyReport result yet", where)
						g.Expect(got.Result).To(Equal(row.Result), "%s: want %s, got %s: %s", where, row.Result, got.Result, got.Message)
						if row.Message != nil {
							ok, why, err := row.Message.Match(got.Message, vars)
							g.Expect(err).NotTo(HaveOccurred(), where)
							g.Expect(ok).To(BeTrue(), "%s: %s", where, why)
						}
						g.Expect(got.Process).To(Equal("admission review"))
					}).WithContext(ctx).WithTimeout(2 * time.Minute).WithPolling(time.Second).Should(Succeed())
				}
			}
			for ri := range f.Results {
				row := &f.Results[ri]
				if !row.AppliesTo(b.Name) || row.Result != "none" {
					continue
				}
				for _, res := range row.Resources {
					got, err := env.result(ctx, ns, "Pod", res, row.Policy, row.Rule)
					Expect(err).NotTo(HaveOccurred())
					Expect(got).To(BeNil(), "%s:%d: want no result for %s/%s", f.Path, row.Line(), row.Policy, row.Rule)
				}
			}
			// The request log: a row may say a reference is never (or is)
			// fetched; here it covers the whole admission, as in the suites.
			for ri := range f.Results {
				row := &f.Results[ri]
				if !row.AppliesTo(b.Name) || row.Requests == nil {
					continue
				}
				for _, ref := range row.Requests.Never {
					Expect(srv.Requested(ref)).To(BeFalse(), "%s:%d: want %s never requested", f.Path, row.Line(), ref)
				}
				for _, ref := range row.Requests.Seen {
					Expect(srv.Requested(ref)).To(BeTrue(), "%s:%d: want %s requested", f.Path, row.Line(), ref)
				}
			}
		},
		entries,
	)
})

// asAuditPolicy turns a scenario policy (usually a ClusterPolicy) into a
// namespaced Policy in ns whose validate rules audit instead of enforce, with
// no background scan: the rule results are unchanged, only where they go.
func asAuditPolicy(data []byte, ns, file string) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{}
	Expect(yaml.Unmarshal(data, &obj.Object)).To(Succeed(), file)
	Expect(obj.GetKind()).To(BeElementOf("ClusterPolicy", "Policy"), "%s: a scenario policy", file)
	obj.SetKind("Policy")
	obj.SetNamespace(ns)
	obj.SetResourceVersion("")
	Expect(unstructured.SetNestedField(obj.Object, false, "spec", "background")).To(Succeed())
	rules, _, _ := unstructured.NestedSlice(obj.Object, "spec", "rules")
	for i, r := range rules {
		rule := r.(map[string]any)
		if v, ok := rule["validate"].(map[string]any); ok {
			v["failureAction"] = "Audit"
		}
		rules[i] = rule
	}
	Expect(unstructured.SetNestedSlice(obj.Object, rules, "spec", "rules")).To(Succeed())
	return obj
}

// createResource creates a scenario resource (a Pod) in ns.
func createResource(ctx context.Context, data []byte, ns, file string) {
	obj := &unstructured.Unstructured{}
	Expect(yaml.Unmarshal(data, &obj.Object)).To(Succeed(), file)
	Expect(obj.GetKind()).To(Equal("Pod"), "%s: e2e creates Pods only", file)
	obj.SetNamespace(ns)
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	_, err := env.dyn.Resource(gvr).Namespace(ns).Create(ctx, obj, metav1.CreateOptions{})
	if apierrors.IsInvalid(err) {
		// Object validation runs before validating admission, so such
		// a resource never reaches Kyverno in a cluster.
		Skip(fmt.Sprintf("%s: not reachable at admission, the API server rejects the resource first: %v", file, err))
	}
	Expect(err).NotTo(HaveOccurred(), "create %s %s from %s", obj.GetKind(), obj.GetName(), file)
}
