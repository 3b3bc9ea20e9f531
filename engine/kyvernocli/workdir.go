package kyvernocli

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/imagectx/conformance/engine"
)

// systemCABundles are the files Go's crypto/x509 reads on Linux when
// SSL_CERT_FILE is unset; setting SSL_CERT_FILE replaces them, so the
// driver's bundle starts with the first one that exists.
var systemCABundles = []string{
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/ssl/ca-bundle.pem",
	"/etc/pki/tls/cacert.pem",
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
	"/etc/ssl/cert.pem",
}

// dockerConfig is the subset of ~/.docker/config.json that
// go-containerregistry's default keychain reads.
type dockerConfig struct {
	Auths map[string]dockerAuth `json:"auths"`
}

type dockerAuth struct {
	Auth string `json:"auth"`
}

// dockerConfigJSON renders credentials as a docker config.json. Two
// credentials for one registry are an error: a keychain holds one login
// per host, and picking one silently would hide a scenario mistake.
func dockerConfigJSON(creds []engine.Credential) ([]byte, error) {
	cfg := dockerConfig{Auths: map[string]dockerAuth{}}
	for i, c := range creds {
		if c.Registry == "" {
			return nil, fmt.Errorf("registry credential %d: field Registry: empty, expected host:port", i)
		}
		if _, dup := cfg.Auths[c.Registry]; dup {
			return nil, fmt.Errorf("registry credential %d: a second login for %s; a docker config holds one per registry", i, c.Registry)
		}
		cfg.Auths[c.Registry] = dockerAuth{Auth: base64.StdEncoding.EncodeToString([]byte(c.Username + ":" + c.Password))}
	}
	return json.MarshalIndent(cfg, "", "  ")
}

// caBundle returns the system roots followed by the given CA certificates,
// each checked to be PEM.
func caBundle(extra [][]byte) ([]byte, error) {
	var buf bytes.Buffer
	for _, path := range systemCABundles {
		data, err := os.ReadFile(path)
		if err == nil {
			buf.Write(data)
			if len(data) > 0 && data[len(data)-1] != '\n' {
				buf.WriteByte('\n')
			}
			break
		}
	}
	for i, ca := range extra {
		block, _ := pem.Decode(ca)
		if block == nil || block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("CA certificate %d: expected a PEM CERTIFICATE block", i)
		}
		buf.Write(ca)
		if len(ca) > 0 && ca[len(ca)-1] != '\n' {
			buf.WriteByte('\n')
		}
	}
	return buf.Bytes(), nil
}

// workdir is the per-run temporary tree: HOME, DOCKER_CONFIG, the CA
// bundle and the policy/resource files. Remove deletes all of it.
type workdir struct {
	Root string
}

func newWorkdir(parent string) (*workdir, error) {
	root, err := os.MkdirTemp(parent, "kyvernocli-")
	if err != nil {
		return nil, fmt.Errorf("create work dir: %w", err)
	}
	for _, sub := range []string{"home", "docker", "policies", "resources", "tmp"} {
		if err := os.Mkdir(filepath.Join(root, sub), 0o700); err != nil {
			_ = os.RemoveAll(root)
			return nil, fmt.Errorf("create work dir: %w", err)
		}
	}
	return &workdir{Root: root}, nil
}

func (w *workdir) path(parts ...string) string {
	return filepath.Join(append([]string{w.Root}, parts...)...)
}

func (w *workdir) Remove() error { return os.RemoveAll(w.Root) }

// writeFile writes a file only the current user can read: the docker
// config holds passwords.
func (w *workdir) writeFile(data []byte, parts ...string) (string, error) {
	p := w.path(parts...)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", p, err)
	}
	return p, nil
}

// env builds the CLI's whole environment: hermetic HOME and DOCKER_CONFIG,
// the CA bundle when CAs are given, and the caller's extra variables. The
// parent's environment is not inherited, so a developer's docker logins or
// kubeconfig cannot change a result.
func (w *workdir) env(reg engine.RegistryConfig, extra map[string]string) ([]string, error) {
	cfg, err := dockerConfigJSON(reg.Credentials)
	if err != nil {
		return nil, err
	}
	if _, err := w.writeFile(cfg, "docker", "config.json"); err != nil {
		return nil, err
	}
	vars := map[string]string{
		"HOME":          w.path("home"),
		"DOCKER_CONFIG": w.path("docker"),
		"TMPDIR":        w.path("tmp"),
		"PATH":          "/usr/local/bin:/usr/bin:/bin",
		// KUBECONFIG points nowhere: apply must not reach a cluster.
		"KUBECONFIG": w.path("home", "no-kubeconfig"),
	}
	if len(reg.CACertsPEM) > 0 {
		bundle, err := caBundle(reg.CACertsPEM)
		if err != nil {
			return nil, err
		}
		p, err := w.writeFile(bundle, "ca-bundle.pem")
		if err != nil {
			return nil, err
		}
		vars["SSL_CERT_FILE"] = p
	}
	if reg.Proxy != "" {
		// The CLI's registry transport uses http.ProxyFromEnvironment;
		// NO_PROXY stays unset (loopback is never proxied anyway).
		vars["HTTPS_PROXY"] = reg.Proxy
		vars["HTTP_PROXY"] = reg.Proxy
	}
	for k, v := range extra {
		vars[k] = v
	}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	env := make([]string, 0, len(keys))
	for _, k := range keys {
		env = append(env, k+"="+vars[k])
	}
	return env, nil
}
