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
// that serves a whole suite (or a benchmark) keeps every record at a cost
// of about 100 bytes each, without slowing requests down.
type requestLog struct {
	mu     sync.Mutex
	chunks [][]byte
}

const logChunkSize = 64 << 10

func (l *requestLog) add(r Request) {
	var rec [256]byte
	b := encodeRequest(rec[:0], r)
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

func encodeRequest(b []byte, r Request) []byte {
	for _, s := range [...]string{r.Method, r.Path, r.Kind, r.Repository, r.Reference, r.Image, r.Fault} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(r.Status))
	b = binary.AppendVarint(b, int64(r.Duration))
	if r.CredentialsPresented {
		return append(b, 1)
	}
	return append(b, 0)
}

func decodeRequest(b []byte) (Request, []byte) {
	str := func() string {
		n, k := binary.Uvarint(b)
		s := string(b[k : k+int(n)])
		b = b[k+int(n):]
		return s
	}
	var r Request
	r.Method, r.Path, r.Kind, r.Repository, r.Reference, r.Image, r.Fault = str(), str(), str(), str(), str(), str(), str()
	status, k := binary.Uvarint(b)
	b = b[k:]
	d, k := binary.Varint(b)
	b = b[k:]
	r.Status, r.Duration, r.CredentialsPresented = int(status), time.Duration(d), b[0] == 1
	return r, b[1:]
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
