// Package registry gives Kyverno's engine the registry access of one
// engine.Request, where the Kyverno CLI would read the process environment:
// the request's docker-config logins stand in for go-containerregistry's
// authn.DefaultKeychain (DOCKER_CONFIG), its secrets for a cluster's Secret
// lister, its CA certificates for SSL_CERT_FILE, its proxy for HTTPS_PROXY. Each request has its own,
// so concurrent evaluations never share credentials or trust.
//
// Clients come from Kyverno v1.19.1's own factories.DefaultRegistryClientFactory
// wherever it can take the request's inputs: the default client (the
// request's docker-config logins, or its --imagePullSecrets Secrets) and
// every imageRegistryCredentials or image pull secrets client that reads
// neither the docker config nor a request's own CAs or proxy. For those two,
// which Kyverno reads from the process (authn.DefaultKeychain, kyverno/sdk's
// DefaultTransport), this package builds the client Kyverno's factory would:
//   - no imageRegistryCredentials and no image pull secrets: the docker config;
//   - imageRegistryCredentials: its secrets (resolved in Kyverno's namespace,
//     "kyverno" by default; "/name" is the same; "ns/name" names the
//     namespace) and image pull secrets (in the resource's namespace), when a
//     lister exists, then its providers in Kyverno's order (default, google,
//     amazon, azure, github; "default" is the docker config); with none of
//     these, the docker config.
//
// So `providers: [github]` alone never reads the docker config, as in v1.19.1.
// The scenarios in scenarios/credentials hold both this package and the real
// CLI to that.
package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	gcrremote "github.com/google/go-containerregistry/pkg/v1/remote"
	kyvernov1 "github.com/kyverno/kyverno/api/kyverno/v1"
	"github.com/kyverno/kyverno/pkg/config"
	"github.com/kyverno/kyverno/pkg/engine/adapters"
	engineapi "github.com/kyverno/kyverno/pkg/engine/api"
	"github.com/kyverno/kyverno/pkg/engine/factories"
	"github.com/kyverno/sdk/extensions/regcreds"
	"golang.org/x/net/http/httpproxy"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/imagectx/conformance/engine"
)

// Factory is an engineapi.RegistryClientFactory for one request.
type Factory struct {
	dockerConfig authn.Keychain
	// globalKeychain is what an entry without imageRegistryCredentials
	// presents: the docker config, or the --imagePullSecrets Secrets.
	globalKeychain authn.Keychain
	secrets        corev1listers.SecretLister // nil when the request has no secrets, as in the CLI
	transport      http.RoundTripper
	global         engineapi.RegistryClient
	// kyverno is Kyverno's own factory over global and secrets.
	kyverno engineapi.RegistryClientFactory
}

var _ engineapi.RegistryClientFactory = (*Factory)(nil)

