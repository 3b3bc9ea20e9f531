package reference

import (
	"sync"
)

// decodeCache keeps decoded policy and resource files by content, so that
// a suite evaluating the same YAML many times parses it once (YAML parsing
// costs more than evaluating a rule). Decoded values are shared read-only:
// evaluation copies what it changes (substitution builds new values,
// resources are deep-copied per evaluation).
type decodeCache struct {
	mu       sync.Mutex
	entries  map[string]any
	disabled bool // benchmarks measure the cold path
}

// maxCacheEntries bounds memory; when full the cache starts over.
const maxCacheEntries = 512

func (c *decodeCache) get(key string) (any, bool) {
	if c.disabled {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.entries[key]
	return v, ok
}

func (c *decodeCache) put(key string, v any) {
	if c.disabled {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= maxCacheEntries {
		c.entries = map[string]any{}
	}
	c.entries[key] = v
}

func cacheKey(kind, file string, data []byte) string {
	return kind + "\x00" + file + "\x00" + string(data)
}

// cached returns the value decoded earlier for key, or decodes and keeps it
// (errors are not kept).
func cached[T any](c *decodeCache, key string, decode func() (T, error)) (T, error) {
	if v, ok := c.get(key); ok {
		return v.(T), nil
	}
	v, err := decode()
	if err != nil {
		return v, err
	}
	c.put(key, v)
	return v, nil
}

func (e *Engine) policies(file string, data []byte) ([]*Policy, error) {
	return cached(e.decoded, cacheKey("policy", file, data), func() ([]*Policy, error) {
		ps, err := decodePolicies(file, data)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			p.invalid = validatePolicy(p, e.queries.jp)
		}
		return ps, nil
	})
}

func (e *Engine) resources(file string, data []byte) ([]*resource, error) {
	return cached(e.decoded, cacheKey("resource", file, data), func() ([]*resource, error) {
		return decodeResources(file, data)
	})
}

// deepCopy copies a JSON-like value, so that JMESPath functions that sort
// in place (sort_by) cannot touch shared data.
func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, val := range t {
			m[k] = deepCopy(val)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, val := range t {
			l[i] = deepCopy(val)
		}
		return l
	}
	return v
}
