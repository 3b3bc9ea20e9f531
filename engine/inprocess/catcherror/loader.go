// Package catcherror implements the proposed imageRegistry.catchError field
// (kyverno/kyverno issue 14302) for Kyverno v1.19.1's engine, as a context
// loader plugged in through Kyverno's ContextLoaderFactory. Kyverno's own
// image loader still does all the work; this package only decides what a
// failure becomes:
//
//  1. no catchError, or false: the entry goes to Kyverno's loaders untouched;
//  2. catchError true, lookup failed: the entry is {failed: true,
//     errorMessage: <Kyverno's loader error>}, jmesPath is not applied;
//  3. catchError true, lookup succeeded: Kyverno's 8 keys plus failed: false
//     and errorMessage: "", and jmesPath (if any) is applied to those 10 keys;
//  4. not caught: everything that is not the registry lookup (a reference
//     that cannot be substituted or is not a string, a failing jmesPath) is
//     Kyverno's error, unchanged.
//
// "The registry lookup" is what Kyverno's registry client does: getting a
// client for the entry's credentials and fetching the image (ForRef). The
// loader tells it apart from the rest by watching those two calls, so every
// string, caught or not, is Kyverno's own.
package catcherror

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"

	"github.com/go-logr/logr"
	kyvernov1 "github.com/kyverno/kyverno/api/kyverno/v1"
	engineapi "github.com/kyverno/kyverno/pkg/engine/api"
	enginecontext "github.com/kyverno/kyverno/pkg/engine/context"
	"github.com/kyverno/kyverno/pkg/engine/context/loaders"
	"github.com/kyverno/kyverno/pkg/engine/jmespath"
	"github.com/kyverno/kyverno/pkg/toggle"
)

// Keys added to the entry's value (contract decisions 2 and 3).
const (
	KeyFailed       = "failed"
	KeyErrorMessage = "errorMessage"
)

// Factory wraps inner, Kyverno's DefaultContextLoaderFactory or one that
// wraps it (the CLI's store.ContextLoaderFactory), whose Load is called
// entry by entry for the entries it keeps. Entries flagged in
// flags get this package's loader; every other entry, and every Load call of
// a policy without a flagged entry, goes to inner untouched.
func Factory(inner engineapi.ContextLoaderFactory, flags Flags, logger logr.Logger) engineapi.ContextLoaderFactory {
	return func(policy kyvernov1.PolicyInterface, rule kyvernov1.Rule) engineapi.ContextLoader {
		l := inner(policy, rule)
		if policy == nil || !flags.Any(policy.GetNamespace(), policy.GetName()) {
			return l
		}
		return &contextLoader{inner: l, flags: flags, namespace: policy.GetNamespace(), policy: policy.GetName(), rule: rule.Name, logger: logger}
	}
}

type contextLoader struct {
	inner             engineapi.ContextLoader
	flags             Flags
	namespace, policy string
	rule              string
	logger            logr.Logger
}

func (c *contextLoader) Load(ctx context.Context, jp jmespath.Interface, client engineapi.RawClient,
	rclientFactory engineapi.RegistryClientFactory, entries []kyvernov1.ContextEntry, jsonContext enginecontext.Interface,
) error {
	caught := false
	for _, e := range entries {
		caught = caught || c.flags.Caught(c.namespace, c.policy, c.rule, e)
	}
	if !caught {
		return c.inner.Load(ctx, jp, client, rclientFactory, entries, jsonContext)
	}
	// Entry by entry, in order, so that an entry can use the ones before
	// it. Every other entry goes through inner's Load (Kyverno's default
	// loader, which has no initializers here, or the CLI's wrapper
	// answering apiCallResponses, whose initializer sets the values of the
	// CLI store's rules: none in process). The first, empty Load runs the
	// initializers even when every entry is caught. One difference with the
	// wrapper: given the whole list it loads answered apiCall entries before
	// the others; here they load in order.
	if err := c.inner.Load(ctx, jp, client, rclientFactory, nil, jsonContext); err != nil {
		return err
	}
	for _, e := range entries {
		if !c.flags.Caught(c.namespace, c.policy, c.rule, e) {
			if err := c.inner.Load(ctx, jp, client, rclientFactory, []kyvernov1.ContextEntry{e}, jsonContext); err != nil {
				return err
			}
			continue
		}
		if rclientFactory == nil {
			// As Kyverno: registry access disabled, the entry is not loaded.
			continue
		}
		ldr := NewLoader(ctx, c.logger, e, jsonContext, jp, rclientFactory)
		if !toggle.FromContext(ctx).EnableDeferredLoading() {
			if err := ldr.LoadData(); err != nil {
				return err
			}
			continue
		}
		dl, err := enginecontext.NewDeferredLoader(e.Name, ldr, c.logger)
		if err != nil {
			// Kyverno's text for the same failure.
			return fmt.Errorf("failed to create deferred loader for context entry %s", e.Name)
		}
		if err := jsonContext.AddDeferredLoader(dl); err != nil {
			return err
		}
	}
	return nil
}

