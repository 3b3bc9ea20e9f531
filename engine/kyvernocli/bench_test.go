package kyvernocli

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/fakeregistry"
)

// Benchmarks for the README's figures; they need the real binary:
//
//	go test -run '^$' -bench CLI -benchtime 3x ./engine/kyvernocli

func benchEngine(b *testing.B) *Engine {
	b.Helper()
	bin, err := DefaultBinary(context.Background())
	if err != nil {
		b.Skipf("no Kyverno CLI to run: %v", err)
	}
	e, err := New(WithBinary(bin), WithTempDir(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkCLIStart is the cost of one process start: `version`.
func BenchmarkCLIStart(b *testing.B) {
	e := benchEngine(b)
	wd, err := newWorkdir(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer wd.Remove()
	env, err := wd.env(engine.RegistryConfig{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := runCLI(context.Background(), e.bin, []string{"version"}, env, wd.path("tmp")); err != nil {
			b.Fatal(err)
		}
	}
}

// benchMatrix is 8 policies (one per site, like the scenarios) x 4 pods
// (present, root, tag missing, repository missing) = 32 rule results.
func benchMatrix(b *testing.B) ([]engine.Document, []engine.Document) {
	b.Helper()
	reg, err := fakeregistry.Start(fakeregistry.Config{Images: []fakeregistry.Image{
		{Ref: "test/app:v1", Config: fakeregistry.ImageConfig{User: "1000"}},
		{Ref: "test/rootapp:v1"},
	}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = reg.Close() })
	var pols, pods []engine.Document
	for i := 0; i < 8; i++ {
		pols = append(pols, checkImagePolicy(fmt.Sprintf("site-%d", i), ""))
	}
	for i, ref := range []string{"test/app:v1", "test/rootapp:v1", "test/app:v2", "nope/app:v1"} {
		pods = append(pods, pod(fmt.Sprintf("pod-%d", i), reg.Addr()+"/"+ref))
	}
	return pols, pods
}

// BenchmarkCLINaive runs one CLI per policy x pod, the way one Evaluate per
// spec would.
func BenchmarkCLINaive(b *testing.B) {
	e := benchEngine(b)
	pols, pods := benchMatrix(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		n := 0
		for _, p := range pols {
			for _, r := range pods {
				res, err := e.Evaluate(context.Background(), engine.Request{Policies: []engine.Document{p}, Resources: []engine.Document{r}})
				if err != nil || len(res) != 1 {
					b.Fatalf("naive: %d results, %v", len(res), err)
				}
				n++
			}
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(n), "ms/result")
	}
}

// BenchmarkCLIBatched runs the same 32 results in one CLI run.
func BenchmarkCLIBatched(b *testing.B) {
	e := benchEngine(b)
	pols, pods := benchMatrix(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		res, err := e.Evaluate(context.Background(), engine.Request{Policies: pols, Resources: pods})
		if err != nil || len(res) != len(pols)*len(pods) {
			b.Fatalf("batched: %d results, %v", len(res), err)
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(len(res)), "ms/result")
	}
}
