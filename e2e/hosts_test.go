package e2e

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/imagectx/conformance/fakeregistry"
	"github.com/imagectx/conformance/fakeregistry/proxy"
	"github.com/imagectx/conformance/internal/scenario"
)

// hostedRegistries lets the controllers reach fake registries by public
// host names (ghcr.io, index.docker.io): one registry proxy and one CA for
// the whole suite, given to the controllers when they start (HTTPS_PROXY,
// SSL_CERT_FILE), and routes that a spec's registries add and remove. A
// host has one registry at a time, so specs using hosts are Serial.
type hostedRegistries struct {
	ca     *fakeregistry.CA
	proxy  *proxy.Proxy
	caFile string
}

func startHostedRegistries(dir string) (*hostedRegistries, error) {
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
			fmt.Fprintf(GinkgoWriter, "registry proxy: %s\n", t)
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

// serve starts a registry for the current spec with the suite's CA and
// routes its hosts through the suite's proxy until the spec ends.
func (h *hostedRegistries) serve(cfg fakeregistry.Config) *fakeregistry.Server {
	srv, err := fakeregistry.Start(cfg, fakeregistry.WithCA(h.ca))
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(srv.Close)
	for _, host := range srv.Hosts() {
		remove, err := h.proxy.Route(host, srv.Addr())
		Expect(err).NotTo(HaveOccurred(), "route %s (is a spec using it not Serial?)", host)
		DeferCleanup(remove)
	}
	return srv
}

// servesHosts reports whether a scenario file needs the suite's registry
// proxy: more than one registry, or public host names.
func servesHosts(f *scenario.File) bool {
	for _, m := range f.RegistryModels() {
		if len(m.Config.Hosts) > 0 || m.Name != "" {
			return true
		}
	}
	return false
}

// scenarioRegistries starts a file's registries for the current spec and
// returns them (registry first) and the substitutions. A file with host names or
// several registries gets them through the suite's proxy and CA.
func scenarioRegistries(f *scenario.File) ([]*fakeregistry.Server, scenario.Vars) {
	if !servesHosts(f) {
		srv := env.registry(f.RegistryConfig())
		refused, err := srv.RefusedAddr()
		Expect(err).NotTo(HaveOccurred())
		return []*fakeregistry.Server{srv}, f.Substitutions(srv.Addr(), refused, srv.PublicKeys(), nil)
	}
	if publicHosts == nil {
		Skip(f.Path + ": serves public host names or several registries, which needs the registry proxy the local provider gives its controllers (first Ginkgo process)")
	}
	var servers []*fakeregistry.Server
	addrs := map[string]string{}
	keys := map[string][]byte{}
	for _, m := range f.RegistryModels() {
		srv := publicHosts.serve(m.Config)
		servers = append(servers, srv)
		if m.Name != "" {
			addrs[m.Name] = srv.Addr()
		}
		maps.Copy(keys, srv.PublicKeys())
	}
	refused, err := servers[0].RefusedAddr()
	Expect(err).NotTo(HaveOccurred())
	return servers, f.Substitutions(servers[0].Addr(), refused, keys, addrs)
}
