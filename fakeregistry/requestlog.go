package fakeregistry

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"
)

// Request is one served request. It never holds credentials: only whether
// an Authorization header was sent.
type Request struct {
	Method string
	// Path is the URL path without the query.
	Path string
	// Kind is KindPing, KindToken, KindManifest, KindBlob, KindUpload,
	// KindTags, KindReferrers or KindOther.
	Kind string
	// Repository is the repository addressed (for a token request, the
	// first repository of the requested scope).
	Repository string
	// Reference is the tag or digest of a manifest or blob request.
	Reference string
	// Image is the configured "repository:tag" the request resolved to,
	// also when it asked by digest; empty if none.
	Image string
	// Status is the HTTP status sent; 0 when the client gave up first.
	Status   int
	Duration time.Duration
	// CredentialsPresented is true when the request carried an
	// Authorization header (Basic or Bearer).
	CredentialsPresented bool
	// Fault describes the injected fault ("delay 2s", "status 500"), if any.
	Fault string
}

// String is a log line without secrets.
func (r Request) String() string {
	s := fmt.Sprintf("%s %s %d %s credentials=%t", r.Method, r.Path, r.Status, r.Duration.Round(time.Microsecond), r.CredentialsPresented)
	if r.Image != "" {
		s += " image=" + r.Image
	}
	if r.Fault != "" {
		s += " fault=" + r.Fault
	}
	return s
}

// requestLog stores records encoded in byte chunks: pointer-free memory
// the garbage collector never scans, and no copying to grow. A registry
// that serves a whole suite (or a benchmark) keeps every record, so the
// cost of a request's record is mostly the memory it fills (fresh pages
// from the kernel): records are kept small (about 50 bytes for a manifest
// GET) by not storing again what the path already says.
type requestLog struct {
	mu     sync.Mutex
	chunks [][]byte
}

const logChunkSize = 64 << 10

// add records r; rt must be parseRoute(r.Path).
func (l *requestLog) add(r *Request, rt route) {
	var rec [256]byte
	b := encodeRequest(rec[:0], r, rt)
	l.mu.Lock()
	defer l.mu.Unlock()
	last := len(l.chunks) - 1
	if last < 0 || len(l.chunks[last])+len(b) > cap(l.chunks[last]) {
		l.chunks = append(l.chunks, make([]byte, 0, max(logChunkSize, len(b))))
		last++
	}
	l.chunks[last] = append(l.chunks[last], b...)
}

func (l *requestLog) all() []Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Request
	for _, c := range l.chunks {
		for len(c) > 0 {
			var r Request
			r, c = decodeRequest(c)
			out = append(out, r)
		}
	}
	return out
}

// Record flags. Kind, Repository and Reference are stored only when they
// differ from what parseRoute(Path) gives; in practice only a token
// request's repository does (it comes from the scope, not the path).
const (
	recCredentials = 1 << iota
	recKind
	recRepository
	recReference
)

// encodeRequest appends a record: a flags byte, Method, Path, the route
// fields the flags name, Image, Fault (uvarint length + bytes each), then
// Status (uvarint) and Duration (varint).
func encodeRequest(b []byte, r *Request, rt route) []byte {
	var flags byte
	if r.CredentialsPresented {
		flags |= recCredentials
	}
	if r.Kind != rt.kind {
		flags |= recKind
	}
	if r.Repository != rt.repository {
		flags |= recRepository
	}
	if r.Reference != rt.reference {
		flags |= recReference
	}
	b = append(b, flags)
	b = appendString(b, r.Method)
	b = appendString(b, r.Path)
	if flags&recKind != 0 {
		b = appendString(b, r.Kind)
	}
	if flags&recRepository != 0 {
		b = appendString(b, r.Repository)
	}
	if flags&recReference != 0 {
		b = appendString(b, r.Reference)
	}
	b = appendString(b, r.Image)
	b = appendString(b, r.Fault)
	b = binary.AppendUvarint(b, uint64(r.Status))
	return binary.AppendVarint(b, int64(r.Duration))
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decodeRequest reads one record of encodeRequest and returns the rest.
func decodeRequest(b []byte) (Request, []byte) {
	str := func() string {
		n, k := binary.Uvarint(b)
		s := string(b[k : k+int(n)])
		b = b[k+int(n):]
		return s
	}
	flags := b[0]
	b = b[1:]
	var r Request
	r.CredentialsPresented = flags&recCredentials != 0
	r.Method, r.Path = str(), str()
	rt := parseRoute(r.Path)
	r.Kind, r.Repository, r.Reference = rt.kind, rt.repository, rt.reference
	if flags&recKind != 0 {
		r.Kind = str()
	}
	if flags&recRepository != 0 {
		r.Repository = str()
	}
	if flags&recReference != 0 {
		r.Reference = str()
	}
	r.Image, r.Fault = str(), str()
	status, k := binary.Uvarint(b)
	b = b[k:]
	d, k := binary.Varint(b)
	r.Status, r.Duration = int(status), time.Duration(d)
	return r, b[k:]
}

// requested reports whether a request addressed repo and, when ident is
// set, that tag or digest, or resolved to the configured image imageRef.
func (l *requestLog) requested(repo, ident, imageRef string) bool {
	for _, r := range l.all() {
		if r.Repository != repo {
			continue
		}
		if ident == "" || r.Reference == ident || (imageRef != "" && r.Image == imageRef) {
			return true
		}
	}
	return false
}
