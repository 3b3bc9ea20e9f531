package fakeregistry

// This file is the declarative model shared by the Go API, the
// cmd/fakeregistry YAML config and the scenario files. Field names are the
// YAML names (decode.go reads the json tags); keep them stable, scenarios
// depend on them. README.md documents every field.

// Config is the whole registry state.
type Config struct {
	// Images served; a ref not listed is missing (404 NAME_UNKNOWN for an
	// unknown repository, MANIFEST_UNKNOWN for an unknown tag or digest).
	Images []Image `json:"images,omitempty"`
	// Repositories sets auth and faults for a whole repository (every tag,
	// including tags that are not listed).
	Repositories []Repository `json:"repositories,omitempty"`
	// Ping is a fault on GET /v2/ (for example a delay).
	Ping *Fault `json:"ping,omitempty"`
	// TLS serves HTTPS with a self-signed certificate (always with Hosts).
	TLS bool `json:"tls,omitempty"`
	// Hosts are registry host names this registry also answers for, such as
	// "ghcr.io" or "index.docker.io" (a port other than 443 is written
	// "host:port"). They imply TLS: the certificate covers them, and a
	// client reaches the registry for them through a loopback proxy
	// (fakeregistry/proxy) that tunnels CONNECT host:443 to this server.
	// "docker.io" is stored as "index.docker.io", the host
	// go-containerregistry (and so Kyverno) connects to for Docker Hub.
	// Signatures and attestations name images by the first host.
	Hosts []string `json:"hosts,omitempty"`
	// Challenge sets what the registry announces on GET /v2/ and in its
	// 401 answers. Without it: 401 with a Bearer challenge when an auth is
	// bearer, a Basic one when an auth is basic, 200 with no auth at all.
	Challenge *Challenge `json:"challenge,omitempty"`
	// StorageHost makes blob GETs and HEADs (after auth and faults) answer
	// 307 Temporary Redirect to https://<StorageHost>/fakeregistry-storage/
	// <repository>/blobs/<digest>, as GHCR, Docker Hub and ECR send blobs
	// to a storage host. The storage host answers without auth when it is
	// one of Hosts; else nothing serves it (the proxy refuses it: a storage
	// host a firewall blocks).
	StorageHost string `json:"storageHost,omitempty"`
	// SigningKeys names cosign key pairs (ECDSA P-256) the registry makes
	// when it starts; images sign with them (Image.Signatures) and
	// Server.PublicKeyPEM gives their public keys. Names are letters,
	// digits and '_', starting with a letter.
	SigningKeys []string `json:"signingKeys,omitempty"`
}

// Image is one image (or multi-platform index) under a repository:tag.
type Image struct {
	// Ref is "repository:tag", e.g. "team/app:v1".
	Ref string `json:"ref"`
	// Missing declares the tag as absent while its repository exists, so the
	// client sees MANIFEST_UNKNOWN even when no other tag of the repository
	// is served. A missing tag has no content but may have Auth or Fault.
	Missing bool `json:"missing,omitempty"`
	// Config is the image config (the fields Kyverno policies read).
	Config ImageConfig `json:"config,omitempty"`
	// ConfigFile is merged into the generated config file as a JSON merge
	// patch (RFC 7386): new top-level keys are added (e.g.
	// "moby.buildkit.buildinfo.v1", "history"), objects merge ("config",
	// "rootfs"), and null removes a key ("rootfs": null, "created": null),
	// so any config a real registry serves can be written, broken ones
	// included. Applied to every platform's config of an index.
	ConfigFile map[string]any `json:"configFile,omitempty"`
	// PlatformConfigFiles are merge patches for one platform's config of
	// an index, by its Platforms entry ("linux/arm64"), applied after
	// ConfigFile: images whose platforms differ (another User, other
	// labels), as multi-arch builds are.
	PlatformConfigFiles map[string]map[string]any `json:"platformConfigFiles,omitempty"`
	// LayerMediaType is the media type of every layer in the manifest
	// (default: the format's gzip layer type), e.g.
	// "application/vnd.oci.image.layer.v1.tar+zstd".
	LayerMediaType string `json:"layerMediaType,omitempty"`
	// MediaType replaces the manifest's media type (its mediaType field and
	// Content-Type; for Platforms, the index's), any "type/subtype" string:
	// what a registry serves for an artifact or a format clients do not
	// know. The content stays an image manifest (or index).
	MediaType string `json:"mediaType,omitempty"`
	// Annotations go on the manifest.
	Annotations map[string]string `json:"annotations,omitempty"`
	// Layers are declared layer sizes in bytes. Their digests derive from
	// the declaration and their blobs are not served (the config blob is).
	Layers []int64 `json:"layers,omitempty"`
	// Platforms, when set, make the ref an index with one image per
	// platform ("linux/amd64", "linux/arm64").
	Platforms []string `json:"platforms,omitempty"`
	// Auth protects this image (by tag and by digest); it overrides the
	// repository's auth.
	Auth *Auth `json:"auth,omitempty"`
	// Fault makes requests for this image fail or stall.
	Fault *Fault `json:"fault,omitempty"`
	// Signatures names the SigningKeys whose cosign signature of this
	// image's manifest (the index for a multi-platform image) the registry
	// serves, under cosign's tag sha256-<hex>.sig in the same repository.
	// An image without signatures is unsigned.
	Signatures []string `json:"signatures,omitempty"`
	// Attestations are cosign attestations of this image's manifest, each
	// an in-toto Statement signed by one of SigningKeys, served under
	// cosign's tag sha256-<hex>.att.
	Attestations []Attestation `json:"attestations,omitempty"`
	// Format is the manifest format: "oci" (default: OCI image manifest and
	// index), "docker" (Docker v2 schema 2 manifest, manifest list, config
	// and layer media types) or "schema1" (a Docker schema 1 signed
	// manifest, which go-containerregistry refuses).
	Format ManifestFormat `json:"format,omitempty"`
	// Malformed serves a broken manifest: "json" (not valid JSON) or
	// "mediatype" (a wrong media type). Single-platform images only.
	Malformed Malformation `json:"malformed,omitempty"`
}

