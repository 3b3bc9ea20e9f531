package pattern

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Error is a pattern mismatch, as Kyverno's validate.MatchPattern reports
// it.
//
//   - Skip: a conditional "(key)" or global "<(key)" anchor did not match,
//     so the rule does not apply; Path is "".
//   - Path != "": the resource fails the pattern at Path (e.g.
//     "/spec/containers/0/image/").
//   - Path == "" and !Skip: Kyverno treats this as a rule error, not a
//     failure (an anchor key missing from the resource, or an array shorter
//     than a pattern array of arrays).
//
// Msg is the underlying error text; Kyverno only shows it for skips and
// errors (see RuleOutcome).
type Error struct {
	Path string
	Skip bool
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// nestedSkip is the error a map or array returns when all its applicable
// branches were skipped (Kyverno's *PatternError with Skip set).
type nestedSkip struct {
	err  error
	path string
}

func (e *nestedSkip) Error() string { return e.err.Error() }

// combine joins errors like go.uber.org/multierr.Combine: one error stays
// itself, several are joined with "; ".
func combine(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	texts := make([]string, len(errs))
	for i, e := range errs {
		texts[i] = e.Error()
	}
	return combinedError(strings.Join(texts, "; "))
}

type combinedError string

func (e combinedError) Error() string { return string(e) }

// validator carries the anchor bookkeeping of one Validate call.
type validator struct {
	anchors anchorPresence
}

// Validate matches a resource against a validate.pattern (both decoded
// JSON: map[string]any, []any, string, float64/int64/int, bool, nil). It
// returns nil when the resource matches, else an *Error.
func Validate(resource, pattern any) error {
	v := validator{anchors: anchorPresence{}}
	path, err := v.element(resource, pattern, "/")
	if err == nil {
		return nil
	}
	switch {
	case isSkipError(err):
		return &Error{Skip: true, Msg: err.Error()}
	case isNegationError(err):
		return &Error{Path: path, Msg: err.Error()}
	case v.anchors.keysMissing():
		return &Error{Msg: err.Error()}
	}
	return &Error{Path: path, Msg: err.Error()}
}

// element compares one resource node with one pattern node and returns the
// failing path with the error.
func (v *validator) element(resource, pattern any, path string) (string, error) {
	switch p := pattern.(type) {
	case map[string]any:
		r, ok := resource.(map[string]any)
		if !ok {
			return path, fmt.Errorf("pattern and resource have different structures. Path: %s. Expected %T, found %T", path, pattern, resource)
		}
		v.anchors.observe(p, r)
		return v.mapElement(r, p, path)
	case []any:
		r, ok := resource.([]any)
		if !ok {
			return path, fmt.Errorf("validation rule failed at path %s, resource does not satisfy the expected overlay pattern", path)
		}
		return v.arrayElement(r, p, path)
	case string, float64, int, int64, bool, nil:
		if list, ok := resource.([]any); ok {
			// A scalar pattern applies to every item of a list.
			for _, item := range list {
				if !ValidateValue(item, pattern) {
					return path, fmt.Errorf("resource value '%v' does not match '%v' at path %s", resource, pattern, path)
				}
			}
			return "", nil
		}
		if !ValidateValue(resource, pattern) {
			return path, fmt.Errorf("resource value '%v' does not match '%v' at path %s", resource, pattern, path)
		}
		return "", nil
	}
	return path, fmt.Errorf("failed at '%s', pattern contains unknown type", path)
}

// hasSkipSibling reports whether a skip came straight from an anchor (not
// from a nested map or array that was skipped as a whole).
func hasSkipSibling(skips []error) bool {
	for _, e := range skips {
		if _, nested := e.(*nestedSkip); !nested {
			return true
		}
	}
	return false
}

// mapElement evaluates the anchored keys first (sorted), then the others
// (keys holding global anchors or nested anchors first).
func (v *validator) mapElement(resource, pattern map[string]any, path string) (string, error) {
	pattern = expandMetadataWildcards(pattern, resource)
	anchored, plain := map[string]any{}, map[string]any{}
	for k, val := range pattern {
		if anchorIs(k, ConditionAnchor, ExistenceAnchor, EqualityAnchor, NegationAnchor) {
			anchored[k] = val
		} else {
			plain[k] = val
		}
	}

	var skips []error
	applied := 0
	for _, key := range slices.Sorted(maps.Keys(anchored)) {
		errPath, err := v.key(key, anchored[key], resource, path)
		if err != nil {
			if isSkipError(err) {
				skips = append(skips, err)
				continue
			}
			if !hasSkipSibling(skips) {
				return errPath, err
			}
			// Kyverno ignores this failure: a sibling condition already
			// decided the map does not apply.
			continue
		}
		applied++
	}
	if len(skips) > 0 && (applied == 0 || hasSkipSibling(skips)) {
		return path, &nestedSkip{err: combine(skips), path: path}
	}

	for _, key := range plainKeyOrder(plain) {
		if errPath, err := v.key(key, plain[key], resource, path); err != nil {
			return errPath, err
		}
	}
	return "", nil
}

// plainKeyOrder is Kyverno's getSortedNestedAnchorResource: keys in sorted
// order, those that are global anchors or contain anchors moved to the
// front (each pushed in front of the previous ones).
func plainKeyOrder(plain map[string]any) []string {
	var front, back []string
	for _, k := range slices.Sorted(maps.Keys(plain)) {
		if anchorIs(k, GlobalAnchor) || hasNestedAnchors(plain[k]) {
			front = append([]string{k}, front...)
		} else {
			back = append(back, k)
		}
	}
	return append(front, back...)
}

func hasNestedAnchors(pattern any) bool {
	switch p := pattern.(type) {
	case map[string]any:
		for k, v := range p {
			if anchorIs(k, ConditionAnchor, ExistenceAnchor, EqualityAnchor, NegationAnchor, GlobalAnchor) || hasNestedAnchors(v) {
				return true
			}
		}
	case []any:
		for _, v := range p {
			if hasNestedAnchors(v) {
				return true
			}
		}
	}
	return false
}

// key applies the handler for one pattern key (anchored or plain).
func (v *validator) key(key string, pattern any, resource map[string]any, path string) (string, error) {
	a, anchored := ParseAnchor(key)
	if !anchored || a.Type == AddIfNotPresentAnchor {
		// "+(key)" has no validate handler: Kyverno looks the key up
		// literally, anchor included.
		return v.plainKey(key, pattern, resource, path)
	}
	current := path + a.Key + "/"
	value, present := resource[a.Key]
	switch a.Type {
	case ConditionAnchor:
		if !present {
			return current, newAnchorError(conditionalAnchorError, "conditional anchor key doesn't exist in the resource")
		}
		if errPath, err := v.element(value, pattern, current); err != nil {
			return errPath, newAnchorError(conditionalAnchorError, err.Error())
		}
	case GlobalAnchor:
		if present {
			if errPath, err := v.element(value, pattern, current); err != nil {
				return errPath, newAnchorError(globalAnchorError, err.Error())
			}
		}
	case NegationAnchor:
		if present {
			return current, newAnchorError(negationAnchorError, current+" is not allowed")
		}
	case EqualityAnchor:
		if present {
			if errPath, err := v.element(value, pattern, current); err != nil {
				return errPath, err
			}
		}
	case ExistenceAnchor:
		if present {
			return v.existence(value, pattern, current)
		}
	}
	return "", nil
}

func (v *validator) plainKey(key string, pattern any, resource map[string]any, path string) (string, error) {
	if pattern == "*" {
		if resource[key] != nil {
			return "", nil
		}
		return path, fmt.Errorf("%s/%s not found", path, key)
	}
	return v.element(resource[key], pattern, path+key+"/")
}

// existence: every map in the pattern list must match at least one item of
// the resource list.
func (v *validator) existence(value, pattern any, path string) (string, error) {
	list, ok := value.([]any)
	if !ok {
		return path, fmt.Errorf("invalid resource type %T: Existence ^ () anchor can be used only on list/array type resource", value)
	}
	patterns, ok := pattern.([]any)
	if !ok {
		return path, fmt.Errorf("invalid pattern type %T: Pattern has to be of list to compare against resource", pattern)
	}
	for _, p := range patterns {
		pm, ok := p.(map[string]any)
		if !ok {
			return path, fmt.Errorf("invalid pattern type %T: Pattern has to be of type map to compare against items in resource", pattern)
		}
		found := false
		for i, item := range list {
			if _, err := v.element(item, pm, path+strconv.Itoa(i)+"/"); err == nil {
				found = true
				break
			}
		}
		if !found {
			return path, fmt.Errorf("existence anchor validation failed at path %s", path)
		}
	}
	return "", nil
}

func (v *validator) arrayElement(resource, pattern []any, path string) (string, error) {
	if len(pattern) == 0 {
		return path, fmt.Errorf("pattern Array empty")
	}
	switch first := pattern[0].(type) {
	case map[string]any:
		// Every resource item must match the first pattern map.
		return v.eachItem(resource, func(int) any { return first }, len(resource), path)
	case string, float64, int, int64, bool, nil:
		return v.element(resource, first, path)
	default:
		if len(resource) < len(pattern) {
			return "", fmt.Errorf("validate Array failed, array length mismatch, resource Array len is %d and pattern Array len is %d", len(resource), len(pattern))
		}
		return v.eachItem(resource, func(i int) any { return pattern[i] }, len(pattern), path)
	}
}

// eachItem matches resource[i] with patternAt(i) for i < n; items skipped by
// anchors are tolerated unless every item was skipped.
func (v *validator) eachItem(resource []any, patternAt func(int) any, n int, path string) (string, error) {
	var skips []error
	applied := 0
	for i := range n {
		errPath, err := v.element(resource[i], patternAt(i), path+strconv.Itoa(i)+"/")
		if err != nil {
			if isSkipError(err) {
				skips = append(skips, err)
				continue
			}
			return errPath, err
		}
		applied++
	}
	if applied == 0 && len(skips) > 0 {
		return path, &nestedSkip{err: combine(skips), path: path}
	}
	return "", nil
}
