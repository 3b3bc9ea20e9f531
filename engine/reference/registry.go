package reference

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imagectx/conformance/engine"
)

// imageDescriptor is what the registry layer returns for one reference:
// the fields of Kyverno's ImageData, raw JSON documents included.
type imageDescriptor struct {
	Image         string
	ResolvedImage string
	Registry      string
	Repository    string
	Identifier    string
	ManifestList  []byte
	Manifest      []byte
	Config        []byte
}

// clientOptions is what an imageRegistry entry chooses about the client
// (imageRegistryCredentials).
type clientOptions struct {
	insecure bool
	keychain authn.Keychain
}

// imageFetcher fetches image descriptors. The remote implementation is the
// real one; benchmarks substitute a recording to measure the engine alone.
type imageFetcher interface {
	fetch(ctx context.Context, ref string, opts clientOptions) (*imageDescriptor, error)
}

// registrySession is the registry access of one Evaluate call: one
// transport (closed when Evaluate returns) and the caller's credentials.
type registrySession struct {
	cfg       engine.RegistryConfig
	transport *http.Transport
	fetcher   imageFetcher
}

func newRegistrySession(cfg engine.RegistryConfig, fetcher imageFetcher) (*registrySession, error) {
	s := &registrySession{cfg: cfg}
	if fetcher != nil {
		s.fetcher = fetcher
		return s, nil
	}
	t, err := newTransport(cfg.CACertsPEM)
	if err != nil {
		return nil, err
	}
	s.transport = t
	s.fetcher = &remoteFetcher{transport: t}
	return s, nil
}

func (s *registrySession) close() {
	if s.transport != nil {
		s.transport.CloseIdleConnections()
	}
}

// newTransport mirrors Kyverno's registry transport (regcreds.DefaultTransport:
// 5 s dial timeout, 10 s TLS handshake, no response timeout, proxy from the
// environment) and adds the caller's trusted CAs to the system pool.
func newTransport(caPEM [][]byte) (*http.Transport, error) {
	t := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
	}
	if len(caPEM) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		for i, pem := range caPEM {
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("registry CA certificate %d: no PEM certificate found", i)
			}
		}
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return t, nil
}

// keychainFor builds the keychain an entry's client uses, the way Kyverno's
// registry client factory does:
//   - no imageRegistryCredentials: the global client, whose keychain is the
//     docker config (here RegistryConfig.Credentials);
//   - imageRegistryCredentials: a fresh client from its secrets (resolved
//     through RegistryConfig.Secrets; a missing secret is skipped, as Kyverno
//     skips NotFound) and providers ("default" is the docker config; cloud
//     providers have nothing to offer against a local registry); with neither,
//     the docker config again.
func (s *registrySession) keychainFor(creds *ImageRegistryCredentials) authn.Keychain {
	dockerConfig := credentialKeychain(s.cfg.Credentials)
	if creds == nil {
		return dockerConfig
	}
	var chains []authn.Keychain
	var fromSecrets []engine.Credential
	for _, name := range creds.Secrets {
		if c, ok := s.cfg.Secrets[name]; ok {
			fromSecrets = append(fromSecrets, c...)
		} else if !strings.Contains(name, "/") {
			// Kyverno looks a bare name up in its own namespace.
			fromSecrets = append(fromSecrets, s.cfg.Secrets["kyverno/"+name]...)
		}
	}
	if len(creds.Secrets) > 0 {
		chains = append(chains, credentialKeychain(fromSecrets))
	}
	for _, p := range creds.Providers {
		if p == "default" {
			chains = append(chains, dockerConfig)
			break
		}
	}
	if len(chains) == 0 {
		return dockerConfig
	}
	return authn.NewMultiKeychain(chains...)
}

// credentialKeychain answers with the login stored for a registry host,
// anonymous otherwise (like a docker config.json).
type credentialKeychain []engine.Credential

func (k credentialKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	host := target.RegistryStr()
	for _, c := range k {
		if registryHostEqual(c.Registry, host) {
			return authn.FromConfig(authn.AuthConfig{Username: c.Username, Password: c.Password}), nil
		}
	}
	return authn.Anonymous, nil
}

func registryHostEqual(configured, host string) bool {
	configured = strings.TrimPrefix(strings.TrimPrefix(configured, "https://"), "http://")
	configured = strings.TrimSuffix(configured, "/")
	if configured == host {
		return true
	}
	dockerHub := func(h string) bool { return h == name.DefaultRegistry || h == "docker.io" }
	return dockerHub(configured) && dockerHub(host)
}

