package fakeregistry

import (
	"fmt"
	"slices"
)

// Signer is the fake registry's optional signing extension: it makes the
// key pairs Config.SigningKeys names and the signatures and attestations
// Image.Signatures and Image.Attestations list. fakeregistry/cosign is
// cosign's (the registry's core imports no signing library). Given with
// WithSigner; without one, a Config that names signing keys fails Start.
type Signer interface {
	// NewKeys makes one key pair per name, keeps the private keys, and
	// returns each public key, PEM encoded, by name.
	NewKeys(names []string) (map[string][]byte, error)
	// Sign returns the artifacts to store for one image, in its
	// repository: each a tagged manifest with the blobs it references.
	Sign(req SignRequest) ([]Artifact, error)
}

// SignRequest is one image to sign.
type SignRequest struct {
	// Repository is the image's repository as clients name it
	// (host:port/name, or its first host name).
	Repository string
	// Digest is the image's top manifest digest, "sha256:<hex>".
	Digest string
	// Signatures and Attestations are the image's, as configured; every
	// key they name is one NewKeys made.
	Signatures   []string
	Attestations []Attestation
}

// Artifact is one manifest a Signer asks the registry to store.
type Artifact struct {
	// Tag is the manifest's tag in the image's repository.
	Tag string
	// MediaType and Manifest are the manifest's.
	MediaType string
	Manifest  []byte
	// Blobs are the config and layers the manifest references.
	Blobs []Blob
}

// Blob is content a manifest references.
type Blob struct {
	MediaType string
	Data      []byte
}

// WithSigner gives Start the signing extension (for example
// fakeregistry/cosign.NewSigner()); one Signer per server.
func WithSigner(s Signer) Option { return func(o *options) { o.signer = s } }

// newKeys makes cfg's signing keys with signer: none without keys; an error
// when keys are named and no signer was given.
func newKeys(names []string, signer Signer) (map[string][]byte, error) {
	if len(names) == 0 {
		return map[string][]byte{}, nil
	}
	if signer == nil {
		return nil, fmt.Errorf("fakeregistry: signingKeys %v given, but no signer: start the registry with "+
			"fakeregistry.WithSigner (fakeregistry/cosign.NewSigner makes cosign signatures)", names)
	}
	keys, err := signer.NewKeys(slices.Clone(names))
	if err != nil {
		return nil, fmt.Errorf("fakeregistry: signing keys: %w", err)
	}
	return keys, nil
}

// sign seeds the signatures and attestations of every image that lists
// them, through the signer. host is the registry's host:port (or first
// host name), the repositories' prefix in the signed payloads.
func (st *state) sign(put func(repo, ref string, m blob) error, host string) error {
	for _, name := range st.order {
		rs := st.repos[name]
		// Two tags with the same content share a digest and so the
		// signature tags derived from it: one image's signatures would
		// overwrite the other's.
		signedBy := map[string]string{}
		for _, im := range rs.images {
			if len(im.cfg.Signatures) == 0 && len(im.cfg.Attestations) == 0 {
				continue
			}
			if other, dup := signedBy[im.built.top.digest]; dup {
				return fmt.Errorf("sign image %s: %s has the same digest %s (the same content), and cosign keeps the signatures and attestations of a digest under one tag; give one of them other content (a config field)", im.ref, other, im.built.top.digest)
			}
			signedBy[im.built.top.digest] = im.ref
			arts, err := st.signer.Sign(SignRequest{Repository: host + "/" + rs.name, Digest: im.built.top.digest,
				Signatures: slices.Clone(im.cfg.Signatures), Attestations: slices.Clone(im.cfg.Attestations)})
			if err != nil {
				return fmt.Errorf("sign image %s: %w", im.ref, err)
			}
			for _, a := range arts {
				for _, b := range a.Blobs {
					st.blobs.add(rs.name, newBlob(b.MediaType, b.Data))
				}
				if err := put(rs.name, a.Tag, newBlob(a.MediaType, a.Manifest)); err != nil {
					return fmt.Errorf("sign image %s: %w", im.ref, err)
				}
			}
		}
	}
	return nil
}

// PublicKeyPEM is the PEM-encoded public key of one of Config.SigningKeys,
// the key a policy's verifyImages attestor names.
func (s *Server) PublicKeyPEM(key string) ([]byte, error) {
	k, ok := s.state.keys[key]
	if !ok {
		return nil, fmt.Errorf("fakeregistry: no signing key %q in the config", key)
	}
	return append([]byte(nil), k...), nil
}

// PublicKeys maps every one of Config.SigningKeys to its PEM-encoded
// public key.
func (s *Server) PublicKeys() map[string][]byte {
	out := make(map[string][]byte, len(s.state.keys))
	for n, k := range s.state.keys {
		out[n] = append([]byte(nil), k...)
	}
	return out
}
