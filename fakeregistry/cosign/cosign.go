// Package cosign is the fake registry's signing extension
// (fakeregistry.Signer) in cosign's formats, built by cosign's own oci
// packages: a registry started with fakeregistry.WithSigner(NewSigner())
// serves the signatures and attestations its Config lists, as
// `cosign sign --key` and `cosign attest --key` store them.
package cosign

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

	"github.com/imagectx/conformance/fakeregistry"
)

// Signer signs with ECDSA P-256 key pairs (cosign's default key type) made
// by NewKeys and never written out. One Signer per registry.
type Signer struct {
	keys map[string]signature.SignerVerifier
}

// NewSigner returns a Signer with no keys yet.
func NewSigner() *Signer { return &Signer{keys: map[string]signature.SignerVerifier{}} }

var _ fakeregistry.Signer = (*Signer)(nil)

// NewKeys implements fakeregistry.Signer.
func (s *Signer) NewKeys(names []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, n := range names {
		sv, priv, err := signature.NewDefaultECDSASignerVerifier()
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", n, err)
		}
		pub, err := cryptoutils.MarshalPublicKeyToPEM(priv.Public().(*ecdsa.PublicKey))
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", n, err)
		}
		s.keys[n] = sv
		out[n] = pub
	}
	return out, nil
}

// Sign implements fakeregistry.Signer. Signatures: the simple-signing
// payload (sigstore's payload.Cosign) for the image's digest, signed by
// each listed key, in one signature manifest under cosign's tag
// sha256-<hex>.sig (ociremote.SignatureTag). Attestations: an in-toto v1
// Statement about the digest in a DSSE envelope (sigstore's dsse signer),
// cosign's layer media type and predicateType annotation, under
// sha256-<hex>.att (ociremote.AttestationTag). Errors: a key NewKeys did
// not make, a reference that does not parse.
func (s *Signer) Sign(req fakeregistry.SignRequest) ([]fakeregistry.Artifact, error) {
	digest, err := name.NewDigest(req.Repository+"@"+req.Digest, name.Insecure)
	if err != nil {
		return nil, err
	}
	var out []fakeregistry.Artifact
	if len(req.Signatures) > 0 {
		body, err := payload.Cosign{Image: digest}.MarshalJSON()
		if err != nil {
			return nil, err
		}
		var sigs []oci.Signature
		for _, keyName := range req.Signatures {
			key, err := s.key(keyName)
			if err != nil {
				return nil, err
			}
			raw, err := key.SignMessage(bytes.NewReader(body))
			if err != nil {
				return nil, fmt.Errorf("key %s: %w", keyName, err)
			}
			sig, err := static.NewSignature(body, base64.StdEncoding.EncodeToString(raw))
			if err != nil {
				return nil, err
			}
			sigs = append(sigs, sig)
		}
		tag, err := ociremote.SignatureTag(digest)
		if err != nil {
			return nil, err
		}
		art, err := artifact(tag.TagStr(), sigs)
		if err != nil {
			return nil, fmt.Errorf("signatures: %w", err)
		}
		out = append(out, art)
	}
	if len(req.Attestations) > 0 {
		var atts []oci.Signature
		for i, a := range req.Attestations {
			att, err := s.attest(digest, a)
			if err != nil {
				return nil, fmt.Errorf("attestations[%d]: %w", i, err)
			}
			atts = append(atts, att)
		}
		tag, err := ociremote.AttestationTag(digest)
		if err != nil {
			return nil, err
		}
		art, err := artifact(tag.TagStr(), atts)
		if err != nil {
			return nil, fmt.Errorf("attestations: %w", err)
		}
		out = append(out, art)
	}
	return out, nil
}

func (s *Signer) key(name string) (signature.SignerVerifier, error) {
	k, ok := s.keys[name]
	if !ok {
		return nil, fmt.Errorf("no signing key %q (NewKeys made %d)", name, len(s.keys))
	}
	return k, nil
}

// attest makes one cosign attestation: the in-toto Statement in a DSSE
// envelope signed by the attestation's key.
func (s *Signer) attest(digest name.Digest, a fakeregistry.Attestation) (oci.Signature, error) {
	key, err := s.key(a.Key)
	if err != nil {
		return nil, err
	}
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
	envelope, err := dsse.WrapSigner(key, intotoPayloadType).SignMessage(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", a.Key, err)
	}
	return static.NewAttestation(envelope, static.WithLayerMediaType(types.DssePayloadType),
		static.WithAnnotations(map[string]string{"predicateType": a.PredicateType}))
}

// intotoPayloadType is the DSSE payload type of an in-toto Statement.
const intotoPayloadType = "application/vnd.in-toto+json"

// artifact is sigs as one cosign signatures image (its layers, config and
// manifest) under tag.
func artifact(tag string, sigs []oci.Signature) (fakeregistry.Artifact, error) {
	img, err := mutate.AppendSignatures(empty.Signatures(), false, sigs...)
	if err != nil {
		return fakeregistry.Artifact{}, err
	}
	art := fakeregistry.Artifact{Tag: tag}
	layers, err := img.Layers()
	if err != nil {
		return art, err
	}
	for _, l := range layers {
		mt, err := l.MediaType()
		if err != nil {
			return art, err
		}
		rc, err := l.Compressed()
		if err != nil {
			return art, err
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return art, err
		}
		art.Blobs = append(art.Blobs, fakeregistry.Blob{MediaType: string(mt), Data: data})
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return art, err
	}
	cfgType, err := img.Manifest()
	if err != nil {
		return art, err
	}
	art.Blobs = append(art.Blobs, fakeregistry.Blob{MediaType: string(cfgType.Config.MediaType), Data: cfg})
	if art.Manifest, err = img.RawManifest(); err != nil {
		return art, err
	}
	mt, err := img.MediaType()
	if err != nil {
		return art, err
	}
	art.MediaType = string(mt)
	return art, nil
}
