package fakeregistry

import (
	"cmp"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"
)

// tokenService is the "service" of the Bearer challenge.
const tokenService = "fakeregistry"

// defaultTokenTTL applies when Auth.TokenTTL is not set.
const defaultTokenTTL = 5 * time.Minute

func sameSecret(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func (a *Auth) accepts(user, pass string) bool {
	return sameSecret(a.Username, user) && sameSecret(a.Password, pass)
}

// anyBasicLogin reports whether user/pass is a login of any auth in the
// config, so a client that pings with credentials (docker login) gets 200.
func (st *state) anyBasicLogin(user, pass string) bool {
	for _, rs := range st.repos {
		if rs.auth != nil && rs.auth.accepts(user, pass) {
			return true
		}
		for _, im := range rs.images {
			if im.cfg.Auth != nil && im.cfg.Auth.accepts(user, pass) {
				return true
			}
		}
	}
	return false
}

func bearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return h[7:]
	}
	return ""
}

// credentialsPresented is true for a Basic login or a token issued to a
// login; a token issued anonymously (the Bearer flow without credentials)
// is not a credential.
func (s *Server) credentialsPresented(r *http.Request) bool {
	h := r.Header["Authorization"] // canonical key, read without re-canonicalizing
	if len(h) == 0 {
		return false
	}
	if tok := bearerToken(r); tok != "" {
		g, ok := s.tokens.lookup(tok)
		return !ok || g.user != ""
	}
	return true
}

// authorized checks the request's credentials against a, for repository.
// A Basic login is accepted directly only by a basic auth; a token is
// accepted when it was issued for repository to the login of a.
func (s *Server) authorized(r *http.Request, repository string, a *Auth) bool {
	if user, pass, ok := r.BasicAuth(); ok {
		return a.Type == AuthBasic && a.accepts(user, pass)
	}
	if tok := bearerToken(r); tok != "" {
		grant, ok := s.tokens.lookup(tok)
		return ok && grant.repositories[repository] && a.accepts(grant.user, grant.pass)
	}
	return false
}

// authorizedAny passes a request that any of auths lets through (a nil
// auth is open); when it fails it returns the first auth, whose 401 to send.
func (s *Server) authorizedAny(r *http.Request, repository string, auths []*Auth) (*Auth, bool) {
	for _, a := range auths {
		if a == nil || s.authorized(r, repository, a) {
			return nil, true
		}
	}
	return auths[0], false
}

// unauthorized sends 401 UNAUTHORIZED with the challenge of the registry's
// auth mode. scope names the repository for a Bearer challenge.
func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request, repository string, emptyBody bool, bearerErr string) {
	if s.state.mode == authModeBearer {
		realm := s.scheme + "://" + r.Host + "/token"
		service := tokenService
		if ch := s.cfg.Challenge; ch != nil {
			realm, service = cmp.Or(ch.Realm, realm), cmp.Or(ch.Service, service)
		}
		c := fmt.Sprintf(`Bearer realm="%s",service="%s"`, realm, service)
		if repository != "" {
			c += fmt.Sprintf(`,scope="repository:%s:pull"`, repository)
		}
		if bearerErr != "" {
			c += fmt.Sprintf(`,error="%s"`, bearerErr)
		}
		w.Header().Set("WWW-Authenticate", c)
	} else {
		realm := tokenService
		if ch := s.cfg.Challenge; ch != nil && ch.Realm != "" {
			realm = ch.Realm
		}
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Basic realm="%s"`, realm))
	}
	var body []byte
	if !emptyBody {
		body = errorDoc("UNAUTHORIZED", "authentication required")
		w.Header().Set("Content-Type", "application/json")
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write(body)
}

// bearerError names why a presented token was not enough (RFC 6750).
func bearerError(ts *tokenStore, r *http.Request) string {
	tok := bearerToken(r)
	if tok == "" {
		return ""
	}
	if _, ok := ts.lookup(tok); !ok {
		return "invalid_token"
	}
	return "insufficient_scope"
}

// serveToken is the token endpoint of the Bearer flow, on the registry's own
// listener because go-containerregistry refuses a realm on another loopback
// port. Anonymous requests get a token that opens only unprotected
// repositories (as public registries do); a login that fails a bearer auth
// of a requested repository is refused here with 401.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, rec *Request) {
	if s.state.mode != authModeBearer {
		s.registry.ServeHTTP(w, r) // no token service: 404 like any unknown path
		return
	}
	if r.Method != http.MethodGet {
		// The OAuth2 POST flow is not offered; ggcr falls back to GET on 404.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write(errorDoc("UNSUPPORTED", "use GET with Basic credentials"))
		return
	}
	var repos []string
	for _, sc := range r.URL.Query()["scope"] {
		for _, one := range strings.Fields(sc) {
			// repository:<name>:<actions>; other resource types grant nothing.
			parts := strings.Split(one, ":")
			if len(parts) == 3 && parts[0] == "repository" {
				repos = append(repos, parts[1])
			}
		}
	}
	if len(repos) > 0 {
		rec.Repository = repos[0]
	}
	user, pass, hasLogin := r.BasicAuth()
	ttl := defaultTokenTTL
	grant := tokenGrant{repositories: map[string]bool{}, user: user, pass: pass}
	for _, name := range repos {
		grant.repositories[name] = true
		rs := s.state.repos[name]
		if rs == nil {
			continue
		}
		bearers := rs.bearerAuths()
		accepted := len(bearers) == 0 || !hasLogin
		emptyBody := false
		for _, a := range bearers {
			if a.accepts(user, pass) {
				accepted = true
				if a.TokenTTL > 0 {
					ttl = min(ttl, time.Duration(a.TokenTTL))
				}
			}
			emptyBody = emptyBody || a.EmptyBody
		}
		if !accepted {
			var body []byte
			if !emptyBody {
				body = errorDoc("UNAUTHORIZED", "invalid username or password")
				w.Header().Set("Content-Type", "application/json")
			}
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write(body)
			return
		}
	}
	tok, expires := s.tokens.issue(grant, ttl)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"token":        tok,
		"access_token": tok,
		"expires_in":   int(math.Ceil(ttl.Seconds())),
		"issued_at":    expires.Add(-ttl).UTC().Format(time.RFC3339),
	})
}

// tokenGrant is what a token stands for: the login it was issued to (empty
// for anonymous) and the repositories of its scope.
type tokenGrant struct {
	repositories map[string]bool
	user, pass   string
	expires      time.Time
}

// tokenStore keeps issued tokens in memory; tokens are random and opaque.
type tokenStore struct {
	now    func() time.Time
	mu     sync.Mutex
	tokens map[string]tokenGrant
}

func newTokenStore(now func() time.Time) *tokenStore {
	return &tokenStore{now: now, tokens: map[string]tokenGrant{}}
}

func (ts *tokenStore) issue(g tokenGrant, ttl time.Duration) (string, time.Time) {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	g.expires = ts.now().Add(ttl)
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.tokens[tok] = g
	return tok, g.expires
}

// lookup returns the grant of an unexpired token.
func (ts *tokenStore) lookup(tok string) (tokenGrant, bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	g, ok := ts.tokens[tok]
	if !ok {
		return tokenGrant{}, false
	}
	if !ts.now().Before(g.expires) {
		delete(ts.tokens, tok)
		return tokenGrant{}, false
	}
	return g, true
}

func (ts *tokenStore) valid(tok string) bool {
	if tok == "" {
		return false
	}
	_, ok := ts.lookup(tok)
	return ok
}