// remoteFetcher talks to registries with go-containerregistry, as Kyverno's
// registry client and its engine adapter do, error texts included.
type remoteFetcher struct {
	transport http.RoundTripper
}

const userAgent = "kyverno-reference-engine"

func (f *remoteFetcher) fetch(ctx context.Context, ref string, opts clientOptions) (*imageDescriptor, error) {
	var nameOpts []name.Option
	if opts.insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	desc, err := f.fetchDescriptor(ctx, ref, nameOpts, opts.keychain)
	if err != nil {
		return nil, fmt.Errorf("failed to fetch image descriptor: %s, error: %v", ref, err)
	}
	parsed, err := name.ParseReference(ref, nameOpts...)
	if err != nil {
		return nil, fmt.Errorf("failed to parse image reference: %s, error: %v", ref, err)
	}
	img, err := desc.Image()
	if err != nil {
		return nil, fmt.Errorf("failed to resolve image reference: %s, error: %v", ref, err)
	}
	// An error here only means the ref is not an index.
	index, _ := desc.ImageIndex()
	manifest, err := img.RawManifest()
	if err != nil {
		return nil, fmt.Errorf("failed to fetch manifest for image reference: %s, error: %v", ref, err)
	}
	config, err := img.RawConfigFile()
	if err != nil {
		return nil, fmt.Errorf("failed to fetch config for image reference: %s, error: %v", ref, err)
	}
	var manifestList []byte
	if index != nil {
		if manifestList, err = index.RawManifest(); err != nil {
			return nil, fmt.Errorf("failed to fetch image index for image reference: %s, error: %v", ref, err)
		}
	}
	d := describe(ref, parsed, desc.Digest.String())
	d.ManifestList, d.Manifest, d.Config = manifestList, manifest, config
	return d, nil
}

// describe fills the name fields the way Kyverno's adapter does: Docker
// Hub names normalised (nginx is index.docker.io, library/nginx), and the
// resolved image pinned to the digest of what the reference named (the
// index digest for an index).
func describe(ref string, parsed name.Reference, digest string) *imageDescriptor {
	return &imageDescriptor{
		Image:         ref,
		ResolvedImage: parsed.Context().Name() + "@" + digest,
		Registry:      parsed.Context().RegistryStr(),
		Repository:    parsed.Context().RepositoryStr(),
		Identifier:    identifierOf(ref, parsed),
	}
}

// identifierOf is the tag or digest; for "repo:tag@digest" it is
// "tag@digest". Kyverno finds the tag as the text after the last ':' before
// the '@', so a digest ref on a registry with a port ("host:5000/app@sha256:…")
// yields "5000/app@sha256:…"; kept as Kyverno does it.
func identifierOf(ref string, parsed name.Reference) string {
	var tag string
	if i := strings.Index(ref, "@"); i != -1 {
		before := ref[:i]
		if j := strings.LastIndex(before, ":"); j != -1 {
			tag = before[j+1:]
		}
	}
	id := parsed.Identifier()
	if strings.HasPrefix(id, "sha256:") && tag != "" {
		id = tag + "@" + id
	}
	return id
}

func (f *remoteFetcher) fetchDescriptor(ctx context.Context, ref string, nameOpts []name.Option, kc authn.Keychain) (*remote.Descriptor, error) {
	parsed, err := name.ParseReference(ref, nameOpts...)
	if err != nil {
		return nil, fmt.Errorf("failed to parse image reference: %s, error: %w", ref, err)
	}
	desc, err := remote.Get(parsed,
		remote.WithAuthFromKeychain(kc),
		remote.WithTransport(f.transport),
		remote.WithContext(ctx),
		remote.WithUserAgent(userAgent),
		// ggcr's default platform, named for clarity: an index resolves to
		// its linux/amd64 child.
		remote.WithPlatform(defaultPlatform),
	)
	if err != nil {
		return nil, fmt.Errorf("failed to fetch image reference: %s, error: %w", ref, err)
	}
	if _, ok := parsed.(name.Digest); ok && parsed.Identifier() != desc.Digest.String() {
		return nil, fmt.Errorf("digest mismatch, expected: %s, received: %s", parsed.Identifier(), desc.Digest.String())
	}
	return desc, nil
}

// defaultPlatform is go-containerregistry's default (remote/options.go).
var defaultPlatform = v1.Platform{OS: "linux", Architecture: "amd64"}
