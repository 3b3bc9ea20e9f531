package conditions

import (
	"strconv"
	"time"

	"github.com/blang/semver/v4"
	"k8s.io/apimachinery/pkg/api/resource"
)

// ordered applies a GreaterThan/LessThan operator to the sign of key-value.
// The operator name is compared exactly, as Kyverno does after choosing the
// handler case-insensitively.
func ordered(sign int, operator string) bool {
	switch operator {
	case "GreaterThanOrEquals", "DurationGreaterThanOrEquals":
		return sign >= 0
	case "GreaterThan", "DurationGreaterThan":
		return sign > 0
	case "LessThanOrEquals", "DurationLessThanOrEquals":
		return sign <= 0
	case "LessThan", "DurationLessThan":
		return sign < 0
	}
	return false
}

func sign[T int64 | float64 | time.Duration](a, b T) int {
	switch {
	case a > b:
		return 1
	case a < b:
		return -1
	}
	return 0
}

// numeric is Kyverno's GreaterThan/GreaterThanOrEquals/LessThan/
// LessThanOrEquals: numbers, numeric strings, durations, quantities and
// semantic versions.
func numeric(key, value any, operator string) bool {
	switch k := key.(type) {
	case int:
		return numberVs(float64(k), int64(k), value, operator)
	case int64:
		return numberVs(float64(k), k, value, operator)
	case float64:
		return numberVs(k, k, value, operator)
	case string:
		return stringVs(k, value, operator)
	}
	return false
}

// numberVs compares a numeric key (as float, and in its original type for
// duration detection) with value.
func numberVs(key float64, original any, value any, operator string) bool {
	switch v := value.(type) {
	case int:
		return ordered(sign(key, float64(v)), operator)
	case int64:
		return ordered(sign(key, float64(v)), operator)
	case float64:
		return ordered(sign(key, v), operator)
	case string:
		if kd, vd, ok := durations(original, value); ok {
			return ordered(sign(kd.Seconds(), vd.Seconds()), operator)
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return ordered(sign(key, f), operator)
		}
	}
	return false
}

func stringVs(key string, value any, operator string) bool {
	if kd, vd, ok := durations(key, value); ok {
		return ordered(sign(kd.Seconds(), vd.Seconds()), operator)
	}
	if v, ok := value.(string); ok {
		if kq, err := resource.ParseQuantity(key); err == nil {
			if vq, err := resource.ParseQuantity(v); err == nil {
				return ordered(kq.Cmp(vq), operator)
			}
		}
	}
	if f, err := strconv.ParseFloat(key, 64); err == nil {
		return numberVs(f, f, value, operator)
	}
	if version, err := semver.Parse(key); err == nil {
		v, ok := value.(string)
		if !ok {
			return false
		}
		other, err := semver.Parse(v)
		if err != nil {
			return false
		}
		return ordered(version.Compare(other), operator)
	}
	return false
}

// durationOp is Kyverno's deprecated Duration* operators: numbers are
// seconds (floats truncated), strings must parse as durations.
func durationOp(key, value any, operator string) bool {
	kd, ok := asDuration(key)
	if !ok {
		return false
	}
	vd, ok := asDuration(value)
	if !ok {
		return false
	}
	return ordered(sign(kd, vd), operator)
}

// asDuration reads a Duration* operand: a duration string, or a number of
// seconds (a float is truncated to whole seconds, as Kyverno converts it).
func asDuration(v any) (time.Duration, bool) {
	if s, ok := v.(string); ok {
		d, err := time.ParseDuration(s)
		return d, err == nil
	}
	return secondsOf(v)
}