// NewFactory builds the registry access of cfg. Errors: a CA that holds no
// PEM certificate, a secret name with more than one "/".
func NewFactory(cfg engine.RegistryConfig) (*Factory, error) {
	f := &Factory{dockerConfig: dockerConfig(cfg.Credentials), transport: regcreds.DefaultTransport}
	if len(cfg.CACertsPEM) > 0 || (cfg.Proxy != "" && !processProxy(cfg.Proxy)) {
		// Kyverno's transport (timeouts, proxy from the environment) with
		// the request's CAs added to the system pool and its proxy in place
		// of the environment's.
		t := regcreds.DefaultTransport.Clone()
		if len(cfg.CACertsPEM) > 0 {
			pool, err := x509.SystemCertPool()
			if err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
			for i, pem := range cfg.CACertsPEM {
				if !pool.AppendCertsFromPEM(pem) {
					return nil, fmt.Errorf("registry CA certificate %d: no PEM certificate found", i)
				}
			}
			t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
		if cfg.Proxy != "" {
			// What HTTPS_PROXY=cfg.Proxy gives http.ProxyFromEnvironment
			// (same package, same rules: loopback is never proxied).
			proxyFor := (&httpproxy.Config{HTTPSProxy: cfg.Proxy, HTTPProxy: cfg.Proxy}).ProxyFunc()
			t.Proxy = func(r *http.Request) (*url.URL, error) { return proxyFor(r.URL) }
		}
		f.transport = t
	}
	if len(cfg.Secrets) > 0 || len(cfg.ImagePullSecrets) > 0 {
		lister, err := secretLister(cfg.Secrets, watchedNamespaces(cfg.ImagePullSecrets))
		if err != nil {
			return nil, err
		}
		f.secrets = lister
	}
	f.globalKeychain = f.dockerConfig
	if len(cfg.ImagePullSecrets) > 0 {
		// kyverno/sdk's registryclient.New with --imagePullSecrets and no
		// --registryCredentialHelpers: those Secrets only.
		f.globalKeychain = regcreds.NewSecretsKeychain(f.secrets, config.KyvernoNamespace(),
			prefixNamespace(cfg.ImagePullSecrets, config.KyvernoNamespace())...)
	}
	f.global = f.client(f.globalKeychain, false)
	f.kyverno = factories.DefaultRegistryClientFactory(f.global, f.secrets)
	return f, nil
}

// processProxy reports whether the process's environment already names
// proxy for both schemes (http.ProxyFromEnvironment, which Kyverno's
// DefaultTransport reads): then that transport is what the request asks.
func processProxy(proxy string) bool {
	for _, scheme := range []string{"https", "http"} {
		u, err := http.ProxyFromEnvironment(&http.Request{URL: &url.URL{Scheme: scheme, Host: "imagectx.invalid"}})
		if err != nil || u == nil || u.String() != proxy {
			return false
		}
	}
	return true
}

// watchedNamespaces are the namespaces whose Secrets v1.19.1's controllers
// can read: Kyverno's own and each one --imagePullSecrets names (one
// Secret informer each, cmd/internal setupRegistryClient); a Secret
// elsewhere is not found.
func watchedNamespaces(imagePullSecrets []string) map[string]bool {
	out := map[string]bool{config.KyvernoNamespace(): true}
	for _, ref := range prefixNamespace(imagePullSecrets, config.KyvernoNamespace()) {
		ns, _, _ := strings.Cut(ref, "/")
		out[ns] = true
	}
	return out
}

// RemoteOptions are the go-containerregistry options of the request's
// default client (its docker-config logins, or its --imagePullSecrets, its transport, Kyverno's user
// agent, ctx): what kyverno/sdk's registryclient.GlobalOptsOrDefault gives
// Kyverno's CEL image-data loader in the controllers.
func (f *Factory) RemoteOptions(ctx context.Context) []gcrremote.Option {
	return []gcrremote.Option{
		gcrremote.WithAuthFromKeychain(f.globalKeychain),
		gcrremote.WithTransport(f.transport),
		gcrremote.WithContext(ctx),
		gcrremote.WithUserAgent(regcreds.KyvernoUserAgent),
	}
}

// SecretLister holds the request's Secrets (engine.RegistryConfig.Secrets);
// nil when it has none.
func (f *Factory) SecretLister() corev1listers.SecretLister { return f.secrets }

// Close releases the idle connections of a request's own transport.
func (f *Factory) Close() {
	if t, ok := f.transport.(*http.Transport); ok && t != regcreds.DefaultTransport {
		t.CloseIdleConnections()
	}
}

// GetClient implements engineapi.RegistryClientFactory. It is Kyverno's own
// factories.DefaultRegistryClientFactory (given the request's default
// client and Secret lister) whenever that factory can serve the request:
// every call without imageRegistryCredentials or image pull secrets (it
// returns the default client), and every other call whose client needs
// neither the request's transport (CAs, proxy: Kyverno's clients use
// kyverno/sdk's DefaultTransport) nor the docker config (Kyverno's clients
// read the process's, authn.DefaultKeychain). Those two are answered by
// this package's client, built the same way (see ownClient).
func (f *Factory) GetClient(ctx context.Context, creds *kyvernov1.ImageRegistryCredentials, resourceNamespace string, pullSecrets []string) (engineapi.RegistryClient, error) {
	if f.kyvernoServes(creds, pullSecrets) {
		return f.kyverno.GetClient(ctx, creds, resourceNamespace, pullSecrets)
	}
	return f.ownClient(creds, resourceNamespace, pullSecrets), nil
}

// kyvernoServes reports whether Kyverno's factory gives the client this
// request's registry access asks for (see GetClient).
func (f *Factory) kyvernoServes(creds *kyvernov1.ImageRegistryCredentials, pullSecrets []string) bool {
	if creds == nil && len(pullSecrets) == 0 {
		return true
	}
	if f.transport != regcreds.DefaultTransport {
		return false
	}
	secrets := len(pullSecrets) > 0
	var providers []kyvernov1.ImageRegistryCredentialsProvidersType
	if creds != nil {
		secrets = secrets || len(creds.Secrets) > 0
		providers = creds.Providers
	}
	// kyverno/sdk's registryclient.New falls back to authn.DefaultKeychain
	// when it builds no keychain, and "default" is that keychain too.
	readsDockerConfig := slices.Contains(providers, kyvernov1.DEFAULT) ||
		(len(providers) == 0 && (!secrets || f.secrets == nil))
	return !readsDockerConfig
}

// ownClient is what Kyverno's factory would build, with the request's
// transport and docker-config logins in place of the process's.
func (f *Factory) ownClient(creds *kyvernov1.ImageRegistryCredentials, resourceNamespace string, pullSecrets []string) engineapi.RegistryClient {
	if resourceNamespace == "" {
		resourceNamespace = config.KyvernoNamespace()
	}
	var secrets []string
	var providers []string
	insecure := false
	if creds != nil {
		insecure = creds.AllowInsecureRegistry
		if f.secrets != nil {
			secrets = prefixNamespace(creds.Secrets, config.KyvernoNamespace())
		}
		for _, p := range creds.Providers {
			providers = append(providers, string(p))
		}
	}
	secrets = append(secrets, prefixNamespace(pullSecrets, resourceNamespace)...)
	var kcs []authn.Keychain
	if len(secrets) > 0 && f.secrets != nil {
		kcs = append(kcs, regcreds.NewSecretsKeychain(f.secrets, resourceNamespace, secrets...))
	}
	if slices.Contains(providers, string(kyvernov1.DEFAULT)) {
		kcs = append(kcs, f.dockerConfig)
	}
	others := slices.DeleteFunc(slices.Clone(providers), func(p string) bool { return p == string(kyvernov1.DEFAULT) })
	if len(others) > 0 {
		kcs = append(kcs, regcreds.KeychainsForProviders(others...)...)
	}
	if len(kcs) == 0 {
		kcs = []authn.Keychain{f.dockerConfig}
	}
	return f.client(authn.NewMultiKeychain(kcs...), insecure)
}

func prefixNamespace(secrets []string, namespace string) []string {
	out := make([]string, 0, len(secrets))
	for _, s := range secrets {
		s = strings.TrimPrefix(s, "/")
		if !strings.Contains(s, "/") {
			s = namespace + "/" + s
		}
		out = append(out, s)
	}
	return out
}

func (f *Factory) client(kc authn.Keychain, insecure bool) engineapi.RegistryClient {
	return adapters.RegistryClient(&client{keychain: kc, transport: f.transport, insecure: insecure})
}

// client is kyverno/sdk's registryclient.Client with the request's keychain
// and transport (the SDK's has no transport option). Its messages are the
// SDK's.
type client struct {
	keychain  authn.Keychain
	transport http.RoundTripper
	insecure  bool
}

func (c *client) Keychain() authn.Keychain { return c.keychain }

func (c *client) NameOptions() []name.Option {
	if c.insecure {
		return []name.Option{name.Insecure}
	}
	return nil
}

func (c *client) Options(ctx context.Context) ([]gcrremote.Option, []name.Option, error) {
	opts := []gcrremote.Option{
		gcrremote.WithAuthFromKeychain(c.keychain),
		gcrremote.WithTransport(c.transport),
		gcrremote.WithContext(ctx),
		gcrremote.WithUserAgent(regcreds.KyvernoUserAgent),
	}
	pusher, err := gcrremote.NewPusher(opts...)
	if err != nil {
		return nil, nil, err
	}
	opts = append(opts, gcrremote.Reuse(pusher))
	puller, err := gcrremote.NewPuller(opts...)
	if err != nil {
		return nil, nil, err
	}
	return append(opts, gcrremote.Reuse(puller)), c.NameOptions(), nil
}

func (c *client) FetchImageDescriptor(ctx context.Context, imageRef string) (*gcrremote.Descriptor, error) {
	ref, err := name.ParseReference(imageRef, c.NameOptions()...)
	if err != nil {
		return nil, fmt.Errorf("failed to parse image reference: %s, error: %w", imageRef, err)
	}
	opts, _, err := c.Options(ctx)
	if err != nil {
		return nil, fmt.Errorf("failed to get gcr remote opts: %s, error: %w", imageRef, err)
	}
	desc, err := gcrremote.Get(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("failed to fetch image reference: %s, error: %w", imageRef, err)
	}
	if _, ok := ref.(name.Digest); ok && ref.Identifier() != desc.Digest.String() {
		return nil, fmt.Errorf("digest mismatch, expected: %s, received: %s", ref.Identifier(), desc.Digest.String())
	}
	return desc, nil
}

// dockerConfig is a keychain over docker-config logins, matched the way
// go-containerregistry's DefaultKeychain matches config.json keys: by
// registry host[:port], Docker Hub under its legacy key.
type dockerConfigKeychain map[string]authn.AuthConfig

func dockerConfig(creds []engine.Credential) authn.Keychain {
	kc := dockerConfigKeychain{}
	for _, c := range creds {
		kc[c.Registry] = authn.AuthConfig{Username: c.Username, Password: c.Password}
	}
	return kc
}

func (kc dockerConfigKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	key := target.RegistryStr()
	cfg, ok := kc[key]
	if !ok && key == name.DefaultRegistry {
		cfg, ok = kc[authn.DefaultAuthKey]
	}
	if !ok {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(cfg), nil
}

// secretLister holds one kubernetes.io/dockerconfigjson Secret per name
// ("name" is in Kyverno's namespace, "namespace/name" in its own) whose
// namespace is watched; the others are left out, as Kyverno's informers
// never see them.
func secretLister(secrets map[string][]engine.Credential, watched map[string]bool) (corev1listers.SecretLister, error) {
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for ref, creds := range secrets {
		namespace, secretName, found := strings.Cut(strings.TrimPrefix(ref, "/"), "/")
		if !found {
			namespace, secretName = config.KyvernoNamespace(), namespace
		}
		if secretName == "" || strings.Contains(secretName, "/") {
			return nil, fmt.Errorf("registry secret %q: want \"name\" or \"namespace/name\"", ref)
		}
		if !watched[namespace] {
			continue
		}
		auths := map[string]any{}
		for _, c := range creds {
			auths[c.Registry] = map[string]string{
				"username": c.Username, "password": c.Password,
				"auth": base64.StdEncoding.EncodeToString([]byte(c.Username + ":" + c.Password)),
			}
		}
		data, err := json.Marshal(map[string]any{"auths": auths})
		if err != nil {
			return nil, fmt.Errorf("registry secret %q: %w", ref, err)
		}
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: secretName},
			Type:       corev1.SecretTypeDockerConfigJson,
			Data:       map[string][]byte{corev1.DockerConfigJsonKey: data},
		}
		if err := indexer.Add(s); err != nil {
			return nil, fmt.Errorf("registry secret %q: %w", ref, err)
		}
	}
	return corev1listers.NewSecretLister(indexer), nil
}
