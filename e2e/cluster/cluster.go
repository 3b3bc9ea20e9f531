// Package cluster provides the Kubernetes clusters the e2e suite runs against,
// each with the real Kyverno admission controller and reports controller:
// "local" (etcd, kube-apiserver and Kyverno as host processes on 127.0.0.1),
// "kind" (a kind cluster through kind's Go API, needs a container engine) and
// "existing" (a KUBECONFIG whose cluster already runs Kyverno).
package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Provider brings a cluster with Kyverno up and takes it down again.
type Provider interface {
	// Name is "local", "kind" or "existing".
	Name() string
	// Start returns when Kyverno's webhooks are registered and answering.
	// On error the caller still calls Stop, which undoes what was started.
	Start(ctx context.Context) (*Cluster, error)
	// Stop stops every process Start started (by PID) and removes its
	// temporary files. It is safe to call more than once and after a
	// failed Start.
	Stop(ctx context.Context) error
	// CollectLogs copies the API server and Kyverno logs into dir.
	CollectLogs(ctx context.Context, dir string) error
}

// Cluster is what specs need to reach a started cluster. It is JSON so that
// Ginkgo's first parallel process can hand it to the others.
type Cluster struct {
	Provider string `json:"provider"`
	// Kubeconfig is the serialized kubeconfig (it holds a bearer token:
	// never print it).
	Kubeconfig []byte `json:"kubeconfig"`
	// ServerVersion is the API server's gitVersion, e.g. v1.34.4.
	ServerVersion string `json:"serverVersion"`
	// RegistryHost is the host Kyverno reaches a fake registry on this
	// machine at ("127.0.0.1" when Kyverno runs on the host).
	RegistryHost string `json:"registryHost"`
	// WebhookTimeoutSeconds is the timeout Kyverno writes into its webhook
	// configurations when a policy sets none.
	WebhookTimeoutSeconds int `json:"webhookTimeoutSeconds"`
}

// UnavailableError says a provider cannot run on this machine (for example
// kind without a container engine); the suite skips with Reason unless
// E2E_REQUIRED=1.
type UnavailableError struct{ Reason string }

func (e *UnavailableError) Error() string { return e.Reason }

// IsUnavailable reports whether err is (or wraps) an UnavailableError.
func IsUnavailable(err error) (*UnavailableError, bool) {
	var u *UnavailableError
	ok := errors.As(err, &u)
	return u, ok
}

// Options configure every provider; unset fields have working defaults.
type Options struct {
	// WorkDir holds temporary files (certs, etcd data, kubeconfig); the
	// provider creates and removes a folder inside it.
	WorkDir string
	// PIDFile records every started PID ("pid name" per line).
	PIDFile string
	// Binaries are the programs the local provider runs.
	Binaries Binaries
	// KyvernoManifest is Kyverno's install manifest (CRDs, RBAC, config).
	KyvernoManifest string
	// Kubeconfig is the existing provider's kubeconfig path.
	Kubeconfig string
	// KindClusterName names the kind cluster to create or reuse.
	KindClusterName string
	// WebhookTimeoutSeconds is passed to Kyverno (--webhookTimeout).
	WebhookTimeoutSeconds int
	// Log receives progress lines.
	Log io.Writer
	// ControllerEnv are "KEY=value" variables for the Kyverno controllers
	// the local provider starts, e.g. HTTPS_PROXY (fakeregistry/proxy, so
	// the controllers reach public registry host names offline) and
	// SSL_CERT_FILE (the fake registries' CA). The kind and existing
	// providers run Kyverno in the cluster and refuse them.
	ControllerEnv []string
}

// Option changes Options.
type Option func(*Options)

// WithWorkDir sets Options.WorkDir.
func WithWorkDir(dir string) Option { return func(o *Options) { o.WorkDir = dir } }

// WithPIDFile sets Options.PIDFile.
func WithPIDFile(path string) Option { return func(o *Options) { o.PIDFile = path } }

// WithBinaries sets Options.Binaries.
func WithBinaries(b Binaries) Option { return func(o *Options) { o.Binaries = b } }

// WithKyvernoManifest sets Options.KyvernoManifest.
func WithKyvernoManifest(path string) Option { return func(o *Options) { o.KyvernoManifest = path } }

// WithKubeconfig sets Options.Kubeconfig.
func WithKubeconfig(path string) Option { return func(o *Options) { o.Kubeconfig = path } }

// WithKindClusterName sets Options.KindClusterName.
func WithKindClusterName(name string) Option { return func(o *Options) { o.KindClusterName = name } }

// WithWebhookTimeout sets Options.WebhookTimeoutSeconds.
func WithWebhookTimeout(seconds int) Option {
	return func(o *Options) { o.WebhookTimeoutSeconds = seconds }
}

// WithControllerEnv adds to Options.ControllerEnv.
func WithControllerEnv(kv ...string) Option {
	return func(o *Options) { o.ControllerEnv = append(o.ControllerEnv, kv...) }
}

// WithLog sets Options.Log.
func WithLog(w io.Writer) Option { return func(o *Options) { o.Log = w } }

// Binaries are the host programs of the local provider.
type Binaries struct {
	Etcd, KubeAPIServer, Kyverno, ReportsController string
}

// New returns the provider called name.
func New(name string, opts ...Option) (Provider, error) {
	o := Options{WebhookTimeoutSeconds: 5, KindClusterName: "imagectx-e2e", Log: io.Discard}
	for _, opt := range opts {
		opt(&o)
	}
	for _, kv := range o.ControllerEnv {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return nil, fmt.Errorf("controller environment %q: want KEY=value", kv)
		}
	}
	if len(o.ControllerEnv) > 0 && name != "local" {
		return nil, fmt.Errorf("PROVIDER=%s: controller environment %v is set, but only the local provider starts the Kyverno controllers (kind and existing run them in the cluster)", name, o.ControllerEnv)
	}
	switch name {
	case "local":
		return newLocal(o), nil
	case "kind":
		return newKind(o), nil
	case "existing":
		return newExisting(o), nil
	default:
		return nil, fmt.Errorf("PROVIDER=%q: want local, kind or existing", name)
	}
}

func logf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "e2e/cluster: "+format+"\n", args...)
}
