package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/imagectx/conformance/e2e/cluster"
	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/admission"
	"github.com/imagectx/conformance/fakeregistry"
)

// testEnv holds the clients and the admission engines of one Ginkgo
// process.
type testEnv struct {
	cluster *cluster.Cluster
	cfg     *rest.Config
	cs      kubernetes.Interface
	// engines by process and policy handling: auditCopies (admission,
	// every validate rule audits), asWritten (admission, policies as
	// written: the files that check the API server's answers), background
	// (a background scan of audit copies).
	auditCopies, asWritten, background *admission.Engine
	// caps are the admission engines' capabilities (read from the
	// cluster once).
	caps, backgroundCaps engine.Capabilities
}

func newTestEnv(ctx context.Context, c *cluster.Cluster, st suiteState) (*testEnv, error) {
	cfg, err := clientcmd.RESTConfigFromKubeConfig(c.Kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 50, 100
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	e := &testEnv{cluster: c, cfg: cfg, cs: cs}
	opts := admission.Options{
		WebhookTimeout: time.Duration(c.WebhookTimeoutSeconds) * time.Second,
		Version:        "Kyverno admission and reports controllers (make e2e, PROVIDER=" + os.Getenv("PROVIDER") + ")",
		Proxy:          st.ProxyURL,
		Log:            GinkgoWriter,
	}
	if st.ProxyCA != nil {
		opts.TrustedCAs = [][]byte{st.ProxyCA}
	}
	for _, x := range []struct {
		dst     **admission.Engine
		process admission.Process
		audit   bool
	}{{&e.auditCopies, admission.ProcessAdmission, true}, {&e.asWritten, admission.ProcessAdmission, false}, {&e.background, admission.ProcessBackgroundScan, true}} {
		o := opts
		o.Process, o.AuditCopies = x.process, x.audit
		if *x.dst, err = admission.New(cfg, o); err != nil {
			return nil, err
		}
	}
	if e.caps, err = e.auditCopies.Capabilities(ctx); err != nil {
		return nil, err
	}
	if e.backgroundCaps, err = e.background.Capabilities(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// namespace creates a namespace for the current spec and deletes it at the
// end of the spec, whatever happens.
func (e *testEnv) namespace(ctx context.Context) string {
	ns, del, err := e.asWritten.CreateNamespace(ctx, nil)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func(ctx SpecContext) { Expect(del(ctx)).To(Succeed()) }, NodeTimeout(time.Minute))
	return ns
}

// registry starts a fake registry for the current spec on an address the
// cluster's Kyverno reaches, and closes it at the end of the spec.
func (e *testEnv) registry(cfg fakeregistry.Config) *fakeregistry.Server {
	srv, err := fakeregistry.Start(cfg, e.registryOptions()...)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(srv.Close)
	return srv
}

// registryOptions put a fake registry where the cluster's Kyverno reaches
// it.
func (e *testEnv) registryOptions() []fakeregistry.Option {
	if h := e.cluster.RegistryHost; h != "" && h != "127.0.0.1" {
		return []fakeregistry.Option{fakeregistry.WithListenAddress(h + ":0")}
	}
	return nil
}

// createPolicy creates the policy of a template (${NAME} from vars) and
// waits until Kyverno serves it (admission.Engine.CreatePolicy); it is
// deleted at the end of the spec, before the namespace.
func (e *testEnv) createPolicy(ctx context.Context, template string, vars map[string]string) error {
	raw, err := os.ReadFile(template)
	Expect(err).NotTo(HaveOccurred())
	text := string(raw)
	for k, v := range vars {
		text = strings.ReplaceAll(text, "${"+k+"}", v)
	}
	obj := &unstructured.Unstructured{}
	Expect(yaml.Unmarshal([]byte(text), &obj.Object)).To(Succeed(), template)
	del, err := e.asWritten.CreatePolicy(ctx, obj)
	if err != nil {
		return err
	}
	DeferCleanup(func(ctx SpecContext) { Expect(del(ctx)).To(Succeed()) }, NodeTimeout(time.Minute))
	return nil
}

// createPod creates Pod "app" running image and returns the API server's
// answer.
func (e *testEnv) createPod(ctx context.Context, ns, image string) engine.AdmissionResponse {
	pod := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "app", "namespace": ns},
		"spec":     map[string]any{"containers": []any{map[string]any{"name": "app", "image": image}}},
	}}
	a, err := e.asWritten.CreateResource(ctx, pod)
	Expect(err).NotTo(HaveOccurred())
	return a
}

// requireCatchError skips a spec whose policy needs catchError on a
// Kyverno without it (unsupported, with the reason), or fails it when
// REQUIRE_CATCHERROR=1.
func (e *testEnv) requireCatchError() {
	if e.caps.CatchError {
		return
	}
	reason := "unsupported: catchError: " + e.caps.Unsupported[engine.CapCatchError]
	AddReportEntry("catchError", reason)
	if os.Getenv("REQUIRE_CATCHERROR") == "1" {
		Fail("REQUIRE_CATCHERROR=1: " + reason)
	}
	Skip(reason)
}

// formatAnswer is an admission answer for a report entry.
func formatAnswer(a engine.AdmissionResponse) string {
	return fmt.Sprintf("took %s, allowed %t, warnings %q, message %q", a.Duration.Round(time.Millisecond), a.Allowed, a.Warnings, a.Message)
}
