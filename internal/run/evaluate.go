// Package run evaluates scenario files against an engine: it starts each
// file's fake registries and registry proxy, turns the file under a binding
// into an engine.Request, runs it under the file's deadline and records the
// results, the API server's answers and the registries' request logs
// (Evaluation). Evaluations memoizes them and runs many at once. Judging
// the results is internal/judge's job, recording them internal/results', writing reports internal/report's.
package run

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
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
	// Admissions are the API server's answers, one per resource, when the
	// engine is an engine.AdmissionEngine.
	Admissions []engine.AdmissionResponse
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

// Setup is how an evaluation reaches its registries. The zero Setup is
// the runner's: registries on loopback and a registry proxy of the
// evaluation's own.
type Setup struct {
	// RegistryOptions gives each registry's start options (a listen
	// address the engine reaches, a CA); nil: none.
	RegistryOptions func(scenario.RegistryModel) []fakeregistry.Option
	// Proxy, when set, is a running registry proxy the engine already
	// uses (the e2e controllers were started with it): the evaluation
	// routes its registries' hosts there for its length instead of
	// starting one.
	Proxy SharedProxy
	// Guard, when set (and Proxy is not), is a running proxy that routes
	// no host (it refuses every one) and that the engine's process
	// already reads as HTTPS_PROXY and HTTP_PROXY: an evaluation whose
	// registries serve no host name gives the engine that proxy instead
	// of starting its own, so an engine that reads the process's proxy
	// (Kyverno's own registry clients in process) needs no proxy of the
	// request's. Its refused hosts are not the evaluation's (Refused stays
	// empty).
	Guard SharedProxy
	// Awaited, when not nil, are the specs whose results the engine waits
	// for (engine.Request.Expected); nil: every row of the binding. A
	// caller leaves out specs it will not judge (a path's known gaps), so
	// an engine reading PolicyReports does not wait for entries that never
	// come.
	Awaited []*scenario.Spec
}

// SharedProxy is a registry proxy evaluations share (*proxy.Proxy is one).
type SharedProxy interface {
	// URL is what the engine uses as HTTPS_PROXY.
	URL() string
	// Route tunnels host to addr until remove is called; an error when
	// the host is routed already or the proxy cannot route here.
	Route(host, addr string) (remove func(), err error)
}

// Evaluate starts the file's fake registries and a registry proxy,
// renders the binding, evaluates the whole batch under the file's deadline,
// records the results, the request log and the refused hosts, and closes
// the registries.
func Evaluate(ctx context.Context, eng engine.Engine, f *scenario.File, b *scenario.Binding) *Evaluation {
	return EvaluateWith(ctx, eng, f, b, Setup{})
}