// Loader is the catchError loader of one imageRegistry entry: Kyverno's
// image data loader, observed.
type Loader struct {
	name        string
	jsonContext enginecontext.Interface
	kyverno     enginecontext.Loader
	lookup      *lookupProbe
	caught      []byte // the {failed: true, ...} value once a lookup failed
}

// NewLoader returns the loader for an imageRegistry entry with catchError: true.
// The arguments are those of Kyverno's loaders.NewImageDataLoader.
func NewLoader(ctx context.Context, logger logr.Logger, entry kyvernov1.ContextEntry, jsonContext enginecontext.Interface,
	jp jmespath.Interface, rclientFactory engineapi.RegistryClientFactory,
) *Loader {
	probe := &lookupProbe{inner: rclientFactory}
	projector := &projectingJMESPath{Interface: jp}
	l := &Loader{name: entry.Name, jsonContext: jsonContext, lookup: probe}
	l.kyverno = loaders.NewImageDataLoader(ctx, logger, entry, &successContext{Interface: jsonContext, projector: projector},
		projector, probe)
	return l
}

// LoadData implements enginecontext.Loader.
func (l *Loader) LoadData() error {
	if l.caught != nil {
		// Deferred loading may load an entry again (a foreach element, a
		// restored checkpoint): the caught value is added again.
		return l.jsonContext.AddContextEntry(l.name, l.caught)
	}
	err := l.kyverno.LoadData()
	if err == nil || !l.lookup.failed {
		return err
	}
	l.caught, err = json.Marshal(map[string]any{KeyFailed: true, KeyErrorMessage: err.Error()})
	if err != nil {
		return err
	}
	return l.jsonContext.AddContextEntry(l.name, l.caught)
}

// HasLoaded implements enginecontext.Loader.
func (l *Loader) HasLoaded() bool { return l.caught != nil || l.kyverno.HasLoaded() }

// lookupProbe passes Kyverno's registry client factory through and records
// whether getting a client or fetching an image failed.
type lookupProbe struct {
	inner  engineapi.RegistryClientFactory
	failed bool
}

func (p *lookupProbe) GetClient(ctx context.Context, creds *kyvernov1.ImageRegistryCredentials, namespace string, pullSecrets []string) (engineapi.RegistryClient, error) {
	c, err := p.inner.GetClient(ctx, creds, namespace, pullSecrets)
	if err != nil {
		p.failed = true
		return nil, err
	}
	return &probedClient{RegistryClient: c, probe: p}, nil
}

type probedClient struct {
	engineapi.RegistryClient
	probe *lookupProbe
}

func (c *probedClient) ForRef(ctx context.Context, ref string) (*engineapi.ImageData, error) {
	d, err := c.RegistryClient.ForRef(ctx, ref)
	if err != nil {
		c.probe.failed = true
	}
	return d, err
}

// projectingJMESPath gives Kyverno's loader the success map with failed:
// false and errorMessage: "" when it applies the entry's jmesPath (decision 3).
type projectingJMESPath struct {
	jmespath.Interface
	used bool
}

func (p *projectingJMESPath) Query(q string) (jmespath.Query, error) {
	p.used = true
	query, err := p.Interface.Query(q)
	if err != nil {
		return nil, err
	}
	return withSuccessKeys{query}, nil
}

type withSuccessKeys struct{ jmespath.Query }

func (q withSuccessKeys) Search(data any) (any, error) {
	return q.Query.Search(addSuccessKeys(data))
}

// successContext adds failed: false and errorMessage: "" to the value
// Kyverno's loader stores, unless a jmesPath already replaced it.
type successContext struct {
	enginecontext.Interface
	projector *projectingJMESPath
}

func (c *successContext) AddContextEntry(name string, data []byte) error {
	if c.projector.used {
		return c.Interface.AddContextEntry(name, data)
	}
	// Kyverno's loader stores a JSON object with its 8 keys, never these
	// two; splicing them in front spares a decode and re-encode.
	if len(data) < 2 || data[0] != '{' {
		return fmt.Errorf("catchError: context entry %s: Kyverno stored %.40q, want a JSON object", name, data)
	}
	out := make([]byte, 0, len(data)+len(successPrefix)+1)
	out = append(out, successPrefix...)
	if rest := bytes.TrimSpace(data[1:]); len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	out = append(out, data[1:]...)
	return c.Interface.AddContextEntry(name, out)
}

// successPrefix opens the success value: decision 3's two keys.
var successPrefix = []byte(`{"` + KeyErrorMessage + `":"","` + KeyFailed + `":false`)

func addSuccessKeys(data any) any {
	m, ok := data.(map[string]any)
	if !ok {
		return data
	}
	m = maps.Clone(m)
	m[KeyFailed] = false
	m[KeyErrorMessage] = ""
	return m
}
