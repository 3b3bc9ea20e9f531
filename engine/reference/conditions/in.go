package conditions

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/IGLOU-EU/go-wildcard"

	"github.com/imagectx/conformance/engine/reference/pattern"
)

func matchEither(a, b string) bool { return wildcard.Match(a, b) || wildcard.Match(b, a) }

// in is the deprecated In / NotIn: a scalar key must match (wildcards both
// ways) an item of a list value, or the string value (as a wildcard, then as
// a JSON list of exact strings); a list key of strings must be a subset of
// the value's strings (exact).
func in(key, value any, notIn bool) (bool, error) {
	if list, ok := key.([]any); ok {
		keys := make([]string, 0, len(list))
		for i, item := range list {
			s, ok := item.(string)
			if !ok {
				return false, fmt.Errorf("condition key list item %d is %T, not a string: Kyverno v1.19.1 panics on this", i, item)
			}
			keys = append(keys, s)
		}
		return stringSetIn(keys, value, notIn), nil
	}
	k, ok := scalarText(key)
	if !ok {
		return false, nil
	}
	invalid, found := scalarIn(k, value)
	if invalid {
		return false, nil
	}
	return found != notIn, nil
}

func scalarIn(key string, value any) (invalid, found bool) {
	switch v := value.(type) {
	case []any:
		for _, item := range v {
			if matchEither(fmt.Sprint(item), key) {
				return false, true
			}
		}
		return false, false
	case string:
		if wildcard.Match(v, key) {
			return false, true
		}
		var list []string
		if err := json.Unmarshal([]byte(v), &list); err != nil {
			return true, false
		}
		for _, item := range list {
			if item == key {
				return false, true
			}
		}
		return false, false
	}
	return true, false
}

// stringSetIn: In is "every key is in the value set", NotIn "some key is
// not"; a one-key list equal to a string value is true for both, as in
// Kyverno.
func stringSetIn(keys []string, value any, notIn bool) bool {
	var set []string
	switch v := value.(type) {
	case []any:
		for _, item := range v {
			s, ok := item.(string)
			if !ok {
				return false
			}
			set = append(set, s)
		}
	case string:
		if len(keys) == 1 && keys[0] == v {
			return true
		}
		if err := json.Unmarshal([]byte(v), &set); err != nil {
			return false
		}
	default:
		return false
	}
	members := map[string]bool{}
	for _, s := range set {
		members[s] = true
	}
	for _, k := range keys {
		if !members[k] {
			return notIn
		}
	}
	return !notIn
}

// valueStrings reads a string value as a JSON list of strings when it is
// valid JSON, else as a one-item list; invalid is true for JSON that is not
// a list of strings.
func valueStrings(v string) (list []string, invalid bool) {
	if !json.Valid([]byte(v)) {
		return []string{v}, false
	}
	if err := json.Unmarshal([]byte(v), &list); err != nil {
		return nil, true
	}
	return list, false
}

func isRange(v string) bool { return pattern.OperatorOf(v) == pattern.InRange }

// scalarAnyIn is shared by AnyIn, AllIn, AnyNotIn and AllNotIn for a scalar
// key (Kyverno's any/allKeyExistsInArray, which are identical).
func scalarAnyIn(key string, value any) (invalid, found bool) {
	switch v := value.(type) {
	case []any:
		for _, item := range v {
			if matchEither(fmt.Sprint(item), key) {
				return false, true
			}
		}
		return false, false
	case string:
		if wildcard.Match(v, key) {
			return false, true
		}
		if isRange(v) {
			return false, pattern.ValidateValue(key, v)
		}
		list, bad := valueStrings(v)
		if bad {
			return true, false
		}
		for _, item := range list {
			if item == key {
				return false, true
			}
		}
		return false, false
	}
	return true, false
}

func keyStrings(list []any) []string {
	keys := make([]string, 0, len(list))
	for _, item := range list {
		keys = append(keys, fmt.Sprint(item))
	}
	return keys
}

// scalarKeyIn is AnyIn, AllIn, AnyNotIn and AllNotIn for a scalar key: with
// one key, "any" and "all" mean the same, so only not tells them apart.
func scalarKeyIn(key, value any, not bool) bool {
	k, ok := scalarText(key)
	if !ok {
		return false
	}
	invalid, found := scalarAnyIn(k, value)
	if invalid {
		return false
	}
	return found != not
}

// matchesAny reports whether key matches some item of set, wildcards both ways.
func matchesAny(key string, set []string) bool {
	for _, s := range set {
		if matchEither(key, s) {
			return true
		}
	}
	return false
}

// anyIn is AnyIn, or AnyNotIn when not is set.
func anyIn(key, value any, not bool) bool {
	if list, ok := key.([]any); ok {
		return anySetIn(keyStrings(list), value, not)
	}
	return scalarKeyIn(key, value, not)
}

// anySetIn: AnyIn is "some key matches some value", AnyNotIn "some key
// matches no value" (wildcards both ways).
func anySetIn(keys []string, value any, not bool) bool {
	var set []string
	switch v := value.(type) {
	case []any:
		set = keyStrings(v)
	case int, int32, int64, float32, float64, bool:
		set = []string{fmt.Sprint(v)}
	case string:
		if len(keys) == 1 && keys[0] == v {
			return !not
		}
		if isRange(v) {
			rng := v
			if not {
				rng = strings.Replace(v, "-", "!-", 1)
			}
			for _, k := range keys {
				if pattern.ValidateValue(k, rng) {
					return true
				}
			}
			return false
		}
		list, bad := valueStrings(v)
		if bad {
			return false
		}
		set = list
	default:
		return false
	}
	for _, k := range keys {
		if matchesAny(k, set) != not {
			return true
		}
	}
	return false
}

// allIn is AllIn, or AllNotIn when not is set.
func allIn(key, value any, not bool) bool {
	if list, ok := key.([]any); ok {
		return allSetIn(keyStrings(list), value, not)
	}
	return scalarKeyIn(key, value, not)
}

// allSetIn: AllIn is "every key matches some value", AllNotIn "no key
// matches any value". Unlike AnyIn, a number value is not accepted.
func allSetIn(keys []string, value any, not bool) bool {
	var set []string
	switch v := value.(type) {
	case []any:
		set = keyStrings(v)
	case string:
		if len(keys) == 1 && keys[0] == v {
			return !not
		}
		if isRange(v) {
			inRange := 0
			for _, k := range keys {
				if pattern.ValidateValue(k, v) {
					inRange++
				}
			}
			if not {
				return inRange == 0
			}
			return inRange == len(keys)
		}
		list, bad := valueStrings(v)
		if bad {
			return false
		}
		set = list
	default:
		return false
	}
	matchedKeys := 0
	for _, k := range keys {
		if matchesAny(k, set) {
			matchedKeys++
		}
	}
	if not {
		return matchedKeys == 0
	}
	return matchedKeys == len(keys)
}
