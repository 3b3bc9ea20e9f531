package fakeregistry_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imagectx/conformance/fakeregistry"
)

// TestCorruptFaults pulls through go-containerregistry's remote (the client
// Kyverno uses) from responses broken mid-transfer or carrying the wrong
// bytes, and pins what the client says.
func TestCorruptFaults(t *testing.T) {
	img := fakeregistry.Image{Ref: "team/app:v1", Config: fakeregistry.ImageConfig{User: "1000"}}
	q := regexp.QuoteMeta
	const manifest, config = "sha256:d2a158174c1e881ee2b98d15574da88a9105a06506e313d6aaef3d0125604aa4", "sha256:112f451a9f1bb3d2d991b6318b862c236f74066dc302da81ef152af3b2c7855f"
	// A reset names the client's own port, which varies.
	reset := `^read tcp 127\.0\.0\.1:\d+->\$\{REGISTRY\}: read: connection reset by peer$`
	for _, tc := range []struct {
		name  string
		fault fakeregistry.Fault
		want  string // a regular expression, "${REGISTRY}" for the address
	}{
		{"manifest truncated", fakeregistry.Fault{Corrupt: "truncate"}, "^unexpected EOF$"},
		{"manifest reset", fakeregistry.Fault{Corrupt: "reset"}, reset},
		// By tag, go-containerregistry takes the manifest it is given.
		{"manifest digest", fakeregistry.Fault{Corrupt: "digest"}, "^<nil>$"},
		{"manifest digest, by digest", fakeregistry.Fault{Corrupt: "digest"},
			"^" + q(`manifest digest: "sha256:943f492ddf9a8c8174435cd87ed2d1d8c8ea8c1a6ec6f9dc071d8ad78a0ffe2d" does not match requested digest: "`+manifest+`" for "${REGISTRY}/team/app@`+manifest+`"`) + "$"},
		{"config blob truncated", fakeregistry.Fault{Corrupt: "truncate", On: "blobs"}, "^unexpected EOF$"},
		{"config blob reset", fakeregistry.Fault{Corrupt: "reset", On: "blobs"}, reset},
		{"config blob digest", fakeregistry.Fault{Corrupt: "digest", On: "blobs"},
			"^" + q(`error verifying sha256 checksum after reading 103 bytes; got "sha256:1c5016f51ec63f14b4b409980ebae51e2995ff8a05a5cea3530017e63e2b6aea", want "`+config+`"`) + "$"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.fault
			srv, err := fakeregistry.Start(fakeregistry.Config{Images: []fakeregistry.Image{img},
				Repositories: []fakeregistry.Repository{{Name: "team/app", Fault: &f}}})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			refText := srv.Addr() + "/team/app:v1"
			if strings.HasSuffix(tc.name, "by digest") {
				d, err := srv.Digest("team/app:v1")
				if err != nil {
					t.Fatal(err)
				}
				refText = srv.Addr() + "/team/app@" + d
			}
			ref, err := name.ParseReference(refText)
			if err != nil {
				t.Fatal(err)
			}
			var got error
			desc, err := remote.Get(ref)
			if err != nil {
				got = err
			} else if im, err := desc.Image(); err != nil {
				got = err
			} else if _, err := im.ConfigFile(); err != nil {
				got = err
			}
			msg := "<nil>"
			if got != nil {
				msg = strings.ReplaceAll(got.Error(), srv.Addr(), "${REGISTRY}")
			}
			if !regexp.MustCompile(tc.want).MatchString(msg) {
				t.Errorf("got %q\nwant %q", msg, tc.want)
			}
			// A reset client returns before the handler logs the request;
			// Close waits for handlers, so the log is complete after it.
			if err := srv.Close(); err != nil {
				t.Fatal(err)
			}
			if log := srv.Requests(); !strings.Contains(fmt.Sprint(log), "corrupt "+string(f.Corrupt)) {
				t.Errorf("the request log does not name the fault: %+v", log)
			}
		})
	}
}
