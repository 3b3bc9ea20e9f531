package fakeregistry

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// pullResult is what a Kyverno-like pull saw.
type pullResult struct {
	desc   *remote.Descriptor
	config *v1.ConfigFile
}

// pull fetches ref the way Kyverno's registry client does: remote.Get with
// default options (default retries), then Image() (platform resolution),
// the raw manifest and the config file.
func pull(ctx context.Context, ref string, opts ...remote.Option) (pullResult, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return pullResult{}, err
	}
	desc, err := remote.Get(r, append([]remote.Option{remote.WithContext(ctx)}, opts...)...)
	if err != nil {
		return pullResult{}, err
	}
	img, err := desc.Image()
	if err != nil {
		return pullResult{desc: desc}, err
	}
	if _, err := img.RawManifest(); err != nil {
		return pullResult{desc: desc}, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return pullResult{desc: desc}, err
	}
	return pullResult{desc: desc, config: cf}, nil
}

var (
	alice    = authn.FromConfig(authn.AuthConfig{Username: "alice", Password: "s3cret"})
	mallory  = authn.FromConfig(authn.AuthConfig{Username: "alice", Password: "wrong"})
	basic    = &Auth{Type: AuthBasic, Username: "alice", Password: "s3cret"}
	bearer   = &Auth{Type: AuthBearer, Username: "alice", Password: "s3cret"}
	zeroHash = "sha256:" + strings.Repeat("0", 64)
)

func img(ref string) Image { return Image{Ref: ref} }

// issueExample is the minimum config of issue 2, verbatim in the README.
var issueExample = Config{Images: []Image{
	{Ref: "team/app:v1", Config: ImageConfig{User: "1000", Labels: map[string]string{"maintainer": "me"}}},
	{Ref: "private/app:v1", Auth: basic},
	{Ref: "token/app:v1", Auth: bearer},
	{Ref: "denied/app:v1", Fault: &Fault{Status: 403}},
	{Ref: "slow/app:v1", Fault: &Fault{Delay: Duration(2 * time.Second)}},
	{Ref: "flaky/app:v1", Fault: &Fault{Status: 500, Times: 2}},
}}

