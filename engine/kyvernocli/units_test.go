package kyvernocli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagectx/conformance/engine"
)

func TestDockerConfigJSON(t *testing.T) {
	tests := []struct {
		name    string
		creds   []engine.Credential
		want    map[string]string // registry -> decoded user:pass
		wantErr string
	}{
		{name: "none", want: map[string]string{}},
		{
			name: "two registries",
			creds: []engine.Credential{
				{Registry: "127.0.0.1:5000", Username: "alice", Password: "s3cr:et"},
				{Registry: "localhost:6000", Username: "bob", Password: "pw"},
			},
			want: map[string]string{"127.0.0.1:5000": "alice:s3cr:et", "localhost:6000": "bob:pw"},
		},
		{
			name:    "duplicate registry",
			creds:   []engine.Credential{{Registry: "r:1", Username: "a"}, {Registry: "r:1", Username: "b"}},
			wantErr: "a second login for r:1",
		},
		{name: "empty registry", creds: []engine.Credential{{Username: "a"}}, wantErr: "field Registry: empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := dockerConfigJSON(tt.creds)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var cfg struct {
				Auths map[string]struct {
					Auth string `json:"auth"`
				} `json:"auths"`
			}
			if err := json.Unmarshal(data, &cfg); err != nil {
				t.Fatalf("not JSON: %v", err)
			}
			if len(cfg.Auths) != len(tt.want) {
				t.Fatalf("auths = %d entries, want %d", len(cfg.Auths), len(tt.want))
			}
			for reg, want := range tt.want {
				got, err := base64.StdEncoding.DecodeString(cfg.Auths[reg].Auth)
				if err != nil || string(got) != want {
					t.Errorf("auths[%s] decodes to %q (%v), want %q", reg, got, err, want)
				}
			}
		})
	}
}

// selfSignedCA returns a fresh PEM certificate for the bundle tests.
func selfSignedCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kyvernocli test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), "\n")
}

