package pattern

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/IGLOU-EU/go-wildcard"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Operator is the comparison a pattern string starts with (Kyverno's
// pkg/engine/operator).
type Operator string

// The operators a pattern string may start with; a range is written
// "low-high" (InRange) or "low!-high" (NotInRange).
const (
	Equal      Operator = ""
	MoreEqual  Operator = ">="
	LessEqual  Operator = "<="
	NotEqual   Operator = "!"
	More       Operator = ">"
	Less       Operator = "<"
	InRange    Operator = "-"
	NotInRange Operator = "!-"
)

// Range patterns: signed numbers with an optional unit suffix on both ends.
var (
	inRangeRegex    = regexp.MustCompile(`^([-|\+]?\d+(?:\.\d+)?[A-Za-z]*)-([-|\+]?\d+(?:\.\d+)?[A-Za-z]*)$`)
	notInRangeRegex = regexp.MustCompile(`^([-|\+]?\d+(?:\.\d+)?[A-Za-z]*)!-([-|\+]?\d+(?:\.\d+)?[A-Za-z]*)$`)
)

// OperatorOf returns the operator a pattern string starts with. Strings
// shorter than two characters are always Equal, so ">" alone is a literal.
func OperatorOf(pattern string) Operator {
	if len(pattern) < 2 {
		return Equal
	}
	for _, op := range []Operator{MoreEqual, LessEqual, More, Less, NotEqual} {
		if strings.HasPrefix(pattern, string(op)) {
			return op
		}
	}
	if !strings.Contains(pattern, "-") {
		return Equal // fast path: both range forms contain '-'
	}
	if notInRangeRegex.MatchString(pattern) {
		return NotInRange
	}
	if inRangeRegex.MatchString(pattern) {
		return InRange
	}
	return Equal
}

// ValidateValue reports whether a scalar resource value satisfies a scalar
// pattern (Kyverno's pkg/engine/pattern.Validate):
//   - bool, int, int64, float64 patterns compare by value (numbers also
//     against numeric strings);
//   - a nil pattern accepts nil and zero values (0, "", false);
//   - a map pattern only requires the value to be a map;
//   - an array pattern never matches;
//   - a string pattern is "a | b" alternatives of "x & y" conjunctions of
//     operator expressions, each compared as a duration, else a quantity,
//     else a wildcard string (== and ! only).
func ValidateValue(value, pattern any) bool {
	switch p := pattern.(type) {
	case bool:
		v, ok := value.(bool)
		return ok && v == p
	case int:
		return matchInt(value, int64(p))
	case int64:
		return matchInt(value, p)
	case float64:
		return matchFloat(value, p)
	case nil:
		return matchNil(value)
	case map[string]any:
		_, ok := value.(map[string]any)
		return ok
	case string:
		return matchStringPattern(value, p)
	}
	return false
}

func matchInt(value any, pattern int64) bool {
	switch v := value.(type) {
	case int:
		return int64(v) == pattern
	case int64:
		return v == pattern
	case float64:
		return v == math.Trunc(v) && int64(v) == pattern
	case string:
		i, err := strconv.ParseInt(v, 10, 64)
		return err == nil && i == pattern
	}
	return false
}

func matchFloat(value any, pattern float64) bool {
	switch v := value.(type) {
	case int:
		return pattern == math.Trunc(pattern) && int(pattern) == v
	case int64:
		return pattern == math.Trunc(pattern) && int64(pattern) == v
	case float64:
		return v == pattern
	case string:
		f, err := strconv.ParseFloat(v, 64)
		return err == nil && f == pattern
	}
	return false
}

func matchNil(value any) bool {
	switch v := value.(type) {
	case float64:
		return v == 0
	case int:
		return v == 0
	case int64:
		return v == 0
	case string:
		return v == ""
	case bool:
		return !v
	case nil:
		return true
	}
	return false
}

func matchStringPattern(value any, pattern string) bool {
	if s, ok := value.(string); ok && s == pattern {
		return true
	}
	for _, alternative := range strings.Split(pattern, "|") {
		if matchAll(value, strings.Trim(alternative, " ")) {
			return true
		}
	}
	return false
}

func matchAll(value any, pattern string) bool {
	for _, part := range strings.Split(pattern, "&") {
		if !matchExpression(value, strings.Trim(part, " ")) {
			return false
		}
	}
	return true
}

func matchExpression(value any, pattern string) bool {
	switch op := OperatorOf(pattern); op {
	case InRange:
		m := inRangeRegex.FindStringSubmatch(pattern)
		if m == nil {
			return false
		}
		return matchExpression(value, ">= "+m[1]) && matchExpression(value, "<= "+m[2])
	case NotInRange:
		m := notInRangeRegex.FindStringSubmatch(pattern)
		if m == nil {
			return false
		}
		return matchExpression(value, "< "+m[1]) || matchExpression(value, "> "+m[2])
	default:
		operand := strings.TrimSpace(pattern[len(op):])
		if res, ok := compareDuration(value, operand, op); ok {
			return res
		}
		if res, ok := compareQuantity(value, operand, op); ok {
			return res
		}
		return compareString(value, operand, op)
	}
}

// numberText renders a value for duration/quantity parsing: nil is "0",
// floats use %f.
func numberText(value any) (string, bool) {
	switch v := value.(type) {
	case nil:
		return "0", true
	case string:
		return v, true
	case float64:
		return fmt.Sprintf("%f", v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case int:
		return strconv.Itoa(v), true
	}
	return "", false
}

// compare applies op to the sign of value-pattern; ok is false for an
// operator that does not compare (ranges are expanded before this).
func compare(sign int, op Operator) (result, ok bool) {
	switch op {
	case Equal:
		return sign == 0, true
	case NotEqual:
		return sign != 0, true
	case More:
		return sign > 0, true
	case Less:
		return sign < 0, true
	case MoreEqual:
		return sign >= 0, true
	case LessEqual:
		return sign <= 0, true
	}
	return false, false
}

func compareDuration(value any, pattern string, op Operator) (bool, bool) {
	p, err := time.ParseDuration(pattern)
	if err != nil {
		return false, false
	}
	text, ok := numberText(value)
	if !ok {
		return false, false
	}
	v, err := time.ParseDuration(text)
	if err != nil {
		return false, false
	}
	sign := 0
	if v > p {
		sign = 1
	} else if v < p {
		sign = -1
	}
	return compare(sign, op)
}

func compareQuantity(value any, pattern string, op Operator) (bool, bool) {
	p, err := resource.ParseQuantity(pattern)
	if err != nil {
		return false, false
	}
	text, ok := numberText(value)
	if !ok {
		return false, false
	}
	v, err := resource.ParseQuantity(text)
	if err != nil {
		return false, false
	}
	return compare(v.Cmp(p), op)
}

// compareString handles == and ! as wildcard matches; floats are rendered
// in Go's 'E' format (1.5 is "1.5E+00"), as Kyverno does. Ordering operators
// never match strings.
func compareString(value any, pattern string, op Operator) bool {
	if op != Equal && op != NotEqual {
		return false
	}
	var text string
	switch v := value.(type) {
	case float64:
		text = strconv.FormatFloat(v, 'E', -1, 64)
	case int:
		text = strconv.FormatInt(int64(v), 10)
	case int64:
		text = strconv.FormatInt(v, 10)
	case string:
		text = v
	case bool:
		text = strconv.FormatBool(v)
	default:
		return false
	}
	matched := wildcard.Match(pattern, text)
	if op == NotEqual {
		return !matched
	}
	return matched
}
