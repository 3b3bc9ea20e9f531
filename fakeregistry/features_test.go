package fakeregistry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func start(t *testing.T, cfg Config, opts ...Option) *Server {
	t.Helper()
	s, err := Start(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestTLS(t *testing.T) {
	s := start(t, Config{TLS: true, Images: []Image{img("team/app:v1")}})
	if s.Scheme() != "https" || len(s.CACertPEM()) == 0 {
		t.Fatalf("scheme %s, CA %d bytes", s.Scheme(), len(s.CACertPEM()))
	}
	t.Run("untrusted", func(t *testing.T) {
		_, err := pull(ctxFor(t, 10*time.Second), s.Addr()+"/team/app:v1")
		want := strings.NewReplacer("${REGISTRY}", s.Addr()).Replace(
			`Get "https://${REGISTRY}/v2/": tls: failed to verify certificate: x509: certificate signed by unknown authority; GET http://${REGISTRY}/v2/: unexpected status code 400 Bad Request: Client sent an HTTP request to an HTTPS server.` + "\n")
		if err == nil || err.Error() != want {
			t.Fatalf("\n got %v\nwant %s", err, want)
		}
	})
	t.Run("trusted with CACertPEM", func(t *testing.T) {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(s.CACertPEM()) {
			t.Fatal("CACertPEM is not a PEM certificate")
		}
		tr := remote.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
		t.Cleanup(tr.CloseIdleConnections)
		for _, host := range []string{s.Addr(), strings.Replace(s.Addr(), "127.0.0.1", "localhost", 1)} {
			if _, err := pull(ctxFor(t, 10*time.Second), host+"/team/app:v1", remote.WithTransport(tr)); err != nil {
				t.Errorf("pull via %s: %v", host, err)
			}
		}
	})
}

func TestMultiPlatformImages(t *testing.T) {
	s := start(t, Config{Images: []Image{{Ref: "multi/app:v1", Platforms: []string{"linux/amd64", "linux/arm64"},
		Config: ImageConfig{User: "65532"}, Annotations: map[string]string{"team": "a"}}}})
	ctx := ctxFor(t, 10*time.Second)
	for _, c := range []struct {
		platform *v1.Platform
		arch     string
	}{{nil, "amd64"}, {&v1.Platform{OS: "linux", Architecture: "arm64"}, "arm64"}} {
		var opts []remote.Option
		if c.platform != nil {
			opts = append(opts, remote.WithPlatform(*c.platform))
		}
		res, err := pull(ctx, s.Addr()+"/multi/app:v1", opts...)
		if err != nil {
			t.Fatal(err)
		}
		if string(res.desc.MediaType) != mediaTypeIndex {
			t.Errorf("media type %s, want an index", res.desc.MediaType)
		}
		if res.config.Architecture != c.arch || res.config.OS != "linux" || res.config.Config.User != "65532" {
			t.Errorf("platform %v: config %+v", c.platform, res.config)
		}
	}
	idx, err := remote.Index(mustRef(t, s.Addr()+"/multi/app:v1"), remote.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 2 || im.Manifests[1].Platform.Architecture != "arm64" || im.Annotations["team"] != "a" {
		t.Errorf("index manifest %+v", im)
	}
	// Pull by digest, as scenarios do.
	d, err := s.Digest("multi/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pull(ctx, s.Addr()+"/multi/app@"+d); err != nil {
		t.Fatal(err)
	}
}

func mustRef(t *testing.T, ref string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestImageContent(t *testing.T) {
	s := start(t, Config{Images: []Image{{Ref: "team/app:v1",
		Config: ImageConfig{User: "1000", Env: []string{"A=1"}, Labels: map[string]string{"l": "v"}, Volumes: []string{"/data"},
			Entrypoint: []string{"/app"}, Cmd: []string{"run"}, WorkingDir: "/srv", Created: "2024-01-02T03:04:05Z", Architecture: "arm64"},
		Annotations: map[string]string{"org.example/a": "b"}, Layers: []int64{1 << 30, 42}}}})
	ctx := ctxFor(t, 10*time.Second)
	d, err := s.Digest("team/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	res, err := pull(ctx, s.Addr()+"/team/app@"+d)
	if err != nil {
		t.Fatal(err)
	}
	c := res.config
	if c.Config.User != "1000" || c.Config.Env[0] != "A=1" || c.Config.Labels["l"] != "v" || c.Config.Volumes == nil ||
		c.Config.Entrypoint[0] != "/app" || c.Config.Cmd[0] != "run" || c.Config.WorkingDir != "/srv" ||
		c.Created.Format(time.RFC3339) != "2024-01-02T03:04:05Z" || c.Architecture != "arm64" || c.OS != "linux" {
		t.Errorf("config %+v", c)
	}
	img, err := res.desc.Image()
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Layers) != 2 || m.Layers[0].Size != 1<<30 || m.Layers[1].Size != 42 || m.Annotations["org.example/a"] != "b" {
		t.Errorf("manifest %+v", m)
	}
	if _, err := s.Digest("team/app:v2"); err == nil {
		t.Error("Digest of an unknown image succeeded")
	}
}

func TestRequestLog(t *testing.T) {
	s := start(t, issueExample)
	ctx := ctxFor(t, 10*time.Second)
	if _, err := pull(ctx, s.Addr()+"/token/app:v1", remote.WithAuth(alice)); err != nil {
		t.Fatal(err)
	}
	if _, err := pull(ctx, s.Addr()+"/team/app:v1"); err != nil {
		t.Fatal(err)
	}
	reqs := s.Requests()
	var kinds []string
	for _, r := range reqs {
		kinds = append(kinds, r.Kind)
		if strings.Contains(r.String(), "s3cret") || strings.Contains(r.Path, "s3cret") {
			t.Errorf("request log leaks the password: %v", r)
		}
	}
	want := "ping token manifest blob ping token manifest blob"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("kinds %q, want %q", got, want)
	}
	if !reqs[1].CredentialsPresented || !reqs[2].CredentialsPresented {
		t.Errorf("token and manifest requests with a login: CredentialsPresented false: %v", reqs[1:3])
	}
	if reqs[6].CredentialsPresented {
		t.Errorf("anonymous token counted as credentials: %v", reqs[6])
	}
	if r := reqs[2]; r.Method != "GET" || r.Path != "/v2/token/app/manifests/v1" || r.Repository != "token/app" || r.Reference != "v1" ||
		r.Image != "token/app:v1" || r.Status != 200 || r.Duration <= 0 {
		t.Errorf("manifest request %+v", r)
	}
	d, _ := s.Digest("team/app:v1")
	for ref, want := range map[string]bool{
		"team/app": true, "team/app:v1": true, "team/app@" + d: true, "token/app:v1": true,
		"private/app:v1": false, "team/app:v2": false, "slow/app": false, "team/app@" + zeroHash: false,
	} {
		if got := s.Requested(ref); got != want {
			t.Errorf("Requested(%s) = %t, want %t", ref, got, want)
		}
	}
	// A pull by digest counts as a request for the tag's image.
	s2 := start(t, issueExample)
	if _, err := pull(ctx, s2.Addr()+"/team/app@"+d); err != nil {
		t.Fatal(err)
	}
	if !s2.Requested("team/app:v1") || s2.Requested("private/app:v1") {
		t.Errorf("by digest: Requested(team/app:v1) = %t, Requested(private/app:v1) = %t", s2.Requested("team/app:v1"), s2.Requested("private/app:v1"))
	}
}

func TestRequestHookAndConcurrency(t *testing.T) {
	var mu sync.Mutex
	var hooked []Request
	s := start(t, issueExample, WithRequestHook(func(r Request) {
		mu.Lock()
		defer mu.Unlock()
		hooked = append(hooked, r)
	}))
	ctx := ctxFor(t, 20*time.Second)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := pull(ctx, s.Addr()+"/team/app:v1"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	logged := s.Requests()
	if len(hooked) != len(logged) || len(hooked) < 8*4 {
		t.Fatalf("hook saw %d requests, log has %d", len(hooked), len(logged))
	}
	// The log holds what the hook saw, field for field (the order of
	// concurrent requests may differ between the two).
	key := func(r Request) string { return fmt.Sprintf("%#v", r) }
	sortBy := func(rs []Request) { sort.Slice(rs, func(i, j int) bool { return key(rs[i]) < key(rs[j]) }) }
	sortBy(hooked)
	sortBy(logged)
	if !reflect.DeepEqual(hooked, logged) {
		t.Errorf("log differs from what the hook saw:\nlog  %+v\nhook %+v", logged, hooked)
	}
}

// get sends one raw request, for what ggcr's client hides (it refreshes
// tokens on its own).
func get(t *testing.T, url string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = io.Copy(&b, resp.Body)
	return resp, b.String()
}

func token(t *testing.T, s *Server, scope string, login bool) string {
	t.Helper()
	h := map[string]string{}
	if login {
		h["Authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))
	}
	resp, body := get(t, "http://"+s.Addr()+"/token?service=fakeregistry&scope="+scope, h)
	if resp.StatusCode != 200 {
		t.Fatalf("token: %d %s", resp.StatusCode, body)
	}
	var tok struct {
		Token     string `json:"token"`
		ExpiresIn int    `json:"expires_in"`
	}
	if err := json.Unmarshal([]byte(body), &tok); err != nil || tok.Token == "" {
		t.Fatalf("token response %q: %v", body, err)
	}
	return tok.Token
}

func TestBearerScopeAndLifetime(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	cfg := Config{Images: []Image{
		{Ref: "token/app:v1", Auth: &Auth{Type: AuthBearer, Username: "alice", Password: "s3cret", TokenTTL: Duration(time.Minute)}},
		{Ref: "token/other:v1", Auth: bearer},
	}}
	s := start(t, cfg, WithClock(clock))
	manifest := "http://" + s.Addr() + "/v2/token/app/manifests/v1"

	resp, _ := get(t, "http://"+s.Addr()+"/v2/", nil)
	if c := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != 401 || c != `Bearer realm="http://`+s.Addr()+`/token",service="fakeregistry"` {
		t.Errorf("ping: %d %s", resp.StatusCode, c)
	}
	// A token for another repository does not open this one.
	other := token(t, s, "repository:token/other:pull", true)
	resp, body := get(t, manifest, map[string]string{"Authorization": "Bearer " + other})
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `scope="repository:token/app:pull",error="insufficient_scope"`) ||
		!strings.Contains(body, "UNAUTHORIZED") {
		t.Errorf("token of another scope: %d %s %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}
	// An anonymous token for the right scope does not open it either.
	anon := token(t, s, "repository:token/app:pull", false)
	if resp, _ := get(t, manifest, map[string]string{"Authorization": "Bearer " + anon}); resp.StatusCode != 401 {
		t.Errorf("anonymous token: %d", resp.StatusCode)
	}
	// A login's token for the scope does, until it expires.
	tok := token(t, s, "repository:token/app:pull", true)
	if resp, body := get(t, manifest, map[string]string{"Authorization": "Bearer " + tok}); resp.StatusCode != 200 {
		t.Errorf("valid token: %d %s", resp.StatusCode, body)
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	resp, _ = get(t, manifest, map[string]string{"Authorization": "Bearer " + tok})
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("expired token: %d %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	// ggcr refreshes an expired token by itself: one more token request.
	ctx := ctxFor(t, 10*time.Second)
	if _, err := pull(ctx, s.Addr()+"/token/app:v1", remote.WithAuth(alice)); err != nil {
		t.Fatal(err)
	}
}

func TestBasicPing(t *testing.T) {
	s := start(t, Config{Images: []Image{{Ref: "private/app:v1", Auth: basic}}})
	resp, body := get(t, "http://"+s.Addr()+"/v2/", nil)
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Basic realm="fakeregistry"` || !strings.Contains(body, "UNAUTHORIZED") {
		t.Errorf("anonymous ping: %d %q %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}
	login := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))
	if resp, _ := get(t, "http://"+s.Addr()+"/v2/", map[string]string{"Authorization": login}); resp.StatusCode != 200 {
		t.Errorf("ping with a login: %d", resp.StatusCode)
	}
	if resp, _ := get(t, "http://"+s.Addr()+"/token", nil); resp.StatusCode != 404 {
		t.Errorf("/token without bearer auth: %d, want 404", resp.StatusCode)
	}
}

func TestRefusedAddr(t *testing.T) {
	s := start(t, Config{})
	a, err := s.RefusedAddr()
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := s.RefusedAddr(); a != b || !strings.HasPrefix(a, "127.0.0.1:") {
		t.Errorf("RefusedAddr %s then %s", a, b)
	}
	_, err = http.Get("http://" + a + "/v2/")
	if err == nil || !strings.HasSuffix(err.Error(), "connect: connection refused") {
		t.Errorf("GET on the refused address: %v", err)
	}
}

func TestAuthAndFaultsApplyByDigest(t *testing.T) {
	s := start(t, Config{Images: []Image{
		{Ref: "private/app:v1", Auth: basic, Config: ImageConfig{User: "1"}},
		{Ref: "denied/app:v1", Fault: &Fault{Status: 403}, Platforms: []string{"linux/amd64", "linux/arm64"}},
	}})
	ctx := ctxFor(t, 10*time.Second)
	d, err := s.Digest("private/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = pull(ctx, s.Addr()+"/private/app@"+d)
	if want := "GET http://" + s.Addr() + "/v2/private/app/manifests/" + d + ": UNAUTHORIZED: authentication required"; err == nil || err.Error() != want {
		t.Errorf("anonymous by digest: %v, want %s", err, want)
	}
	if _, err := pull(ctx, s.Addr()+"/private/app@"+d, remote.WithAuth(alice)); err != nil {
		t.Errorf("login by digest: %v", err)
	}
	d, err = s.Digest("denied/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = pull(ctx, s.Addr()+"/denied/app@"+d)
	if want := "GET http://" + s.Addr() + "/v2/denied/app/manifests/" + d + ": DENIED: requested access to the resource is denied"; err == nil || err.Error() != want {
		t.Errorf("denied index by digest: %v, want %s", err, want)
	}
}

func TestSharedContent(t *testing.T) {
	// Both tags have the same (empty) config, so they share the config blob;
	// v1 is protected, v2 is open. The shared blob must not lock v2 out.
	s := start(t, Config{Images: []Image{
		{Ref: "team/app:v1", Auth: basic},
		{Ref: "team/app:v2", Annotations: map[string]string{"tag": "v2"}},
		{Ref: "team/other:v1", Auth: basic},
		{Ref: "team/other:v2", Auth: &Auth{Type: AuthBasic, Username: "bob", Password: "hunter2"}},
	}})
	ctx := ctxFor(t, 10*time.Second)
	if _, err := pull(ctx, s.Addr()+"/team/app:v2"); err != nil {
		t.Errorf("open image sharing a config blob with a protected one: %v", err)
	}
	if s.Requested("team/app:v1") {
		t.Error("Requested(team/app:v1) after pulling only team/app:v2")
	}
	// Identical manifests: a login for either image opens the shared digest.
	bob := authn.FromConfig(authn.AuthConfig{Username: "bob", Password: "hunter2"})
	d, _ := s.Digest("team/other:v2")
	for _, login := range []authn.Authenticator{alice, bob} {
		if _, err := pull(ctx, s.Addr()+"/team/other@"+d, remote.WithAuth(login)); err != nil {
			t.Errorf("shared digest: %v", err)
		}
	}
	if _, err := pull(ctx, s.Addr()+"/team/other@"+d); err == nil {
		t.Error("anonymous pull of a digest only protected images have succeeded")
	}
}
