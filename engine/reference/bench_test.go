package reference

import (
	"context"
	"sync"
	"testing"

	"github.com/imagectx/conformance/engine"
)

// replayFetcher answers each reference with what the real registry
// answered the first time, so a benchmark measures the engine alone
// (decoding, matching, context, substitution, conditions, messages)
// without the loopback round trips.
type replayFetcher struct {
	real imageFetcher
	mu   sync.Mutex
	seen map[string]replayed
}

type replayed struct {
	desc *imageDescriptor
	err  error
}

func (f *replayFetcher) fetch(ctx context.Context, ref string, opts clientOptions) (*imageDescriptor, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.seen[ref]; ok {
		return r.desc, r.err
	}
	d, err := f.real.fetch(ctx, ref, opts)
	f.seen[ref] = replayed{d, err}
	return d, err
}

// BenchmarkIssue14302 evaluates the issue-14302 policy shape (context
// imageRegistry, precondition on resolvedImage, deny on the image user)
// against one Pod, for a present and a missing image, with and without
// catchError. "engine" replays the registry's answer; "roundtrip" asks
// the fake registry over loopback every time, as Kyverno does.
func BenchmarkIssue14302(b *testing.B) {
	reg := startRegistry(b, standardImages())
	R := reg.Addr()
	transport, err := newTransport(nil)
	if err != nil {
		b.Fatal(err)
	}
	defer transport.CloseIdleConnections()
	cases := []struct{ name, image, policy string }{
		{"present", R + "/test/app:v1", issue()},
		{"missing", R + "/test/app:gone", issue()},
		{"missing-catchError", R + "/test/app:gone", issue(catchOn)},
	}
	for _, mode := range []string{"engine", "engine-nocache", "roundtrip"} {
		for _, tc := range cases {
			b.Run(mode+"/"+tc.name, func(b *testing.B) {
				var e *Engine
				if mode != "roundtrip" {
					e = New(withFetcher(&replayFetcher{real: &remoteFetcher{transport: transport}, seen: map[string]replayed{}}))
					// engine-nocache parses the policy and Pod YAML every time.
					e.decoded.disabled = mode == "engine-nocache"
				} else {
					e = New()
				}
				req := engine.Request{
					Policies:  []engine.Document{{File: "policy.yaml", Data: []byte(tc.policy)}},
					Resources: []engine.Document{{File: "pod.yaml", Data: []byte(podYAML(tc.image))}},
				}
				ctx := context.Background()
				if _, err := e.Evaluate(ctx, req); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					res, err := e.Evaluate(ctx, req)
					if err != nil || len(res) != 1 {
						b.Fatalf("%v %v", res, err)
					}
				}
			})
		}
	}
}
