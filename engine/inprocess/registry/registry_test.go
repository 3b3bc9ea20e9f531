package registry

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	kyvernov1 "github.com/kyverno/kyverno/api/kyverno/v1"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/fakeregistry"
)

func TestDockerConfigKeychain(t *testing.T) {
	kc := dockerConfig([]engine.Credential{
		{Registry: "127.0.0.1:5000", Username: "alice", Password: "a"},
		{Registry: authn.DefaultAuthKey, Username: "bob", Password: "b"},
	})
	for _, tc := range []struct{ repo, user string }{
		{"127.0.0.1:5000/team/app", "alice"},
		{"127.0.0.1:5001/team/app", ""},
		{"nginx", "bob"}, // Docker Hub's legacy config.json key
	} {
		repo, err := name.NewRepository(tc.repo)
		if err != nil {
			t.Fatal(err)
		}
		auth, err := kc.Resolve(repo)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := auth.Authorization()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Username != tc.user {
			t.Errorf("%s: user %q, want %q", tc.repo, cfg.Username, tc.user)
		}
	}
}

func TestSecretNames(t *testing.T) {
	if _, err := NewFactory(engine.RegistryConfig{Secrets: map[string][]engine.Credential{"a/b/c": nil}}); err == nil ||
		!strings.Contains(err.Error(), `registry secret "a/b/c": want "name" or "namespace/name"`) {
		t.Errorf("a/b/c: error = %v", err)
	}
	secrets := map[string][]engine.Credential{"regcred": nil, "/other": nil, "team/third": nil}
	f, err := NewFactory(engine.RegistryConfig{Secrets: secrets, ImagePullSecrets: []string{"team/global"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range [][2]string{{"kyverno", "regcred"}, {"kyverno", "other"}, {"team", "third"}} {
		if _, err := f.secrets.Secrets(ref[0]).Get(ref[1]); err != nil {
			t.Errorf("secret %s/%s: %v", ref[0], ref[1], err)
		}
	}
	// v1.19.1's default flags: only Kyverno's namespace is watched.
	f, err = NewFactory(engine.RegistryConfig{Secrets: secrets})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.secrets.Secrets("team").Get("third"); err == nil {
		t.Errorf("secret team/third found without --imagePullSecrets naming namespace team; Kyverno watches only its own namespace then")
	}
	if _, err := f.secrets.Secrets("kyverno").Get("regcred"); err != nil {
		t.Errorf("secret kyverno/regcred: %v", err)
	}
}

// TestImagePullSecretsAreTheGlobalLogin: with --imagePullSecrets, an entry
// without imageRegistryCredentials presents those Secrets, not the docker
// config (kyverno/sdk registryclient.New without credential helpers).
func TestImagePullSecretsAreTheGlobalLogin(t *testing.T) {
	repo, err := name.NewRepository("127.0.0.1:5000/team/app")
	if err != nil {
		t.Fatal(err)
	}
	docker := []engine.Credential{{Registry: "127.0.0.1:5000", Username: "docker", Password: "pw"}}
	secrets := map[string][]engine.Credential{"global": {{Registry: "127.0.0.1:5000", Username: "secret", Password: "pw"}}}
	for _, tc := range []struct {
		name string
		cfg  engine.RegistryConfig
		want string
	}{
		{"default flags", engine.RegistryConfig{Credentials: docker, Secrets: secrets}, "docker"},
		{"--imagePullSecrets=global", engine.RegistryConfig{Credentials: docker, Secrets: secrets, ImagePullSecrets: []string{"global"}}, "secret"},
		{"--imagePullSecrets names a missing Secret", engine.RegistryConfig{Credentials: docker, ImagePullSecrets: []string{"missing"}}, ""},
	} {
		f, err := NewFactory(tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		auth, err := f.globalKeychain.Resolve(repo)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := auth.Authorization()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Username != tc.want {
			t.Errorf("%s: global login %q, want %q", tc.name, cfg.Username, tc.want)
		}
	}
}

// TestProvidersDecideTheDockerConfig pulls a private image with the docker
// config's login under each imageRegistryCredentials shape.
func TestProvidersDecideTheDockerConfig(t *testing.T) {
	srv := privateRegistry(t)
	f, err := NewFactory(engine.RegistryConfig{Credentials: []engine.Credential{{Registry: srv.Addr(), Username: "alice", Password: "pw"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		creds *kyvernov1.ImageRegistryCredentials
		ok    bool
	}{
		{"none", nil, true},
		{"empty", &kyvernov1.ImageRegistryCredentials{}, true},
		{"default", &kyvernov1.ImageRegistryCredentials{Providers: []kyvernov1.ImageRegistryCredentialsProvidersType{kyvernov1.DEFAULT}}, true},
		{"github", &kyvernov1.ImageRegistryCredentials{Providers: []kyvernov1.ImageRegistryCredentialsProvidersType{kyvernov1.GHCR}}, false},
		{"secrets without a lister", &kyvernov1.ImageRegistryCredentials{Secrets: []string{"regcred"}}, true},
	} {
		c, err := f.GetClient(context.Background(), tc.creds, "default", nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.ForRef(context.Background(), srv.Addr()+"/team/app:v1")
		if (err == nil) != tc.ok {
			t.Errorf("%s: ForRef error = %v, want success %v", tc.name, err, tc.ok)
		}
	}
}

// TestKyvernoFactoryServesWhatItCan: which calls Kyverno's own
// DefaultRegistryClientFactory answers, and that its clients log in with
// the request's Secrets.
func TestKyvernoFactoryServesWhatItCan(t *testing.T) {
	srv := privateRegistry(t)
	secrets := map[string][]engine.Credential{"regcred": {{Registry: srv.Addr(), Username: "alice", Password: "pw"}}}
	f, err := NewFactory(engine.RegistryConfig{Secrets: secrets})
	if err != nil {
		t.Fatal(err)
	}
	withCA, err := NewFactory(engine.RegistryConfig{Secrets: secrets, Proxy: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	github := []kyvernov1.ImageRegistryCredentialsProvidersType{kyvernov1.GHCR}
	for _, tc := range []struct {
		name        string
		f           *Factory
		creds       *kyvernov1.ImageRegistryCredentials
		pullSecrets []string
		kyverno     bool
	}{
		{"no credentials", f, nil, nil, true},
		{"secrets", f, &kyvernov1.ImageRegistryCredentials{Secrets: []string{"regcred"}}, nil, true},
		{"image pull secrets", f, nil, []string{"kyverno/regcred"}, true},
		{"github", f, &kyvernov1.ImageRegistryCredentials{Providers: github}, nil, true},
		{"default provider reads the docker config", f, &kyvernov1.ImageRegistryCredentials{Providers: []kyvernov1.ImageRegistryCredentialsProvidersType{kyvernov1.DEFAULT}}, nil, false},
		{"empty credentials read the docker config", f, &kyvernov1.ImageRegistryCredentials{}, nil, false},
		{"the request's proxy", withCA, &kyvernov1.ImageRegistryCredentials{Secrets: []string{"regcred"}}, nil, false},
		{"the default client, with the request's proxy", withCA, nil, nil, true},
	} {
		if got := tc.f.kyvernoServes(tc.creds, tc.pullSecrets); got != tc.kyverno {
			t.Errorf("%s: Kyverno's factory serves it: %v, want %v", tc.name, got, tc.kyverno)
		}
	}
	c, err := f.GetClient(context.Background(), &kyvernov1.ImageRegistryCredentials{Secrets: []string{"regcred"}}, "default", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ForRef(context.Background(), srv.Addr()+"/team/app:v1"); err != nil {
		t.Errorf("Kyverno's client with Secret kyverno/regcred: %v", err)
	}
}

// privateRegistry serves team/app:v1 to alice (password pw) only.
func privateRegistry(t *testing.T) *fakeregistry.Server {
	t.Helper()
	srv, err := fakeregistry.Start(fakeregistry.Config{
		Images:       []fakeregistry.Image{{Ref: "team/app:v1"}},
		Repositories: []fakeregistry.Repository{{Name: "team/app", Auth: &fakeregistry.Auth{Type: fakeregistry.AuthBasic, Username: "alice", Password: "pw"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}
