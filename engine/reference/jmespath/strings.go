package jmespath

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/IGLOU-EU/go-wildcard"
	"github.com/blang/semver/v4"
)

func fnCompare(a []any) (any, error) {
	x, err := stringArg("compare", a, 0)
	if err != nil {
		return nil, err
	}
	y, err := stringArg("compare", a, 1)
	if err != nil {
		return nil, err
	}
	// Kyverno returns a Go int here, not a JSON number.
	return strings.Compare(x, y), nil
}

func fnEqualFold(a []any) (any, error) {
	x, err := stringArg("equal_fold", a, 0)
	if err != nil {
		return nil, err
	}
	y, err := stringArg("equal_fold", a, 1)
	if err != nil {
		return nil, err
	}
	return strings.EqualFold(x, y), nil
}

func fnReplace(a []any) (any, error) {
	str, err := stringArg("replace", a, 0)
	if err != nil {
		return nil, err
	}
	old, err := stringArg("replace", a, 1)
	if err != nil {
		return nil, err
	}
	repl, err := stringArg("replace", a, 2)
	if err != nil {
		return nil, err
	}
	count, err := numberArg("replace", a, 3)
	if err != nil {
		return nil, err
	}
	return strings.Replace(str, old, repl, int(count)), nil
}

func fnReplaceAll(a []any) (any, error) {
	str, err := stringArg("replace_all", a, 0)
	if err != nil {
		return nil, err
	}
	old, err := stringArg("replace_all", a, 1)
	if err != nil {
		return nil, err
	}
	repl, err := stringArg("replace_all", a, 2)
	if err != nil {
		return nil, err
	}
	return strings.ReplaceAll(str, old, repl), nil
}

func fnToUpper(a []any) (any, error) {
	str, err := stringArg("to_upper", a, 0)
	if err != nil {
		return nil, err
	}
	return strings.ToUpper(str), nil
}

func fnToLower(a []any) (any, error) {
	str, err := stringArg("to_lower", a, 0)
	if err != nil {
		return nil, err
	}
	return strings.ToLower(str), nil
}

func fnTrim(a []any) (any, error) {
	str, err := stringArg("trim", a, 0)
	if err != nil {
		return nil, err
	}
	cutset, err := stringArg("trim", a, 1)
	if err != nil {
		return nil, err
	}
	return strings.Trim(str, cutset), nil
}

func fnTrimPrefix(a []any) (any, error) {
	str, err := stringArg("trim_prefix", a, 0)
	if err != nil {
		return nil, err
	}
	prefix, err := stringArg("trim_prefix", a, 1)
	if err != nil {
		return nil, err
	}
	return strings.TrimPrefix(str, prefix), nil
}

func fnSplit(a []any) (any, error) {
	str, err := stringArg("split", a, 0)
	if err != nil {
		return nil, err
	}
	sep, err := stringArg("split", a, 1)
	if err != nil {
		return nil, err
	}
	parts := strings.Split(str, sep)
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out, nil
}

// scalarString renders a string, number or boolean the way Kyverno's
// regex functions do; numbers go through 32-bit float formatting, as in
// Kyverno.
func scalarString(v any) (string, error) {
	switch x := v.(type) {
	case int:
		return strconv.Itoa(x), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 32), nil
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), nil
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	default:
		return "", errors.New("error, undefined type cast")
	}
}

func regexReplace(name string, a []any, literal bool) (any, error) {
	expr, err := stringArg(name, a, 0)
	if err != nil {
		return nil, err
	}
	src, err := scalarString(a[1])
	if err != nil {
		return nil, fnError(errArgType, name, 2, "String or Real")
	}
	repl, err := scalarString(a[2])
	if err != nil {
		return nil, fnError(errArgType, name, 3, "String or Real")
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fnError(errGeneric, name, err.Error())
	}
	if literal {
		return string(re.ReplaceAllLiteral([]byte(src), []byte(repl))), nil
	}
	return string(re.ReplaceAll([]byte(src), []byte(repl))), nil
}

func fnRegexReplaceAll(a []any) (any, error) { return regexReplace("regex_replace_all", a, false) }

func fnRegexReplaceAllLiteral(a []any) (any, error) {
	return regexReplace("regex_replace_all_literal", a, true)
}

func fnRegexMatch(a []any) (any, error) {
	expr, err := stringArg("regex_match", a, 0)
	if err != nil {
		return nil, err
	}
	src, err := scalarString(a[1])
	if err != nil {
		return nil, fnError(errArgType, "regex_match", 2, "String or Real")
	}
	// A bad expression surfaces regexp's own error, unwrapped, as in Kyverno.
	return regexp.Match(expr, []byte(src))
}

// fnPatternMatch reports errors under the name regex_match, as Kyverno does.
func fnPatternMatch(a []any) (any, error) {
	pattern, err := stringArg("regex_match", a, 0)
	if err != nil {
		return nil, err
	}
	src, err := scalarString(a[1])
	if err != nil {
		return nil, fnError(errArgType, "regex_match", 2, "String or Real")
	}
	return wildcard.Match(pattern, src), nil
}

// fnLabelMatch is true when every label of the first object is present with
// an equal value in the second. Kyverno numbers these arguments from 0.
func fnLabelMatch(a []any) (any, error) {
	labels, ok := a[0].(map[string]any)
	if !ok {
		return nil, fnError(errArgType, "label_match", 0, "Object")
	}
	target, ok := a[1].(map[string]any)
	if !ok {
		return nil, fnError(errArgType, "label_match", 1, "Object")
	}
	for k, v := range labels {
		if got, ok := target[k]; !ok || !reflect.DeepEqual(got, v) {
			return false, nil
		}
	}
	return true, nil
}

func fnToBoolean(a []any) (any, error) {
	str, err := stringArg("to_boolean", a, 0)
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(str) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return nil, fnError(errGeneric, "to_boolean",
		fmt.Sprintf("lowercase argument must be 'true' or 'false' (provided: '%s')", str))
}

func fnPathCanonicalize(a []any) (any, error) {
	str, err := stringArg("path_canonicalize", a, 0)
	if err != nil {
		return nil, err
	}
	return filepath.Join(str), nil
}

// fnTruncate keeps the first n runes; a negative n gives "".
func fnTruncate(a []any) (any, error) {
	str, err := stringArg("truncate", a, 0)
	if err != nil {
		return nil, err
	}
	length, err := numberArg("truncate", a, 1)
	if err != nil {
		return nil, err
	}
	n := int(max(length, 0))
	if n < 1 {
		return "", nil
	}
	runes := []rune(str)
	if n >= len(runes) {
		return str, nil
	}
	return string(runes[:n]), nil
}

// fnSemverCompare reports whether the version (an unparsable one counts as
// 0.0.0, as in Kyverno) satisfies the range.
func fnSemverCompare(a []any) (any, error) {
	v, err := stringArg("semver_compare", a, 0)
	if err != nil {
		return nil, err
	}
	r, err := stringArg("semver_compare", a, 1)
	if err != nil {
		return nil, err
	}
	version, _ := semver.Parse(v)
	inRange, err := semver.ParseRange(r)
	if err != nil {
		return nil, err
	}
	return inRange(version), nil
}
