package fakeregistry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// state is the immutable routing table built from a Config, plus the
// mutable fault counters.
type state struct {
	repos  map[string]*repoState
	order  []string // repository names in config order, for seeding
	blobs  *blobStore
	ping   *faultState
	mode   authMode
	keys   map[string][]byte // Config.SigningKeys by name: the public keys, PEM
	signer Signer            // nil without Config.SigningKeys
}

type repoState struct {
	name   string
	auth   *Auth
	fault  *faultState
	images []*imageState
	byTag  map[string]*imageState
	// byDigest lists the images a digest belongs to: several when images
	// share content (the same config blob, or identical manifests).
	byDigest map[string][]*imageState
}

type imageState struct {
	ref   string // "repository:tag" as configured
	cfg   Image
	built *builtImage // nil for a missing tag
	fault *faultState
}

// authMode is what the ping (GET /v2/) announces. go-containerregistry pings
// once per client and picks Basic or Bearer for every later request, so the
// whole registry speaks one scheme: Bearer as soon as one repository needs a
// token (Basic repositories then also accept tokens), else Basic.
type authMode int

const (
	authNone authMode = iota
	authModeBasic
	authModeBearer
)

// faultState counts how often a fault fired, for Fault.Times.
type faultState struct {
	f     Fault
	mu    sync.Mutex
	fired int
}

func newFaultState(f *Fault) *faultState {
	if f == nil {
		return nil
	}
	return &faultState{f: *f}
}

