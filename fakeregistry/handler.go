package fakeregistry

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Request kinds, as recorded in Request.Kind.
const (
	KindPing  = "ping"
	KindToken = "token"
	// KindStorage is a blob fetched from the storage host a blob request
	// was redirected to (Config.StorageHost).
	KindStorage   = "storage"
	KindManifest  = "manifest"
	KindBlob      = "blob"
	KindUpload    = "upload"
	KindTags      = "tags"
	KindReferrers = "referrers"
	KindOther     = "other"
)

// route is what a request path addresses.
type route struct {
	kind       string
	repository string
	reference  string // tag or digest (manifests, blobs)
}

// parseRoute follows go-containerregistry's own path rules so both layers
// agree on the repository of a request.
func parseRoute(path string) route {
	switch path {
	case "/v2/", "/v2":
		return route{kind: KindPing}
	case "/token":
		return route{kind: KindToken}
	}
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		return route{kind: KindOther}
	}
	if i := strings.Index(rest, "/blobs/uploads"); i > 0 {
		return route{kind: KindUpload, repository: rest[:i]}
	}
	// <repository>/<verb>/<last>, split from the right without allocating.
	j := strings.LastIndexByte(rest, '/')
	if j <= 0 {
		return route{kind: KindOther}
	}
	i := strings.LastIndexByte(rest[:j], '/')
	if i <= 0 {
		return route{kind: KindOther}
	}
	repo, verb, last := rest[:i], rest[i+1:j], rest[j+1:]
	switch verb {
	case "manifests":
		return route{kind: KindManifest, repository: repo, reference: last}
	case "blobs":
		return route{kind: KindBlob, repository: repo, reference: last}
	case "tags":
		return route{kind: KindTags, repository: repo}
	case "referrers":
		return route{kind: KindReferrers, repository: repo, reference: last}
	}
	return route{kind: KindOther}
}

// ServeHTTP is the fault layer: it records the request, applies the ping
// fault or the repository's and image's faults, checks auth and then hands
// the request to go-containerregistry's registry.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		http.Error(w, "fakeregistry is closing", http.StatusServiceUnavailable)
		return
	}
	defer s.inflight.Done()

	start := time.Since(s.epoch) // one monotonic clock read; time.Now reads two clocks
	rw := &statusWriter{ResponseWriter: w}
	// parsed is what the request log re-derives from the path; rt also
	// knows the configured token path and the storage host's paths.
	parsed := parseRoute(r.URL.Path)
	rt := parsed
	if r.URL.Path == s.tokenPath {
		rt = route{kind: KindToken}
	} else if rest, ok := strings.CutPrefix(r.URL.Path, storagePrefix); ok && s.isStorageRequest(r) {
		rt = storageRoute(rest)
	}
	rec := Request{
		Method:               r.Method,
		Path:                 r.URL.Path,
		Kind:                 rt.kind,
		Repository:           rt.repository,
		Reference:            rt.reference,
		CredentialsPresented: s.credentialsPresented(r),
	}
	defer func() {
		rec.Status = rw.status
		rec.Duration = time.Since(s.epoch) - start
		s.log.add(&rec, parsed)
		if s.opts.hook != nil {
			s.opts.hook(rec)
		}
	}()

	switch rt.kind {
	case KindPing:
		s.servePing(rw, r, &rec)
	case KindToken:
		s.serveToken(rw, r, &rec)
	case KindStorage:
		s.serveStorage(rw, r, rt)
	case KindManifest, KindBlob, KindUpload, KindTags, KindReferrers:
		s.serveRepository(rw, r, rt, &rec)
	default:
		if !strings.HasPrefix(r.URL.Path, "/v2/") {
			// go-containerregistry's handler serves ".../blobs/<digest>"
			// under any prefix; only the API's paths pass the auth checks.
			http.NotFound(rw, r)
			return
		}
		s.registry.ServeHTTP(rw, r)
	}
}

func (s *Server) servePing(w http.ResponseWriter, r *http.Request, rec *Request) {
	if s.state.ping != nil && s.state.ping.take() {
		if !s.applyFault(w, r, s.state.ping, KindPing, rec) {
			return
		}
	}
	if ch := s.cfg.Challenge; ch != nil && ch.Ping == http.StatusOK {
		s.registry.ServeHTTP(w, r) // challenges come with repository requests only
		return
	}
	switch s.state.mode {
	case authModeBearer:
		if s.tokens.valid(bearerToken(r)) {
			break
		}
		s.unauthorized(w, r, "", false, "")
		return
	case authModeBasic:
		if user, pass, ok := r.BasicAuth(); ok && s.state.anyBasicLogin(user, pass) {
			break
		}
		s.unauthorized(w, r, "", false, "")
		return
	}
	s.registry.ServeHTTP(w, r)
}

