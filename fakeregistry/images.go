package fakeregistry

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
)

// Media types written into the seeded manifests.
const (
	mediaTypeManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaTypeIndex    = "application/vnd.oci.image.index.v1+json"
	mediaTypeConfig   = "application/vnd.oci.image.config.v1+json"
	mediaTypeLayer    = "application/vnd.oci.image.layer.v1.tar+gzip"
	// mediaTypeWrong is what a "malformed: mediatype" manifest claims to be.
	mediaTypeWrong = "application/vnd.fakeregistry.unknown.v1+json"

	// Docker image manifest v2, schema 2 (Image.Format "docker").
	mediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	mediaTypeDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	mediaTypeDockerConfig   = "application/vnd.docker.container.image.v1+json"
	mediaTypeDockerLayer    = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	// Docker schema 1 (Image.Format "schema1"), still served for old images.
	mediaTypeSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws"
)

// mediaTypes are the media types of one manifest format.
type mediaTypes struct{ manifest, index, config, layer string }

func formatMediaTypes(format ManifestFormat) mediaTypes {
	if format == FormatDocker {
		return mediaTypes{mediaTypeDockerManifest, mediaTypeDockerList, mediaTypeDockerConfig, mediaTypeDockerLayer}
	}
	return mediaTypes{mediaTypeManifest, mediaTypeIndex, mediaTypeConfig, mediaTypeLayer}
}

// blob is content addressed by its sha256 digest.
type blob struct {
	digest    string
	mediaType string
	data      []byte
}

func newBlob(mediaType string, data []byte) blob {
	sum := sha256.Sum256(data)
	return blob{digest: "sha256:" + hex.EncodeToString(sum[:]), mediaType: mediaType, data: data}
}

// builtImage is everything the registry stores for one configured Image:
// the manifest served for the tag and, for an index, its children (pushed
// by digest only). Config blobs are served; layer blobs are declared only.
type builtImage struct {
	index     int // position in Config.Images
	repo, tag string
	top       blob   // manifest or index served under the tag
	children  []blob // per-platform manifests of an index
	configs   []blob // config blobs (one per image manifest)
}

// digests lists every digest that belongs to this image: the top manifest,
// the per-platform manifests and the config blobs.
func (b *builtImage) digests() []string {
	out := []string{b.top.digest}
	for _, c := range b.children {
		out = append(out, c.digest)
	}
	for _, c := range b.configs {
		out = append(out, c.digest)
	}
	return out
}

// The OCI structures are declared here (not taken from ggcr's v1 types) so
// that the JSON, and therefore every digest, depends only on this file: no
// zero timestamps or empty fields appear unless the config asks for them.
type ociDescriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Platform    *ociPlatform      `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type ociPlatform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Variant      string `json:"variant,omitempty"`
}

type ociManifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	Config        ociDescriptor     `json:"config"`
	Layers        []ociDescriptor   `json:"layers"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

type ociIndex struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	Manifests     []ociDescriptor   `json:"manifests"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

type ociConfigFile struct {
	Created      string       `json:"created,omitempty"`
	Architecture string       `json:"architecture"`
	Variant      string       `json:"variant,omitempty"`
	OS           string       `json:"os"`
	Config       ociRunConfig `json:"config"`
	RootFS       ociRootFS    `json:"rootfs"`
}

type ociRunConfig struct {
	User       string              `json:"User,omitempty"`
	Env        []string            `json:"Env,omitempty"`
	Entrypoint []string            `json:"Entrypoint,omitempty"`
	Cmd        []string            `json:"Cmd,omitempty"`
	Volumes    map[string]struct{} `json:"Volumes,omitempty"`
	WorkingDir string              `json:"WorkingDir,omitempty"`
	Labels     map[string]string   `json:"Labels,omitempty"`
}

type ociRootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids"`
}

// syntheticDigest names content that is declared but never served (layers):
// a digest derived from the declaration, stable on every machine.
func syntheticDigest(kind string, i int, size int64) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "fakeregistry %s %d size %d", kind, i, size))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// buildImage turns one validated Image into manifests and blobs.
func buildImage(i int, img Image) (*builtImage, error) {
	repo, tag, _ := splitRef(img.Ref)
	b := &builtImage{index: i, repo: repo, tag: tag}
	if img.Format == FormatSchema1 {
		b.top = schema1Manifest(repo, tag, img)
		return b, nil
	}
	mt := formatMediaTypes(img.Format)
	if len(img.Platforms) == 0 {
		cfg, man, err := buildManifest(img, img.Config.OS, img.Config.Architecture, "", img.MediaType)
		if err != nil {
			return nil, err
		}
		b.top, b.configs = man, []blob{cfg}
		return b, nil
	}
	indexType := cmp.Or(img.MediaType, mt.index)
	idx := ociIndex{SchemaVersion: 2, MediaType: indexType, Annotations: img.Annotations}
	for _, p := range img.Platforms {
		os, arch, variant := splitPlatform(p)
		cfg, man, err := buildManifest(img, os, arch, variant, "")
		if err != nil {
			return nil, err
		}
		b.children = append(b.children, man)
		b.configs = append(b.configs, cfg)
		idx.Manifests = append(idx.Manifests, ociDescriptor{
			MediaType: man.mediaType, Digest: man.digest, Size: int64(len(man.data)),
			Platform: &ociPlatform{OS: os, Architecture: arch, Variant: variant},
		})
	}
	data, err := json.Marshal(idx)
	if err != nil {
		return nil, fmt.Errorf("encode index %s: %w", img.Ref, err)
	}
	b.top = newBlob(indexType, data)
	return b, nil
}

