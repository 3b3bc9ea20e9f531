package pattern

import (
	"maps"
	"slices"
	"strings"

	"github.com/IGLOU-EU/go-wildcard"
)

func containsWildcard(s string) bool { return strings.ContainsAny(s, "*?") }

// expandMetadataWildcards resolves wildcard keys under metadata.labels and
// metadata.annotations of a pattern map against the resource's keys, as
// Kyverno's wildcards.ExpandInMetadata does: a wildcard key is replaced by
// the first resource key it matches, and non-string values in those pattern
// maps are dropped. Unlike Kyverno it never mutates the caller's pattern (it
// copies the maps it changes) and tries resource keys in sorted order, so a
// wildcard matching several keys resolves deterministically.
func expandMetadataWildcards(patternMap, resourceMap map[string]any) map[string]any {
	metaKey, patternMeta := lookupMaybeAnchored("metadata", patternMap)
	if patternMeta == nil {
		return patternMap
	}
	resourceMeta := resourceMap["metadata"]
	if resourceMeta == nil {
		return patternMap
	}
	meta, ok := patternMeta.(map[string]any)
	if !ok {
		return patternMap
	}
	var newMeta map[string]any
	for _, tag := range []string{"labels", "annotations"} {
		key, expanded := expandTag(tag, meta, resourceMeta)
		if expanded == nil {
			continue
		}
		if newMeta == nil {
			newMeta = maps.Clone(meta)
		}
		newMeta[key] = expanded
	}
	if newMeta == nil {
		return patternMap
	}
	out := maps.Clone(patternMap)
	out[metaKey] = newMeta
	return out
}

// lookupMaybeAnchored finds tag or an anchored form of it, e.g. "=(labels)".
// When a map has both (or several anchored forms), Kyverno takes whichever
// its map iteration yields first; this prefers the plain key, then the
// anchored forms in sorted order.
func lookupMaybeAnchored(tag string, m map[string]any) (string, any) {
	if v, ok := m[tag]; ok {
		return tag, v
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if a, ok := ParseAnchor(k); ok && a.Key == tag {
			return k, m[k]
		}
	}
	return "", nil
}

func stringMap(tag string, data any) (string, map[string]string) {
	m, ok := data.(map[string]any)
	if !ok {
		return "", nil
	}
	key, val := lookupMaybeAnchored(tag, m)
	inner, ok := val.(map[string]any)
	if !ok {
		return "", nil
	}
	out := map[string]string{}
	for k, v := range inner {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return key, out
}

func expandTag(tag string, patternMeta, resourceMeta any) (string, map[string]any) {
	key, patternData := stringMap(tag, patternMeta)
	if patternData == nil {
		return "", nil
	}
	_, resourceData := stringMap(tag, resourceMeta)
	if resourceData == nil {
		return "", nil
	}
	resourceKeys := slices.Sorted(maps.Keys(resourceData))
	firstMatch := func(k string) string {
		for _, rk := range resourceKeys {
			if wildcard.Match(k, rk) {
				return rk
			}
		}
		return k
	}
	out := map[string]any{}
	for k, v := range patternData {
		if !containsWildcard(k) {
			out[k] = v
			continue
		}
		if a, ok := ParseAnchor(k); ok {
			out[Anchor{Type: a.Type, Key: firstMatch(a.Key)}.String()] = v
		} else {
			out[firstMatch(k)] = v
		}
	}
	return key, out
}