func (s *Server) serveRepository(w http.ResponseWriter, r *http.Request, rt route, rec *Request) {
	rs := s.state.repos[rt.repository]
	if rs == nil {
		// Not in the config: go-containerregistry answers NAME_UNKNOWN.
		s.registry.ServeHTTP(w, r)
		return
	}
	ims := rs.resolve(rt)
	if len(ims) == 1 {
		rec.Image = ims[0].ref
	}
	// The repository's fault, then the image's. A digest shared by several
	// images gets the first of their faults that applies.
	faults := []*faultState{rs.fault}
	for _, im := range ims {
		if im.fault != nil && faultApplies(im.fault.f.On, rt.kind) {
			faults = append(faults, im.fault)
			break
		}
	}
	var corrupt Corruption
	for _, fs := range faults {
		if fs == nil || !faultApplies(fs.f.On, rt.kind) || !fs.take() {
			continue
		}
		if !s.applyFault(w, r, fs, rt.kind, rec) {
			return
		}
		if fs.f.Corrupt != "" && r.Method == http.MethodGet && corrupt == "" {
			corrupt = fs.f.Corrupt
		}
	}
	if a, ok := s.authorizedAny(r, rs.name, rs.authsFor(ims)); !ok {
		s.unauthorized(w, r, rs.name, a.EmptyBody, bearerError(s.tokens, r))
		return
	}
	if corrupt != "" {
		appendFault(rec, "corrupt "+string(corrupt))
		s.serveCorrupt(w, r, rt.kind, corrupt)
		return
	}
	if s.cfg.StorageHost != "" && rt.kind == KindBlob && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		w.Header().Set("Location", "https://"+s.storageHost+storagePrefix+rt.repository+"/blobs/"+rt.reference)
		w.WriteHeader(http.StatusTemporaryRedirect)
		return
	}
	s.registry.ServeHTTP(w, r)
}

// storagePrefix starts the path of a blob on the storage host.
const storagePrefix = "/fakeregistry-storage/"

// isStorageRequest: the request names the storage host, and the registry
// serves it (one of its hosts); anywhere else the storage path is an
// unknown path, so no blob leaves without auth by another door.
func (s *Server) isStorageRequest(r *http.Request) bool {
	if !s.servesStorage {
		return false
	}
	host, err := RegistryHost(strings.ToLower(r.Host))
	return err == nil && host == s.storageHost
}

// storageRoute parses "<repository>/blobs/<digest>" after storagePrefix.
func storageRoute(rest string) route {
	i := strings.LastIndex(rest, "/blobs/")
	if i <= 0 {
		return route{kind: KindStorage}
	}
	return route{kind: KindStorage, repository: rest[:i], reference: rest[i+len("/blobs/"):]}
}

// serveStorage answers a redirected blob request: no auth (a storage
// host's URLs are pre-signed), the blob from go-containerregistry's store.
func (s *Server) serveStorage(w http.ResponseWriter, r *http.Request, rt route) {
	if rt.repository == "" || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.Error(w, "not a blob of this storage", http.StatusNotFound)
		return
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/v2/" + rt.repository + "/blobs/" + rt.reference
	r2.Header.Del("Authorization")
	s.registry.ServeHTTP(w, r2)
}

func appendFault(rec *Request, f string) {
	if rec.Fault != "" {
		rec.Fault += ", "
	}
	rec.Fault += f
}

func faultApplies(on FaultTarget, kind string) bool {
	switch on {
	case "", OnManifests:
		return kind == KindManifest
	case OnBlobs:
		return kind == KindBlob
	case OnAll:
		return true
	case OnPing:
		return kind == KindPing
	}
	return false
}

// applyFault stalls and/or answers with the fault's status. It returns
// true when the request should continue to the registry (a delay only).
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, fs *faultState, kind string, rec *Request) bool {
	f := fs.f
	if f.Delay > 0 {
		rec.Fault = "delay " + time.Duration(f.Delay).String()
		s.sleeping.Add(1)
		slept := sleep(r.Context(), time.Duration(f.Delay))
		s.sleeping.Add(-1)
		if !slept {
			rec.Fault += " (client gave up)"
			return false
		}
	}
	if f.Status == 0 {
		return true
	}
	appendFault(rec, fmt.Sprintf("status %d", f.Status))
	writeFault(w, f, kind)
	return false
}

// sleep waits d or until ctx ends (client gone, server closing); it
// reports whether the full delay elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// writeFault sends the fault's status with its body (see defaultBody).
func writeFault(w http.ResponseWriter, f Fault, kind string) {
	body, contentType := []byte(f.Body), "text/plain; charset=utf-8"
	switch {
	case f.EmptyBody:
		body = nil
	case f.Body == "":
		body, contentType = defaultBody(f.Status, kind)
	case strings.HasPrefix(strings.TrimSpace(f.Body), "{"):
		contentType = "application/json"
	}
	if f.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="fakeregistry"`)
	}
	if len(body) > 0 {
		w.Header().Set("Content-Type", contentType)
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(f.Status)
	_, _ = w.Write(body)
}

// defaultBody is what a fault with a status but no body sends. Statuses with
// a registry error code get an error document; 500 gets a text body (so the
// client shows it); anything else has no body.
func defaultBody(status int, kind string) ([]byte, string) {
	const jsonType = "application/json"
	switch status {
	case http.StatusUnauthorized:
		return errorDoc("UNAUTHORIZED", "authentication required"), jsonType
	case http.StatusForbidden:
		return errorDoc("DENIED", "requested access to the resource is denied"), jsonType
	case http.StatusNotFound:
		switch kind {
		case KindManifest:
			return errorDoc("MANIFEST_UNKNOWN", "Unknown manifest"), jsonType
		case KindBlob:
			return errorDoc("BLOB_UNKNOWN", "Unknown blob"), jsonType
		}
		return errorDoc("NAME_UNKNOWN", "Unknown name"), jsonType
	case http.StatusTooManyRequests:
		return errorDoc("TOOMANYREQUESTS", "rate limit exceeded"), jsonType
	case http.StatusInternalServerError:
		return []byte("internal server error"), "text/plain; charset=utf-8"
	}
	return nil, ""
}

// statusWriter remembers the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}
