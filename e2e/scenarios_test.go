package e2e

import (
	"context"
	"fmt"
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

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/internal/conformance"
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
	var out []*scenario.File
	for _, f := range allScenarioFiles {
		if strings.HasPrefix(f.Name, "faults/") || slices.Contains(admissionFiles, f.Name) {
			out = append(out, f)
		}
	}
	return out
}()

// admissionFiles run at admission besides scenarios/faults.
var admissionFiles = []string{"rules/issue-14302", "registries/public-hosts", "registries/two-registries"}

// backgroundFiles run as a background scan as well: the files whose
// policies scan in the background as written.
var backgroundFiles = []string{"rules/issue-14302"}

// scenarioSkipReason says why a file cannot run at admission, or "".
func scenarioSkipReason(f *scenario.File, b *scenario.Binding) string {
	caps := admissionCaps(false)
	for _, req := range append(append([]string{}, f.Requires...), b.Requires...) {
		if why := caps.Unsupported[engine.Capability(req)]; why != "" {
			return fmt.Sprintf("needs %s, which the admission path does not provide: %s", req, why)
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
			if len(f.ServedHosts()) > 0 {
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

// runScenario applies one file under one binding to the cluster, reads the
// PolicyReport entries of the given process as the engine's results, and
// checks every spec with conformance.Check, as the engine suites do; each
// spec's record goes to the results file of the process.
func runScenario(ctx SpecContext, f *scenario.File, b *scenario.Binding, process string) {
	specs := specsOf(f, b)
	if reason := scenarioSkipReason(f, b); reason != "" {
		recordUnsupported(specs, process, reason)
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
			if why := unknownCatchError(err, f.UsesCatchError(b), obj.GetName()); why != "" {
				recordUnsupported(specs, process, why)
			}
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
		if why := createResource(ctx, doc.Data, ns, doc.File); why != "" {
			recordUnsupported(specs, process, why)
			Skip(why)
		}
	}
	if process == processBackground {
		createPolicies()
	}

	// Wait until every policy, rule and resource a row expects a result
	// for has its entry (or two minutes); rows expecting none are checked
	// on what is there by then.
	want := map[string]bool{}
	for _, s := range specs {
		if s.Row.Result != "none" {
			want[s.Row.Policy+"/"+s.Row.Rule+"/"+s.Resource] = true
		}
	}
	results := awaitResults(ctx, ns, process, want, 2*time.Minute)

	ev := &conformance.Evaluation{Key: scenario.EvalKey(f, b), Results: results, Vars: vars, Requested: regs.RequestChecks()}
	caps := admissionCaps(f.UsesCatchError(b))
	var failures []string
	for _, s := range specs {
		out := conformance.Check(s, ev, caps, engineOf(process), conformance.Options{})
		addRecord(process, conformance.Record(s, ev, out))
		if out.Outcome == engine.OutcomeFail {
			failures = append(failures, fmt.Sprintf("%s: %s (%s)", s.Name, out.Reason, s.Where()))
		}
	}
	Expect(failures).To(BeEmpty())
}

// awaitResults polls the PolicyReport entries of process in ns until every
// key of want ("policy/rule/resource") has one, or timeout passes; a key
// still missing then is the check's "got no result", not a timeout.
func awaitResults(ctx context.Context, ns, process string, want map[string]bool, timeout time.Duration) []engine.Result {
	deadline := time.Now().Add(timeout)
	for {
		results, err := reportResults(ctx, ns, process)
		Expect(err).NotTo(HaveOccurred())
		have := map[string]bool{}
		for _, r := range results {
			have[r.Policy+"/"+r.Rule+"/"+r.Resource.Name] = true
		}
		missing := 0
		for key := range want {
			if !have[key] {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			return results
		}
		select {
		case <-ctx.Done():
			return results
		case <-time.After(time.Second):
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

// createResource creates a scenario resource (a Pod) in ns. It returns
// why the resource cannot reach admission (the API server rejects it
// first), or "".
func createResource(ctx context.Context, data []byte, ns, file string) string {
	obj := &unstructured.Unstructured{}
	Expect(yaml.Unmarshal(data, &obj.Object)).To(Succeed(), file)
	Expect(obj.GetKind()).To(Equal("Pod"), "%s: e2e creates Pods only", file)
	obj.SetNamespace(ns)
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	_, err := env.dyn.Resource(gvr).Namespace(ns).Create(ctx, obj, metav1.CreateOptions{})
	if apierrors.IsInvalid(err) {
		// Object validation runs before validating admission, so such
		// a resource never reaches Kyverno in a cluster.
		return fmt.Sprintf("%s: not reachable at admission, the API server rejects the resource first: %v", file, err)
	}
	Expect(err).NotTo(HaveOccurred(), "create %s %s from %s", obj.GetKind(), obj.GetName(), file)
	return ""
}
