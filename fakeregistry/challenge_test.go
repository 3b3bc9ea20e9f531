package fakeregistry_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/net/http/httpproxy"

	"github.com/imagectx/conformance/fakeregistry"
	"github.com/imagectx/conformance/fakeregistry/proxy"
)

// startPublic serves cfg for its hosts behind a proxy and returns a client
// transport that reaches them by name (HTTPS_PROXY, the fake's CA).
func startPublic(t *testing.T, cfg fakeregistry.Config) (*fakeregistry.Server, http.RoundTripper) {
	t.Helper()
	srv, err := fakeregistry.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	p, err := proxy.Start(srv.Routes())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.CACertPEM())
	proxyFor := (&httpproxy.Config{HTTPSProxy: p.URL()}).ProxyFunc()
	tr := &http.Transport{
		Proxy:           func(r *http.Request) (*url.URL, error) { return proxyFor(r.URL) },
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return srv, tr
}

func pullThrough(tr http.RoundTripper, ref string, opts ...remote.Option) error {
	r, err := name.ParseReference(ref)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	desc, err := remote.Get(r, append([]remote.Option{remote.WithTransport(tr), remote.WithContext(ctx)}, opts...)...)
	if err != nil {
		return err
	}
	img, err := desc.Image()
	if err != nil {
		return err
	}
	_, err = img.ConfigFile() // the config blob, as Kyverno's lookup reads it
	return err
}

func requestLines(srv *fakeregistry.Server) []string {
	var out []string
	for _, r := range srv.Requests() {
		out = append(out, fmt.Sprintf("%s %s %s %d", r.Method, r.Kind, r.Path, r.Status))
	}
	return out
}

func requestLinesWithCredentials(srv *fakeregistry.Server) []string {
	var out []string
	for _, r := range srv.Requests() {
		out = append(out, fmt.Sprintf("%s %s %s %d %t", r.Method, r.Kind, r.Path, r.Status, r.CredentialsPresented))
	}
	return out
}

// TestDockerHubShape is Docker Hub's flow: GET /v2/ answers 401 with a
// Bearer challenge naming another host's token service and its service
// name, even for public images; blobs are redirected to a storage host.
func TestDockerHubShape(t *testing.T) {
	srv, tr := startPublic(t, fakeregistry.Config{
		Hosts:       []string{"docker.io", "auth.docker.io", "production.cloudflare.docker.com"},
		Challenge:   &fakeregistry.Challenge{Type: "bearer", Realm: "https://auth.docker.io/token", Service: "registry.docker.io"},
		StorageHost: "production.cloudflare.docker.com",
		Images:      []fakeregistry.Image{{Ref: "library/nginx:1.27", Config: fakeregistry.ImageConfig{User: "101"}}},
	})
	res, err := (&http.Client{Transport: tr}).Get("https://index.docker.io/v2/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got, want := res.Header.Get("WWW-Authenticate"), `Bearer realm="https://auth.docker.io/token",service="registry.docker.io"`; res.StatusCode != 401 || got != want {
		t.Errorf("GET /v2/: %d %q, want 401 %q", res.StatusCode, got, want)
	}
	if err := pullThrough(tr, "nginx:1.27"); err != nil {
		t.Fatal(err)
	}
	cfgDigest := ""
	for _, r := range srv.Requests() {
		if r.Kind == fakeregistry.KindStorage {
			cfgDigest = r.Reference
		}
	}
	want := []string{
		"GET ping /v2/ 401", // the curl above
		"GET ping /v2/ 401",
		"GET token /token 200",
		"GET manifest /v2/library/nginx/manifests/1.27 200",
		"GET blob /v2/library/nginx/blobs/" + cfgDigest + " 307",
		// go-containerregistry follows the redirect without the token.
		"GET storage /fakeregistry-storage/library/nginx/blobs/" + cfgDigest + " 200",
	}
	if got := requestLines(srv); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestStoragePathOnlyOnTheStorageHost: the storage path answers only for
// the storage host; by the registry's own name or address it is an
// unknown path, so a protected blob has no door without auth.
func TestStoragePathOnlyOnTheStorageHost(t *testing.T) {
	srv, tr := startPublic(t, fakeregistry.Config{
		Hosts:       []string{"ghcr.io", "storage.example"},
		StorageHost: "storage.example",
		Images: []fakeregistry.Image{{Ref: "team/app:v1", Config: fakeregistry.ImageConfig{User: "1000"},
			Auth: &fakeregistry.Auth{Type: "basic", Username: "alice", Password: "s3cret"}}},
	})
	cfgDigest := ""
	// The config digest, from an authorized pull.
	login := authn.FromConfig(authn.AuthConfig{Username: "alice", Password: "s3cret"})
	if err := pullThrough(tr, "ghcr.io/team/app:v1", remote.WithAuth(login)); err != nil {
		t.Fatal(err)
	}
	for _, r := range srv.Requests() {
		if r.Kind == fakeregistry.KindStorage {
			cfgDigest = r.Reference
		}
	}
	if cfgDigest == "" {
		t.Fatal("the pull never reached the storage host")
	}
	for host, want := range map[string]int{"storage.example": 200, "ghcr.io": 404} {
		res, err := (&http.Client{Transport: tr}).Get("https://" + host + "/fakeregistry-storage/team/app/blobs/" + cfgDigest)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("storage path on %s: %d, want %d", host, res.StatusCode, want)
		}
	}
}

