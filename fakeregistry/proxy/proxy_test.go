package proxy_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"go.uber.org/goleak"
	"golang.org/x/net/http/httpproxy"

	"github.com/imagectx/conformance/fakeregistry"
	"github.com/imagectx/conformance/fakeregistry/proxy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// public is a fake GHCR and a fake Docker Hub behind one proxy, as a
// scenario with two hosted registries gets them.
type public struct {
	ghcr, hub *fakeregistry.Server
	proxy     *proxy.Proxy
	transport *http.Transport
}

func startPublic(t *testing.T) *public {
	t.Helper()
	ghcr, err := fakeregistry.Start(fakeregistry.Config{
		Hosts:  []string{"ghcr.io"},
		Images: []fakeregistry.Image{{Ref: "team/app:v1", Config: fakeregistry.ImageConfig{User: "1000"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ghcr.Close() })
	hub, err := fakeregistry.Start(fakeregistry.Config{
		Hosts:  []string{"docker.io"}, // served as index.docker.io
		Images: []fakeregistry.Image{{Ref: "library/nginx:1.27", Config: fakeregistry.ImageConfig{User: "101"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hub.Close() })
	routes := map[string]string{}
	for _, s := range []*fakeregistry.Server{ghcr, hub} {
		maps.Copy(routes, s.Routes())
	}
	p, err := proxy.Start(routes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ghcr.CACertPEM())
	pool.AppendCertsFromPEM(hub.CACertPEM())
	// The proxy function HTTPS_PROXY gives (http.ProxyFromEnvironment reads
	// the environment once per process, so a test builds it directly).
	proxyFunc := (&httpproxy.Config{HTTPSProxy: p.URL(), HTTPProxy: p.URL()}).ProxyFunc()
	tr := &http.Transport{
		Proxy:           func(r *http.Request) (*url.URL, error) { return proxyFunc(r.URL) },
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &public{ghcr: ghcr, hub: hub, proxy: p, transport: tr}
}

func (pub *public) get(t *testing.T, ref string) (*remote.Descriptor, error) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return remote.Get(r, remote.WithTransport(pub.transport), remote.WithContext(ctx))
}

func TestPublicHostNames(t *testing.T) {
	pub := startPublic(t)
	if got, want := pub.hub.Hosts(), []string{"index.docker.io"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Hosts() = %v, want %v", got, want)
	}
	for ref, server := range map[string]*fakeregistry.Server{
		"ghcr.io/team/app:v1": pub.ghcr,
		"nginx:1.27":          pub.hub, // Docker Hub normalisation: index.docker.io/library/nginx
	} {
		desc, err := pub.get(t, ref)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		want, _ := server.Digest(strings.TrimPrefix(ref, "ghcr.io/"))
		if ref == "nginx:1.27" {
			want, _ = server.Digest("library/nginx:1.27")
		}
		if desc.Digest.String() != want {
			t.Errorf("%s: digest %s, want %s", ref, desc.Digest, want)
		}
	}
	if !pub.hub.Requested("library/nginx:1.27") {
		t.Error("the fake Docker Hub never saw library/nginx:1.27")
	}
	var tunnels []string
	for _, tu := range pub.proxy.Tunnels() {
		tunnels = append(tunnels, tu.Host)
	}
	for _, want := range []string{"ghcr.io:443", "index.docker.io:443"} {
		if !strings.Contains(strings.Join(tunnels, " "), want) {
			t.Errorf("tunnels %v lack %s", tunnels, want)
		}
	}
}

func TestUnservedHostIsRefused(t *testing.T) {
	pub := startPublic(t)
	_, err := pub.get(t, "quay.io/team/app:v1")
	// Go's transport reports a CONNECT answered with anything but 200 as
	// the status text; ggcr's ping wraps it.
	want := `Get "https://quay.io/v2/": Forbidden`
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
	if got := pub.proxy.Refused(); fmt.Sprint(got) != "[quay.io:443]" {
		t.Errorf("Refused() = %v, want [quay.io:443]", got)
	}

	// A plain request through the proxy is refused too, never forwarded.
	res, err := (&http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(mustURL(t, pub.proxy.URL()))}}).Get("http://example.test/v2/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "only opens CONNECT tunnels") {
		t.Errorf("plain GET: %d %q, want 403 naming CONNECT", res.StatusCode, body)
	}
	if got := pub.proxy.Refused(); fmt.Sprint(got) != "[quay.io:443 example.test]" {
		t.Errorf("Refused() = %v", got)
	}
}

func TestRoutesLeadOnlyToLoopback(t *testing.T) {
	for _, tc := range []struct {
		routes map[string]string
		want   string
	}{
		{map[string]string{"ghcr.io": "10.0.0.1:443"}, `proxy route "ghcr.io": target: want a loopback address such as 127.0.0.1:PORT, got "10.0.0.1:443"`},
		{map[string]string{"ghcr.io": "registry.example:443"}, `proxy route "ghcr.io": target: want a loopback address such as 127.0.0.1:PORT, got "registry.example:443"`},
		{map[string]string{"ghcr.io": "127.0.0.1:1", "GHCR.io:443": "127.0.0.1:2"}, `proxy route "ghcr.io": "GHCR.io:443" names the same host ghcr.io:443`},
		{map[string]string{"ghcr.io:abc": "127.0.0.1:1"}, `proxy route "ghcr.io:abc": want host or host:port with a port of 1-65535, got "ghcr.io:abc"`},
	} {
		p, err := proxy.Start(tc.routes)
		if err == nil {
			_ = p.Close()
			t.Errorf("%v: no error", tc.routes)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("%v:\n got %s\nwant %s", tc.routes, err, tc.want)
		}
	}
	if p, err := proxy.Start(nil, proxy.WithListenAddress("0.0.0.0:0")); err == nil {
		_ = p.Close()
		t.Error("a proxy on 0.0.0.0 started")
	}
}

func TestCloseEndsOpenTunnels(t *testing.T) {
	pub := startPublic(t)
	if _, err := pub.get(t, "ghcr.io/team/app:v1"); err != nil {
		t.Fatal(err)
	}
	// The transport keeps the tunnel open (keep-alive); Close must end it
	// and return (goleak checks nothing is left).
	if err := pub.proxy.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pub.proxy.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestRouteWhileRunning: a suite-wide proxy gets a registry's host for one
// test and loses it after; a second route for a routed host is an error.
func TestRouteWhileRunning(t *testing.T) {
	ca, err := fakeregistry.NewCA(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p, err := proxy.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	reg, err := fakeregistry.Start(fakeregistry.Config{Hosts: []string{"ghcr.io"}, Images: []fakeregistry.Image{{Ref: "team/app:v1"}}}, fakeregistry.WithCA(ca))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if string(reg.CACertPEM()) != string(ca.CertPEM()) {
		t.Error("CACertPEM is not the CA's certificate")
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CertPEM()) // the CA only: the leaf is issued by it
	get := func() error {
		tr := &http.Transport{Proxy: http.ProxyURL(mustURL(t, p.URL())), TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
		defer tr.CloseIdleConnections()
		r, _ := name.ParseReference("ghcr.io/team/app:v1")
		_, err := remote.Get(r, remote.WithTransport(tr))
		return err
	}
	if err := get(); err == nil || err.Error() != `Get "https://ghcr.io/v2/": Forbidden` {
		t.Fatalf("before Route: %v", err)
	}
	remove, err := p.Route("ghcr.io", reg.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Route("ghcr.io:443", reg.Addr()); err == nil || !strings.Contains(err.Error(), "ghcr.io:443 leads to "+reg.Addr()+" already") {
		t.Errorf("second route: %v", err)
	}
	if err := get(); err != nil {
		t.Fatalf("with the route: %v", err)
	}
	remove()
	if err := get(); err == nil {
		t.Fatal("after remove: no error")
	}
}
