package fakeregistry

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imagectx/conformance/yamlkit/strictyaml"
)

// FieldError is one problem in a Config: its Field path (e.g.
// "images[2].fault.status") and what was expected; ParseConfig and
// DecodeConfigNode add the file, line and column. It is the project's one
// field-at-a-line error (yamlkit/strictyaml), also used by scenario files.
type FieldError = strictyaml.FieldError

// Repository and tag grammar from the OCI distribution spec.
var (
	repoPattern = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)
	tagPattern  = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
	// keyNamePattern keeps signing key names usable in variable names.
	keyNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	// mediaTypePattern is RFC 6838's type/subtype (restricted-name chars).
	mediaTypePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$`)
)

// hostLabel is one DNS label of a registry host name.
var hostLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// RegistryHost checks that h names a registry a client reaches over TLS
// by name, and returns the host go-containerregistry connects to for it:
// "docker.io" (Docker Hub) becomes "index.docker.io", ":443" is dropped.
// It refuses what a client would not send through a proxy or would reach
// over plain HTTP: IP addresses, "localhost", *.local and *.localhost
// names (go-containerregistry's insecure defaults), names without a dot,
// upper case, a scheme or path, and ports outside 1-65535.
func RegistryHost(h string) (string, error) {
	want := "want a registry host name such as ghcr.io or registry.example:5000"
	if strings.Contains(h, "/") {
		return "", fmt.Errorf("%s (no scheme or path), got %q", want, h)
	}
	host, port := h, ""
	if i := strings.LastIndex(h, ":"); i >= 0 {
		host, port = h[:i], h[i+1:]
		n := 0
		if _, err := fmt.Sscanf(port, "%d", &n); err != nil || n < 1 || n > 65535 || fmt.Sprint(n) != port {
			return "", fmt.Errorf("%s, got %q (port %q is not 1-65535)", want, h, port)
		}
	}
	switch {
	case host == "":
		return "", fmt.Errorf("%s, got nothing", want)
	case net.ParseIP(strings.Trim(host, "[]")) != nil:
		return "", fmt.Errorf("%s, got the IP address %q (an address is reached directly, not by name; use a second registry's ${REGISTRY_<name>})", want, h)
	case host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.HasSuffix(host, ".local"):
		return "", fmt.Errorf("%s, got %q, which clients reach over plain HTTP and never through a proxy", want, h)
	case !strings.Contains(host, "."):
		return "", fmt.Errorf("%s, got %q (a name without a dot is read as a repository, not a registry)", want, h)
	}
	for _, l := range strings.Split(host, ".") {
		if !hostLabel.MatchString(l) {
			return "", fmt.Errorf("%s, got %q (label %q: lower-case letters, digits and '-')", want, h, l)
		}
	}
	// ":443" is the default: without it "docker.io:443" would not become
	// "index.docker.io" below.
	h = strings.TrimSuffix(h, ":443")
	reg, err := name.NewRegistry(h, name.StrictValidation)
	if err != nil {
		return "", fmt.Errorf("%s, got %q: %w", want, h, err)
	}
	return reg.RegistryStr(), nil
}

// challenge checks Config.Challenge against the auths and hosts: every
// field it accepts must change what the registry sends.
func (v *validator) challenge(c Config) {
	ch := c.Challenge
	if ch == nil {
		return
	}
	mode := authSchemeOfAuths(c)
	switch {
	case ch.Type == "" && mode == "":
		v.add("challenge.type", `want "bearer" or "basic": no auth is configured to choose the scheme`)
	case ch.Type != "" && ch.Type != AuthBasic && ch.Type != AuthBearer:
		v.add("challenge.type", `want "basic" or "bearer", got %q`, ch.Type)
	case ch.Type != "" && mode != "" && ch.Type != mode:
		v.add("challenge.type", "the configured auths need a %s challenge (a bearer auth makes the whole registry Bearer), got %q", mode, ch.Type)
	}
	switch {
	case ch.Ping != 0 && ch.Ping != http.StatusOK && ch.Ping != http.StatusUnauthorized:
		v.add("challenge.ping", "want 401 (the default) or 200, got %d", ch.Ping)
	case ch.Ping == http.StatusOK && mode == "":
		v.add("challenge.ping", "200 with no auth configured sends no challenge at all; add an auth to a repository or image, or remove challenge")
	}
	for _, f := range []struct{ field, value string }{{"realm", ch.Realm}, {"service", ch.Service}} {
		if strings.ContainsAny(f.value, "\"\\\r\n") {
			v.add("challenge."+f.field, "want no quote, backslash or line break (it is a quoted WWW-Authenticate parameter), got %q", f.value)
		}
	}
	scheme := cmp.Or(ch.Type, mode)
	if scheme == AuthBasic && ch.Service != "" {
		v.add("challenge.service", "a Basic challenge has no service (only realm); remove it or use type: bearer")
	}
	if ch.Realm == "" || scheme != AuthBearer {
		return
	}
	u, err := url.Parse(ch.Realm)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Path == "" {
		v.add("challenge.realm", "want the token service URL, such as https://auth.docker.io/token (https: the proxy only tunnels TLS), got %q", ch.Realm)
		return
	}
	if norm, err := RegistryHost(u.Host); err != nil || !slices.Contains(c.RegistryHosts(), norm) {
		v.add("challenge.realm", "the token service host %q must be one of hosts %v, so that the proxy routes it to this registry", u.Host, c.Hosts)
	}
	if strings.HasPrefix(u.Path, "/v2/") && parseRoute(u.Path).kind != KindOther {
		v.add("challenge.realm", "path %q is a registry API path; choose another, such as /token", u.Path)
	}
}

// RegistryHosts are c.Hosts as clients name them (RegistryHost:
// "docker.io" is "index.docker.io"); invalid ones are left out (Validate
// reports them).
func (c Config) RegistryHosts() []string {
	var out []string
	for _, h := range c.Hosts {
		if n, err := RegistryHost(h); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// Validate checks the whole Config and returns every problem found, each a
// *FieldError, joined with errors.Join.
func (c Config) Validate() error {
	v := &validator{}
	seenRef := map[string]int{}
	for i, img := range c.Images {
		p := fmt.Sprintf("images[%d]", i)
		v.image(p, img)
		if j, dup := seenRef[img.Ref]; dup && img.Ref != "" {
			v.add(p+".ref", "duplicate of images[%d].ref %q", j, img.Ref)
		}
		seenRef[img.Ref] = i
	}
	seenRepo := map[string]int{}
	for i, r := range c.Repositories {
		p := fmt.Sprintf("repositories[%d]", i)
		switch {
		case r.Name == "":
			v.add(p+".name", "want a repository name such as team/app, got nothing")
		case !repoPattern.MatchString(r.Name):
			v.add(p+".name", "want a repository name (lower case, [a-z0-9._-] separated by /), got %q", r.Name)
		}
		if j, dup := seenRepo[r.Name]; dup && r.Name != "" {
			v.add(p+".name", "duplicate of repositories[%d].name %q", j, r.Name)
		}
		seenRepo[r.Name] = i
		v.auth(p+".auth", r.Auth)
		v.fault(p+".fault", r.Fault, false)
	}
	v.fault("ping", c.Ping, true)
	v.challenge(c)
	if c.StorageHost != "" {
		if _, err := RegistryHost(c.StorageHost); err != nil {
			v.add("storageHost", "%v", err)
		} else if len(c.Hosts) == 0 {
			v.add("storageHost", "needs hosts: the redirect names a host clients reach through the registry proxy, which serves only hosts (list the storage host in hosts to serve it, leave it out to have it refused)")
		}
	}
	seenHost := map[string]int{}
	for i, h := range c.Hosts {
		p := fmt.Sprintf("hosts[%d]", i)
		norm, err := RegistryHost(h)
		if err != nil {
			v.add(p, "%v", err)
			continue
		}
		if j, dup := seenHost[norm]; dup {
			v.add(p, "duplicate of hosts[%d] (both are %s)", j, norm)
		}
		seenHost[norm] = i
	}
	keys := map[string]int{}
	for i, k := range c.SigningKeys {
		p := fmt.Sprintf("signingKeys[%d]", i)
		if !keyNamePattern.MatchString(k) {
			v.add(p, "want a key name of letters, digits and '_' starting with a letter, got %q", k)
		}
		if j, dup := keys[k]; dup {
			v.add(p, "duplicate of signingKeys[%d] %q", j, k)
		}
		keys[k] = i
	}
	for i, img := range c.Images {
		for j, k := range img.Signatures {
			p := fmt.Sprintf("images[%d].signatures[%d]", i, j)
			v.signable(p, "signatures", img)
			if _, ok := keys[k]; !ok {
				v.add(p, "want one of signingKeys %v, got %q", c.SigningKeys, k)
			}
		}
		for j, a := range img.Attestations {
			p := fmt.Sprintf("images[%d].attestations[%d]", i, j)
			v.signable(p, "attestations", img)
			if _, ok := keys[a.Key]; !ok {
				v.add(p+".key", "want one of signingKeys %v, got %q", c.SigningKeys, a.Key)
			}
			if a.PredicateType == "" {
				v.add(p+".predicateType", "want the Statement's predicate type, a URI such as https://slsa.dev/provenance/v1")
			}
			v.json(p+".predicate", a.Predicate)
		}
	}
	return errors.Join(v.errs...)
}

type validator struct{ errs []error }

// signable refuses signatures or attestations (field) of an image that has
// no manifest digest they could name.
func (v *validator) signable(p, field string, img Image) {
	switch {
	case img.Missing:
		v.add(p, "a missing tag has no manifest to sign; remove %s or missing", field)
	case img.Malformed != "":
		v.add(p, "a malformed manifest has no digest a signature could name; remove %s or malformed", field)
	}
}

func (v *validator) add(path, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Field: path, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) image(p string, img Image) {
	repo, tag, ok := splitRef(img.Ref)
	switch {
	case img.Ref == "":
		v.add(p+".ref", `want "repository:tag" such as team/app:v1, got nothing`)
	case strings.Contains(img.Ref, "@"):
		v.add(p+".ref", `want "repository:tag" (digests are computed, not chosen), got %q`, img.Ref)
	case !ok:
		v.add(p+".ref", `want "repository:tag" such as team/app:v1, got %q (no tag)`, img.Ref)
	case !repoPattern.MatchString(repo):
		v.add(p+".ref", "want a repository name (lower case, [a-z0-9._-] separated by /), got %q", repo)
	case !tagPattern.MatchString(tag):
		v.add(p+".ref", "want a tag of [A-Za-z0-9_.-] (at most 128, not starting with . or -), got %q", tag)
	}
	switch {
	case img.Format == FormatSchema1:
		if len(img.Platforms) > 0 || img.Malformed != "" || len(img.Signatures) > 0 || len(img.Attestations) > 0 || img.ConfigFile != nil || img.LayerMediaType != "" || img.MediaType != "" {
			v.add(p+".format", "a schema 1 manifest has no platforms, malformed, signatures, attestations, configFile, layerMediaType or mediaType")
		}
	case img.Format != "" && !slices.Contains(img.Format.Values(), string(img.Format)):
		v.add(p+".format", "want %s, got %q", oneOf(img.Format.Values(), true), img.Format)
	}
	if img.Missing {
		var set []string
		if img.Config.hasFields() {
			set = append(set, "config")
		}
		if img.ConfigFile != nil {
			set = append(set, "configFile")
		}
		if len(img.PlatformConfigFiles) > 0 {
			set = append(set, "platformConfigFiles")
		}
		if img.LayerMediaType != "" {
			set = append(set, "layerMediaType")
		}
		if img.MediaType != "" {
			set = append(set, "mediaType")
		}
		if len(img.Annotations) > 0 {
			set = append(set, "annotations")
		}
		if len(img.Layers) > 0 {
			set = append(set, "layers")
		}
		if len(img.Platforms) > 0 {
			set = append(set, "platforms")
		}
		if img.Malformed != "" {
			set = append(set, "malformed")
		}
		if len(set) > 0 {
			v.add(p+".missing", "a missing tag has no content, but %s set", strings.Join(set, ", "))
		}
	}
	if img.Config.Created != "" {
		if _, err := time.Parse(time.RFC3339, img.Config.Created); err != nil {
			v.add(p+".config.created", "want an RFC 3339 time such as 2024-01-02T03:04:05Z, got %q", img.Config.Created)
		}
	}
	for i, size := range img.Layers {
		if size < 0 {
			v.add(fmt.Sprintf("%s.layers[%d]", p, i), "want a size in bytes >= 0, got %d", size)
		}
	}
	seen := map[string]int{}
	for i, pl := range img.Platforms {
		pp := fmt.Sprintf("%s.platforms[%d]", p, i)
		parts := strings.Split(pl, "/")
		if len(parts) < 2 || len(parts) > 3 || slicesContainEmpty(parts) {
			v.add(pp, `want "os/architecture[/variant]" such as linux/arm64, got %q`, pl)
		}
		if j, dup := seen[pl]; dup {
			v.add(pp, "duplicate of platforms[%d] %q", j, pl)
		}
		seen[pl] = i
	}
	for _, pl := range sortedKeys(img.PlatformConfigFiles) {
		if _, ok := seen[pl]; !ok {
			v.add(p+".platformConfigFiles."+pl, "want one of platforms %v, got %q", img.Platforms, pl)
		}
	}
	if img.LayerMediaType != "" && len(img.Layers) == 0 && !img.Missing {
		v.add(p+".layerMediaType", "the image has no layers to give it; declare layers (sizes in bytes)")
	}
	for _, f := range []struct{ field, value string }{{"layerMediaType", img.LayerMediaType}, {"mediaType", img.MediaType}} {
		if f.value != "" && !mediaTypePattern.MatchString(f.value) {
			v.add(p+"."+f.field, `want a media type "type/subtype" such as application/vnd.oci.image.layer.v1.tar+zstd, got %q`, f.value)
		}
	}
	if img.MediaType != "" && img.Malformed == MalformedMediaType {
		v.add(p+".mediaType", "malformed: mediatype sets the media type already; remove one")
	}
	if len(img.Platforms) > 0 && (img.Config.OS != "" || img.Config.Architecture != "") {
		v.add(p+".config", "os/architecture come from platforms for an index; remove config.os and config.architecture")
	}
	switch {
	case img.Malformed == "":
	case slices.Contains(img.Malformed.Values(), string(img.Malformed)):
		if len(img.Platforms) > 0 {
			v.add(p+".malformed", "a malformed manifest is a single-platform image; remove platforms")
		}
	default:
		v.add(p+".malformed", "want %s, got %q", oneOf(img.Malformed.Values(), false), img.Malformed)
	}
	v.json(p+".configFile", img.ConfigFile)
	for _, pl := range sortedKeys(img.PlatformConfigFiles) {
		v.json(p+".platformConfigFiles."+pl, img.PlatformConfigFiles[pl])
	}
	v.auth(p+".auth", img.Auth)
	v.fault(p+".fault", img.Fault, false)
}

// json refuses what a JSON object field (configFile, a predicate) holds
// that encoding/json cannot write, which Start would fail on: a mapping
// key that is not a string (yaml.v3 decodes {1: x} with an integer key)
// and NaN or an infinity (.nan, .inf).
func (v *validator) json(p string, val any) {
	switch val := val.(type) {
	case map[string]any:
		for _, k := range sortedKeys(val) {
			v.json(p+"."+k, val[k])
		}
	case map[any]any:
		keys := make([]string, 0, len(val))
		for k := range val {
			switch k.(type) {
			case string:
			case nil:
				keys = append(keys, "null")
			default:
				keys = append(keys, fmt.Sprint(k))
			}
		}
		if len(keys) == 0 {
			// Every key is a string, but a tag (!t a: 1) made yaml.v3
			// decode the mapping as map[any]any, which JSON cannot encode.
			v.add(p, "want a JSON object, got a mapping whose keys carry YAML tags; remove the tags")
			return
		}
		slices.Sort(keys)
		v.add(p, "want a string key, got %s (JSON object keys are strings; quote it)", keys[0])
	case []any:
		for i, e := range val {
			v.json(fmt.Sprintf("%s[%d]", p, i), e)
		}
	case float64:
		if math.IsNaN(val) || math.IsInf(val, 0) {
			v.add(p, "want a JSON number, got %v (JSON has no NaN or infinity)", val)
		}
	}
}

func (c ImageConfig) hasFields() bool {
	return c.User != "" || len(c.Env) > 0 || len(c.Labels) > 0 || len(c.Volumes) > 0 ||
		len(c.Entrypoint) > 0 || len(c.Cmd) > 0 || c.WorkingDir != "" || c.Created != "" ||
		c.OS != "" || c.Architecture != ""
}

func slicesContainEmpty(ss []string) bool {
	for _, s := range ss {
		if s == "" {
			return true
		}
	}
	return false
}

func (v *validator) auth(p string, a *Auth) {
	if a == nil {
		return
	}
	switch {
	case a.Type == "":
		v.add(p+".type", "want %s, got nothing", oneOf(a.Type.Values(), false))
	case !slices.Contains(a.Type.Values(), string(a.Type)):
		v.add(p+".type", "want %s, got %q", oneOf(a.Type.Values(), false), a.Type)
	}
	if a.Username == "" {
		v.add(p+".username", "want the user name clients must present, got nothing")
	}
	if strings.Contains(a.Username, ":") {
		v.add(p+".username", "a user name cannot contain ':' (HTTP Basic separates it from the password)")
	}
	if a.Password == "" {
		v.add(p+".password", "want the password clients must present, got nothing")
	}
	if a.TokenTTL < 0 {
		v.add(p+".tokenTTL", "want a duration >= 0, got %s", time.Duration(a.TokenTTL))
	}
	if a.TokenTTL != 0 && a.Type != AuthBearer {
		v.add(p+".tokenTTL", "only a bearer auth issues tokens; type is %q", a.Type)
	}
}

func (v *validator) fault(p string, f *Fault, ping bool) {
	if f == nil {
		return
	}
	if f.Status != 0 && (f.Status < 400 || f.Status > 599 || http.StatusText(f.Status) == "") {
		v.add(p+".status", "want an HTTP error status (400-599) such as 403, 429, 500 or 503, got %d", f.Status)
	}
	if f.Status == 0 && f.Delay == 0 && f.Corrupt == "" {
		v.add(p, "a fault needs a status, a delay or corrupt")
	}
	if f.Corrupt != "" && !slices.Contains(f.Corrupt.Values(), string(f.Corrupt)) {
		v.add(p+".corrupt", "want %s, got %q", oneOf(f.Corrupt.Values(), false), f.Corrupt)
	}
	if f.Corrupt != "" && f.Status != 0 {
		v.add(p+".corrupt", "a corrupt response is a served one; remove status")
	}
	if f.Corrupt != "" && ping {
		v.add(p+".corrupt", "GET /v2/ has no content to corrupt")
	}
	if f.Status == 0 && (f.Body != "" || f.EmptyBody) {
		v.add(p+".body", "a body needs a status")
	}
	if f.Body != "" && f.EmptyBody {
		v.add(p+".emptyBody", "set either body or emptyBody, not both")
	}
	if f.Times < 0 {
		v.add(p+".times", "want a count >= 0 (0 means always), got %d", f.Times)
	}
	if f.Delay < 0 {
		v.add(p+".delay", "want a duration >= 0, got %s", time.Duration(f.Delay))
	}
	if ping {
		if f.On != "" && f.On != OnPing {
			v.add(p+".on", "the ping fault applies to GET /v2/ only; want %q or nothing, got %q", OnPing, f.On)
		}
		return
	}
	repositoryTargets := slices.DeleteFunc(f.On.Values(), func(t string) bool { return t == string(OnPing) })
	switch {
	case f.On == OnPing:
		v.add(p+".on", "GET /v2/ names no repository; put a ping fault under the top-level ping: key")
	case f.On != "" && !slices.Contains(repositoryTargets, string(f.On)):
		v.add(p+".on", "want %s, got %q", oneOf(repositoryTargets, true), f.On)
	}
}

// oneOf lists values as the checks' messages do: "a", "b" or "c", the
// first marked "(default)" when def.
func oneOf(values []string, def bool) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = strconv.Quote(v)
	}
	if def && len(q) > 0 {
		q[0] += " (default)"
	}
	if len(q) < 2 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