// TestStorageHostBlocked: the registry answers but its storage host is not
// reachable (a firewall that allows ghcr.io only): the manifest is read,
// the config blob is not.
func TestStorageHostBlocked(t *testing.T) {
	srv, tr := startPublic(t, fakeregistry.Config{
		Hosts:       []string{"ghcr.io"},
		StorageHost: "pkg-containers.githubusercontent.com",
		Images:      []fakeregistry.Image{{Ref: "team/app:v1", Config: fakeregistry.ImageConfig{User: "1000"}}},
	})
	err := pullThrough(tr, "ghcr.io/team/app:v1")
	cfgDigest := ""
	for _, r := range srv.Requests() {
		if r.Kind == fakeregistry.KindBlob {
			cfgDigest = r.Reference
		}
	}
	want := `Get "https://pkg-containers.githubusercontent.com/fakeregistry-storage/team/app/blobs/` + cfgDigest + `": Forbidden`
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
}

// TestPingAnswers200: a registry that answers GET /v2/ with 200 and
// challenges only on the repository request. go-containerregistry pings,
// sees no challenge, and then sends the login as Basic credentials on every
// request (its transport for an "anonymous" ping), so the right login pulls
// at once; without one, the repository's 401 is the error.
func TestPingAnswers200(t *testing.T) {
	srv, tr := startPublic(t, fakeregistry.Config{
		Hosts:     []string{"registry.example"},
		Challenge: &fakeregistry.Challenge{Ping: 200, Realm: "Artifactory Realm"},
		Images: []fakeregistry.Image{{Ref: "team/app:v1", Config: fakeregistry.ImageConfig{User: "1000"},
			Auth: &fakeregistry.Auth{Type: "basic", Username: "alice", Password: "s3cret"}}},
	})
	login := authn.FromConfig(authn.AuthConfig{Username: "alice", Password: "s3cret"})
	if err := pullThrough(tr, "registry.example/team/app:v1", remote.WithAuth(login)); err != nil {
		t.Fatalf("with the login: %v", err)
	}
	want := []string{"GET ping /v2/ 200 false", "GET manifest /v2/team/app/manifests/v1 200 true", "GET blob /v2/team/app/blobs/"}
	got := requestLinesWithCredentials(srv)
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || !strings.HasPrefix(got[2], want[2]) || !strings.HasSuffix(got[2], " 200 true") {
		t.Errorf("requests %q, want %q", got, want)
	}
	err := pullThrough(tr, "registry.example/team/app:v1")
	wantErr := "GET https://registry.example/v2/team/app/manifests/v1: UNAUTHORIZED: authentication required"
	if err == nil || err.Error() != wantErr {
		t.Errorf("anonymous: %v\nwant %s", err, wantErr)
	}
	res, err := (&http.Client{Transport: tr}).Get("https://registry.example/v2/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("WWW-Authenticate") != "" {
		t.Errorf("GET /v2/: %d %q, want 200 without a challenge", res.StatusCode, res.Header.Get("WWW-Authenticate"))
	}
	res, err = (&http.Client{Transport: tr}).Get("https://registry.example/v2/team/app/manifests/v1")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := res.Header.Get("WWW-Authenticate"); got != `Basic realm="Artifactory Realm"` {
		t.Errorf("challenge %q", got)
	}
}

func TestChallengeErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  fakeregistry.Config
		want string
	}{
		{"no scheme to choose", fakeregistry.Config{Challenge: &fakeregistry.Challenge{Ping: 401}},
			`fakeregistry config: challenge.type: want "bearer" or "basic": no auth is configured to choose the scheme`},
		{"scheme against the auths", fakeregistry.Config{Challenge: &fakeregistry.Challenge{Type: "basic"},
			Images: []fakeregistry.Image{{Ref: "a/b:v1", Auth: &fakeregistry.Auth{Type: "bearer", Username: "u", Password: "p"}}}},
			`fakeregistry config: challenge.type: the configured auths need a bearer challenge (a bearer auth makes the whole registry Bearer), got "basic"`},
		{"ping status", fakeregistry.Config{Challenge: &fakeregistry.Challenge{Type: "bearer", Ping: 403}},
			`fakeregistry config: challenge.ping: want 401 (the default) or 200, got 403`},
		{"realm host not served", fakeregistry.Config{Hosts: []string{"docker.io"}, Challenge: &fakeregistry.Challenge{Type: "bearer", Realm: "https://auth.docker.io/token"}},
			`fakeregistry config: challenge.realm: the token service host "auth.docker.io" must be one of hosts [docker.io], so that the proxy routes it to this registry`},
		{"realm not a URL", fakeregistry.Config{Challenge: &fakeregistry.Challenge{Type: "bearer", Realm: "auth.docker.io"}},
			`fakeregistry config: challenge.realm: want the token service URL, such as https://auth.docker.io/token (https: the proxy only tunnels TLS), got "auth.docker.io"`},
		{"realm over http", fakeregistry.Config{Hosts: []string{"docker.io"}, Challenge: &fakeregistry.Challenge{Type: "bearer", Realm: "http://index.docker.io/token"}},
			`fakeregistry config: challenge.realm: want the token service URL, such as https://auth.docker.io/token (https: the proxy only tunnels TLS), got "http://index.docker.io/token"`},
		{"service of a Basic challenge", fakeregistry.Config{Challenge: &fakeregistry.Challenge{Type: "basic", Service: "registry.example"}},
			`fakeregistry config: challenge.service: a Basic challenge has no service (only realm); remove it or use type: bearer`},
		{"a 200 ping and no auth", fakeregistry.Config{Challenge: &fakeregistry.Challenge{Type: "bearer", Ping: 200}},
			`fakeregistry config: challenge.ping: 200 with no auth configured sends no challenge at all; add an auth to a repository or image, or remove challenge`},
		{"a quote in the realm", fakeregistry.Config{Challenge: &fakeregistry.Challenge{Type: "basic", Realm: `my "realm"`}},
			`fakeregistry config: challenge.realm: want no quote, backslash or line break (it is a quoted WWW-Authenticate parameter), got "my \"realm\""`},
		{"storage host without hosts", fakeregistry.Config{StorageHost: "storage.example"},
			`fakeregistry config: storageHost: needs hosts: the redirect names a host clients reach through the registry proxy, which serves only hosts (list the storage host in hosts to serve it, leave it out to have it refused)`},
		{"layer media type without layers", fakeregistry.Config{Images: []fakeregistry.Image{{Ref: "a/b:v1", LayerMediaType: "application/vnd.oci.image.layer.v1.tar+zstd"}}},
			`fakeregistry config: images[0].layerMediaType: the image has no layers to give it; declare layers (sizes in bytes)`},
		{"storage host", fakeregistry.Config{StorageHost: "127.0.0.1"},
			`fakeregistry config: storageHost: want a registry host name such as ghcr.io or registry.example:5000, got the IP address "127.0.0.1" (an address is reached directly, not by name; use a second registry's ${REGISTRY_<name>})`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := fakeregistry.Start(tc.cfg)
			if err == nil {
				srv.Close()
				t.Fatal("no error")
			}
			if err.Error() != tc.want {
				t.Errorf("\n got %s\nwant %s", err, tc.want)
			}
		})
	}
}
