package cluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"
)

// kind creates (or reuses) a kind cluster through kind's Go API and installs
// Kyverno from the same manifest as the local provider. Kyverno then runs in
// Pods and reaches the fake registry at the kind network's gateway address;
// since that is not loopback, Kyverno is told to allow plain-HTTP registries.
type kind struct {
	o       Options
	created bool
	dir     string
}

func newKind(o Options) *kind { return &kind{o: o} }

func (k *kind) Name() string { return "kind" }

// engine asks the container engine itself whether it answers: kind's own
// detection only checks that a CLI is installed.
func (k *kind) engine(ctx context.Context) (kindcluster.ProviderOption, string, error) {
	name := os.Getenv("KIND_EXPERIMENTAL_PROVIDER")
	if name == "" {
		name = "docker"
	}
	var opt kindcluster.ProviderOption
	switch name {
	case "docker":
		opt = kindcluster.ProviderWithDocker()
	case "podman":
		opt = kindcluster.ProviderWithPodman()
	case "nerdctl":
		opt = kindcluster.ProviderWithNerdctl("nerdctl")
	default:
		return nil, "", fmt.Errorf("KIND_EXPERIMENTAL_PROVIDER=%q: want docker, podman or nerdctl", name)
	}
	out, err := EngineInfo(ctx, name)
	if err != nil {
		return nil, "", &UnavailableError{Reason: fmt.Sprintf("kind: no container engine answers (`%s info`: %v%s)", name, err, tail(out))}
	}
	return opt, name, nil
}

// EngineInfo runs `<engine> info` with a short deadline.
func EngineInfo(ctx context.Context, engine string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, engine, "info").CombinedOutput()
	return string(out), err
}

func (k *kind) Start(ctx context.Context) (*Cluster, error) {
	opt, engineName, err := k.engine(ctx)
	if err != nil {
		return nil, err
	}
	if k.o.KyvernoManifest == "" {
		return nil, fmt.Errorf("kind provider: no Kyverno install manifest given")
	}
	p := kindcluster.NewProvider(opt)
	name := k.o.KindClusterName
	names, err := p.List()
	if err != nil {
		return nil, fmt.Errorf("kind: list clusters: %w", err)
	}
	if slices.Contains(names, name) {
		logf(k.o.Log, "kind: reusing cluster %s", name)
	} else {
		logf(k.o.Log, "kind: creating cluster %s with %s (pulls the node image)", name, engineName)
		k.created = true
		if err := p.Create(name, kindcluster.CreateWithWaitForReady(5*time.Minute), kindcluster.CreateWithDisplayUsage(false), kindcluster.CreateWithDisplaySalutation(false)); err != nil {
			return nil, fmt.Errorf("kind: create cluster %s: %w", name, err)
		}
	}
	raw, err := p.KubeConfig(name, false)
	if err != nil {
		return nil, fmt.Errorf("kind: kubeconfig of %s: %w", name, err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig([]byte(raw))
	if err != nil {
		return nil, fmt.Errorf("kind: kubeconfig of %s: %w", name, err)
	}
	version, err := serverVersion(cfg)
	if err != nil {
		return nil, err
	}
	gateway, err := networkGateway(ctx, engineName, "kind")
	if err != nil {
		return nil, err
	}
	if k.dir, err = os.MkdirTemp(k.o.WorkDir, "imagectx-e2e-kind-"); err != nil {
		return nil, err
	}
	manifest, err := insecureRegistryManifest(k.o.KyvernoManifest, filepath.Join(k.dir, "kyverno.yaml"), k.o.WebhookTimeoutSeconds)
	if err != nil {
		return nil, err
	}
	if err := applyManifest(ctx, cfg, manifest); err != nil {
		return nil, fmt.Errorf("kind: install Kyverno: %w", err)
	}
	if err := waitKyverno(ctx, cfg); err != nil {
		return nil, fmt.Errorf("kind: %w", err)
	}
	return &Cluster{Provider: "kind", Kubeconfig: []byte(raw), ServerVersion: version, RegistryHost: gateway, WebhookTimeoutSeconds: k.o.WebhookTimeoutSeconds}, nil
}

// insecureRegistryManifest rewrites the install manifest so Kyverno's
// controllers accept plain-HTTP registries (the fake registry on the kind
// network is not loopback) and use the suite's webhook timeout.
func insecureRegistryManifest(src, dst string, webhookTimeout int) (string, error) {
	objs, err := readManifest(src)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	for _, o := range objs {
		if o.GetKind() == "Deployment" {
			containers, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
			for i, c := range containers {
				m := c.(map[string]any)
				args, _ := m["args"].([]any)
				for j, a := range args {
					s, _ := a.(string)
					switch {
					case s == "--allowInsecureRegistry=false":
						args[j] = "--allowInsecureRegistry=true"
					case strings.HasPrefix(s, "--webhookTimeout="):
						args[j] = fmt.Sprintf("--webhookTimeout=%d", webhookTimeout)
					}
				}
				// Only these two register the cache flags (Kyverno v1.19.1
				// cmd/kyverno, cmd/reports-controller); others refuse them.
				if n := o.GetName(); n == "kyverno-admission-controller" || n == "kyverno-reports-controller" {
					args = append(args, ImageVerifyCacheOff)
				}
				m["args"] = args
				containers[i] = m
			}
			if err := unstructured.SetNestedSlice(o.Object, containers, "spec", "template", "spec", "containers"); err != nil {
				return "", err
			}
		}
		b, err := o.MarshalJSON()
		if err != nil {
			return "", err
		}
		buf.Write(b)
		buf.WriteString("\n---\n")
	}
	return dst, os.WriteFile(dst, buf.Bytes(), 0o644)
}

func networkGateway(ctx context.Context, engine, network string) (string, error) {
	out, err := exec.CommandContext(ctx, engine, "network", "inspect", network, "-f", "{{range .IPAM.Config}}{{.Gateway}} {{end}}").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("kind: %s network inspect %s: %v%s", engine, network, err, tail(string(out)))
	}
	for _, f := range strings.Fields(string(out)) {
		if !strings.Contains(f, ":") { // IPv4 gateway
			return f, nil
		}
	}
	return "", fmt.Errorf("kind: network %s has no IPv4 gateway (%q)", network, strings.TrimSpace(string(out)))
}

func (k *kind) Stop(ctx context.Context) error {
	var err error
	if k.created && os.Getenv("KIND_KEEP_CLUSTER") != "1" {
		opt, _, eerr := k.engine(ctx)
		if eerr == nil {
			err = kindcluster.NewProvider(opt).Delete(k.o.KindClusterName, "")
		}
		k.created = false
	}
	if k.dir != "" {
		os.RemoveAll(k.dir)
		k.dir = ""
	}
	return err
}

func (k *kind) CollectLogs(ctx context.Context, dir string) error {
	opt, _, err := k.engine(ctx)
	if err != nil {
		return nil
	}
	return kindcluster.NewProvider(opt).CollectLogs(k.o.KindClusterName, dir)
}

func tail(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if len(s) > 300 {
		s = "..." + s[len(s)-300:]
	}
	return ": " + s
}
