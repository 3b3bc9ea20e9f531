package run

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/inprocess"
	"github.com/imagectx/conformance/internal/scenario"
)

// One real evaluation: a fake registry with a stalled repository, the
// in-process engine, a 1 s deadline. The evaluation must cost the
// deadline (not the 30 s stall), record the request log, and report which
// refs were requested.
const slowFile = `apiVersion: conformance.imagectx.io/v1alpha1
kind: Test
metadata: {name: slow}
policies:
- apiVersion: kyverno.io/v1
  kind: ClusterPolicy
  metadata: {name: p}
  spec:
    rules:
    - name: r
      match: {any: [{resources: {kinds: [Pod]}}]}
      context:
      - name: imageData
        imageRegistry: {reference: "{{ request.object.spec.containers[0].image }}"}
      - name: unused
        imageRegistry: {reference: "${REGISTRY}/unreferenced/app:v1"}
      validate:
        deny:
          conditions:
            any:
            - {key: "{{ imageData.registry }}", operator: Equals, value: x}
resources:
- apiVersion: v1
  kind: Pod
  metadata: {name: app, namespace: default}
  spec: {containers: [{name: app, image: "${REGISTRY}/team/app:v1"}]}
registry:
  images: [{ref: team/app:v1}]
  repositories: [{name: team/app, fault: {delay: 30s}}]
  deadline: 1s
results:
- policy: p
  rule: r
  resources: [app]
  result: error
  message: {contains: context deadline exceeded}
  requests: {never: [unreferenced/app], seen: [team/app]}
`

