package fakeregistry

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// exampleRow is one row of the README's table of exact error strings: what
// go-containerregistry's remote prints for a pull from the README example
// (testdata/every-fault.yaml). The test below checks both the pull and that
// the README shows the same string.
type exampleRow struct {
	ref     string // under ${REGISTRY}/, or ${REFUSED}/
	login   string // "alice", "wrong", "bob" or "" (anonymous)
	timeout time.Duration
	want    string // "" means the pull succeeds
	slow    bool   // waits for ggcr's retries
}

var exampleRows = []exampleRow{
	{ref: "team/app:v1"},
	{ref: "team/multi:v1"},
	{ref: "team/app:gone", want: "GET http://${REGISTRY}/v2/team/app/manifests/gone: MANIFEST_UNKNOWN: Unknown manifest"},
	{ref: "team/app:deleted", want: "GET http://${REGISTRY}/v2/team/app/manifests/deleted: MANIFEST_UNKNOWN: Unknown manifest"},
	{ref: "ghost/app:v1", want: "GET http://${REGISTRY}/v2/ghost/app/manifests/v1: NAME_UNKNOWN: Unknown name"},
	{ref: "team/app@" + zeroHash, want: "GET http://${REGISTRY}/v2/team/app/manifests/sha256:0000000000000000000000000000000000000000000000000000000000000000: MANIFEST_UNKNOWN: Unknown manifest"},
	{ref: "private/app:v1", login: "alice"},
	{ref: "private/app:v1", want: "GET http://${REGISTRY}/v2/private/app/manifests/v1: UNAUTHORIZED: authentication required"},
	{ref: "private/app:v1", login: "wrong", want: "GET http://${REGISTRY}/v2/private/app/manifests/v1: UNAUTHORIZED: authentication required"},
	{ref: "private/empty401:v1", want: "GET http://${REGISTRY}/v2/private/empty401/manifests/v1: unexpected status code 401 Unauthorized"},
	{ref: "token/app:v1", login: "alice"},
	{ref: "token/app:v1", want: "GET http://${REGISTRY}/v2/token/app/manifests/v1: UNAUTHORIZED: authentication required"},
	{ref: "token/app:v1", login: "wrong", want: "GET http://${REGISTRY}/token?scope=repository%3Atoken%2Fapp%3Apull&service=fakeregistry: UNAUTHORIZED: invalid username or password"},
	{ref: "locked/app:v1", login: "bob"},
	{ref: "locked/app:v1", want: "GET http://${REGISTRY}/v2/locked/app/manifests/v1: UNAUTHORIZED: authentication required"},
	{ref: "denied/app:v1", want: "GET http://${REGISTRY}/v2/denied/app/manifests/v1: DENIED: requested access to the resource is denied"},
	{ref: "slow/app:v1", timeout: 500 * time.Millisecond, want: `Get "http://${REGISTRY}/v2/slow/app/manifests/v1": context deadline exceeded`},
	{ref: "slow/blobs:v1", timeout: 500 * time.Millisecond, want: `Get "http://${REGISTRY}/v2/slow/blobs/blobs/sha256:dc570f145a7f2862c9ef3c30b8d6ae2feaceb0d364e4b2e08e67ae18815427d9": context deadline exceeded`},
	{ref: "flaky/app:v1", slow: true},
	{ref: "down/app:v1", slow: true, want: "GET http://${REGISTRY}/v2/down/app/manifests/v1: unexpected status code 500 Internal Server Error: boom"},
	{ref: "unavailable/app:v1", slow: true, want: "GET http://${REGISTRY}/v2/unavailable/app/manifests/v1: unexpected status code 503 Service Unavailable"},
	{ref: "busy/app:v1", slow: true, want: "GET http://${REGISTRY}/v2/busy/app/manifests/v1: TOOMANYREQUESTS: rate limit exceeded"},
	{ref: "ratelimited/app:v1", slow: true},
	{ref: "bad/json:v1", want: "unexpected EOF"},
	{ref: "bad/mediatype:v1"},
	{ref: "${REFUSED}/team/app:v1", want: `Get "https://${REFUSED}/v2/": dial tcp ${REFUSED}: connect: connection refused; Get "http://${REFUSED}/v2/": dial tcp ${REFUSED}: connect: connection refused`},
}

var logins = map[string]authn.Authenticator{
	"alice": alice,
	"wrong": mallory,
	"bob":   authn.FromConfig(authn.AuthConfig{Username: "bob", Password: "hunter2"}),
}

func TestDocumentedConfig(t *testing.T) {
	cfg, err := LoadConfig("testdata/every-fault.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, cfg)
	refused, err := s.RefusedAddr()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"testdata/every-fault.yaml", "testdata/issue-example.yaml"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(readme), string(data)) {
			t.Errorf("README.md does not show %s verbatim", f)
		}
	}
	for _, row := range exampleRows {
		name := row.ref
		if row.login != "" {
			name += " as " + row.login
		}
		t.Run(name, func(t *testing.T) {
			if row.slow {
				t.Parallel()
			}
			if row.want != "" && !strings.Contains(string(readme), "`"+row.want+"`") {
				t.Errorf("README.md lacks the string `%s`", row.want)
			}
			subst := strings.NewReplacer("${REGISTRY}", s.Addr(), "${REFUSED}", refused)
			ref := subst.Replace(row.ref)
			if !strings.HasPrefix(row.ref, "${REFUSED}") {
				ref = s.Addr() + "/" + ref
			}
			var opts []remote.Option
			if row.login != "" {
				opts = append(opts, remote.WithAuth(logins[row.login]))
			}
			timeout := row.timeout
			if timeout == 0 {
				timeout = 30 * time.Second
			}
			_, err := pull(ctxFor(t, timeout), ref, opts...)
			want := subst.Replace(row.want)
			switch {
			case row.want == "" && err != nil:
				t.Fatalf("pull %s: %v, want success", ref, err)
			case row.want != "" && (err == nil || err.Error() != want):
				t.Fatalf("pull %s:\n got %v\nwant %s", ref, err, want)
			}
		})
	}
}
