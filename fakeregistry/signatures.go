package fakeregistry

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/base64"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/sigstore/cosign/v3/pkg/oci"
	"github.com/sigstore/cosign/v3/pkg/oci/empty"
	"github.com/sigstore/cosign/v3/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v3/pkg/oci/remote"
	"github.com/sigstore/cosign/v3/pkg/oci/static"
	"github.com/sigstore/cosign/v3/pkg/types"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/dsse"
	"github.com/sigstore/sigstore/pkg/signature/payload"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
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

// sign seeds the cosign signatures and attestations of every image that
// lists them. Signatures: the simple-signing payload (sigstore's
// payload.Cosign) for the image's manifest digest, signed by each listed
// key, in one signature manifest under cosign's tag sha256-<hex>.sig
// (ociremote.SignatureTag). Attestations: an in-toto v1 Statement about the
// digest in a DSSE envelope (sigstore's dsse signer), cosign's layer media
// type and predicateType annotation, under sha256-<hex>.att
// (ociremote.AttestationTag). Both manifests are built by cosign's own oci
// packages. host is the registry's host:port, the payloads' repository.
func (st *state) sign(put func(repo, ref string, m blob) error, host string) error {
	for _, name := range st.order {
		rs := st.repos[name]
		// Two tags with the same content share a digest and so cosign's
		// tags: one image's signatures would overwrite the other's.
		signedBy := map[string]string{}
		for _, im := range rs.images {
			if len(im.cfg.Signatures) == 0 && len(im.cfg.Attestations) == 0 {
				continue
			}
			if other, dup := signedBy[im.built.top.digest]; dup {
				return fmt.Errorf("sign image %s: %s has the same digest %s (the same content), and cosign keeps the signatures and attestations of a digest under one tag; give one of them other content (a config field)", im.ref, other, im.built.top.digest)
			}
			signedBy[im.built.top.digest] = im.ref
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
	if len(im.cfg.Signatures) > 0 {
		body, err := payload.Cosign{Image: digest}.MarshalJSON()
		if err != nil {
			return err
		}
		var sigs []oci.Signature
		for _, keyName := range im.cfg.Signatures {
			raw, err := st.keys[keyName].signer.SignMessage(bytes.NewReader(body))
			if err != nil {
				return fmt.Errorf("key %s: %w", keyName, err)
			}
			sig, err := static.NewSignature(body, base64.StdEncoding.EncodeToString(raw))
			if err != nil {
				return err
			}
			sigs = append(sigs, sig)
		}
		tag, err := ociremote.SignatureTag(digest)
		if err != nil {
			return err
		}
		if err := st.putSignatures(put, repo, tag.TagStr(), sigs); err != nil {
			return fmt.Errorf("signatures: %w", err)
		}
	}
	if len(im.cfg.Attestations) > 0 {
		var atts []oci.Signature
		for i, a := range im.cfg.Attestations {
			att, err := st.attest(digest, a)
			if err != nil {
				return fmt.Errorf("attestations[%d]: %w", i, err)
			}
			atts = append(atts, att)
		}
		tag, err := ociremote.AttestationTag(digest)
		if err != nil {
			return err
		}
		if err := st.putSignatures(put, repo, tag.TagStr(), atts); err != nil {
			return fmt.Errorf("attestations: %w", err)
		}
	}
	return nil
}

// attest makes one cosign attestation: the in-toto Statement in a DSSE
// envelope signed by the attestation's key.
func (st *state) attest(digest name.Digest, a Attestation) (oci.Signature, error) {
	predicate, err := structpb.NewStruct(a.Predicate)
	if err != nil {
		return nil, fmt.Errorf("predicate: %w", err)
	}
	statement := &intoto.Statement{
		Type:          intoto.StatementTypeUri,
		Subject:       []*intoto.ResourceDescriptor{{Name: digest.Repository.Name(), Digest: map[string]string{"sha256": strings.TrimPrefix(digest.DigestStr(), "sha256:")}}},
		PredicateType: a.PredicateType,
		Predicate:     predicate,
	}
	body, err := protojson.Marshal(statement)
	if err != nil {
		return nil, err
	}
	envelope, err := dsse.WrapSigner(st.keys[a.Key].signer, intotoPayloadType).SignMessage(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", a.Key, err)
	}
	return static.NewAttestation(envelope, static.WithLayerMediaType(types.DssePayloadType),
		static.WithAnnotations(map[string]string{"predicateType": a.PredicateType}))
}

// intotoPayloadType is the DSSE payload type of an in-toto Statement.
const intotoPayloadType = "application/vnd.in-toto+json"

// putSignatures stores sigs as one cosign signatures image (its layers,
// config and manifest) under tag in repo.
func (st *state) putSignatures(put func(repo, ref string, m blob) error, repo, tag string, sigs []oci.Signature) error {
	img, err := mutate.AppendSignatures(empty.Signatures(), false, sigs...)
	if err != nil {
		return err
	}
	layers, err := img.Layers()
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
	cfg, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	st.blobs.add(repo, newBlob(mediaTypeConfig, cfg))
	man, err := img.RawManifest()
	if err != nil {
		return err
	}
	mt, err := img.MediaType()
	if err != nil {
		return err
	}
	return put(repo, tag, newBlob(string(mt), man))
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
