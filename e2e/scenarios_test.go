package e2e

import (
	"context"
	"fmt"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/internal/scenario"
)

// The fault scenarios (scenarios/faults), the request's own policy
// (scenarios/rules/issue-14302.yaml), public registry host names and two
// registries in one file (scenarios/registries/public-hosts.yaml,
// two-registries.yaml) run at admission too: every policy of a
// file becomes a namespaced Audit Policy in the spec's namespace (so
// parallel specs do not see each other's Pods, and nothing is blocked), the
// file's resources are created there, and each expected row must appear in
// the PolicyReport with the same result and message as in the engine
// suites. The request's file also runs as a background scan, its policy as
// written (background: true) created after the Pods.
var scenarioFiles = func() []*scenario.File {
	files, err := scenario.LoadDirs("../scenarios/faults")
	if err != nil {
		panic(fmt.Sprintf("e2e: load scenarios: %v", err))
	}
	request, err := scenario.LoadFile("../scenarios/rules/issue-14302.yaml", "rules/issue-14302")
	if err != nil {
		panic(fmt.Sprintf("e2e: load scenarios: %v", err))
	}
	files = append(files, request)
	for _, name := range []string{"registries/public-hosts", "registries/two-registries"} {
		f, err := scenario.LoadFile("../scenarios/"+name+".yaml", name)
		if err != nil {
			panic(fmt.Sprintf("e2e: load scenarios: %v", err))
		}
		files = append(files, f)
	}
	return files
}()

// backgroundFiles run as a background scan as well: the files whose
// policies scan in the background as written.
var backgroundFiles = []string{"rules/issue-14302"}

// admissionCapabilities are the scenario capabilities Kyverno's admission
// controller provides; the others need an engine-side setting the webhook
// path does not have (a client deadline per evaluation, credentials it is
// handed, named secrets).
var admissionCapabilities = []engine.Capability{engine.CapContext, engine.CapAdmission, engine.CapCatchError}

