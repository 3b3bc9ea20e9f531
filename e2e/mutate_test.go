package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/imagectx/conformance/fakeregistry"
)

// webhookCase is one Pod admission through Kyverno's mutating webhook: a
// mutate or verifyImages rule guarded by the issue-14302 precondition, an
// image that is served (and signed) or deleted, a failurePolicy (mutate)
// or failureAction (verifyImages), catchError off or on.
type webhookCase struct {
	Rule          string // "mutate" or "verifyImages"
	Image         string // "present" or "missing"
	FailurePolicy string // Fail or Ignore
	Action        string // verifyImages failureAction: Enforce or Audit
	CatchError    bool
}

func (c webhookCase) String() string {
	mode := "failurePolicy " + c.FailurePolicy
	if c.Rule == "verifyImages" {
		mode = "failureAction " + c.Action
	}
	return fmt.Sprintf("%s, image %s, %s, catchError %v", c.Rule, c.Image, mode, c.CatchError)
}

// webhookOutcome is what a Pod create must give: allowed or denied with the
// exact text, the warnings, and the annotations Kyverno wrote on the Pod.
type webhookOutcome struct {
	Denied      string            // "" means allowed
	Warnings    []string          // exact, in order
	Annotations map[string]string // exactly these on the stored Pod (allowed only)
}

func webhookCases() []webhookCase {
	var out []webhookCase
	for _, img := range []string{"present", "missing"} {
		for _, catch := range []bool{false, true} {
			for _, fp := range []string{"Fail", "Ignore"} {
				out = append(out, webhookCase{Rule: "mutate", Image: img, FailurePolicy: fp, CatchError: catch})
			}
			for _, action := range []string{"Enforce", "Audit"} {
				out = append(out, webhookCase{Rule: "verifyImages", Image: img, FailurePolicy: "Fail", Action: action, CatchError: catch})
			}
		}
	}
	return out
}

var _ = Describe("Pod admission through the mutating webhook", Label("area:admission", "area:mutating"), func() {
	var entries []TableEntry
	for _, c := range webhookCases() {
		catch := "off"
		if c.CatchError {
			catch = "on"
		}
		entries = append(entries, Entry(c.String(), Label("rule:"+c.Rule, "image:"+c.Image, "catch:"+catch), SpecTimeout(3*time.Minute), c))
	}
	DescribeTable("allows, denies or patches the Pod with the exact texts",
		func(ctx SpecContext, c webhookCase) {
			if c.CatchError {
				env.requireCatchError()
			}
			ns := env.namespace(ctx)
			srv := env.registry(fakeregistry.Config{
				SigningKeys: []string{"signer"},
				Images:      []fakeregistry.Image{{Ref: "team/app:v1", Config: fakeregistry.ImageConfig{User: "1000"}, Signatures: []string{"signer"}}},
			})
			image := srv.Addr() + "/team/app:v1"
			if c.Image == "missing" {
				image = srv.Addr() + "/team/app:deleted"
			}
			pem, err := srv.PublicKeyPEM("signer")
			Expect(err).NotTo(HaveOccurred())
			quotedKey, err := json.Marshal(string(pem))
			Expect(err).NotTo(HaveOccurred())
			vars := map[string]string{
				"NAMESPACE": ns, "FAILURE_POLICY": c.FailurePolicy, "ACTION": c.Action,
				"REGISTRY": srv.Addr(), "PUBLIC_KEY": string(quotedKey), "CATCH": "",
			}
			if c.CatchError {
				vars["CATCH"] = "catchError: true"
			}
			template := "testdata/mutate-policy.yaml"
			if c.Rule == "verifyImages" {
				template = "testdata/verify-policy.yaml"
			}
			err = env.createPolicy(ctx, template, vars)
			Expect(err).NotTo(HaveOccurred(), "create policy from %s", template)

			got := env.createPod(ctx, ns, image)
			var annotations map[string]string
			if got.Allowed {
				pod, err := env.cs.CoreV1().Pods(ns).Get(ctx, "app", metav1.GetOptions{})
				Expect(err).NotTo(HaveOccurred())
				annotations = pod.Annotations
			}
			AddReportEntry("admission", fmt.Sprintf("%s, annotations %v", formatAnswer(got), annotations))
			digest, err := srv.Digest("team/app:v1")
			Expect(err).NotTo(HaveOccurred())
			want := c.expect(ns, srv.Addr(), image, digest)
			if want.Denied != "" {
				Expect(got.Allowed).To(BeFalse(), "want the Pod denied")
				Expect(got.Message).To(Equal(want.Denied))
				return
			}
			Expect(got.Allowed).To(BeTrue(), "want the Pod allowed: %s", got.Message)
			Expect(got.Warnings).To(Equal(want.Warnings))
			if want.Annotations == nil {
				want.Annotations = map[string]string{}
			}
			if annotations == nil {
				annotations = map[string]string{}
			}
			Expect(annotations).To(Equal(want.Annotations), "the stored Pod's annotations")
		},
		entries,
	)
})

// expect is the outcome Kyverno v1.19.1 gives without catchError (measured
// with the local provider), and the contract's with it: a deleted image
// makes the guarded rule skip, so the Pod is admitted unpatched, with no
// warning. Without catchError a failed lookup errors in the preconditions:
// a mutate rule denies under failurePolicy Fail and warns under Ignore; a
// verifyImages rule denies under failurePolicy Fail whatever its
// failureAction (Audit included).
func (c webhookCase) expect(ns, registry, image, digest string) webhookOutcome {
	chain := fmt.Sprintf("failed to fetch image descriptor: %[1]s, error: failed to fetch image descriptor: %[1]s, error: failed to fetch image reference: %[1]s, error: GET http://%[2]s/v2/team/app/manifests/deleted: MANIFEST_UNKNOWN: Unknown manifest", image, registry)
	const pre = "failed to evaluate preconditions: failed to substitute variables in condition key: failed to resolve imageData.resolvedImage || '' at path : "
	switch {
	case c.Image == "missing" && c.CatchError:
		return webhookOutcome{}
	case c.Rule == "mutate" && c.Image == "present":
		return webhookOutcome{Annotations: map[string]string{"imagectx.io/resolved": registry + "/team/app@" + digest}}
	case c.Rule == "mutate" && c.FailurePolicy == "Fail":
		return webhookOutcome{Denied: `admission webhook "mutate.kyverno.svc-fail" denied the request: mutation policy annotate-resolved error: failed to apply policy annotate-resolved rules [annotate: ` + pre + chain + "]"}
	case c.Rule == "mutate":
		return webhookOutcome{Warnings: []string{"policy annotate-resolved.annotate: " + pre + chain}}
	case c.Image == "present":
		return webhookOutcome{Annotations: map[string]string{
			"kyverno.io/verify-images":        fmt.Sprintf(`{"%s":"pass"}`, image),
			"kyverno.io/verify-images-scoped": fmt.Sprintf(`{"version":1,"policies":{"%s/verify-signature":{"verify":{"%s":"pass"}}}}`, ns, image),
		}}
	default:
		// Kyverno's YAML encoder single-quotes the message: '' is one quote.
		msg := strings.ReplaceAll(pre+chain, "'", "''")
		return webhookOutcome{Denied: fmt.Sprintf("admission webhook \"mutate.kyverno.svc-fail\" denied the request: \n\nresource Pod/%s/app was blocked due to the following policies \n\nverify-signature:\n  verify: '%s'\n", ns, msg)}
	}
}