func TestPullFaults(t *testing.T) {
	type tc struct {
		name    string
		cfg     Config
		ref     string // under ${REGISTRY}/ unless it starts with "@refused"
		opts    []remote.Option
		timeout time.Duration
		// want is the exact error text with ${REGISTRY} for the host:port;
		// empty means the pull must succeed.
		want string
		// slow marks cases that wait for ggcr's retries (about 4 s): parallel.
		slow  bool
		check func(t *testing.T, s *Server, res pullResult)
	}
	cases := []tc{
		{name: "tag served", cfg: issueExample, ref: "team/app:v1", check: func(t *testing.T, s *Server, res pullResult) {
			if res.config.Config.User != "1000" || res.config.Config.Labels["maintainer"] != "me" {
				t.Errorf("config = %+v, want User 1000 and label maintainer=me", res.config.Config)
			}
		}},
		{name: "tag missing, not listed", cfg: issueExample, ref: "team/app:gone",
			want: "GET http://${REGISTRY}/v2/team/app/manifests/gone: MANIFEST_UNKNOWN: Unknown manifest"},
		{name: "tag declared missing in a repository with no image", cfg: Config{Images: []Image{{Ref: "team/gone:v1", Missing: true}}}, ref: "team/gone:v1",
			want: "GET http://${REGISTRY}/v2/team/gone/manifests/v1: MANIFEST_UNKNOWN: Unknown manifest"},
		{name: "repository declared, no image", cfg: Config{Repositories: []Repository{{Name: "team/empty"}}}, ref: "team/empty:v1",
			want: "GET http://${REGISTRY}/v2/team/empty/manifests/v1: MANIFEST_UNKNOWN: Unknown manifest"},
		{name: "repository missing", cfg: issueExample, ref: "ghost/app:v1",
			want: "GET http://${REGISTRY}/v2/ghost/app/manifests/v1: NAME_UNKNOWN: Unknown name"},
		{name: "digest missing", cfg: issueExample, ref: "team/app@" + zeroHash,
			want: "GET http://${REGISTRY}/v2/team/app/manifests/" + zeroHash + ": MANIFEST_UNKNOWN: Unknown manifest"},

		{name: "basic, right login", cfg: issueExample, ref: "private/app:v1", opts: []remote.Option{remote.WithAuth(alice)}},
		{name: "basic, anonymous", cfg: issueExample, ref: "private/app:v1",
			want: "GET http://${REGISTRY}/v2/private/app/manifests/v1: UNAUTHORIZED: authentication required"},
		{name: "basic, wrong password", cfg: issueExample, ref: "private/app:v1", opts: []remote.Option{remote.WithAuth(mallory)},
			want: "GET http://${REGISTRY}/v2/private/app/manifests/v1: UNAUTHORIZED: authentication required"},
		{name: "basic only registry, right login", cfg: Config{Images: []Image{{Ref: "private/app:v1", Auth: basic}}}, ref: "private/app:v1", opts: []remote.Option{remote.WithAuth(alice)}},
		{name: "basic only registry, wrong password", cfg: Config{Images: []Image{{Ref: "private/app:v1", Auth: basic}}}, ref: "private/app:v1", opts: []remote.Option{remote.WithAuth(mallory)},
			want: "GET http://${REGISTRY}/v2/private/app/manifests/v1: UNAUTHORIZED: authentication required"},
		{name: "basic only registry, public image", cfg: Config{Images: []Image{{Ref: "private/app:v1", Auth: basic}, img("team/app:v1")}}, ref: "team/app:v1"},
		{name: "basic, empty 401 body", cfg: Config{Images: []Image{{Ref: "private/app:v1", Auth: &Auth{Type: AuthBasic, Username: "alice", Password: "s3cret", EmptyBody: true}}}}, ref: "private/app:v1",
			want: "GET http://${REGISTRY}/v2/private/app/manifests/v1: unexpected status code 401 Unauthorized"},
		{name: "basic on the repository", cfg: Config{Repositories: []Repository{{Name: "private/app", Auth: basic}}, Images: []Image{img("private/app:v2")}}, ref: "private/app:v2",
			want: "GET http://${REGISTRY}/v2/private/app/manifests/v2: UNAUTHORIZED: authentication required"},

		{name: "bearer, right login", cfg: issueExample, ref: "token/app:v1", opts: []remote.Option{remote.WithAuth(alice)}},
		{name: "bearer, anonymous", cfg: issueExample, ref: "token/app:v1",
			want: "GET http://${REGISTRY}/v2/token/app/manifests/v1: UNAUTHORIZED: authentication required"},
		{name: "bearer, wrong password", cfg: issueExample, ref: "token/app:v1", opts: []remote.Option{remote.WithAuth(mallory)},
			want: "GET http://${REGISTRY}/token?scope=repository%3Atoken%2Fapp%3Apull&service=fakeregistry: UNAUTHORIZED: invalid username or password"},
		{name: "bearer, wrong password, empty 401 body", cfg: Config{Images: []Image{{Ref: "token/app:v1", Auth: &Auth{Type: AuthBearer, Username: "alice", Password: "s3cret", EmptyBody: true}}}},
			ref: "token/app:v1", opts: []remote.Option{remote.WithAuth(mallory)},
			want: "GET http://${REGISTRY}/token?scope=repository%3Atoken%2Fapp%3Apull&service=fakeregistry: unexpected status code 401 Unauthorized"},
		{name: "bearer, anonymous, empty 401 body", cfg: Config{Images: []Image{{Ref: "token/app:v1", Auth: &Auth{Type: AuthBearer, Username: "alice", Password: "s3cret", EmptyBody: true}}}},
			ref:  "token/app:v1",
			want: "GET http://${REGISTRY}/v2/token/app/manifests/v1: unexpected status code 401 Unauthorized"},
		{name: "bearer registry, public image, anonymous", cfg: issueExample, ref: "team/app:v1"},
		{name: "bearer registry, public image, any login", cfg: issueExample, ref: "team/app:v1", opts: []remote.Option{remote.WithAuth(mallory)}},

		{name: "forbidden", cfg: issueExample, ref: "denied/app:v1",
			want: "GET http://${REGISTRY}/v2/denied/app/manifests/v1: DENIED: requested access to the resource is denied"},
		{name: "forbidden with a login", cfg: issueExample, ref: "denied/app:v1", opts: []remote.Option{remote.WithAuth(alice)},
			want: "GET http://${REGISTRY}/v2/denied/app/manifests/v1: DENIED: requested access to the resource is denied"},
		{name: "forbidden, custom body", cfg: Config{Images: []Image{{Ref: "denied/app:v1", Fault: &Fault{Status: 403, Body: `{"errors":[{"code":"DENIED","message":"no pull for you"}]}`}}}}, ref: "denied/app:v1",
			want: "GET http://${REGISTRY}/v2/denied/app/manifests/v1: DENIED: no pull for you"},

		{name: "slow manifest, caller deadline", cfg: Config{Images: []Image{{Ref: "slow/app:v1", Fault: &Fault{Delay: Duration(time.Minute)}}}}, ref: "slow/app:v1", timeout: 500 * time.Millisecond,
			want:  `Get "http://${REGISTRY}/v2/slow/app/manifests/v1": context deadline exceeded`,
			check: func(t *testing.T, s *Server, _ pullResult) { handlerGaveUp(t, s, "slow/app") }},
		{name: "slow manifest (issue example), caller deadline", cfg: issueExample, ref: "slow/app:v1", timeout: 500 * time.Millisecond,
			want: `Get "http://${REGISTRY}/v2/slow/app/manifests/v1": context deadline exceeded`},
		{name: "slow manifest within the deadline", cfg: Config{Images: []Image{{Ref: "slow/app:v1", Fault: &Fault{Delay: Duration(50 * time.Millisecond)}}}}, ref: "slow/app:v1", timeout: 5 * time.Second},
		{name: "slow blobs, caller deadline", cfg: Config{Images: []Image{{Ref: "slow/app:v1", Fault: &Fault{Delay: Duration(10 * time.Second), On: OnBlobs}}}}, ref: "slow/app:v1", timeout: 500 * time.Millisecond,
			want: `Get "http://${REGISTRY}/v2/slow/app/blobs/${CONFIG}": context deadline exceeded`},
		{name: "slow ping, caller deadline", cfg: Config{Images: []Image{img("team/app:v1")}, Ping: &Fault{Delay: Duration(10 * time.Second)}}, ref: "team/app:v1", timeout: 500 * time.Millisecond,
			want:  `Get "https://${REGISTRY}/v2/": http: server gave HTTP response to HTTPS client; Get "http://${REGISTRY}/v2/": context deadline exceeded`,
			check: func(t *testing.T, s *Server, _ pullResult) { handlerGaveUp(t, s, "") }},
		{name: "slow repository (every tag)", cfg: Config{Repositories: []Repository{{Name: "slow/app", Fault: &Fault{Delay: Duration(10 * time.Second)}}}, Images: []Image{img("slow/app:v1")}}, ref: "slow/app:v7", timeout: 500 * time.Millisecond,
			want: `Get "http://${REGISTRY}/v2/slow/app/manifests/v7": context deadline exceeded`},

		{name: "500 twice then healthy", cfg: issueExample, ref: "flaky/app:v1", slow: true, check: func(t *testing.T, s *Server, _ pullResult) {
			if got := statuses(s, "flaky/app", KindManifest); got != "500 500 200" {
				t.Errorf("manifest statuses = %q, want \"500 500 200\" (ggcr retried twice)", got)
			}
		}},
		{name: "500 always", cfg: Config{Images: []Image{{Ref: "down/app:v1", Fault: &Fault{Status: 500}}}}, ref: "down/app:v1", slow: true,
			want: "GET http://${REGISTRY}/v2/down/app/manifests/v1: unexpected status code 500 Internal Server Error: internal server error",
			check: func(t *testing.T, s *Server, _ pullResult) {
				if got := statuses(s, "down/app", KindManifest); got != "500 500 500" {
					t.Errorf("manifest statuses = %q, want 3 attempts", got)
				}
			}},
		{name: "500 with a body", cfg: Config{Images: []Image{{Ref: "down/app:v1", Fault: &Fault{Status: 500, Body: "boom"}}}}, ref: "down/app:v1", slow: true,
			want: "GET http://${REGISTRY}/v2/down/app/manifests/v1: unexpected status code 500 Internal Server Error: boom"},
		{name: "500 with an empty body", cfg: Config{Images: []Image{{Ref: "down/app:v1", Fault: &Fault{Status: 500, EmptyBody: true}}}}, ref: "down/app:v1", slow: true,
			want: "GET http://${REGISTRY}/v2/down/app/manifests/v1: unexpected status code 500 Internal Server Error"},
		{name: "503 always", cfg: Config{Images: []Image{{Ref: "down/app:v1", Fault: &Fault{Status: 503}}}}, ref: "down/app:v1", slow: true,
			want: "GET http://${REGISTRY}/v2/down/app/manifests/v1: unexpected status code 503 Service Unavailable"},
		{name: "429 always", cfg: Config{Images: []Image{{Ref: "busy/app:v1", Fault: &Fault{Status: 429}}}}, ref: "busy/app:v1", slow: true,
			want: "GET http://${REGISTRY}/v2/busy/app/manifests/v1: TOOMANYREQUESTS: rate limit exceeded"},
		{name: "429 once then healthy", cfg: Config{Images: []Image{{Ref: "busy/app:v1", Fault: &Fault{Status: 429, Times: 1}}}}, ref: "busy/app:v1", slow: true},
		{name: "503 on the ping", cfg: Config{Images: []Image{img("team/app:v1")}, Ping: &Fault{Status: 503}}, ref: "team/app:v1", slow: true,
			want: `Get "https://${REGISTRY}/v2/": http: server gave HTTP response to HTTPS client; GET http://${REGISTRY}/v2/: unexpected status code 503 Service Unavailable`},
		{name: "500 on blobs", cfg: Config{Images: []Image{{Ref: "down/app:v1", Fault: &Fault{Status: 500, On: OnBlobs}}}}, ref: "down/app:v1", slow: true,
			want: "GET http://${REGISTRY}/v2/down/app/blobs/${CONFIG}: unexpected status code 500 Internal Server Error: internal server error"},

		{name: "connection refused", cfg: Config{}, ref: "@refused/team/app:v1",
			want: `Get "https://${REFUSED}/v2/": dial tcp ${REFUSED}: connect: connection refused; Get "http://${REFUSED}/v2/": dial tcp ${REFUSED}: connect: connection refused`},

		{name: "malformed: not JSON", cfg: Config{Images: []Image{{Ref: "bad/app:v1", Malformed: MalformedJSON}}}, ref: "bad/app:v1",
			want: "unexpected EOF"},
		{name: "malformed: wrong media type is accepted by ggcr", cfg: Config{Images: []Image{{Ref: "bad/app:v1", Malformed: MalformedMediaType}}}, ref: "bad/app:v1",
			check: func(t *testing.T, s *Server, res pullResult) {
				if string(res.desc.MediaType) != mediaTypeWrong {
					t.Errorf("media type = %s, want %s", res.desc.MediaType, mediaTypeWrong)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.slow {
				t.Parallel()
			}
			s, err := Start(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Error(err)
				}
			})
			timeout := c.timeout
			if timeout == 0 {
				timeout = 30 * time.Second
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			ref := s.Addr() + "/" + c.ref
			refused := ""
			if r, ok := strings.CutPrefix(c.ref, "@refused/"); ok {
				if refused, err = s.RefusedAddr(); err != nil {
					t.Fatal(err)
				}
				ref = refused + "/" + r
			}
			res, err := pull(ctx, ref, c.opts...)
			want := strings.NewReplacer("${REGISTRY}", s.Addr(), "${REFUSED}", refused, "${CONFIG}", defaultConfigDigest).Replace(c.want)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("pull %s: %v, want success", c.ref, err)
			case c.want != "" && err == nil:
				t.Fatalf("pull %s succeeded, want error %q", c.ref, want)
			case c.want != "" && err.Error() != want:
				t.Fatalf("pull %s:\n got error %q\nwant error %q", c.ref, err, want)
			}
			if c.check != nil {
				c.check(t, s, res)
			}
		})
	}
}

// statuses lists the statuses of one kind of request to repo, in order.
func statuses(s *Server, repo, kind string) string {
	var out []string
	for _, r := range s.Requests() {
		if r.Repository == repo && r.Kind == kind {
			out = append(out, strconv.Itoa(r.Status))
		}
	}
	return strings.Join(out, " ")
}

// defaultConfigDigest is the config blob of an image with an empty config
// (linux/amd64, no layers). It is a constant: digests never depend on the
// run or the machine.
const defaultConfigDigest = "sha256:dc570f145a7f2862c9ef3c30b8d6ae2feaceb0d364e4b2e08e67ae18815427d9"

// handlerGaveUp waits until the request log shows that a delayed request's
// handler returned because the client gave up, long before its delay ended.
func handlerGaveUp(t *testing.T, s *Server, repo string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		for _, r := range s.Requests() {
			if r.Repository == repo && strings.HasSuffix(r.Fault, "(client gave up)") {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("no handler for %s returned after the client gave up; log: %v", repo, s.Requests())
}
