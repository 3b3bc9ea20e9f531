package fakeregistry_test

import (
	"strings"
	"testing"

	"github.com/imagectx/conformance/fakeregistry"
)

// TestStartWithoutSigner: signing keys need the signing extension; a
// registry without keys starts without one.
func TestStartWithoutSigner(t *testing.T) {
	_, err := fakeregistry.Start(fakeregistry.Config{SigningKeys: []string{"k"},
		Images: []fakeregistry.Image{{Ref: "a/b:v1", Signatures: []string{"k"}}}})
	if err == nil || !strings.Contains(err.Error(), "signingKeys [k] given, but no signer") {
		t.Errorf("Start = %v, want the missing signer named", err)
	}
	srv, err := fakeregistry.Start(fakeregistry.Config{Images: []fakeregistry.Image{{Ref: "a/b:v1"}}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
}

func TestSignatureConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  fakeregistry.Config
		want string
	}{
		{fakeregistry.Config{Images: []fakeregistry.Image{{Ref: "a/b:v1", Signatures: []string{"k"}}}},
			`images[0].signatures[0]: want one of signingKeys [], got "k"`},
		{fakeregistry.Config{SigningKeys: []string{"k"}, Images: []fakeregistry.Image{{Ref: "a/b:v1", Missing: true, Signatures: []string{"k"}}}},
			"images[0].signatures[0]: a missing tag has no manifest to sign"},
		{fakeregistry.Config{SigningKeys: []string{"k", "k"}}, `signingKeys[1]: duplicate of signingKeys[0] "k"`},
		{fakeregistry.Config{SigningKeys: []string{"k"}, Images: []fakeregistry.Image{{Ref: "a/b:v1", Attestations: []fakeregistry.Attestation{{Key: "x"}}}}},
			`images[0].attestations[0].key: want one of signingKeys [k], got "x"`},
		{fakeregistry.Config{SigningKeys: []string{"k"}, Images: []fakeregistry.Image{{Ref: "a/b:v1", Attestations: []fakeregistry.Attestation{{Key: "k"}}}}},
			`images[0].attestations[0].predicateType: want the Statement's predicate type`},
		{fakeregistry.Config{SigningKeys: []string{"1k"}}, `signingKeys[0]: want a key name of letters, digits and '_' starting with a letter, got "1k"`},
		{fakeregistry.Config{Repositories: []fakeregistry.Repository{{Name: "a/b", Fault: &fakeregistry.Fault{Corrupt: "shred"}}}},
			`repositories[0].fault.corrupt: want "truncate", "reset" or "digest", got "shred"`},
		{fakeregistry.Config{Repositories: []fakeregistry.Repository{{Name: "a/b", Fault: &fakeregistry.Fault{Corrupt: "reset", Status: 500}}}},
			`repositories[0].fault.corrupt: a corrupt response is a served one; remove status`},
		{fakeregistry.Config{Ping: &fakeregistry.Fault{Corrupt: "reset"}}, `ping.corrupt: GET /v2/ has no content to corrupt`},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate() = %v, want containing %q", err, tc.want)
		}
	}
}
