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
		return intEquals(int64(k), value)
	case int64:
		return intEquals(k, value)
	case float64:
		return floatEquals(k, value)
	case string:
		return stringEquals(k, value)
	case map[string]any:
		v, ok := value.(map[string]any)
		return ok && reflect.DeepEqual(k, v)
	case []any:
		v, ok := value.([]any)
		return ok && reflect.DeepEqual(k, v)
	}
	return false
}

// notEquals is Kyverno's NotEquals handler. For every key type Equals
// supports it is exactly the negation (an incomparable pair is not equal,
// so NotEquals is true); an unsupported key such as nil is false for both.
func notEquals(key, value any) bool {
	switch key.(type) {
	case bool, int, int64, float64, string, map[string]any, []any:
		return !equals(key, value)
	}
	return false
}

func intEquals(key int64, value any) bool {
	switch v := value.(type) {
	case int:
		return int64(v) == key
	case int64:
		return v == key
	case float64:
		return v == math.Trunc(v) && int64(v) == key
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		return err == nil && n == key
	}
	return false
}

func floatEquals(key float64, value any) bool {
	switch v := value.(type) {
	case int:
		return key == math.Trunc(key) && int(key) == v
	case int64:
		return key == math.Trunc(key) && int64(key) == v
	case float64:
		return v == key
	case string:
		f, err := strconv.ParseFloat(v, 64)
		return err == nil && f == key
	}
	return false
}

// stringEquals compares as durations, then quantities (a quantity key
// against a string value that is not one is unequal), then as a wildcard
// pattern (the value) against the key.
func stringEquals(key string, value any) bool {
	if kd, vd, ok := durations(key, value); ok {
		return kd.Seconds() == vd.Seconds()
	}
	v, ok := value.(string)
	if !ok {
		return false
	}
	if kq, err := resource.ParseQuantity(key); err == nil {
		vq, err := resource.ParseQuantity(v)
		return err == nil && kq.Equal(vq)
	}
	return wildcard.Match(v, key)
}
