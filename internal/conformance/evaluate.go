// Package conformance runs scenario evaluations against an engine, checks
// specs against their results, and writes the machine-readable results, the
// conformance matrix and the error-string catalogue. The Ginkgo suites are
// a thin layer over it.
package conformance

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/fakeregistry"
	"github.com/imagectx/conformance/fakeregistry/proxy"
	"github.com/imagectx/conformance/internal/scenario"
)

// Evaluation is one file under one binding, evaluated by one engine against
// its own fake registry.
type Evaluation struct {
	Key     string
	Results []engine.Result
	// Err is set when the batch could not be evaluated at all (or the
	// fake registry could not start).
	Err error
	// Requests is the fake registry's request log.
	Requests []fakeregistry.Request
	// Requested records, for every ref a row's requests check names,
	// whether any request touched it.
	Requested map[string]bool
	// Refused are the hosts the registry proxy refused ("host:port"): an
	// image naming a registry the file does not serve.
	Refused []string
	// Vars are the substitutions used (REGISTRY, REFUSED and the file's).
	Vars     scenario.Vars
	Duration time.Duration
}

// Evaluate starts the file's fake registries and a registry proxy,
// renders the binding, evaluates the whole batch under the file's deadline,
// records the results, the request log and the refused hosts, and closes
// the registries.
func Evaluate(ctx context.Context, eng engine.Engine, f *scenario.File, b *scenario.Binding) *Evaluation {
	ev := &Evaluation{Key: scenario.EvalKey(f, b)}
	start := time.Now()
	defer func() { ev.Duration = time.Since(start) }()

	regs, err := StartRegistries(f, nil)
	if err != nil {
		ev.Err = err
		return ev
	}
	defer regs.Close()
	// The proxy runs even when no registry has a host name: it is what the
	// engine gets as HTTPS_PROXY, so an image naming any other host
	// (ghcr.io in a file that serves none) is refused with 403 on loopback
	// instead of leaving the machine.
	prx, err := proxy.Start(regs.Routes())
	if err != nil {
		ev.Err = fmt.Errorf("%s: start registry proxy: %w", f.Path, err)
		return ev
	}
	defer prx.Close()
	srv := regs.Servers[0]
	if ev.Vars, err = regs.Vars(); err != nil {
		ev.Err = fmt.Errorf("%s: %w", f.Path, err)
		return ev
	}

	policies, resources, err := f.Render(b, ev.Vars)
	if err != nil {
		ev.Err = err
		return ev
	}
	configMaps, err := f.RenderConfigMaps(ev.Vars)
	if err != nil {
		ev.Err = err
		return ev
	}
	req := engine.Request{Policies: policies, Resources: resources, ConfigMaps: configMaps, Operation: b.Operation}
	if len(f.Namespaces) > 0 {
		req.NamespaceLabels = map[string]map[string]string{}
		for _, ns := range f.Namespaces {
			req.NamespaceLabels[ns.Name] = ns.Labels
		}
	}
	for _, c := range f.Registry.Credentials {
		req.Registry.Credentials = append(req.Registry.Credentials, credential(c, ev.Vars, srv.Addr()))
	}
	if len(f.Registry.Secrets) > 0 {
		req.Registry.Secrets = map[string][]engine.Credential{}
		for name, cs := range f.Registry.Secrets {
			for _, c := range cs {
				req.Registry.Secrets[name] = append(req.Registry.Secrets[name], credential(c, ev.Vars, srv.Addr()))
			}
		}
	}
	if f.Registry.TrustCA {
		req.Registry.CACertsPEM = [][]byte{srv.CACertPEM()}
	}
	// A registry serving public host names is trusted as the real one is
	// (its certificate authority in the system roots).
	for _, s := range regs.Servers {
		if len(s.Hosts()) > 0 {
			req.Registry.CACertsPEM = append(req.Registry.CACertsPEM, s.CACertPEM())
		}
	}
	req.Registry.Proxy = prx.URL()

	ectx, cancel := context.WithTimeout(ctx, f.Deadline())
	defer cancel()
	ev.Results, ev.Err = eng.Evaluate(ectx, req)
	if ev.Err != nil {
		// Positions in the copies the engine received become the lines
		// the user wrote.
		ev.Err = fmt.Errorf("%s: engine %s: %w", ev.Key, eng.Name(), relocated{f.Relocate(ev.Err.Error()), ev.Err})
	}
	// Close first: it ends stalled handlers and waits for them, so requests
	// the client gave up on are in the log too.
	if err := errors.Join(prx.Close(), regs.Close()); err != nil && ev.Err == nil {
		ev.Err = fmt.Errorf("%s: %w", ev.Key, err)
	}
	ev.Requests = srv.Requests()
	ev.Refused = prx.Refused()
	ev.Requested = regs.RequestChecks()
	return ev
}

// relocated is an engine error whose text points into the scenario file
// (scenario.File.Relocate); it unwraps to the engine's error.
type relocated struct {
	msg string
	err error
}

func (r relocated) Error() string { return r.msg }
func (r relocated) Unwrap() error { return r.err }

func credential(c scenario.Credential, vars scenario.Vars, addr string) engine.Credential {
	reg := vars.Expand(c.Registry)
	if reg == "" {
		reg = addr
	}
	return engine.Credential{Registry: reg, Username: c.Username, Password: c.Password}
}

// Evaluations memoizes evaluations by key within a process: specs of one
// evaluation share it, and Prefetch starts many at once so slow ones
// (retries, deadlines) overlap.
type Evaluations struct {
	eng   engine.Engine
	mu    sync.Mutex
	calls map[string]*call
}

