package reference

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/fakeregistry"
)

// startRegistry runs a fake registry for one test.
func startRegistry(t testing.TB, cfg fakeregistry.Config) *fakeregistry.Server {
	t.Helper()
	s, err := fakeregistry.Start(cfg)
	if err != nil {
		t.Fatalf("start fake registry: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// standardImages is the registry content most tests use.
func standardImages() fakeregistry.Config {
	return fakeregistry.Config{Images: []fakeregistry.Image{
		{Ref: "test/app:v1", Config: fakeregistry.ImageConfig{User: "1000"}},
		{Ref: "test/rootapp:v1"},
		{Ref: "test/multi:v1", Platforms: []string{"linux/arm64", "linux/amd64"}, Config: fakeregistry.ImageConfig{User: "1000"}},
	}}
}

// fill replaces ${REGISTRY} and the other ${NAME} placeholders.
func fill(s string, vars ...string) string {
	for i := 0; i+1 < len(vars); i += 2 {
		s = strings.ReplaceAll(s, "${"+vars[i]+"}", vars[i+1])
	}
	return s
}

// podYAML is a Pod with the given container images.
func podYAML(images ...string) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Pod\nmetadata:\n  name: test-pod\n  namespace: default\nspec:\n  containers:\n")
	if len(images) == 0 {
		b.Reset()
		b.WriteString("apiVersion: v1\nkind: Pod\nmetadata:\n  name: test-pod\n  namespace: default\nspec:\n  containers: []\n")
	}
	for i, img := range images {
		b.WriteString("  - name: c" + string(rune('0'+i)) + "\n    image: \"" + img + "\"\n")
	}
	return b.String()
}

type evalOpts struct {
	registry  engine.RegistryConfig
	operation string
	timeout   time.Duration
}

// evaluate runs one policy file against one resource file.
func evaluate(t testing.TB, e *Engine, policy, resource string, o evalOpts) []engine.Result {
	t.Helper()
	if o.timeout == 0 {
		o.timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	res, err := e.Evaluate(ctx, engine.Request{
		Policies:  []engine.Document{{File: "policy.yaml", Data: []byte(policy)}},
		Resources: []engine.Document{{File: "resource.yaml", Data: []byte(resource)}},
		Operation: o.operation,
		Registry:  o.registry,
	})
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	return res
}

// one expects exactly one result and returns it.
func one(t testing.TB, res []engine.Result) engine.Result {
	t.Helper()
	if len(res) != 1 {
		t.Fatalf("want 1 result, got %d: %v", len(res), res)
	}
	return res[0]
}

func expect(t testing.TB, got engine.Result, status engine.Status, message string) {
	t.Helper()
	if got.Status != status || got.Message != message {
		t.Errorf("want %s: %s\n got %s: %s", status, message, got.Status, got.Message)
	}
}

func engineRegistryConfig() engine.RegistryConfig { return engine.RegistryConfig{} }
