package fakeregistry

import (
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

type requestLog struct {
	mu   sync.Mutex
	reqs []Request
}

func (l *requestLog) add(r Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, r)
}

func (l *requestLog) all() []Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Request(nil), l.reqs...)
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