// buildManifest builds the config blob and the image manifest for one
// platform; mediaType, when set, replaces the manifest's media type.
func buildManifest(img Image, os, arch, variant, mediaType string) (blob, blob, error) {
	if os == "" {
		os = "linux"
	}
	if arch == "" {
		arch = "amd64"
	}
	c := img.Config
	cf := ociConfigFile{
		Created: c.Created, OS: os, Architecture: arch, Variant: variant,
		Config: ociRunConfig{
			User: c.User, Env: c.Env, Entrypoint: c.Entrypoint, Cmd: c.Cmd,
			WorkingDir: c.WorkingDir, Labels: c.Labels,
		},
		RootFS: ociRootFS{Type: "layers", DiffIDs: []string{}},
	}
	if len(c.Volumes) > 0 {
		cf.Config.Volumes = map[string]struct{}{}
		for _, v := range c.Volumes {
			cf.Config.Volumes[v] = struct{}{}
		}
	}
	mt := formatMediaTypes(img.Format)
	manifestType := cmp.Or(mediaType, mt.manifest)
	man := ociManifest{SchemaVersion: 2, MediaType: manifestType, Layers: []ociDescriptor{}, Annotations: img.Annotations}
	for i, size := range img.Layers {
		cf.RootFS.DiffIDs = append(cf.RootFS.DiffIDs, syntheticDigest("diffid", i, size))
		man.Layers = append(man.Layers, ociDescriptor{MediaType: cmp.Or(img.LayerMediaType, mt.layer), Digest: syntheticDigest("layer", i, size), Size: size})
	}
	cfgData, err := json.Marshal(cf)
	if err != nil {
		return blob{}, blob{}, fmt.Errorf("encode config %s: %w", img.Ref, err)
	}
	platform := os + "/" + arch
	if variant != "" {
		platform += "/" + variant
	}
	for _, p := range []struct {
		field string
		patch map[string]any
	}{{"configFile", img.ConfigFile}, {"platformConfigFiles." + platform, img.PlatformConfigFiles[platform]}} {
		if p.patch == nil {
			continue
		}
		patch, err := json.Marshal(p.patch)
		if err != nil {
			return blob{}, blob{}, fmt.Errorf("encode %s of %s: %w", p.field, img.Ref, err)
		}
		if cfgData, err = jsonpatch.MergePatch(cfgData, patch); err != nil {
			return blob{}, blob{}, fmt.Errorf("merge %s of %s: %w", p.field, img.Ref, err)
		}
	}
	cfg := newBlob(mt.config, cfgData)
	man.Config = ociDescriptor{MediaType: mt.config, Digest: cfg.digest, Size: int64(len(cfgData))}
	manData, err := json.Marshal(man)
	if err != nil {
		return blob{}, blob{}, fmt.Errorf("encode manifest %s: %w", img.Ref, err)
	}
	m := newBlob(manifestType, manData)
	if img.Malformed != "" {
		m = malform(img.Malformed, m)
	}
	return cfg, m, nil
}

// schema1Manifest is a Docker schema 1 signed manifest: the shape old
// images still have (name, tag, architecture, fsLayers, history with the
// v1 config as a string); its signature is not checked by clients that
// refuse the format anyway. No blobs are served for it.
func schema1Manifest(repo, tag string, img Image) blob {
	v1, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux", "config": map[string]any{"User": img.Config.User}})
	m := map[string]any{
		"schemaVersion": 1, "name": repo, "tag": tag, "architecture": "amd64",
		"fsLayers": []map[string]string{{"blobSum": syntheticDigest("schema1-layer", 0, 0)}},
		"history":  []map[string]string{{"v1Compatibility": string(v1)}},
	}
	data, _ := json.Marshal(m)
	return newBlob(mediaTypeSchema1Signed, data)
}

// malform breaks a manifest the way Image.Malformed asks.
func malform(kind Malformation, m blob) blob {
	switch kind {
	case MalformedJSON:
		// Cut the document in half: still the manifest media type, not JSON.
		return newBlob(m.mediaType, m.data[:len(m.data)/2])
	case MalformedMediaType:
		data := strings.Replace(string(m.data), `"mediaType":"`+m.mediaType+`"`, `"mediaType":"`+mediaTypeWrong+`"`, 1)
		return newBlob(mediaTypeWrong, []byte(data))
	}
	return m
}

// splitRef splits "repo:tag"; ok is false when there is no tag.
func splitRef(ref string) (repo, tag string, ok bool) {
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") {
		return ref, "", false
	}
	return ref[:i], ref[i+1:], true
}

func splitPlatform(p string) (os, arch, variant string) {
	parts := strings.Split(p, "/")
	os, arch = parts[0], parts[1]
	if len(parts) == 3 {
		variant = parts[2]
	}
	return os, arch, variant
}

// sortedKeys is used wherever map order would leak into output.
func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
