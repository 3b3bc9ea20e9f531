package reference

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/imagectx/conformance/engine/reference/jmespath"
)

// queryCache holds compiled JMESPath expressions; expressions repeat across
// rules, resources and evaluations, and compiling dominates a short query.
type queryCache struct {
	jp       *jmespath.JMESPath
	cache    sync.Map // string -> *jmespath.Query
	matchers sync.Map // entry name -> *regexp.Regexp
}

func (c *queryCache) compile(expr string) (*jmespath.Query, error) {
	if q, ok := c.cache.Load(expr); ok {
		return q.(*jmespath.Query), nil
	}
	q, err := c.jp.Compile(expr)
	if err != nil {
		return nil, err
	}
	c.cache.Store(expr, q)
	return q, nil
}

// lazyEntry is one context entry registered with the context, loaded on
// the first query whose text mentions its name (Kyverno's deferred loader).
type lazyEntry struct {
	entry *ContextEntry
	// builtin loads a built-in variable (images) instead of an entry; a
	// nil value means there is nothing to add.
	builtin func() (any, error)
	name    string
	level   int
	matcher *regexp.Regexp
	loaded  bool
	value   any
	// matched is set when a query triggered the entry; a failed load is not
	// retried until the matches are cleared (a foreach element starts).
	matched bool
}

// evalContext is the JSON context of one rule evaluation: the request
// document, one layer of variables per foreach nesting level, and the
// deferred entries. It is used by one goroutine.
type evalContext struct {
	ctx      context.Context
	eng      *Engine
	reg      *registrySession
	request  map[string]any
	layers   []map[string]any
	entries  []*lazyEntry
	all      []*lazyEntry // every entry registered, for Result.Context
	loading  int          // index bound while an entry loads, -1 otherwise
	doc      map[string]any
	docDirty bool
	deleteOp bool
}

func newEvalContext(ctx context.Context, eng *Engine, reg *registrySession, request map[string]any, operation string) *evalContext {
	return &evalContext{
		ctx:      ctx,
		eng:      eng,
		reg:      reg,
		request:  request,
		layers:   []map[string]any{{}},
		loading:  -1,
		docDirty: true,
		deleteOp: operation == "DELETE",
	}
}

func (c *evalContext) level() int { return len(c.layers) - 1 }

// set stores a variable in the layer of the given level.
func (c *evalContext) set(level int, name string, value any) {
	c.layers[level][name] = value
	c.docDirty = true
}

// pushLayer enters a foreach element.
func (c *evalContext) pushLayer() {
	c.layers = append(c.layers, map[string]any{})
	c.docDirty = true
}

// popLayer leaves a foreach element: its variables and entries go away.
func (c *evalContext) popLayer() {
	lvl := c.level()
	c.layers = c.layers[:lvl]
	c.dropEntriesFrom(lvl)
}

// dropEntriesFrom forgets the entries registered at level lvl or deeper and
// clears the matches of the rest, so that a failed load may be retried for
// the next element.
func (c *evalContext) dropEntriesFrom(lvl int) {
	kept := c.entries[:0]
	for _, e := range c.entries {
		if e.level < lvl {
			e.matched = false
			kept = append(kept, e)
		}
	}
	c.entries = kept
	c.docDirty = true
}

// document is the merged view JMESPath queries run against.
func (c *evalContext) document() map[string]any {
	if !c.docDirty {
		return c.doc
	}
	doc := make(map[string]any, 4+len(c.layers)*2)
	doc["request"] = c.request
	for _, l := range c.layers {
		for k, v := range l {
			doc[k] = v
		}
	}
	c.doc, c.docDirty = doc, false
	return doc
}

// register adds context entries at the current level. With deferred
// loading they load on first use; without it they load now, in order.
func (c *evalContext) register(entries []ContextEntry) error {
	for i := range entries {
		e := &entries[i]
		m, err := c.eng.queries.matcher(e.Name)
		if err != nil {
			return fmt.Errorf("failed to create deferred loader for context entry %s", e.Name)
		}
		le := &lazyEntry{entry: e, name: e.Name, level: c.level(), matcher: m}
		c.all = append(c.all, le)
		if c.eng.deferred {
			c.entries = append(c.entries, le)
			continue
		}
		if err := c.load(le); err != nil {
			return err
		}
	}
	return nil
}

var imagesMatcher = regexp.MustCompile(`(?:\A|\z|\s|[^.0-9A-Za-z])images\b`)