func TestCABundle(t *testing.T) {
	testCA := selfSignedCA(t)
	bundle, err := caBundle([][]byte{[]byte(testCA)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(bundle), testCA+"\n") {
		t.Errorf("bundle does not end with the given CA and a newline")
	}
	for _, p := range systemCABundles {
		if sys, err := os.ReadFile(p); err == nil {
			if !strings.HasPrefix(string(bundle), string(sys)) {
				t.Errorf("bundle does not start with the system roots from %s", p)
			}
			break
		}
	}
	if _, err := caBundle([][]byte{[]byte("not pem")}); err == nil || !strings.Contains(err.Error(), "CA certificate 0: expected a PEM CERTIFICATE block") {
		t.Errorf("bad PEM: err = %v", err)
	}
}

func TestWorkdirEnvIsHermetic(t *testing.T) {
	testCA := selfSignedCA(t)
	t.Setenv("DOCKER_CONFIG", "/should/not/leak")
	t.Setenv("KUBECONFIG", "/should/not/leak")
	wd, err := newWorkdir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	env, err := wd.env(engine.RegistryConfig{
		Credentials: []engine.Credential{{Registry: "127.0.0.1:1", Username: "u", Password: "p"}},
		CACertsPEM:  [][]byte{[]byte(testCA)},
	}, map[string]string{"FLAG_ENABLE_DEFERRED_LOADING": "false"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = v
	}
	want := map[string]string{
		"HOME":                         wd.path("home"),
		"DOCKER_CONFIG":                wd.path("docker"),
		"SSL_CERT_FILE":                wd.path("ca-bundle.pem"),
		"FLAG_ENABLE_DEFERRED_LOADING": "false",
		"KUBECONFIG":                   wd.path("home", "no-kubeconfig"),
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	st, err := os.Stat(filepath.Join(wd.path("docker"), "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("config.json mode %v, want 0600", st.Mode().Perm())
	}
	if err := wd.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(wd.Root); !os.IsNotExist(err) {
		t.Errorf("work dir not removed: %v", err)
	}
}

func TestSplitDocuments(t *testing.T) {
	data := "# leading comment\n---\na: 1\n---\n# only a comment\n---\nb: 2\nc: 3\n--- # trailing\nd: 4\n"
	docs := splitDocuments(engine.Document{File: "x.yaml", Data: []byte(data)})
	var got []string
	for _, d := range docs {
		got = append(got, d.where()+"="+strings.TrimSpace(string(d.Data)))
	}
	want := []string{"x.yaml:3=a: 1", "x.yaml:7=b: 2\nc: 3", "x.yaml:10=d: 4"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestReadMetaErrors(t *testing.T) {
	tests := []struct{ data, want string }{
		{"kind: Pod\nmetadata: {name: a}\n", "x.yaml:4: field apiVersion: missing"},
		{"apiVersion: v1\nmetadata: {name: a}\n", "x.yaml:4: field kind: missing"},
		{"apiVersion: v1\nkind: Pod\n", "x.yaml:4: field metadata.name: missing"},
		{"apiVersion: v1\nkind: [\n", "x.yaml:4: not valid YAML"},
		{"- a\n- b\n", "x.yaml:4: expected a Kubernetes object"},
	}
	for _, tt := range tests {
		_, err := readMeta(yamlDoc{File: "x.yaml", Line: 4, Data: []byte(tt.data)})
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("readMeta(%q) = %v, want prefix %q", tt.data, err, tt.want)
		}
	}
}

func TestWritePoliciesOneFilePerDocument(t *testing.T) {
	wd, err := newWorkdir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer wd.Remove()
	pols, err := writePolicies(wd, []engine.Document{{File: "p.yaml", Data: []byte(
		"apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: a}\nspec:\n  rules:\n  - name: r1\n  - name: r2\n" +
			"---\napiVersion: kyverno.io/v1\nkind: Policy\nmetadata: {name: b, namespace: ns}\nspec:\n  rules:\n  - name: only\n")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(pols) != 2 || pols[0].Name != "a" || strings.Join(pols[0].Rules, ",") != "r1,r2" || pols[1].Namespace != "ns" || pols[1].Line != 9 {
		t.Fatalf("policies = %+v", pols)
	}
	if pols[0].Path == pols[1].Path {
		t.Fatal("two policies share one file")
	}
	_, err = writePolicies(wd, []engine.Document{
		{File: "a.yaml", Data: []byte("apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: dup}\n")},
		{File: "b.yaml", Data: []byte("apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: dup}\n")},
	})
	if err == nil || !strings.Contains(err.Error(), `policy b.yaml:1: name "dup" is also used at a.yaml:1`) {
		t.Errorf("duplicate name: err = %v", err)
	}
	_, err = writePolicies(wd, []engine.Document{{File: "c.yaml", Data: []byte("apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: c}\nspec:\n  rules:\n  - match: {}\n")}})
	if err == nil || !strings.Contains(err.Error(), "c.yaml:1: field spec.rules[0].name: missing") {
		t.Errorf("unnamed rule: err = %v", err)
	}
}

func TestNormalizeOperation(t *testing.T) {
	for in, want := range map[string]string{"": "CREATE", "update": "UPDATE", "DELETE": "DELETE"} {
		if got, err := normalizeOperation(in); err != nil || got != want {
			t.Errorf("normalizeOperation(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := normalizeOperation("PATCH"); err == nil || !strings.Contains(err.Error(), "expected CREATE, UPDATE or DELETE") {
		t.Errorf("PATCH: err = %v", err)
	}
}

func TestJudgeCEL(t *testing.T) {
	if got := judgeCEL("vX", 0, []string{`error: failed to get image data: Get "https://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused`}, nil); got != "" {
		t.Errorf("a lookup that reached the registry: %q, want supported", got)
	}
	fake := judgeCEL("vX", 0, []string{"error: failed to get image data: image data for 127.0.0.1:1/imagectx/probe:v1 not found in the context"}, nil)
	if !strings.Contains(fake, "fake CEL context") || !strings.Contains(fake, "not found in the context") {
		t.Errorf("the fake context: %q", fake)
	}
	if other := judgeCEL("vX", 2, nil, []byte("boom")); !strings.Contains(other, "neither reached the registry") || !strings.Contains(other, "exit 2") {
		t.Errorf("no result: %q", other)
	}
}
