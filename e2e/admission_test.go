package e2e

import (
	"context"
	"fmt"
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/imagectx/conformance/e2e/cases"
)

// The cases are loaded before RunSpecs: the spec tree is built from them.
// The slow fault stalls 3 s beyond the webhook timeout Kyverno is given.
var admissionCases = func() *cases.File {
	timeout, err := webhookTimeoutSeconds()
	if err != nil {
		panic(fmt.Sprintf("e2e cases: %v", err))
	}
	f, err := cases.Load("testdata/admission.yaml", map[string]string{
		"SLOW_DELAY": fmt.Sprintf("%ds", timeout+3),
	})
	if err != nil {
		panic(fmt.Sprintf("e2e cases: %v", err))
	}
	return f
}()

func modeLabels(f cases.Fault, m cases.Mode) Labels {
	catch := "off"
	if m.CatchError {
		catch = "on"
	}
	return Label("fault:"+f.Name, "action:"+m.Action, "failurePolicy:"+m.FailurePolicy, "catch:"+catch)
}

func policyVars(ns string, m cases.Mode, background bool) map[string]string {
	return map[string]string{
		"NAMESPACE": ns, "ACTION": m.Action, "FAILURE_POLICY": m.FailurePolicy,
		"BACKGROUND": strconv.FormatBool(background),
	}
}

func policyTemplate(m cases.Mode) string {
	if m.CatchError {
		return "testdata/policy-catcherror.yaml"
	}
	return "testdata/policy.yaml"
}

// applyPolicy creates the spec's policy. A catchError policy that the API
// server rejects as an unknown field means this Kyverno lacks the feature:
// the spec is reported unsupported with that reason (failed when
// REQUIRE_CATCHERROR=1). Any other error fails the spec.
func applyPolicy(ctx context.Context, m cases.Mode, vars map[string]string) {
	err := env.createPolicy(ctx, policyTemplate(m), vars)
	skipUnknownCatchError(err, m.CatchError, "the policy")
	Expect(err).NotTo(HaveOccurred(), "create policy from %s", policyTemplate(m))
}

var _ = Describe("Pod admission with a context[].imageRegistry policy", Label("area:admission"), func() {
	var entries []TableEntry
	for _, f := range admissionCases.Faults {
		for _, m := range cases.Modes() {
			entries = append(entries, Entry(fmt.Sprintf("%s, %s", f.Name, m), modeLabels(f, m), SpecTimeout(4*time.Minute), f, m))
		}
	}
	DescribeTable("allows or denies with the exact texts, and reports the rule result",
		func(ctx SpecContext, f cases.Fault, m cases.Mode) {
			ns := env.namespace(ctx)
			applyPolicy(ctx, m, policyVars(ns, m, false))
			srv := env.registry(f.Registry)
			image := srv.Addr() + "/" + f.Image
			want := admissionCases.Expect(f, m, map[string]string{
				"REGISTRY": srv.Addr(), "NAMESPACE": ns, "POD": "app", "IMAGE": image,
			})

			got := env.createPod(ctx, ns, image)
			AddReportEntry("admission", fmt.Sprintf("took %s, warnings %q, error: %v", got.Took.Round(time.Millisecond), got.Warnings, got.Err))
			switch {
			case want.Allowed:
				Expect(got.Err).NotTo(HaveOccurred(), "want the Pod allowed")
			case want.DeniedPattern != "":
				Expect(got.Err).To(HaveOccurred(), "want the Pod denied")
				Expect(got.Err.Error()).To(MatchRegexp(want.DeniedPattern))
			default:
				Expect(got.Err).To(HaveOccurred(), "want the Pod denied")
				Expect(got.Err.Error()).To(Equal(want.Denied))
			}
			if len(want.Warnings) > 0 {
				Expect(got.Warnings).To(Equal(want.Warnings))
			} else if !want.AtLeastWebhookTimeout {
				Expect(got.Warnings).To(BeEmpty())
			}
			timeout := time.Duration(env.cluster.WebhookTimeoutSeconds) * time.Second
			if want.AtLeastWebhookTimeout {
				Expect(got.Took).To(BeNumerically(">=", timeout), "the API server waited for the webhook timeout")
			} else if f.Slow {
				Expect(got.Took).To(BeNumerically("<", timeout), "Audit answers before the registry does")
			}
			if want.Report != nil {
				env.expectReport(ctx, ns, *want.Report, "admission review", 2*time.Minute)
			}
		},
		entries,
	)
})

var _ = Describe("Background scan of an existing Pod", Label("area:background"), func() {
	var entries []TableEntry
	for _, f := range admissionCases.Faults {
		if !f.Background {
			continue
		}
		for _, catch := range []bool{false, true} {
			m := cases.Mode{Action: "Audit", FailurePolicy: "Ignore", CatchError: catch}
			entries = append(entries, Entry(fmt.Sprintf("%s, catchError=%t", f.Name, catch), modeLabels(f, m), SpecTimeout(4*time.Minute), f, m))
		}
	}
	DescribeTable("reports the rule result with process background scan",
		func(ctx SpecContext, f cases.Fault, m cases.Mode) {
			ns := env.namespace(ctx)
			srv := env.registry(f.Registry)
			image := srv.Addr() + "/" + f.Image
			// The Pod exists before the policy, so only the scan sees it.
			Expect(env.createPod(ctx, ns, image).Err).NotTo(HaveOccurred())
			applyPolicy(ctx, m, policyVars(ns, m, true))
			want := cases.Outcome{Result: f.Result, Message: f.Message}
			if m.CatchError {
				want = f.Caught
			}
			want.Message = cases.Expand(want.Message, map[string]string{"REGISTRY": srv.Addr(), "IMAGE": image})
			env.expectReport(ctx, ns, want, "background scan", 3*time.Minute)
		},
		entries,
	)
})