// matcher compiles (once per name) the deferred loader pattern of an entry.
// As Kyverno, the name is put into the pattern unquoted.
func (c *queryCache) matcher(name string) (*regexp.Regexp, error) {
	if m, ok := c.matchers.Load(name); ok {
		return m.(*regexp.Regexp), nil
	}
	m, err := regexp.Compile(`(?:\A|\z|\s|[^.0-9A-Za-z])` + name + `\b`)
	if err != nil {
		return nil, err
	}
	c.matchers.Store(name, m)
	return m, nil
}

// registerImages adds Kyverno's built-in images variable, which loads on
// first use like an entry (and, without deferred loading, at once).
func (c *evalContext) registerImages(kind string, object map[string]any) error {
	le := &lazyEntry{
		name:    "images",
		matcher: imagesMatcher,
		builtin: func() (any, error) { return extractImages(kind, object) },
	}
	if c.eng.deferred {
		c.entries = append(c.entries, le)
		return nil
	}
	return c.load(le)
}

// load runs an entry's loader and stores the value at the entry's level.
func (c *evalContext) load(le *lazyEntry) error {
	if le.builtin != nil {
		v, err := le.builtin()
		if err != nil || v == nil {
			return err
		}
		le.loaded, le.value = true, v
		c.set(le.level, le.name, v)
		return nil
	}
	var (
		v   any
		err error
	)
	switch {
	case le.entry.ImageRegistry != nil:
		v, err = c.loadImageData(le.entry)
	case le.entry.Variable != nil:
		v, err = c.loadVariable(le.entry)
	default:
		err = fmt.Errorf("missing ConfigMap|APICall|ImageRegistry|Variable in context entry %s", le.entry.Name)
	}
	if err != nil {
		return err
	}
	if le.entry.ImageRegistry != nil {
		// Kyverno adds image data with a map merge (AddContextEntry),
		// while variables replace (ReplaceContextEntry).
		if old, ok := c.document()[le.entry.Name].(map[string]any); ok {
			if m, ok := v.(map[string]any); ok {
				merged := deepCopy(old).(map[string]any)
				mergeMaps(m, merged)
				v = merged
			}
		}
	}
	le.loaded, le.value = true, v
	c.set(le.level, le.name, v)
	return nil
}

// mergeMaps merges src into dst: nested maps merge, anything else replaces.
func mergeMaps(src, dst map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeMaps(sm, dm)
				continue
			}
		}
		dst[k] = v
	}
}

// loadMatching loads the not yet loaded entries whose name the query
// mentions, in registration order; while an entry loads, only entries
// registered before it can be triggered.
func (c *evalContext) loadMatching(query string) error {
	limit := len(c.entries)
	if c.loading >= 0 {
		limit = c.loading
	}
	for i := 0; i < limit && i < len(c.entries); i++ {
		le := c.entries[i]
		if le.loaded || le.matched || !le.matcher.MatchString(query) {
			continue
		}
		le.matched = true
		prev := c.loading
		c.loading = i
		err := c.load(le)
		c.loading = prev
		if err != nil {
			return err
		}
	}
	return nil
}

// query evaluates a JMESPath expression against the context, loading the
// deferred entries it mentions first. Errors read as Kyverno's.
func (c *evalContext) query(expr string) (any, error) {
	if err := c.loadMatching(expr); err != nil {
		return nil, err
	}
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return nil, fmt.Errorf("invalid query (nil)")
	}
	q, err := c.eng.queries.compile(expr)
	if err != nil {
		return nil, fmt.Errorf("incorrect query %s: %v", expr, err)
	}
	v, err := q.Search(c.document())
	if err != nil {
		return nil, fmt.Errorf("JMESPath query failed: %w", err)
	}
	return v, nil
}

// loadedEntries is what Result.Context shows: every entry that loaded in
// this rule (a foreach entry shows the value of the last element).
func (c *evalContext) loadedEntries() map[string]any {
	var out map[string]any
	for _, e := range c.all {
		if !e.loaded {
			continue
		}
		if out == nil {
			out = map[string]any{}
		}
		out[e.entry.Name] = e.value
	}
	return out
}

// resetTop starts a new foreach element: the element layer is emptied, the
// element-level entries go away and every entry may be triggered again.
func (c *evalContext) resetTop() {
	lvl := c.level()
	c.layers[lvl] = map[string]any{}
	c.dropEntriesFrom(lvl)
}
