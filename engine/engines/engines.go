// Package engines opens an engine by name, so the suites choose one with
// ENGINE=<name> and a new driver plugs in with one line here, without
// touching the suites.
package engines

import (
	"fmt"
	"sort"
	"strings"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/inprocess"
	"github.com/imagectx/conformance/engine/kyvernocli"
)

// Default is the engine used when ENGINE is unset.
const Default = inprocess.Name

// factories lists every known engine. It is built on each call, so there is
// no package-level mutable registry.
func factories() map[string]func() (engine.Engine, error) {
	return map[string]func() (engine.Engine, error){
		// inprocess: Kyverno's own engine (the pinned module) in process.
		inprocess.Name: func() (engine.Engine, error) { return inprocess.New(), nil },
		// kyverno: a real kubectl-kyverno ($KYVERNO_CLI, or `make kyverno-cli`).
		kyvernocli.Name: func() (engine.Engine, error) { return kyvernocli.New() },
	}
}

// Open returns the engine registered under name.
func Open(name string) (engine.Engine, error) {
	if name == "" {
		name = Default
	}
	open, ok := factories()[name]
	if !ok {
		return nil, fmt.Errorf("unknown engine %q; want one of: %s", name, strings.Join(Names(), ", "))
	}
	eng, err := open()
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