// Attestation is one in-toto Statement about an image, signed by a key.
type Attestation struct {
	// Key is one of Config.SigningKeys.
	Key string `json:"key"`
	// PredicateType is the Statement's predicateType, a URI such as
	// https://slsa.dev/provenance/v1 (what verifyImages attestations[].type
	// selects).
	PredicateType string `json:"predicateType"`
	// Predicate is the Statement's predicate (any JSON object).
	Predicate map[string]any `json:"predicate,omitempty"`
}

// ManifestFormat is how an image's manifests are written (Image.Format).
type ManifestFormat string

// Values of Image.Format.
const (
	FormatOCI     ManifestFormat = "oci"
	FormatDocker  ManifestFormat = "docker"
	FormatSchema1 ManifestFormat = "schema1"
)

// Values lists the formats, the default first. The config check and the
// scenario format's JSON Schema read every enumerated type of the model
// through its Values method, so a new value is one constant and its entry
// here.
func (ManifestFormat) Values() []string {
	return []string{string(FormatOCI), string(FormatDocker), string(FormatSchema1)}
}

// Corruption is how a response is served broken (Fault.Corrupt).
type Corruption string

// Values of Fault.Corrupt.
const (
	CorruptTruncate Corruption = "truncate"
	CorruptReset    Corruption = "reset"
	CorruptDigest   Corruption = "digest"
)

// Values lists the corruptions.
func (Corruption) Values() []string {
	return []string{string(CorruptTruncate), string(CorruptReset), string(CorruptDigest)}
}

// Malformation is how a manifest is served broken (Image.Malformed).
type Malformation string

// Values of Image.Malformed.
const (
	MalformedJSON      Malformation = "json"
	MalformedMediaType Malformation = "mediatype"
)

// Values lists the malformations.
func (Malformation) Values() []string {
	return []string{string(MalformedJSON), string(MalformedMediaType)}
}

// ImageConfig holds the config file fields; names follow the OCI config.
type ImageConfig struct {
	User         string            `json:"User,omitempty"`
	Env          []string          `json:"Env,omitempty"`
	Labels       map[string]string `json:"Labels,omitempty"`
	Volumes      []string          `json:"Volumes,omitempty"`
	Entrypoint   []string          `json:"Entrypoint,omitempty"`
	Cmd          []string          `json:"Cmd,omitempty"`
	WorkingDir   string            `json:"WorkingDir,omitempty"`
	Created      string            `json:"created,omitempty"` // RFC 3339
	OS           string            `json:"os,omitempty"`
	Architecture string            `json:"architecture,omitempty"`
}

