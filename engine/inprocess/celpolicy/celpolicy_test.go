package celpolicy_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-billy/v5/memfs"
	clipolicy "github.com/kyverno/kyverno/cmd/cli/kubectl-kyverno/policy"
	engineapi "github.com/kyverno/kyverno/pkg/engine/api"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/inprocess/celpolicy"
	"github.com/imagectx/conformance/engine/inprocess/registry"
	"github.com/imagectx/conformance/fakeregistry"
)

// checkUser denies an image whose config runs as root, reading it with
// image.GetMetadata (the shape of scenarios/cel/files/sites.yaml).
const checkUser = `apiVersion: policies.kyverno.io/v1
kind: ValidatingPolicy
metadata:
  name: check-user
spec:
  validationActions: [Deny]
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE]
      resources: [pods]
  variables:
  - name: imageData
    expression: image.GetMetadata(object.spec.containers[0].image)
  validations:
  - expression: variables.imageData.config.config.User != 'root'
    message: image runs as root
`

func load(t *testing.T, doc string) celpolicy.Policies {
	t.Helper()
	fs := memfs.New()
	f, err := fs.Create("/p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte(doc)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	res, err := clipolicy.LoadWithLoader(nil, fs, "", "/p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return celpolicy.Policies{Validating: res.ValidatingPolicies, Mutating: res.MutatingPolicies, ImageValidating: res.ImageValidatingPolicies}
}

func pod(image string) unstructured.Unstructured {
	return unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "app", "namespace": "default"},
		"spec":     map[string]any{"containers": []any{map[string]any{"name": "app", "image": image}}},
	}}
}

func validate(t *testing.T, p celpolicy.Policies, reg engine.RegistryConfig, image string) engineapi.RuleResponse {
	t.Helper()
	access, err := registry.NewFactory(reg)
	if err != nil {
		t.Fatal(err)
	}
	defer access.Close()
	ev, err := celpolicy.NewEvaluator(p, access, nil, "CREATE")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ev.Start(ctx); err != nil {
		t.Fatal(err)
	}
	resps, err := ev.Validate(ctx, pod(image))
	if err != nil {
		t.Fatal(err)
	}
	if len(resps) != 1 || len(resps[0].PolicyResponse.Rules) != 1 {
		t.Fatalf("want one response with one rule, got %+v", resps)
	}
	return resps[0].PolicyResponse.Rules[0]
}

func TestImageMetadataReachesTheRegistry(t *testing.T) {
	srv, err := fakeregistry.Start(fakeregistry.Config{Images: []fakeregistry.Image{
		{Ref: "team/app:v1", Config: fakeregistry.ImageConfig{User: "1000"}},
		{Ref: "team/root:v1", Config: fakeregistry.ImageConfig{User: "root"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	p := load(t, checkUser)
	R := srv.Addr()
	for _, c := range []struct {
		image   string
		status  engineapi.RuleStatus
		message string
	}{
		{R + "/team/app:v1", engineapi.RuleStatusPass, "success"},
		{R + "/team/root:v1", engineapi.RuleStatusFail, "image runs as root"},
		{R + "/team/app:gone", engineapi.RuleStatusError,
			"error: failed to get image data: GET http://" + R + "/v2/team/app/manifests/gone: MANIFEST_UNKNOWN: Unknown manifest"},
	} {
		r := validate(t, p, engine.RegistryConfig{}, c.image)
		if r.Status() != c.status || r.Message() != c.message {
			t.Errorf("%s: got %s %q, want %s %q", c.image, r.Status(), r.Message(), c.status, c.message)
		}
	}
}

// Two evaluations side by side, one with the registry's login and one
// without, each see their own registry access: nothing of one leaks into
// the other through Kyverno's process-wide library context.
func TestEvaluationsKeepTheirOwnRegistryAccess(t *testing.T) {
	srv, err := fakeregistry.Start(fakeregistry.Config{
		Images:       []fakeregistry.Image{{Ref: "team/app:v1", Config: fakeregistry.ImageConfig{User: "1000"}}},
		Repositories: []fakeregistry.Repository{{Name: "team/app", Auth: &fakeregistry.Auth{Type: "basic", Username: "alice", Password: "s3cret"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	p := load(t, checkUser)
	image := srv.Addr() + "/team/app:v1"
	login := engine.RegistryConfig{Credentials: []engine.Credential{{Registry: srv.Addr(), Username: "alice", Password: "s3cret"}}}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			reg, want := engine.RegistryConfig{}, engineapi.RuleStatusError
			if i%2 == 0 {
				reg, want = login, engineapi.RuleStatusPass
			}
			if r := validate(t, p, reg, image); r.Status() != want {
				t.Errorf("evaluation %d (login %v): got %s %q, want %s", i, i%2 == 0, r.Status(), r.Message(), want)
			}
		})
	}
	wg.Wait()
}

func TestCheckNamesTheField(t *testing.T) {
	p := load(t, strings.Replace(checkUser, "variables.imageData.config.config.User != 'root'", "variables.imageData.config.config.User !=", 1))
	err := celpolicy.Check(p)
	var ce *celpolicy.CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want a *CompileError", err)
	}
	if ce.Kind != "ValidatingPolicy" || ce.Policy != "check-user" || !strings.Contains(err.Error(), "spec.validations[0].expression") {
		t.Errorf("error %q (kind %s, policy %s)", err, ce.Kind, ce.Policy)
	}
	if err := celpolicy.Check(load(t, checkUser)); err != nil {
		t.Errorf("a valid policy: %v", err)
	}
}

func TestImageValidatingInputs(t *testing.T) {
	loopback := []*unstructured.Unstructured{func() *unstructured.Unstructured { p := pod("127.0.0.1:5000/team/app:v1"); return &p }()}
	public := []*unstructured.Unstructured{func() *unstructured.Unstructured { p := pod("ghcr.io/team/app:v1"); return &p }()}
	for _, c := range []struct {
		name   string
		cfg    engine.RegistryConfig
		res    []*unstructured.Unstructured
		refuse string
	}{
		{"nothing", engine.RegistryConfig{}, loopback, ""},
		{"secrets are the policy's", engine.RegistryConfig{Secrets: map[string][]engine.Credential{"kyverno/x": nil}}, loopback, ""},
		{"a proxy, loopback images", engine.RegistryConfig{Proxy: "http://127.0.0.1:1"}, loopback, ""},
		{"a proxy, a public host", engine.RegistryConfig{Proxy: "http://127.0.0.1:1"}, public, "a proxy (for ghcr.io)"},
		{"logins", engine.RegistryConfig{Credentials: []engine.Credential{{Registry: "x"}}}, loopback, "docker-config logins"},
		{"CAs", engine.RegistryConfig{CACertsPEM: [][]byte{[]byte("x")}}, loopback, "CA certificates"},
	} {
		err := celpolicy.ImageValidatingInputs(c.cfg, c.res)
		switch {
		case c.refuse == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.refuse != "" && (!errors.Is(err, engine.ErrUnsupportedInput) || !strings.Contains(err.Error(), c.refuse)):
			t.Errorf("%s: got %v, want unsupported input naming %q", c.name, err, c.refuse)
		}
	}
}
