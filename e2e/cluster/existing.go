package cluster

import (
	"context"
	"fmt"
	"os"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// existing uses a cluster the user already runs, with Kyverno installed. It
// starts nothing and so stops nothing; specs still clean up their namespaces.
type existing struct{ o Options }

func newExisting(o Options) *existing { return &existing{o: o} }

func (e *existing) Name() string { return "existing" }

func (e *existing) Start(ctx context.Context) (*Cluster, error) {
	path := e.o.Kubeconfig
	if path == "" {
		return nil, fmt.Errorf("existing provider: KUBECONFIG is not set")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("existing provider: KUBECONFIG: %w", err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("existing provider: KUBECONFIG %s: %w", path, err)
	}
	// Flatten into one self-contained file (certificates inline).
	kc, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("existing provider: KUBECONFIG %s: %w", path, err)
	}
	if err := clientcmdapi.FlattenConfig(kc); err != nil {
		return nil, fmt.Errorf("existing provider: KUBECONFIG %s: %w", path, err)
	}
	flat, err := clientcmd.Write(*kc)
	if err != nil {
		return nil, err
	}
	version, err := serverVersion(cfg)
	if err != nil {
		return nil, fmt.Errorf("existing provider: %w", err)
	}
	if err := waitKyverno(ctx, cfg); err != nil {
		return nil, fmt.Errorf("existing provider (is Kyverno installed?): %w", err)
	}
	host := os.Getenv("E2E_REGISTRY_HOST")
	if host == "" {
		host = "127.0.0.1"
	}
	return &Cluster{Provider: "existing", Kubeconfig: flat, ServerVersion: version, RegistryHost: host, WebhookTimeoutSeconds: e.o.WebhookTimeoutSeconds}, nil
}

func (e *existing) Stop(context.Context) error                { return nil }
func (e *existing) CollectLogs(context.Context, string) error { return nil }
