package cosign_test

import (
	"context"
	"crypto"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/cosign/v3/pkg/cosign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/imagectx/conformance/fakeregistry"
	fakecosign "github.com/imagectx/conformance/fakeregistry/cosign"
)

// TestCosignVerifiesSignatures checks the seeded signatures with cosign's
// own verifier (the one Kyverno's verifyImages calls): the right key
// verifies, another key finds no matching signature, an unsigned image
// has none.
func TestCosignVerifiesSignatures(t *testing.T) {
	srv, err := fakeregistry.Start(fakeregistry.Config{
		SigningKeys: []string{"signer", "other"},
		Images: []fakeregistry.Image{
			{Ref: "team/app:v1", Signatures: []string{"signer"}},
			{Ref: "team/app:both", Config: fakeregistry.ImageConfig{User: "2"}, Signatures: []string{"other", "signer"}},
			{Ref: "team/app:multi", Platforms: []string{"linux/amd64", "linux/arm64"}, Signatures: []string{"signer"}},
			{Ref: "team/app:unsigned", Config: fakeregistry.ImageConfig{User: "1"}},
			{Ref: "team/app:attested", Config: fakeregistry.ImageConfig{User: "3"}, Attestations: []fakeregistry.Attestation{
				{Key: "signer", PredicateType: "https://example.com/CodeReview/v1", Predicate: map[string]any{"reviewed": true}},
			}},
		},
	}, fakeregistry.WithSigner(fakecosign.NewSigner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	verify := func(ref, key string) error {
		pem, err := srv.PublicKeyPEM(key)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := cryptoutils.UnmarshalPEMToPublicKey(pem)
		if err != nil {
			t.Fatal(err)
		}
		v, err := signature.LoadVerifier(pub, crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		r, err := name.ParseReference(srv.Addr() + "/" + ref)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = cosign.VerifyImageSignatures(context.Background(), r, &cosign.CheckOpts{
			SigVerifier: v, IgnoreTlog: true, IgnoreSCT: true, ClaimVerifier: cosign.SimpleClaimVerifier,
		})
		return err
	}
	for _, tc := range []struct{ ref, key, wantErr string }{
		{"team/app:v1", "signer", ""},
		{"team/app:both", "signer", ""},
		{"team/app:both", "other", ""},
		{"team/app:multi", "signer", ""},
		{"team/app:v1", "other", "no matching signatures"},
		{"team/app:unsigned", "signer", "no signatures found"},
	} {
		err := verify(tc.ref, tc.key)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s with key %s: %v", tc.ref, tc.key, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s with key %s: err = %v, want %q", tc.ref, tc.key, err, tc.wantErr)
		}
	}
	// Attestations: cosign's attestation verifier finds the DSSE envelope
	// under sha256-<hex>.att and checks it with the key.
	pem, _ := srv.PublicKeyPEM("signer")
	pub, _ := cryptoutils.UnmarshalPEMToPublicKey(pem)
	v, _ := signature.LoadVerifier(pub, crypto.SHA256)
	r, _ := name.ParseReference(srv.Addr() + "/team/app:attested")
	atts, _, err := cosign.VerifyImageAttestations(context.Background(), r, &cosign.CheckOpts{
		SigVerifier: v, IgnoreTlog: true, IgnoreSCT: true, ClaimVerifier: cosign.IntotoSubjectClaimVerifier,
	})
	if err != nil || len(atts) != 1 {
		t.Fatalf("VerifyImageAttestations: %d, %v", len(atts), err)
	}
	payload, err := atts[0].Payload()
	if err != nil || !strings.Contains(string(payload), `"payloadType":"application/vnd.in-toto+json"`) {
		t.Errorf("attestation payload %s, %v", payload, err)
	}
	if _, err := srv.PublicKeyPEM("nobody"); err == nil || !strings.Contains(err.Error(), `no signing key "nobody"`) {
		t.Errorf("PublicKeyPEM(nobody) err = %v", err)
	}
}

// Two tags with the same content share a digest, hence cosign's tags: the
// server refuses to let one image's signatures stand for the other's.
func TestSameDigestSignedTwice(t *testing.T) {
	_, err := fakeregistry.Start(fakeregistry.Config{
		SigningKeys: []string{"k"},
		Images: []fakeregistry.Image{
			{Ref: "team/app:a", Signatures: []string{"k"}},
			{Ref: "team/app:b"},
			{Ref: "team/app:c", Attestations: []fakeregistry.Attestation{{Key: "k", PredicateType: "https://example.com/p"}}},
		},
	}, fakeregistry.WithSigner(fakecosign.NewSigner()))
	if err == nil || !strings.Contains(err.Error(), "sign image team/app:c: team/app:a has the same digest") {
		t.Errorf("Start = %v, want the shared digest refused", err)
	}
}