// take reports whether this request gets the fault: always when Times is 0,
// else only the first Times matching requests.
func (fs *faultState) take() bool {
	if fs.f.Times == 0 {
		return true
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.fired >= fs.f.Times {
		return false
	}
	fs.fired++
	return true
}

func newState(cfg Config, signer Signer) (*state, error) {
	keys, err := newKeys(cfg.SigningKeys, signer)
	if err != nil {
		return nil, err
	}
	st := &state{repos: map[string]*repoState{}, blobs: newBlobStore(), ping: newFaultState(cfg.Ping), keys: keys, signer: signer}
	repo := func(name string) *repoState {
		rs := st.repos[name]
		if rs == nil {
			rs = &repoState{name: name, byTag: map[string]*imageState{}, byDigest: map[string][]*imageState{}}
			st.repos[name] = rs
			st.order = append(st.order, name)
		}
		return rs
	}
	for _, r := range cfg.Repositories {
		rs := repo(r.Name)
		rs.auth, rs.fault = r.Auth, newFaultState(r.Fault)
	}
	for i, img := range cfg.Images {
		name, tag, _ := splitRef(img.Ref)
		rs := repo(name)
		im := &imageState{ref: img.Ref, cfg: img, fault: newFaultState(img.Fault)}
		if !img.Missing {
			b, err := buildImage(i, img)
			if err != nil {
				return nil, err
			}
			im.built = b
			for _, d := range uniq(b.digests()) {
				rs.byDigest[d] = append(rs.byDigest[d], im)
			}
			for _, c := range b.configs {
				st.blobs.add(name, c)
			}
		}
		rs.images = append(rs.images, im)
		rs.byTag[tag] = im
	}
	switch authScheme(cfg) {
	case AuthBearer:
		st.mode = authModeBearer
	case AuthBasic:
		st.mode = authModeBasic
	}
	return st, nil
}

// authScheme is the scheme the registry announces, AuthBearer or
// AuthBasic, or "" for none: Challenge.Type when given, else Bearer as soon
// as one auth is bearer, Basic when there are only basic auths.
func authScheme(cfg Config) AuthType {
	if cfg.Challenge != nil && cfg.Challenge.Type != "" {
		return cfg.Challenge.Type
	}
	return authSchemeOfAuths(cfg)
}

// authSchemeOfAuths is authScheme from the auths alone.
func authSchemeOfAuths(cfg Config) AuthType {
	var scheme AuthType
	note := func(a *Auth) {
		switch {
		case a == nil:
		case a.Type == AuthBearer:
			scheme = AuthBearer
		case scheme == "":
			scheme = AuthBasic
		}
	}
	for _, r := range cfg.Repositories {
		note(r.Auth)
	}
	for _, img := range cfg.Images {
		note(img.Auth)
	}
	return scheme
}

func uniq(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// resolve resolves a request to the configured images it is for: by tag, or
// every image that owns the digest.
func (rs *repoState) resolve(rt route) []*imageState {
	switch rt.kind {
	case KindManifest:
		if im := rs.byTag[rt.reference]; im != nil {
			return []*imageState{im}
		}
		return rs.byDigest[rt.reference]
	case KindBlob:
		return rs.byDigest[rt.reference]
	}
	return nil
}

// authsFor lists what guards a request for these images; a nil entry means
// one of them is open, and content shared with an open image is open.
func (rs *repoState) authsFor(ims []*imageState) []*Auth {
	if len(ims) == 0 {
		return []*Auth{rs.auth}
	}
	out := make([]*Auth, 0, len(ims))
	for _, im := range ims {
		out = append(out, rs.authFor(im))
	}
	return out
}

// authFor is the auth that guards an image (its own, else its repository's).
func (rs *repoState) authFor(im *imageState) *Auth {
	if im != nil && im.cfg.Auth != nil {
		return im.cfg.Auth
	}
	return rs.auth
}

// bearerAuths lists the bearer logins that guard anything in the repository.
func (rs *repoState) bearerAuths() []*Auth {
	var out []*Auth
	if rs.auth != nil && rs.auth.Type == AuthBearer {
		out = append(out, rs.auth)
	}
	for _, im := range rs.images {
		if a := im.cfg.Auth; a != nil && a.Type == AuthBearer {
			out = append(out, a)
		}
	}
	return out
}

// placeholder is pushed (by digest only) into a repository that has no
// served image, so that the repository exists and a tag in it is
// MANIFEST_UNKNOWN rather than NAME_UNKNOWN.
var placeholder = newBlob(mediaTypeManifest, []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[],"annotations":{"org.opencontainers.image.description":"fakeregistry placeholder"}}`))

// seed pushes every manifest into go-containerregistry's handler in process.
func (st *state) seed(h http.Handler) error {
	for _, name := range st.order {
		rs := st.repos[name]
		served := false
		for _, im := range rs.images {
			if im.built == nil {
				continue
			}
			served = true
			for _, c := range im.built.children {
				if err := putManifest(h, name, c.digest, c); err != nil {
					return fmt.Errorf("seed image %s: %w", im.ref, err)
				}
			}
			if err := putManifest(h, name, im.built.tag, im.built.top); err != nil {
				return fmt.Errorf("seed image %s: %w", im.ref, err)
			}
		}
		if !served {
			if err := putManifest(h, name, placeholder.digest, placeholder); err != nil {
				return fmt.Errorf("seed repository %s: %w", name, err)
			}
		}
	}
	return nil
}

func putManifest(h http.Handler, repo, ref string, m blob) error {
	req := httptest.NewRequest(http.MethodPut, "/v2/"+repo+"/manifests/"+ref, bytes.NewReader(m.data))
	req.Header.Set("Content-Type", m.mediaType)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		return fmt.Errorf("PUT manifest %s:%s: status %d: %s", repo, ref, rec.Code, rec.Body.String())
	}
	return nil
}

// blobStore serves config blobs per repository; pushes land here too.
type blobStore struct {
	mu sync.RWMutex
	m  map[string][]byte // "repo@digest" -> content
}

func newBlobStore() *blobStore { return &blobStore{m: map[string][]byte{}} }

func (b *blobStore) add(repo string, bl blob) { b.m[repo+"@"+bl.digest] = bl.data }

func (b *blobStore) Get(_ context.Context, repo string, h v1.Hash) (io.ReadCloser, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	data, ok := b.m[repo+"@"+h.String()]
	if !ok {
		return nil, registry.ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

func (b *blobStore) Stat(_ context.Context, repo string, h v1.Hash) (int64, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	data, ok := b.m[repo+"@"+h.String()]
	if !ok {
		return 0, registry.ErrNotFound
	}
	return int64(len(data)), nil
}

func (b *blobStore) Put(_ context.Context, repo string, h v1.Hash, rc io.ReadCloser) error {
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m[repo+"@"+h.String()] = data
	return nil
}

// errorDoc is a registry error document, as go-containerregistry parses it.
func errorDoc(code, message string) []byte {
	type diag struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	b, _ := json.Marshal(struct {
		Errors []diag `json:"errors"`
	}{Errors: []diag{{Code: code, Message: message}}})
	return append(b, '\n')
}