// Challenge is the registry's GET /v2/ answer and WWW-Authenticate
// challenge, as real registries vary them.
type Challenge struct {
	// Type is "bearer" or "basic"; required when no auth is configured
	// (Docker Hub and GHCR challenge for Bearer even for public images),
	// else it must be the scheme the auths use.
	Type AuthType `json:"type,omitempty"`
	// Ping is the status of an anonymous GET /v2/: 401 (with the
	// challenge; the default) or 200 (the registry challenges only on
	// repository requests).
	Ping int `json:"ping,omitempty"`
	// Realm is the Bearer token service URL, e.g.
	// "https://auth.docker.io/token" (its host must be one of Hosts; its
	// path is where tokens are served), default <scheme>://<host>/token;
	// for Basic the realm name, default "fakeregistry".
	Realm string `json:"realm,omitempty"`
	// Service is the Bearer challenge's service, e.g. "registry.docker.io";
	// default "fakeregistry".
	Service string `json:"service,omitempty"`
}

// Repository applies auth or a fault to every tag of a repository.
type Repository struct {
	Name  string `json:"name"`
	Auth  *Auth  `json:"auth,omitempty"`
	Fault *Fault `json:"fault,omitempty"`
}

// AuthType is an authentication scheme (Auth.Type, Challenge.Type), as a
// WWW-Authenticate challenge names it, in lower case.
type AuthType string

// Values of Auth.Type.
const (
	AuthBasic  AuthType = "basic"
	AuthBearer AuthType = "bearer"
)

// Values lists the schemes.
func (AuthType) Values() []string { return []string{string(AuthBasic), string(AuthBearer)} }

// Auth is "basic" or "bearer" with one valid login.
type Auth struct {
	Type     AuthType `json:"type"`
	Username string   `json:"username"`
	Password string   `json:"password"`
	// EmptyBody sends the 401 without an error document.
	EmptyBody bool `json:"emptyBody,omitempty"`
	// TokenTTL is the bearer token lifetime, e.g. "5m".
	TokenTTL Duration `json:"tokenTTL,omitempty"`
}

// Fault makes requests fail or stall.
type Fault struct {
	// Status answers with this HTTP status (403 DENIED, 429
	// TOOMANYREQUESTS, 500, 503, ...). The README lists the default body
	// of each status and what a client prints for it.
	Status int `json:"status,omitempty"`
	// Body replaces the default body for Status and is sent verbatim
	// (a registry error document or any text).
	Body string `json:"body,omitempty"`
	// EmptyBody sends Status with no body at all.
	EmptyBody bool `json:"emptyBody,omitempty"`
	// Times fails only the first N matching requests, then serves normally;
	// 0 means always.
	Times int `json:"times,omitempty"`
	// Delay stalls each matching request; it ends when the client gives up.
	Delay Duration `json:"delay,omitempty"`
	// Corrupt serves the response broken instead of failing it: "truncate"
	// (the full Content-Length, half the body, then the connection closes),
	// "reset" (half the body, then a TCP reset; plain HTTP only) or
	// "digest" (one byte more than the content the digest names). GET
	// only; a HEAD is answered normally.
	Corrupt Corruption `json:"corrupt,omitempty"`
	// On chooses which requests: "manifests" (default), "blobs", or "all"
	// (every request under the repository). A fault on GET /v2/ is set
	// with Config.Ping, where On may only be "" or "ping".
	On FaultTarget `json:"on,omitempty"`
}

// Retried reports whether a go-containerregistry client retries the
// fault's answer, so one lookup costs several requests and the client's
// backoff: its status is one go-containerregistry's remote package retries
// by default (pkg/v1/remote/options.go, defaultRetryStatusCodes). A nil
// fault is never retried.
func (f *Fault) Retried() bool {
	if f == nil {
		return false
	}
	switch f.Status {
	case 408, 429, 499, 500, 502, 503, 504, 522:
		return true
	}
	return false
}

// FaultTarget is which requests a fault applies to (Fault.On).
type FaultTarget string

// Values of Fault.On.
const (
	OnManifests FaultTarget = "manifests"
	OnBlobs     FaultTarget = "blobs"
	OnAll       FaultTarget = "all"
	OnPing      FaultTarget = "ping"
)

// Values lists the targets, the default first; OnPing is for Config.Ping
// only.
func (FaultTarget) Values() []string {
	return []string{string(OnManifests), string(OnBlobs), string(OnAll), string(OnPing)}
}
