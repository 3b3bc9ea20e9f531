package e2e

import (
	"context"
	"io"
	"os"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/imagectx/conformance/e2e/cluster"
	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/admission"
	"github.com/imagectx/conformance/engine/engines"
	"github.com/imagectx/conformance/fakeregistry"
)

// testEnv holds the admission engines of the suite's cluster.
type testEnv struct {
	cluster *cluster.Cluster
	// engines by process and policy handling: auditCopies (admission,
	// every validate rule audits), asWritten (admission, policies as
	// written: the files that check the API server's answers), background
	// (a background scan of audit copies).
	auditCopies, asWritten, background engine.Engine
	// caps are the admission engines' capabilities (read from the
	// cluster once).
	caps, backgroundCaps engine.Capabilities
}

// newTestEnv connects the engines to c; hosts is the registry proxy and CA
// the controllers were started with (nil: none); log gets the engines'
// progress lines.
func newTestEnv(ctx context.Context, c *cluster.Cluster, hosts *hostedRegistries, log io.Writer) (*testEnv, error) {
	cfg, err := clientcmd.RESTConfigFromKubeConfig(c.Kubeconfig)
	if err != nil {
		return nil, err
	}
	// One process runs every evaluation (E2E_CONCURRENCY at once) through
	// these clients; client-go's default limits (5 per second, bursts of
	// 10) would queue their polling.
	cfg.QPS, cfg.Burst = 200, 400
	e := &testEnv{cluster: c}
	opts := admission.Options{
		WebhookTimeout: time.Duration(c.WebhookTimeoutSeconds) * time.Second,
		Version:        "Kyverno admission and reports controllers (make e2e, PROVIDER=" + os.Getenv("PROVIDER") + ")",
		Log:            log,
	}
	if hosts != nil {
		opts.Proxy, opts.TrustedCAs = hosts.proxy.URL(), [][]byte{hosts.ca.CertPEM()}
	}
	// The engines open by name, as every suite's do; asWritten is the
	// admission engine with the policies applied as written.
	for _, x := range []struct {
		dst   *engine.Engine
		name  string
		audit bool
	}{{&e.auditCopies, admission.NameAdmission, true}, {&e.asWritten, admission.NameAdmission, false}, {&e.background, admission.NameBackgroundScan, true}} {
		o := opts
		o.AuditCopies = x.audit
		if *x.dst, err = engines.Open(x.name, engines.WithCluster(cfg, o)); err != nil {
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

// registryOptions put a fake registry where the cluster's Kyverno reaches
// it.
func (e *testEnv) registryOptions() []fakeregistry.Option {
	if h := e.cluster.RegistryHost; h != "" && h != "127.0.0.1" {
		return []fakeregistry.Option{fakeregistry.WithListenAddress(h + ":0")}
	}
	return nil
}
