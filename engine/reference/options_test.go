package reference

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/reference/jmespath"
)

// gateFetcher records how many fetches run at once. Each fetch waits until
// gate fetches have arrived, then keeps running until one more arrives or
// holdFor passes: an engine without the bound starts that one more while
// the first ones still run, a bounded engine cannot.
type gateFetcher struct {
	gate    int
	mu      sync.Mutex
	arrived int
	running int
	most    int
	open    chan struct{} // closed when gate fetches have arrived
	more    chan struct{} // closed when one more has
}

const holdFor = 200 * time.Millisecond

func newGateFetcher(gate int) *gateFetcher {
	return &gateFetcher{gate: gate, open: make(chan struct{}), more: make(chan struct{})}
}

func (f *gateFetcher) fetch(ctx context.Context, ref string, _ clientOptions) (*imageDescriptor, error) {
	f.mu.Lock()
	f.arrived++
	f.running++
	f.most = max(f.most, f.running)
	switch f.arrived {
	case f.gate:
		close(f.open)
	case f.gate + 1:
		close(f.more)
	}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.running--
		f.mu.Unlock()
	}()
	select {
	case <-f.open:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case <-f.more:
	case <-time.After(holdFor):
	}
	return nil, errors.New("gateFetcher has no images")
}

// WithConcurrency bounds the policy x resource pairs in flight: with a
// bound of 2, six pairs never fetch more than two images at once, and
// without the bound all six run together.
func TestWithConcurrency(t *testing.T) {
	var pods []string
	for i := range 6 {
		pods = append(pods, strings.Replace(podYAML(fmt.Sprintf("example.test/app:v%d", i)), "name: test-pod", fmt.Sprintf("name: pod-%d", i), 1))
	}
	resources := strings.Join(pods, "---\n")
	for _, tc := range []struct {
		opts []Option
		want int
	}{
		{[]Option{WithConcurrency(2)}, 2},
		{nil, 6},
	} {
		f := newGateFetcher(tc.want)
		opts := append([]Option{withFetcher(f)}, tc.opts...)
		res := evaluate(t, New(opts...), issue(catchOn), resources, evalOpts{timeout: 10 * time.Second})
		if len(res) != 6 {
			t.Fatalf("want 6 results, got %d: %v", len(res), res)
		}
		if f.most != tc.want {
			t.Errorf("%d options: at most %d fetches ran at once; want %d", len(tc.opts), f.most, tc.want)
		}
	}
}

func TestWithConcurrencyRejectsNonPositive(t *testing.T) {
	for _, n := range []int{0, -1} {
		func() {
			defer func() {
				want := fmt.Sprintf("reference.WithConcurrency(%d): expected at least 1", n)
				if r := recover(); r != want {
					t.Errorf("WithConcurrency(%d) panicked with %v; want %q", n, r, want)
				}
			}()
			WithConcurrency(n)
		}()
	}
}

// WithJMESPathOptions reaches the queries of rules: a fixed clock makes
// time_now_utc() a known value.
func TestWithJMESPathOptionsClock(t *testing.T) {
	now := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	policy := strings.Replace(minimalPolicy, "      deny: {}", `      deny:
        conditions:
          any:
          - key: "{{ time_now_utc() }}"
            operator: Equals
            value: "2024-05-06T07:08:09Z"
            message: "clock is fixed"`, 1)
	e := New(WithJMESPathOptions(jmespath.WithClock(func() time.Time { return now })))
	expect(t, one(t, evaluate(t, e, policy, podYAML("nginx"), evalOpts{})), engine.StatusFail, "clock is fixed")
	got := one(t, evaluate(t, New(), policy, podYAML("nginx"), evalOpts{}))
	if got.Status != engine.StatusPass {
		t.Errorf("wall clock: want pass, got %s: %s", got.Status, got.Message)
	}
}

type panicFetcher struct{}

func (panicFetcher) fetch(context.Context, string, clientOptions) (*imageDescriptor, error) {
	panic("fetcher bug")
}

// A panic while evaluating a pair becomes an error result for each rule of
// the pair instead of crashing the caller.
func TestPanicBecomesErrorResult(t *testing.T) {
	got := one(t, evaluate(t, New(withFetcher(panicFetcher{})), issue(), podYAML("example.test/app:v1"), evalOpts{}))
	expect(t, got, engine.StatusError, "internal error in the reference engine: fetcher bug")
}
