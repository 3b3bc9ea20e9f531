package run

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/imagectx/conformance/fakeregistry"
	"github.com/imagectx/conformance/fakeregistry/cosign"
	"github.com/imagectx/conformance/internal/scenario"
)

// Registries are a scenario file's running fake registries: registry,
// then registries[] in order. The runner and the e2e suite both start a
// file's registries through it.
type Registries struct {
	File    *scenario.File
	Servers []*fakeregistry.Server
	closed  bool
}

// StartRegistries starts every fake registry of f; options, when not nil,
// gives the start options of each (a listen address, a CA). Errors name
// the file and the registry's field; the registries started so far are
// closed.
func StartRegistries(f *scenario.File, options func(scenario.RegistryModel) []fakeregistry.Option) (*Registries, error) {
	r := &Registries{File: f}
	for _, m := range f.RegistryModels() {
		var opts []fakeregistry.Option
		if len(m.Config.SigningKeys) > 0 {
			// Scenarios sign the way cosign does (fakeregistry/cosign).
			opts = append(opts, fakeregistry.WithSigner(cosign.NewSigner()))
		}
		if options != nil {
			opts = append(opts, options(m)...)
		}
		s, err := fakeregistry.Start(m.Config, opts...)
		if err != nil {
			_ = r.Close()
			return nil, fmt.Errorf("%s: start fake registry (%s): %w", f.Path, m.Field, err)
		}
		r.Servers = append(r.Servers, s)
	}
	return r, nil
}

// Routes maps every host name the registries serve to its registry's
// address: the routes of a registry proxy (hosts are unique in a file).
func (r *Registries) Routes() map[string]string {
	out := map[string]string{}
	for _, s := range r.Servers {
		maps.Copy(out, s.Routes())
	}
	return out
}

// Vars are the file's substitutions: ${REGISTRY} and ${REFUSED} of the
// first registry, ${REGISTRY_<name>} of the others, every registry's
// ${PUBLIC_KEY_<key>} (key names are unique in a file).
func (r *Registries) Vars() (scenario.Vars, error) {
	refused, err := r.Servers[0].RefusedAddr()
	if err != nil {
		return nil, err
	}
	addrs := map[string]string{}
	keys := map[string][]byte{}
	for i, m := range r.File.RegistryModels() {
		if i > 0 {
			addrs[m.Name] = r.Servers[i].Addr()
		}
		maps.Copy(keys, r.Servers[i].PublicKeys())
	}
	return r.File.Substitutions(r.Servers[0].Addr(), refused, keys, addrs), nil
}

// Requested answers a row's requests check: "repo:tag" is asked of the
// first registry, "<host>/repo:tag" of the registry serving that host (the
// loader refuses a host no registry serves).
func (r *Registries) Requested(ref string) bool {
	host, rest, ok := scenario.RefHost(ref)
	if !ok {
		return r.Servers[0].Requested(ref)
	}
	norm, err := fakeregistry.RegistryHost(host)
	if err != nil {
		return false
	}
	for _, s := range r.Servers {
		if slices.Contains(s.Hosts(), norm) {
			return s.Requested(rest)
		}
	}
	return false
}

// RequestChecks answers every ref the file's requests checks name (never
// and seen, every row): whether any request touched it. Ask after Close,
// so requests a client gave up on are counted.
func (r *Registries) RequestChecks() map[string]bool {
	out := map[string]bool{}
	for _, row := range r.File.Results {
		if row.Requests == nil {
			continue
		}
		for _, ref := range append(slices.Clone(row.Requests.Never), row.Requests.Seen...) {
			out[ref] = r.Requested(ref)
		}
	}
	return out
}

// Close stops every registry (ending stalled requests and waiting for
// them); idempotent.
func (r *Registries) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	var errs []error
	for _, s := range r.Servers {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}
