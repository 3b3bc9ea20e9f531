// Package fakeregistry is an OCI registry on 127.0.0.1 that serves
// deterministic images and fails on demand: missing content, Basic and
// Bearer auth, 403, delays, 5xx and 429, TLS, refused connections and
// malformed manifests. go-containerregistry's pkg/registry speaks the
// protocol; this package is the fault layer in front of it.
package fakeregistry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// Option configures Start.
type Option func(*options)

type options struct {
	listen   string
	hook     func(Request)
	tlsHosts []string
	now      func() time.Time
	ca       *CA
	signer   Signer
}

// WithListenAddress binds another address than 127.0.0.1:0, for example
// 0.0.0.0:5000 for a kind cluster. Use it deliberately: it leaves loopback.
func WithListenAddress(addr string) Option { return func(o *options) { o.listen = addr } }

// WithRequestHook calls fn after every request, with the same record that
// Requests returns (never credentials). cmd/fakeregistry logs through it.
func WithRequestHook(fn func(Request)) Option { return func(o *options) { o.hook = fn } }

// WithTLSHosts adds host names or IPs to the TLS certificate, which always
// covers 127.0.0.1, ::1, localhost and the listen host.
func WithTLSHosts(hosts ...string) Option {
	return func(o *options) { o.tlsHosts = append(o.tlsHosts, hosts...) }
}

// WithCA issues the TLS certificate (tls: true, or hosts) from ca instead
// of a self-signed one; CACertPEM is then ca's certificate, the same for
// every registry started with it.
func WithCA(ca *CA) Option { return func(o *options) { o.ca = ca } }

// WithClock replaces time.Now for token lifetimes, so tests can expire a
// token without sleeping.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Server is a running fake registry. Close it to free the port.
type Server struct {
	opts   options
	cfg    Config
	scheme string // "http" or "https"
	addr   string
	hosts  []string // Config.Hosts, normalized by RegistryHost
	// tokenPath is where the Bearer token service answers (the path of
	// Challenge.Realm, default /token); storageHost is Config.StorageHost
	// normalized.
	tokenPath   string
	storageHost string
	// servesStorage: storageHost is one of hosts, so this registry
	// answers the redirected blob requests.
	servesStorage bool
	listener      net.Listener
	http          *http.Server
	registry      http.Handler // go-containerregistry's handler, the protocol core
	state         *state
	tokens        *tokenStore
	log           requestLog
	caPEM         []byte
	epoch         time.Time // request durations are measured from here

	baseCancel context.CancelFunc
	serveDone  chan struct{}

	mu       sync.Mutex
	closed   bool
	inflight sync.WaitGroup
	refused  *refusedPort
	sleeping atomic.Int32 // handlers inside a delay, for tests
}

// Start validates cfg, seeds the images and serves them on 127.0.0.1 with
// a free port (see WithListenAddress). It returns once the port is bound.
func Start(cfg Config, opts ...Option) (*Server, error) {
	o := options{listen: "127.0.0.1:0", now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("fakeregistry config: %w", err)
	}
	st, err := newState(cfg, o.signer)
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:      o,
		cfg:       cfg,
		scheme:    "http",
		state:     st,
		tokens:    newTokenStore(o.now),
		serveDone: make(chan struct{}),
		epoch:     time.Now(),
	}
	s.registry = registry.New(
		registry.Logger(log.New(io.Discard, "", 0)),
		registry.WithBlobHandler(st.blobs),
	)
	if err := st.seed(s.registry); err != nil {
		return nil, err
	}

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return nil, fmt.Errorf("fakeregistry listen %s: %w", o.listen, err)
	}
	s.addr = ln.Addr().String()
	s.hosts = cfg.RegistryHosts()
	s.tokenPath = "/token"
	if ch := cfg.Challenge; ch != nil && ch.Realm != "" && st.mode == authModeBearer {
		if u, err := url.Parse(ch.Realm); err == nil {
			s.tokenPath = u.Path
		}
	}
	if cfg.StorageHost != "" {
		s.storageHost, _ = RegistryHost(cfg.StorageHost)
		s.servesStorage = slices.Contains(s.hosts, s.storageHost)
	}
	// Signatures name the image by host:port (or its first host name),
	// known only now; nothing is served before Serve below.
	if err := st.sign(func(repo, ref string, m blob) error { return putManifest(s.registry, repo, ref, m) }, s.imageHost()); err != nil {
		ln.Close()
		return nil, err
	}
	if cfg.TLS || len(s.hosts) > 0 {
		names := tlsHosts(s.addr, append(slices.Clone(o.tlsHosts), hostNames(s.hosts)...))
		var cert tls.Certificate
		var caPEM []byte
		if o.ca != nil {
			cert, err = o.ca.issue(names, o.now())
			caPEM = o.ca.CertPEM()
		} else {
			cert, caPEM, err = selfSignedCert(names, o.now())
		}
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("fakeregistry tls: %w", err)
		}
		s.caPEM = caPEM
		s.scheme = "https"
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	s.listener = ln

	baseCtx, cancel := context.WithCancel(context.Background())
	s.baseCancel = cancel
	s.http = &http.Server{
		Handler:           s,
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
		ReadHeaderTimeout: 10 * time.Second,
		// TLS handshake failures (a client that does not trust the CA, or
		// ggcr's plain-http ping fallback) are expected; keep them quiet.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() {
		defer close(s.serveDone)
		_ = s.http.Serve(ln)
	}()
	return s, nil
}

