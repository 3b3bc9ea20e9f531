// Package engines opens an engine by name, so the suites choose one with
// ENGINE=<name> and a new driver plugs in with one entry here, without
// touching the suites. Every engine is here, the cluster ones included:
// "admission" and "background-scan" open only when given a running
// cluster (WithCluster; make e2e starts one and opens them this way).
package engines

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"k8s.io/client-go/rest"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/admission"
	"github.com/imagectx/conformance/engine/inprocess"
	"github.com/imagectx/conformance/engine/kyvernocli"
)

// Default is the engine used when ENGINE is unset.
const Default = inprocess.Name

// Option configures Open.
type Option func(*options)

type options struct {
	cluster   *rest.Config
	admission admission.Options
}

// WithCluster gives the cluster engines (admission, background-scan) the
// API server cfg reaches, where Kyverno's admission and reports
// controllers run, and the controllers' settings (opts; its Process is set
// from the engine's name). The other engines ignore it.
func WithCluster(cfg *rest.Config, opts admission.Options) Option {
	return func(o *options) { o.cluster, o.admission = cfg, opts }
}

// ErrNeedsCluster is returned (wrapped) by Open for a cluster engine
// opened without WithCluster.
var ErrNeedsCluster = errors.New("needs a running cluster with Kyverno's controllers (make e2e starts one and opens it; engines.WithCluster)")

// factory opens one engine.
type factory func(options) (engine.Engine, error)

// factories lists every known engine. It is built on each call, so there is
// no package-level mutable registry.
func factories() map[string]factory {
	return map[string]factory{
		// inprocess: Kyverno's own engine (the pinned module) in process.
		inprocess.Name: func(options) (engine.Engine, error) { return inprocess.New(), nil },
		// kyverno: a real kubectl-kyverno ($KYVERNO_CLI, or `make kyverno-cli`).
		kyvernocli.Name: func(options) (engine.Engine, error) { return kyvernocli.New() },
		// admission: PolicyReport entries of admission reviews, and the
		// API server's answers, from a cluster's Kyverno.
		admission.NameAdmission: clusterEngine(admission.ProcessAdmission),
		// background-scan: PolicyReport entries of the background scan.
		admission.NameBackgroundScan: clusterEngine(admission.ProcessBackgroundScan),
	}
}

func clusterEngine(p admission.Process) factory {
	return func(o options) (engine.Engine, error) {
		if o.cluster == nil {
			return nil, ErrNeedsCluster
		}
		opts := o.admission
		opts.Process = p
		return admission.New(o.cluster, opts)
	}
}

// Open returns the engine registered under name ("" is Default). Errors:
// an unknown name (listing the known ones), ErrNeedsCluster, or the
// driver's own (a kubectl-kyverno that cannot be found, ...).
func Open(name string, opts ...Option) (engine.Engine, error) {
	if name == "" {
		name = Default
	}
	open, ok := factories()[name]
	if !ok {
		return nil, fmt.Errorf("unknown engine %q; want one of: %s", name, strings.Join(Names(), ", "))
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	eng, err := open(o)
	if err != nil {
		return nil, fmt.Errorf("open engine %s: %w", name, err)
	}
	return eng, nil
}

// Names lists the registered engines, sorted.
func Names() []string {
	var out []string
	for n := range factories() {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
