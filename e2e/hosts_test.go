package e2e

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/imagectx/conformance/fakeregistry"
	"github.com/imagectx/conformance/fakeregistry/proxy"
)

// hostedRegistries lets the controllers reach fake registries by public
// host names (ghcr.io, index.docker.io): one registry proxy and one CA for
// the whole suite, given to the controllers when they start (HTTPS_PROXY,
// SSL_CERT_FILE), and routes that an evaluation's registries add and
// remove. A host has one registry at a time, so such an evaluation runs
// alone (conformance.Evaluations).
type hostedRegistries struct {
	ca     *fakeregistry.CA
	proxy  *proxy.Proxy
	caFile string
}

// startHostedRegistries writes the CA into dir; log gets the tunnels the
// proxy refuses.
func startHostedRegistries(dir string, log io.Writer) (*hostedRegistries, error) {
	ca, err := fakeregistry.NewCA(time.Now())
	if err != nil {
		return nil, err
	}
	caFile := filepath.Join(dir, "fakeregistry-ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM(), 0o644); err != nil {
		return nil, fmt.Errorf("write the fake registries' CA: %w", err)
	}
	p, err := proxy.Start(nil, proxy.WithTunnelHook(func(t proxy.Tunnel) {
		if t.Target == "" {
			fmt.Fprintf(log, "registry proxy: %s\n", t)
		}
	}))
	if err != nil {
		return nil, err
	}
	return &hostedRegistries{ca: ca, proxy: p, caFile: caFile}, nil
}

// controllerEnv makes the controllers use the proxy for every host that is
// not loopback (the kube-apiserver, ${REGISTRY} stay direct) and trust the
// CA (the kube-apiserver's own CA comes from the kubeconfig, not from
// SSL_CERT_FILE).
func (h *hostedRegistries) controllerEnv() []string {
	return []string{"HTTPS_PROXY=" + h.proxy.URL(), "SSL_CERT_FILE=" + h.caFile}
}

func (h *hostedRegistries) close() error { return h.proxy.Close() }