type call struct {
	once sync.Once
	done chan struct{}
	ev   *Evaluation
}

// NewEvaluations memoizes evaluations for eng.
func NewEvaluations(eng engine.Engine) *Evaluations {
	return &Evaluations{eng: eng, calls: map[string]*call{}}
}

func (e *Evaluations) call(key string) *call {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.calls[key]
	if !ok {
		c = &call{done: make(chan struct{})}
		e.calls[key] = c
	}
	return c
}

// start runs the evaluation once; later callers get the same result.
func (e *Evaluations) start(f *scenario.File, b *scenario.Binding) *call {
	c := e.call(scenario.EvalKey(f, b))
	c.once.Do(func() {
		go func() {
			defer close(c.done)
			// The evaluation's own deadline bounds it; it is not tied to
			// one spec's context because other specs share it.
			c.ev = Evaluate(context.Background(), e.eng, f, b)
		}()
	})
	return c
}

// Prefetch starts the evaluations in the background, at most limit at a
// time (0: no limit), the ones that wait longest (largest deadline share:
// retries, stalls) first, so their waiting overlaps the quick ones.
func (e *Evaluations) Prefetch(pairs []Pair, limit int) {
	pairs = slices.Clone(pairs)
	slices.SortStableFunc(pairs, func(a, b Pair) int { return cmp.Compare(waitRank(b.File), waitRank(a.File)) })
	if limit <= 0 {
		for _, p := range pairs {
			e.start(p.File, p.Binding)
		}
		return
	}
	sem := make(chan struct{}, limit)
	go func() {
		for _, p := range pairs {
			sem <- struct{}{}
			c := e.start(p.File, p.Binding)
			go func() { <-c.done; <-sem }()
		}
	}()
}

// waitRank orders evaluations by how long they are expected to wait on the
// registry: faults that make the client retry or stall first.
func waitRank(f *scenario.File) int {
	rank := 0
	var faults []*fakeregistry.Fault
	for _, m := range f.RegistryModels() {
		faults = append(faults, m.Config.Ping)
		for _, r := range m.Config.Repositories {
			faults = append(faults, r.Fault)
		}
		for _, img := range m.Config.Images {
			faults = append(faults, img.Fault)
		}
		if m.Config.TLS || len(m.Config.Hosts) > 0 {
			rank = max(rank, 1) // certificate generation
		}
	}
	for _, ft := range faults {
		if ft == nil {
			continue
		}
		if ft.Status >= 429 {
			rank = max(rank, 3)
		}
		if ft.Delay > 0 {
			rank = max(rank, 2)
		}
	}
	return rank
}

// All waits for the evaluations of pairs (starting the missing ones) and
// returns them by key.
func (e *Evaluations) All(ctx context.Context, pairs []Pair) (map[string]*Evaluation, error) {
	out := map[string]*Evaluation{}
	for _, p := range pairs {
		ev, err := e.Get(ctx, p.File, p.Binding)
		if err != nil {
			return nil, err
		}
		out[ev.Key] = ev
	}
	return out, nil
}

// Preload records evaluations done elsewhere (another parallel process), so
// Get returns them without evaluating again.
func (e *Evaluations) Preload(evs map[string]*Evaluation) {
	for key, ev := range evs {
		c := e.call(key)
		c.once.Do(func() {
			c.ev = ev
			close(c.done)
		})
	}
}

// evaluationWire is an Evaluation as JSON, for handing evaluations from
// the first parallel process to the others.
type evaluationWire struct {
	Key        string                 `json:"key"`
	Results    []engine.Result        `json:"results"`
	Err        string                 `json:"err,omitempty"`
	Requests   []fakeregistry.Request `json:"requests"`
	Refused    []string               `json:"refused,omitempty"`
	Requested  map[string]bool        `json:"requested"`
	Vars       scenario.Vars          `json:"vars"`
	DurationNS int64                  `json:"durationNs"`
}

// MarshalJSON keeps the error as text.
func (ev *Evaluation) MarshalJSON() ([]byte, error) {
	w := evaluationWire{Key: ev.Key, Results: ev.Results, Requests: ev.Requests, Refused: ev.Refused, Requested: ev.Requested, Vars: ev.Vars, DurationNS: int64(ev.Duration)}
	if ev.Err != nil {
		w.Err = ev.Err.Error()
	}
	return json.Marshal(w)
}

// UnmarshalJSON restores an evaluation written by MarshalJSON.
func (ev *Evaluation) UnmarshalJSON(b []byte) error {
	var w evaluationWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*ev = Evaluation{Key: w.Key, Results: w.Results, Requests: w.Requests, Refused: w.Refused, Requested: w.Requested, Vars: w.Vars, Duration: time.Duration(w.DurationNS)}
	if w.Err != "" {
		ev.Err = errors.New(w.Err)
	}
	return nil
}

// Pair is one evaluation to run.
type Pair struct {
	File    *scenario.File
	Binding *scenario.Binding
}

// Get returns the evaluation, running it if nobody has, waiting at most
// until ctx ends.
func (e *Evaluations) Get(ctx context.Context, f *scenario.File, b *scenario.Binding) (*Evaluation, error) {
	c := e.start(f, b)
	select {
	case <-c.done:
		return c.ev, nil
	case <-ctx.Done():
		return nil, errors.Join(fmt.Errorf("waiting for evaluation %s", scenario.EvalKey(f, b)), ctx.Err())
	}
}