// EvaluateWith is Evaluate with the registries set up as setup says.
func EvaluateWith(ctx context.Context, eng engine.Engine, f *scenario.File, b *scenario.Binding, setup Setup) *Evaluation {
	ev := &Evaluation{Key: scenario.EvalKey(f, b)}
	start := time.Now()
	defer func() { ev.Duration = time.Since(start) }()

	regs, err := StartRegistries(f, setup.RegistryOptions)
	if err != nil {
		ev.Err = err
		return ev
	}
	defer regs.Close()
	// The proxy runs even when no registry has a host name: it is what the
	// engine gets as HTTPS_PROXY, so an image naming any other host
	// (ghcr.io in a file that serves none) is refused with 403 on loopback
	// instead of leaving the machine.
	var own *proxy.Proxy
	proxyURL := ""
	switch {
	case setup.Proxy == nil && setup.Guard != nil && len(regs.Routes()) == 0:
		proxyURL = setup.Guard.URL()
	case setup.Proxy == nil:
		if own, err = proxy.Start(regs.Routes()); err != nil {
			ev.Err = fmt.Errorf("%s: start registry proxy: %w", f.Path, err)
			return ev
		}
		defer own.Close()
		proxyURL = own.URL()
	default:
		proxyURL = setup.Proxy.URL()
		for host, addr := range regs.Routes() {
			remove, err := setup.Proxy.Route(host, addr)
			if err != nil {
				ev.Err = fmt.Errorf("%s: route %s on the shared registry proxy: %w", f.Path, host, err)
				return ev
			}
			defer remove()
		}
	}
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
	apiCalls, err := f.RenderAPICallResponses(ev.Vars)
	if err != nil {
		ev.Err = err
		return ev
	}
	req := engine.Request{Policies: policies, Resources: resources, ConfigMaps: configMaps, APICallResponses: apiCalls, Operation: b.Operation}
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
	req.Registry.ImagePullSecrets = f.Registry.ImagePullSecrets
	req.Registry.ImageVerifyCacheEnabled = f.Registry.ImageVerifyCacheEnabled
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
	req.Registry.Proxy = proxyURL
	req.Expected = expected(f, b)
	if setup.Awaited != nil {
		req.Expected = awaited(setup.Awaited)
	}

	ectx, cancel := context.WithTimeout(ctx, f.Deadline())
	defer cancel()
	if adm, ok := eng.(engine.AdmissionEngine); ok {
		ev.Results, ev.Admissions, ev.Err = adm.Admit(ectx, req)
	} else {
		ev.Results, ev.Err = eng.Evaluate(ectx, req)
	}
	if ev.Err != nil {
		// Positions in the copies the engine received become the lines
		// the user wrote.
		ev.Err = fmt.Errorf("%s: engine %s: %w", ev.Key, eng.Name(), relocated{f.Relocate(ev.Err.Error()), ev.Err})
	}
	for i, r := range ev.Results {
		// A driver's own result text may name a document too (the CLI
		// driver's "policy not loaded by the Kyverno CLI: <file>:...");
		// Kyverno's messages never do.
		if strings.Contains(r.Message, ".yaml:") {
			ev.Results[i].Message = f.Relocate(r.Message)
		}
	}
	// Close first: it ends stalled handlers and waits for them, so requests
	// the client gave up on are in the log too.
	closeProxy := func() error { return nil }
	if own != nil {
		closeProxy = own.Close
	}
	if err := errors.Join(closeProxy(), regs.Close()); err != nil && ev.Err == nil {
		ev.Err = fmt.Errorf("%s: %w", ev.Key, err)
	}
	ev.Requests = srv.Requests()
	if own != nil {
		// A shared proxy's log is every evaluation's.
		ev.Refused = own.Refused()
	}
	ev.Requested = regs.RequestChecks()
	return ev
}

// expected are the results the file's rows expect under b.
func expected(f *scenario.File, b *scenario.Binding) []engine.ResultKey {
	var out []engine.ResultKey
	for i := range f.Results {
		if r := &f.Results[i]; r.AppliesTo(b.Name) {
			for _, res := range r.Resources {
				out = appendAwaited(out, r, res)
			}
		}
	}
	return out
}

// awaited are the results specs expect (rows with a result).
func awaited(specs []*scenario.Spec) []engine.ResultKey {
	out := []engine.ResultKey{}
	for _, s := range specs {
		out = appendAwaited(out, s.Row, s.Resource)
	}
	return out
}