func TestEvaluateCostsTheDeadline(t *testing.T) {
	f, err := scenario.Parse("slow.yaml", "slow", []byte(slowFile))
	if err != nil {
		t.Fatal(err)
	}
	eng := inprocess.New()
	// The first evaluation in a process also pays Kyverno's one-time
	// setup (its CLI loader reads its CRD schemas: seconds under the race
	// detector); the deadline bounds the registry work, so time the second.
	Evaluate(context.Background(), eng, f, &f.Bindings[0])
	start := time.Now()
	ev := Evaluate(context.Background(), eng, f, &f.Bindings[0])
	took := time.Since(start)
	if ev.Err != nil {
		t.Fatal(ev.Err)
	}
	if took > 5*time.Second {
		t.Errorf("evaluation took %s; a 1 s deadline must end a 30 s stall", took)
	}
	if !ev.Requested["team/app"] || ev.Requested["unreferenced/app"] {
		t.Errorf("requested = %v", ev.Requested)
	}
	if len(ev.Requests) == 0 || !strings.HasPrefix(ev.Vars[scenario.VarRegistry], "127.0.0.1:") {
		t.Errorf("requests %d, vars %v", len(ev.Requests), ev.Vars)
	}
	// What the row expects (internal/judge checks it in full).
	if len(ev.Results) != 1 || ev.Results[0].Status != engine.StatusError || !strings.Contains(ev.Results[0].Message, "context deadline exceeded") {
		t.Errorf("results %+v, want one error with context deadline exceeded", ev.Results)
	}

	// Memoized: a second Get returns the same evaluation without running it.
	evs := NewEvaluations()
	job := Job{Engine: inprocess.New(), File: f, Binding: &f.Bindings[0]}
	a, err := evs.Get(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	b, err := evs.Get(context.Background(), job)
	if err != nil || a != b {
		t.Errorf("second Get ran again or failed: %v", err)
	}
}

// echoEngine answers every request with one result whose message names
// the position given (as the CLI driver's "policy not loaded" results do).
type echoEngine struct {
	msg func(req engine.Request) string
}

func (echoEngine) Name() string { return "echo" }
func (echoEngine) Capabilities(context.Context) (engine.Capabilities, error) {
	return engine.Capabilities{}, nil
}
func (e echoEngine) Evaluate(_ context.Context, req engine.Request) ([]engine.Result, error) {
	return []engine.Result{{Policy: "p", Rule: "r", Status: engine.StatusError, Message: e.msg(req)}}, nil
}

// A driver's result text that names a position in the copy it received
// reads as the line the user wrote.
func TestEvaluateRelocatesResultMessages(t *testing.T) {
	f, err := scenario.Parse("slow.yaml", "slow", []byte(slowFile))
	if err != nil {
		t.Fatal(err)
	}
	eng := echoEngine{func(req engine.Request) string {
		return "policy not loaded by the Kyverno CLI: " + req.Policies[0].File + ":1: spec.rules[0].context[1].imageRegistry.reference: bad"
	}}
	ev := Evaluate(context.Background(), eng, f, &f.Bindings[0])
	if ev.Err != nil {
		t.Fatal(ev.Err)
	}
	// slowFile line 16, column 25: the unused entry's imageRegistry reference.
	if want := "policy not loaded by the Kyverno CLI: slow.yaml:16:25: spec.rules[0]"; !strings.HasPrefix(ev.Results[0].Message, want) {
		t.Errorf("message %q, want it to start %q", ev.Results[0].Message, want)
	}
}

// staticProxy is a SharedProxy that only has a URL.
type staticProxy string

func (p staticProxy) URL() string { return string(p) }
func (staticProxy) Route(string, string) (func(), error) {
	return func() {}, nil
}

// An evaluation whose registries serve no host name gives the engine the
// guard proxy; without a guard it starts a proxy of its own.
func TestEvaluateGivesTheGuardProxy(t *testing.T) {
	f, err := scenario.Parse("slow.yaml", "slow", []byte(slowFile))
	if err != nil {
		t.Fatal(err)
	}
	proxyOf := echoEngine{func(req engine.Request) string { return req.Registry.Proxy }}
	guard := staticProxy("http://127.0.0.1:9")
	ev := EvaluateWith(context.Background(), proxyOf, f, &f.Bindings[0], Setup{Guard: guard})
	if ev.Err != nil || ev.Results[0].Message != guard.URL() {
		t.Errorf("with a guard: proxy %q (%v), want %s", ev.Results[0].Message, ev.Err, guard.URL())
	}
	ev = Evaluate(context.Background(), proxyOf, f, &f.Bindings[0])
	if ev.Err != nil || ev.Results[0].Message == guard.URL() || !strings.HasPrefix(ev.Results[0].Message, "http://127.0.0.1:") {
		t.Errorf("without a guard: proxy %q (%v), want one of the evaluation's own", ev.Results[0].Message, ev.Err)
	}
}

// SlowFirst puts the jobs that wait on the registry first; SlowSpread
// spreads them evenly among the quick ones, each group in its order.
func TestJobOrders(t *testing.T) {
	quick := func(name string) Job {
		return Job{Engine: echoEngine{}, File: &scenario.File{Name: name}, Binding: &scenario.Binding{Name: "b"}}
	}
	slow := func(name string) Job {
		f, err := scenario.Parse(name+".yaml", name, []byte(slowFile)) // a 30 s stall
		if err != nil {
			t.Fatal(err)
		}
		return Job{Engine: echoEngine{}, File: f, Binding: &f.Bindings[0]}
	}
	names := func(jobs []Job) string {
		var out []string
		for _, j := range jobs {
			out = append(out, j.File.Name)
		}
		return strings.Join(out, " ")
	}
	jobs := []Job{quick("q1"), quick("q2"), quick("q3"), quick("q4"), slow("s1"), slow("s2")}
	if got, want := names(SlowFirst(jobs)), "s1 s2 q1 q2 q3 q4"; got != want {
		t.Errorf("SlowFirst: %s, want %s", got, want)
	}
	if got, want := names(SlowSpread(jobs)), "q1 s1 q2 s2 q3 q4"; got != want {
		t.Errorf("SlowSpread: %s, want %s", got, want)
	}
	if got, want := names(SlowSpread(jobs[:3])), "q1 q2 q3"; got != want {
		t.Errorf("SlowSpread without slow jobs: %s, want %s", got, want)
	}
}

// overlapEngine records how many evaluations run at once, and whether one
// of a file serving host names ever ran beside another.
type overlapEngine struct {
	mu                                  sync.Mutex
	running, max                        int
	hostsRan, hostsBeside, hostsRunning bool
}

func (*overlapEngine) Name() string { return "overlap" }
func (*overlapEngine) Capabilities(context.Context) (engine.Capabilities, error) {
	return engine.Capabilities{}, nil
}
func (e *overlapEngine) Evaluate(_ context.Context, req engine.Request) ([]engine.Result, error) {
	hosts := strings.Contains(string(req.Policies[0].Data), "hosts-file")
	e.mu.Lock()
	e.running++
	e.max = max(e.max, e.running)
	if hosts {
		e.hostsRan = true
	}
	if e.running > 1 && (hosts || e.hostsRunning) {
		e.hostsBeside = true
	}
	if hosts {
		e.hostsRunning = true
	}
	e.mu.Unlock()
	time.Sleep(50 * time.Millisecond)
	e.mu.Lock()
	e.running--
	if hosts {
		e.hostsRunning = false
	}
	e.mu.Unlock()
	return nil, nil
}

// A job whose registries serve host names on a shared proxy runs alone;
// the others run side by side up to the limit.
func TestPrefetchRunsHostJobsAlone(t *testing.T) {
	plain := func(name string) *scenario.File {
		f, err := scenario.Parse(name+".yaml", name, []byte(strings.Replace(slowFile, "fault: {delay: 30s}", "fault: {status: 404}", 1)))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	hostsSrc := strings.NewReplacer(
		"metadata: {name: p}", "metadata: {name: hosts-file}",
		"- policy: p\n", "- policy: hosts-file\n",
		"  deadline: 1s\n", "  deadline: 1s\n  hosts: [ghcr.io]\n",
	).Replace(strings.Replace(slowFile, "fault: {delay: 30s}", "fault: {status: 404}", 1))
	hosts, err := scenario.Parse("hosts.yaml", "hosts", []byte(hostsSrc))
	if err != nil {
		t.Fatal(err)
	}
	if len(hosts.ServedHosts()) == 0 {
		t.Fatal("the hosts file serves no host name")
	}
	eng := &overlapEngine{}
	setup := Setup{Proxy: staticProxy("http://127.0.0.1:9")}
	var jobs []Job
	for _, f := range []*scenario.File{plain("a"), plain("b"), hosts, plain("c"), plain("d")} {
		jobs = append(jobs, Job{Engine: eng, File: f, Binding: &f.Bindings[0], Setup: setup})
	}
	evs := NewEvaluations()
	evs.Prefetch(jobs, 3)
	for _, j := range jobs {
		ev, err := evs.Get(context.Background(), j)
		if err != nil || ev.Err != nil {
			t.Fatalf("%s: %v %v", j.Key(), err, ev.Err)
		}
	}
	if !eng.hostsRan || eng.hostsBeside {
		t.Errorf("the host-serving job ran %t, beside another %t; want it run alone", eng.hostsRan, eng.hostsBeside)
	}
	if eng.max < 2 {
		t.Errorf("at most %d evaluations at once; want the others side by side", eng.max)
	}
}
