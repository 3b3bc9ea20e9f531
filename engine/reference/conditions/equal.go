package conditions

import (
	"math"
	"reflect"
	"strconv"
	"time"

	"github.com/IGLOU-EU/go-wildcard"
	"k8s.io/apimachinery/pkg/api/resource"
)

// durations reads key and value as durations when at least one is a
// duration string (other than "0"); the other side may be a duration string
// or a number of seconds (floats truncated to whole seconds first).
func durations(key, value any) (time.Duration, time.Duration, bool) {
	k, kok := durationString(key)
	v, vok := durationString(value)
	if !kok && !vok {
		return 0, 0, false
	}
	if !kok {
		if k, kok = secondsOf(key); !kok {
			return 0, 0, false
		}
	}
	if !vok {
		if v, vok = secondsOf(value); !vok {
			return 0, 0, false
		}
	}
	return k, v, true
}

func durationString(x any) (time.Duration, bool) {
	s, ok := x.(string)
	if !ok || s == "0" {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	return d, err == nil
}

func secondsOf(x any) (time.Duration, bool) {
	switch n := x.(type) {
	case int:
		return time.Duration(n) * time.Second, true
	case int64:
		return time.Duration(n) * time.Second, true
	case float64:
		return time.Duration(n) * time.Second, true
	}
	return 0, false
}

// equals is Kyverno's Equals handler.
func equals(key, value any) bool {
	switch k := key.(type) {
	case bool:
		v, ok := value.(bool)
		return ok && k == v
	case int:
		return intEquals(int64(k), value, false)
	case int64:
		return intEquals(k, value, false)
	case float64:
		return floatEquals(k, value, false)
	case string:
		return stringEquals(k, value, false)
	case map[string]any:
		v, ok := value.(map[string]any)
		return ok && reflect.DeepEqual(k, v)
	case []any:
		v, ok := value.([]any)
		return ok && reflect.DeepEqual(k, v)
	}
	return false
}

// notEquals is Kyverno's NotEquals handler: the negation of equals for a
// comparable pair, true for a type mismatch, false for an unsupported key.
func notEquals(key, value any) bool {
	switch k := key.(type) {
	case bool:
		v, ok := value.(bool)
		return !ok || k != v
	case int:
		return intEquals(int64(k), value, true)
	case int64:
		return intEquals(k, value, true)
	case float64:
		return floatEquals(k, value, true)
	case string:
		return stringEquals(k, value, true)
	case map[string]any:
		v, ok := value.(map[string]any)
		return !ok || !reflect.DeepEqual(k, v)
	case []any:
		v, ok := value.([]any)
		return !ok || !reflect.DeepEqual(k, v)
	}
	return false
}

// Each *Equals helper returns the Equals result, or the NotEquals result
// when negate is set; an incomparable pair is false for Equals and true for
// NotEquals.

func intEquals(key int64, value any, negate bool) bool {
	switch v := value.(type) {
	case int:
		return (int64(v) == key) != negate
	case int64:
		return (v == key) != negate
	case float64:
		if v == math.Trunc(v) {
			return (int64(v) == key) != negate
		}
	case string:
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return (n == key) != negate
		}
	}
	return negate
}

func floatEquals(key float64, value any, negate bool) bool {
	switch v := value.(type) {
	case int:
		if key == math.Trunc(key) {
			return (int(key) == v) != negate
		}
	case int64:
		if key == math.Trunc(key) {
			return (int64(key) == v) != negate
		}
	case float64:
		return (v == key) != negate
	case string:
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return (f == key) != negate
		}
	}
	return negate
}

func stringEquals(key string, value any, negate bool) bool {
	if kd, vd, ok := durations(key, value); ok {
		return (kd.Seconds() == vd.Seconds()) != negate
	}
	if kq, err := resource.ParseQuantity(key); err == nil {
		if v, ok := value.(string); ok {
			if negate && v == "" {
				// Kyverno's NotEquals falls back to a wildcard match here.
				return !wildcard.Match(v, key)
			}
			vq, err := resource.ParseQuantity(v)
			if err != nil {
				return negate
			}
			return kq.Equal(vq) != negate
		}
	}
	if v, ok := value.(string); ok {
		return wildcard.Match(v, key) != negate
	}
	return negate
}