// appendAwaited adds the result row r expects for resource, if it
// expects one (not "none", not an admission answer alone).
func appendAwaited(out []engine.ResultKey, r *scenario.Row, resource string) []engine.ResultKey {
	if !r.Result.Result() {
		return out
	}
	return append(out, engine.ResultKey{Policy: r.Policy, Rule: r.Rule, Resource: engine.ResourceID{Kind: r.Kind, Name: resource}})
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

// Job is one evaluation to run: a file under a binding, evaluated by an
// engine with its registries set up as Setup says.
type Job struct {
	Engine  engine.Engine
	File    *scenario.File
	Binding *scenario.Binding
	Setup   Setup
}

// Key names the job's evaluation: the engine's name, then the file under
// the binding (scenario.EvalKey). Two jobs with one key share one
// evaluation.
func (j Job) Key() string { return j.Engine.Name() + " " + scenario.EvalKey(j.File, j.Binding) }

// exclusive reports whether the job must run alone: its registries serve
// host names on a proxy the engine shares with every evaluation, which
// routes a host to one registry at a time (and would hand any other
// evaluation's image of that host to this one's registry).
func (j Job) exclusive() bool { return j.Setup.Proxy != nil && len(j.File.ServedHosts()) > 0 }

// Evaluations memoizes evaluations by Job.Key within a process: specs of
// one evaluation share it, and Prefetch starts many at once so slow ones
// (retries, deadlines, PolicyReports) overlap.
type Evaluations struct {
	mu    sync.Mutex
	calls map[string]*call
	// shared is held for reading by every running evaluation and for
	// writing by an exclusive one.
	shared sync.RWMutex
}

type call struct {
	once sync.Once
	done chan struct{}
	ev   *Evaluation
}

// NewEvaluations returns an empty memo.
func NewEvaluations() *Evaluations {
	return &Evaluations{calls: map[string]*call{}}
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

// start runs the job once; later callers get the same result.
func (e *Evaluations) start(j Job) *call {
	c := e.call(j.Key())
	c.once.Do(func() {
		go func() {
			defer close(c.done)
			if j.exclusive() {
				e.shared.Lock()
				defer e.shared.Unlock()
			} else {
				e.shared.RLock()
				defer e.shared.RUnlock()
			}
			// The evaluation's own deadline bounds it; it is not tied to
			// one spec's context because other specs share it.
			c.ev = EvaluateWith(context.Background(), j.Engine, j.File, j.Binding, j.Setup)
		}()
	})
	return c
}

// Prefetch starts the jobs in the background in the order given, at most
// limit at a time (0: no limit). Exclusive jobs (host names on a shared
// proxy) go first, one after the other: an exclusive job started among
// others would first wait for every running one to end, with nothing new
// starting meanwhile.
func (e *Evaluations) Prefetch(jobs []Job, limit int) {
	var exclusive, shared []Job
	for _, j := range jobs {
		if j.exclusive() {
			exclusive = append(exclusive, j)
		} else {
			shared = append(shared, j)
		}
	}
	jobs = append(exclusive, shared...)
	if limit <= 0 {
		limit = len(jobs) + 1
	}
	sem := make(chan struct{}, limit)
	go func() {
		for _, j := range jobs {
			sem <- struct{}{}
			c := e.start(j)
			if j.exclusive() {
				<-c.done
			}
			go func() { <-c.done; <-sem }()
		}
	}()
}

// SlowFirst orders jobs by how long they are expected to wait on the
// registry, longest first (retried faults, then stalls, then certificate
// generation), so that their waiting overlaps the quick ones': the order
// for engines whose waiting costs nothing but a goroutine (in process,
// the CLI).
func SlowFirst(jobs []Job) []Job {
	jobs = slices.Clone(jobs)
	slices.SortStableFunc(jobs, func(a, b Job) int { return cmp.Compare(waitRank(b.File), waitRank(a.File)) })
	return jobs
}

// SlowSpread orders jobs so that those expected to wait on the registry
// are spread evenly among the quick ones, keeping the order given within
// each: the order for engines whose waiting occupies a shared server
// (Kyverno's controllers retrying for every webhook call at once would
// delay every other evaluation's PolicyReports).
func SlowSpread(jobs []Job) []Job {
	var slow, quick []Job
	for _, j := range jobs {
		if waitRank(j.File) >= 2 {
			slow = append(slow, j)
		} else {
			quick = append(quick, j)
		}
	}
	out := make([]Job, 0, len(jobs))
	for i, q := 0, 0; i < len(slow); i++ {
		// Slow job i goes after its share of the quick ones.
		next := (i + 1) * len(quick) / (len(slow) + 1)
		out = append(out, quick[q:next]...)
		q = next
		out = append(out, slow[i])
		if i == len(slow)-1 {
			out = append(out, quick[q:]...)
		}
	}
	if len(slow) == 0 {
		out = append(out, quick...)
	}
	return out
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
		if ft.Retried() {
			rank = max(rank, 3)
		}
		if ft != nil && ft.Delay > 0 {
			rank = max(rank, 2)
		}
	}
	return rank
}

// Get returns the job's evaluation, running it if nobody has, waiting at
// most until ctx ends.
func (e *Evaluations) Get(ctx context.Context, j Job) (*Evaluation, error) {
	c := e.start(j)
	select {
	case <-c.done:
		return c.ev, nil
	case <-ctx.Done():
		return nil, errors.Join(fmt.Errorf("waiting for evaluation %s", j.Key()), ctx.Err())
	}
}
