package inprocess

import (
	"context"
	"encoding/json"
	"sync"

	kyvernov1 "github.com/kyverno/kyverno/api/kyverno/v1"
	engineapi "github.com/kyverno/kyverno/pkg/engine/api"
	enginecontext "github.com/kyverno/kyverno/pkg/engine/context"
	"github.com/kyverno/kyverno/pkg/engine/jmespath"
)

// recorder keeps, per rule, the last value each imageRegistry entry stored
// in the rule's context, whichever loader stored it (Kyverno's or the
// catchError loader): the white-box view behind engine.Result.Context.
type recorder struct {
	mu      sync.Mutex
	entries map[ruleKey]map[string][]byte
}

type ruleKey struct{ namespace, policy, rule string }

// factory wraps a context loader factory so that the loaders it makes
// store imageRegistry entries through the recorder.
func (r *recorder) factory(inner engineapi.ContextLoaderFactory) engineapi.ContextLoaderFactory {
	return func(policy kyvernov1.PolicyInterface, rule kyvernov1.Rule) engineapi.ContextLoader {
		key := ruleKey{rule: rule.Name}
		if policy != nil {
			key.namespace, key.policy = policy.GetNamespace(), policy.GetName()
		}
		return &recordingLoader{inner: inner(policy, rule), key: key, rec: r}
	}
}

// context decodes what the rule's imageRegistry entries stored, nil when
// none stored anything.
func (r *recorder) context(namespace, policy, rule string) map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.entries[ruleKey{namespace, policy, rule}]
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for name, data := range m {
		var v any
		if json.Unmarshal(data, &v) == nil { // Kyverno refuses invalid JSON before this
			out[name] = v
		}
	}
	return out
}

// store keeps the entry's last value; Kyverno does not modify data after
// storing it, so the slice is kept, not copied.
func (r *recorder) store(key ruleKey, name string, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.entries == nil {
		r.entries = map[ruleKey]map[string][]byte{}
	}
	if r.entries[key] == nil {
		r.entries[key] = map[string][]byte{}
	}
	r.entries[key][name] = data
}

type recordingLoader struct {
	inner engineapi.ContextLoader
	key   ruleKey
	rec   *recorder
}

func (l *recordingLoader) Load(ctx context.Context, jp jmespath.Interface, client engineapi.RawClient,
	rclientFactory engineapi.RegistryClientFactory, entries []kyvernov1.ContextEntry, jsonContext enginecontext.Interface,
) error {
	names := map[string]bool{}
	for _, e := range entries {
		if e.ImageRegistry != nil {
			names[e.Name] = true
		}
	}
	if len(names) > 0 {
		jsonContext = &recordingContext{Interface: jsonContext, names: names, key: l.key, rec: l.rec}
	}
	return l.inner.Load(ctx, jp, client, rclientFactory, entries, jsonContext)
}

type recordingContext struct {
	enginecontext.Interface
	names map[string]bool
	key   ruleKey
	rec   *recorder
}

func (c *recordingContext) AddContextEntry(name string, data []byte) error {
	if err := c.Interface.AddContextEntry(name, data); err != nil {
		return err
	}
	if c.names[name] {
		c.rec.store(c.key, name, data)
	}
	return nil
}
