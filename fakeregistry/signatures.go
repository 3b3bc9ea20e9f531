package fakeregistry

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/cosign/v3/pkg/oci/empty"
	"github.com/sigstore/cosign/v3/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v3/pkg/oci/remote"
	"github.com/sigstore/cosign/v3/pkg/oci/static"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// signingKey is one of Config.SigningKeys: an ECDSA P-256 key pair made
// when the server starts (cosign's default key type), never written out.
type signingKey struct {
	signer    signature.SignerVerifier
	publicPEM []byte
}

func newSigningKeys(names []string) (map[string]*signingKey, error) {
	keys := map[string]*signingKey{}
	for _, n := range names {
		sv, priv, err := signature.NewDefaultECDSASignerVerifier()
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", n, err)
		}
		pub, err := cryptoutils.MarshalPublicKeyToPEM(priv.Public().(*ecdsa.PublicKey))
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", n, err)
		}
		keys[n] = &signingKey{signer: sv, publicPEM: pub}
	}
	return keys, nil
}

// sign seeds the cosign signatures of every image that lists signatures:
// the simple-signing payload (sigstore's payload.Cosign) for the image's
// manifest digest, signed by each listed key, in one signature manifest
// under cosign's tag sha256-<hex>.sig (ociremote.SignatureTag), built by
// cosign's own oci packages. host is the registry's host:port, the
// payload's docker-reference.
func (st *state) sign(put func(repo, ref string, m blob) error, host string) error {
	for _, name := range st.order {
		rs := st.repos[name]
		for _, im := range rs.images {
			if len(im.cfg.Signatures) == 0 {
				continue
			}
			if err := st.signImage(put, host, rs.name, im); err != nil {
				return fmt.Errorf("sign image %s: %w", im.ref, err)
			}
		}
	}
	return nil
}

func (st *state) signImage(put func(repo, ref string, m blob) error, host, repo string, im *imageState) error {
	digest, err := name.NewDigest(host+"/"+repo+"@"+im.built.top.digest, name.Insecure)
	if err != nil {
		return err
	}
	body, err := payload.Cosign{Image: digest}.MarshalJSON()
	if err != nil {
		return err
	}
	sigs := empty.Signatures()
	for _, keyName := range im.cfg.Signatures {
		raw, err := st.keys[keyName].signer.SignMessage(bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("key %s: %w", keyName, err)
		}
		sig, err := static.NewSignature(body, base64.StdEncoding.EncodeToString(raw))
		if err != nil {
			return err
		}
		if sigs, err = mutate.AppendSignatures(sigs, false, sig); err != nil {
			return err
		}
	}
	tag, err := ociremote.SignatureTag(digest)
	if err != nil {
		return err
	}
	layers, err := sigs.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		mt, err := l.MediaType()
		if err != nil {
			return err
		}
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		st.blobs.add(repo, newBlob(string(mt), data))
	}
	cfg, err := sigs.RawConfigFile()
	if err != nil {
		return err
	}
	st.blobs.add(repo, newBlob(mediaTypeConfig, cfg))
	man, err := sigs.RawManifest()
	if err != nil {
		return err
	}
	mt, err := sigs.MediaType()
	if err != nil {
		return err
	}
	return put(repo, tag.TagStr(), newBlob(string(mt), man))
}

// PublicKeyPEM is the PEM-encoded public key of one of Config.SigningKeys,
// the key a policy's verifyImages attestor names.
func (s *Server) PublicKeyPEM(key string) ([]byte, error) {
	k := s.state.keys[key]
	if k == nil {
		return nil, fmt.Errorf("fakeregistry: no signing key %q in the config", key)
	}
	return append([]byte(nil), k.publicPEM...), nil
}

// PublicKeys maps every one of Config.SigningKeys to its PEM-encoded
// public key.
func (s *Server) PublicKeys() map[string][]byte {
	out := make(map[string][]byte, len(s.state.keys))
	for n, k := range s.state.keys {
		out[n] = append([]byte(nil), k.publicPEM...)
	}
	return out
}
