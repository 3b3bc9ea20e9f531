package inprocess

import (
	"context"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	kyvernov1 "github.com/kyverno/kyverno/api/kyverno/v1"
	"github.com/kyverno/kyverno/pkg/config"
	kyvernoengine "github.com/kyverno/kyverno/pkg/engine"
	engineapi "github.com/kyverno/kyverno/pkg/engine/api"
	"github.com/kyverno/kyverno/pkg/engine/factories"
	"github.com/kyverno/kyverno/pkg/engine/jmespath"
	"github.com/kyverno/kyverno/pkg/exceptions"
	imageverifycache "github.com/kyverno/kyverno/pkg/image/verification/cache"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/inprocess/catcherror"
	"github.com/imagectx/conformance/engine/inprocess/registry"
	"github.com/imagectx/conformance/fakeregistry"
)

// replay answers every ForRef with one recorded answer, so the benchmarks
// measure the engine, not the loopback round trip.
type replay struct {
	engineapi.RegistryClient
	data *engineapi.ImageData
}

func (r replay) ForRef(context.Context, string) (*engineapi.ImageData, error) { return r.data, nil }

func (r replay) GetClient(context.Context, *kyvernov1.ImageRegistryCredentials, string, []string) (engineapi.RegistryClient, error) {
	return r, nil
}

// benchSetup loads the issue-14302 policy (with and without catchError),
// the Pod, and records the registry's answer for its image.
func benchSetup(b *testing.B) (bare, caught kyvernov1.PolicyInterface, flags catcherror.Flags, res *resource, rec replay) {
	srv, err := fakeregistry.Start(fakeregistry.Config{Images: []fakeregistry.Image{{Ref: "team/app:v1", Config: fakeregistry.ImageConfig{User: "1000"}}}})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	image := srv.Addr() + "/team/app:v1"
	f, err := registry.NewFactory(engine.RegistryConfig{})
	if err != nil {
		b.Fatal(err)
	}
	c, err := f.GetClient(context.Background(), nil, "", nil)
	if err != nil {
		b.Fatal(err)
	}
	data, err := c.ForRef(context.Background(), image)
	if err != nil {
		b.Fatal(err)
	}
	var none catcherror.Flags
	pols, err := (&policyCache{}).loadPolicies([]engine.Document{{File: "bare.yaml", Data: []byte(strings.Replace(policy, "CATCH\n", "", 1))}}, true, &none)
	if err != nil {
		b.Fatal(err)
	}
	caughtPols, err := (&policyCache{}).loadPolicies([]engine.Document{{File: "caught.yaml", Data: []byte(strings.Replace(policy, "CATCH", "        catchError: true", 1))}}, true, &flags)
	if err != nil {
		b.Fatal(err)
	}
	rs, err := loadResources([]engine.Document{{File: "pod.yaml", Data: []byte(pod(image))}})
	if err != nil {
		b.Fatal(err)
	}
	return pols.valid[0], caughtPols.valid[0], flags, rs[0], replay{data: data}
}

// BenchmarkValidate runs the same policy, Pod and replayed registry answer
// through Kyverno's bare engine.Validate (its default context loaders, the
// policy without catchError) and through this engine's whole per-resource
// path (catchError loader and recorder around Kyverno's loaders, policy
// context as the CLI builds it, report results), side by side:
//
//	go test -run '^$' -bench Validate -count 6 ./engine/inprocess/ | benchstat -col /path -
func BenchmarkValidate(b *testing.B) {
	bare, caught, flags, res, rec := benchSetup(b)
	ctx := context.Background()
	b.Run("path=kyverno-bare", func(b *testing.B) {
		cfg := config.NewDefaultConfiguration(false)
		jp := jmespath.New(cfg)
		isCluster := false
		eng := kyvernoengine.NewEngine(cfg, jp, nil, rec, imageverifycache.DisabledImageVerifyCache(),
			factories.DefaultContextLoaderFactory(nil), exceptions.New(noExceptions{}), &isCluster)
		for b.Loop() {
			pc, err := kyvernoengine.NewPolicyContext(jp, *res.object, kyvernov1.Create, nil, cfg)
			if err != nil {
				b.Fatal(err)
			}
			resp := eng.Validate(ctx, pc.WithPolicy(bare).WithResourceKind(res.object.GroupVersionKind(), ""))
			if len(resp.PolicyResponse.Rules) != 1 || resp.PolicyResponse.Rules[0].Status() != engineapi.RuleStatusPass {
				b.Fatalf("bare Validate: %+v", resp.PolicyResponse.Rules)
			}
		}
	})
	b.Run("path=kyverno-with-catcherror-loader", func(b *testing.B) {
		// Kyverno's engine.Validate as above, with only the catchError
		// loader (and the recorder) in place of Kyverno's loader factory.
		cfg := config.NewDefaultConfiguration(false)
		jp := jmespath.New(cfg)
		isCluster := false
		rc := &recorder{}
		eng := kyvernoengine.NewEngine(cfg, jp, nil, rec, imageverifycache.DisabledImageVerifyCache(),
			rc.factory(catcherror.Factory(factories.DefaultContextLoaderFactory(nil), flags, logr.Discard())), exceptions.New(noExceptions{}), &isCluster)
		for b.Loop() {
			pc, err := kyvernoengine.NewPolicyContext(jp, *res.object, kyvernov1.Create, nil, cfg)
			if err != nil {
				b.Fatal(err)
			}
			resp := eng.Validate(ctx, pc.WithPolicy(caught).WithResourceKind(res.object.GroupVersionKind(), ""))
			if len(resp.PolicyResponse.Rules) != 1 || resp.PolicyResponse.Rules[0].Status() != engineapi.RuleStatusPass {
				b.Fatalf("Validate with the catchError loader: %+v", resp.PolicyResponse.Rules)
			}
		}
	})
	b.Run("path=inprocess", func(b *testing.B) {
		run := newBatch([]kyvernov1.PolicyInterface{caught}, flags, rec, "CREATE", true, logr.Discard())
		for b.Loop() {
			out, err := run.apply(ctx, res)
			if err != nil || len(out) != 1 || out[0].Status != engine.StatusPass {
				b.Fatalf("apply: %v %v", out, err)
			}
		}
	})
}