// Addr is the bound host:port, e.g. "127.0.0.1:41234".
func (s *Server) Addr() string { return s.addr }

// Hosts are the registry host names the server answers for (Config.Hosts
// as clients name them: "docker.io" is "index.docker.io"), each "host" for
// port 443 or "host:port"; nil without Config.Hosts.
func (s *Server) Hosts() []string { return slices.Clone(s.hosts) }

// Routes maps each of Hosts to Addr: the routes of a registry proxy
// (fakeregistry/proxy) that serves this registry by name.
func (s *Server) Routes() map[string]string {
	out := map[string]string{}
	for _, h := range s.hosts {
		out[h] = s.addr
	}
	return out
}

// imageHost is the registry part of image names the server writes into
// signatures: its first host name, else its address.
func (s *Server) imageHost() string {
	if len(s.hosts) > 0 {
		return s.hosts[0]
	}
	return s.addr
}

// hostNames strips the ports of registry hosts, for a certificate.
func hostNames(hosts []string) []string {
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		if n, _, err := net.SplitHostPort(h); err == nil {
			h = n
		}
		out = append(out, h)
	}
	return out
}

// Scheme is "https" when the config asks for TLS, else "http".
func (s *Server) Scheme() string { return s.scheme }

// CACertPEM is the PEM certificate a client must trust in TLS mode (the
// server's self-signed certificate, valid for its address and its Hosts);
// nil without TLS.
func (s *Server) CACertPEM() []byte { return append([]byte(nil), s.caPEM...) }

// Digest returns the digest of the manifest (or index) served for
// "repository:tag", the same on every run and machine.
func (s *Server) Digest(ref string) (string, error) {
	repo, tag, ok := splitRef(ref)
	if !ok {
		return "", fmt.Errorf("digest of %q: want repository:tag", ref)
	}
	rs := s.state.repos[repo]
	if rs == nil {
		return "", fmt.Errorf("digest of %s: no such image in the config", ref)
	}
	im := rs.byTag[tag]
	if im == nil {
		return "", fmt.Errorf("digest of %s: no such image in the config", ref)
	}
	if im.built == nil {
		return "", fmt.Errorf("digest of %s: the image is declared missing", ref)
	}
	return im.built.top.digest, nil
}

// Requests returns every request served so far, oldest first.
func (s *Server) Requests() []Request { return s.log.all() }

// Requested reports whether any request touched ref: "repository",
// "repository:tag" or "repository@digest". A tag also matches requests by
// digest for that image (its index, per-platform manifests, config blobs),
// so "this image was never requested" holds however the client asked.
func (s *Server) Requested(ref string) bool {
	repo, ident := ref, ""
	if i := strings.Index(ref, "@"); i >= 0 {
		repo, ident = ref[:i], ref[i+1:]
	} else if r, tag, ok := splitRef(ref); ok {
		repo, ident = r, tag
	}
	imageRef := ""
	if rs := s.state.repos[repo]; rs != nil && ident != "" {
		if im := rs.byTag[ident]; im != nil {
			imageRef = im.ref
		} else if ims := rs.byDigest[ident]; len(ims) == 1 {
			imageRef = ims[0].ref
		}
	}
	return s.log.requested(repo, ident, imageRef)
}

// RefusedAddr returns a loopback host:port where nothing listens: the port
// is bound (so no other process takes it) but never accepts, so a client
// gets "connection refused". It stays reserved until Close.
func (s *Server) RefusedAddr() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", errors.New("fakeregistry: refused address: server closed")
	}
	if s.refused == nil {
		rp, err := reserveRefusedPort()
		if err != nil {
			return "", fmt.Errorf("fakeregistry: refused address: %w", err)
		}
		s.refused = rp
	}
	return s.refused.addr, nil
}

// Close stops serving, ends stalled requests, frees the port and returns
// once no request handler is running.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	refused := s.refused
	s.mu.Unlock()

	s.baseCancel() // wakes every delayed handler
	err := s.http.Close()
	<-s.serveDone
	s.inflight.Wait()
	if refused != nil {
		if cerr := refused.close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("fakeregistry close: %w", err)
	}
	return nil
}

// enter registers a running handler; false once Close has begun.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.inflight.Add(1)
	return true
}