// scenarioSkipReason says why a file cannot run at admission, or "".
func scenarioSkipReason(f *scenario.File, b *scenario.Binding) string {
	for _, req := range append(append([]string{}, f.Requires...), b.Requires...) {
		if !slices.Contains(admissionCapabilities, engine.Capability(req)) {
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

// Processes as the reports controller names them in a result's properties.
const (
	processAdmission  = "admission review"
	processBackground = "background scan"
)

func scenarioEntries(files []*scenario.File, process string) []TableEntry {
	var entries []TableEntry
	for _, f := range files {
		if process == processBackground && !slices.Contains(backgroundFiles, f.Name) {
			continue
		}
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
			decorations := []any{Label(labels...), SpecTimeout(4 * time.Minute)}
			if servesHosts(f) {
				decorations = append(decorations, Serial) // a host has one registry at a time
			}
			entries = append(entries, Entry(f.Name+"/"+b.Name, append(decorations, f, b, process)...))
		}
	}
	return entries
}

var _ = Describe("Scenarios at admission", Label("area:scenarios"), func() {
	DescribeTable("reports the scenario's rule results and messages", runScenario, scenarioEntries(scenarioFiles, processAdmission))
})

var _ = Describe("Scenarios in a background scan", Label("area:scenarios", "area:background"), func() {
	DescribeTable("reports the scenario's rule results and messages", runScenario, scenarioEntries(scenarioFiles, processBackground))
})

// runScenario applies one file under one binding to the cluster and checks
// every row against the PolicyReport entries of the given process.
func runScenario(ctx SpecContext, f *scenario.File, b *scenario.Binding, process string) {
	if reason := scenarioSkipReason(f, b); reason != "" {
		Skip(f.Path + ": " + reason)
	}
	ns := env.namespace(ctx)
	regs, vars := scenarioRegistries(f)
	policies, resources, err := f.Render(b, vars)
	Expect(err).NotTo(HaveOccurred(), f.Path)

	createPolicies := func() {
		for _, doc := range policies {
			obj := asNamespacedPolicy(doc.Data, ns, doc.File, process == processAdmission)
			err := env.createPolicyObject(ctx, obj, failurePolicyOf(obj))
			skipUnknownCatchError(err, f.UsesCatchError(b), obj.GetName())
			Expect(err).NotTo(HaveOccurred(), "create policy %s from %s", obj.GetName(), doc.File)
		}
	}
	// Admission: the policies see the Pods arrive. Background: the Pods
	// exist first and the reports controller scans them.
	if process == processAdmission {
		createPolicies()
	}
	for _, doc := range resources {
		createResource(ctx, doc.Data, ns, doc.File)
	}
	if process == processBackground {
		createPolicies()
	}

	// A PolicyReport holds one entry per policy, rule and resource: where
	// the engines report a rule more than once (a verifyImages rule: its
	// verification, then its image checks), the entry is one of them, so
	// it must match one of the rows for that key.
	specs := scenario.Specs([]*scenario.File{f})
	for _, s := range specs {
		// One check per policy, rule and resource: at its first row.
		if s.Binding != b || s.Row.Result == "none" || s.Siblings[0] != s.Row {
			continue
		}
		first := s.Row
		kind := first.Kind
		if kind == "" {
			kind = "Pod"
		}
		where := fmt.Sprintf("%s:%d %s/%s on %s", f.Path, first.Line(), first.Policy, first.Rule, s.Resource)
		Eventually(func(g Gomega) {
			got, err := env.results(ctx, ns, kind, s.Resource, first.Policy, first.Rule)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(HaveLen(1), "%s: want one PolicyReport entry, got %+v", where, got)
			entry := got[0]
			g.Expect(entry.Process).To(Equal(process), where)
			var whys []string
			for _, row := range s.Siblings {
				if entry.Result != row.Result {
					whys = append(whys, fmt.Sprintf("line %d: want %s", row.Line(), row.Result))
					continue
				}
				if row.Message == nil {
					return
				}
				ok, why, err := row.Message.Match(entry.Message, vars)
				g.Expect(err).NotTo(HaveOccurred(), where)
				if ok {
					return
				}
				whys = append(whys, fmt.Sprintf("line %d: %s", row.Line(), why))
			}
			g.Expect(whys).To(BeEmpty(), "%s: the entry %s: %s matches no row", where, entry.Result, entry.Message)
		}).WithContext(ctx).WithTimeout(2 * time.Minute).WithPolling(time.Second).Should(Succeed())
	}
	for _, s := range specs {
		if s.Binding != b || s.Row.Result != "none" {
			continue
		}
		kind := s.Row.Kind
		if kind == "" {
			kind = "Pod"
		}
		got, err := env.results(ctx, ns, kind, s.Resource, s.Row.Policy, s.Row.Rule)
		Expect(err).NotTo(HaveOccurred())
		Expect(got).To(BeEmpty(), "%s:%d: want no result for %s/%s", f.Path, s.Row.Line(), s.Row.Policy, s.Row.Rule)
	}
	// The request log: a row may say a reference is never (or is)
	// fetched; here it covers the whole admission, as in the suites.
	for ri := range f.Results {
		row := &f.Results[ri]
		if !row.AppliesTo(b.Name) || row.Requests == nil {
			continue
		}
		for _, ref := range row.Requests.Never {
			Expect(regs.Requested(ref)).To(BeFalse(), "%s:%d: want %s never requested", f.Path, row.Line(), ref)
		}
		for _, ref := range row.Requests.Seen {
			Expect(regs.Requested(ref)).To(BeTrue(), "%s:%d: want %s requested", f.Path, row.Line(), ref)
		}
	}
}

// asNamespacedPolicy turns a scenario policy (usually a ClusterPolicy) into
// a namespaced Policy in ns, so that parallel specs do not see each
// other's Pods. For admission its validate rules audit instead of enforce
// and it does not scan in the background: the rule results are unchanged,
// only where they go. verifyImages rules keep their failureAction (an
// erroring one denies under failurePolicy Fail even in Audit, see
// mutate_test.go); the request's policy sets failurePolicy Ignore. For a
// background scan the policy is kept as written.
func asNamespacedPolicy(data []byte, ns, file string, admission bool) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{}
	Expect(yaml.Unmarshal(data, &obj.Object)).To(Succeed(), file)
	Expect(obj.GetKind()).To(BeElementOf("ClusterPolicy", "Policy"), "%s: a scenario policy", file)
	obj.SetKind("Policy")
	obj.SetNamespace(ns)
	obj.SetResourceVersion("")
	if !admission {
		return obj
	}
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
