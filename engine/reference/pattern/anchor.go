package pattern

import "strings"

// AnchorType is the modifier in front of an anchored key: "" for (key),
// "<" for <(key), "X", "+", "=" and "^".
type AnchorType string

// Anchor modifiers, as Kyverno names them.
const (
	ConditionAnchor       AnchorType = ""
	GlobalAnchor          AnchorType = "<"
	NegationAnchor        AnchorType = "X"
	AddIfNotPresentAnchor AnchorType = "+"
	EqualityAnchor        AnchorType = "="
	ExistenceAnchor       AnchorType = "^"
)

// Anchor is a parsed anchored pattern key.
type Anchor struct {
	Type AnchorType
	Key  string
}

// ParseAnchor parses an anchored key such as "=(image)"; ok is false for a
// plain key. Surrounding spaces are ignored.
func ParseAnchor(s string) (Anchor, bool) {
	// Hand-written form of Kyverno's ^([+<=X^])?\((.+)\)$ (no newline in
	// the key, as "." excludes it); this runs for every pattern key.
	s = strings.TrimSpace(s)
	if len(s) < 3 || s[len(s)-1] != ')' {
		return Anchor{}, false
	}
	var t AnchorType
	if strings.IndexByte("+<=X^", s[0]) >= 0 {
		t, s = AnchorType(s[:1]), s[1:]
	}
	if len(s) < 3 || s[0] != '(' {
		return Anchor{}, false
	}
	key := s[1 : len(s)-1]
	if strings.IndexByte(key, '\n') >= 0 {
		return Anchor{}, false
	}
	return Anchor{Type: t, Key: key}, true
}

func (a Anchor) String() string { return string(a.Type) + "(" + a.Key + ")" }

func anchorIs(key string, types ...AnchorType) bool {
	a, ok := ParseAnchor(key)
	if !ok {
		return false
	}
	for _, t := range types {
		if a.Type == t {
			return true
		}
	}
	return false
}

// anchorErrorKind tells which anchor produced an anchorError.
type anchorErrorKind int

const (
	conditionalAnchorError anchorErrorKind = iota
	globalAnchorError
	negationAnchorError
)

// Prefixes of anchor errors; Kyverno also recognises anchor errors that were
// wrapped or combined by searching their text for these.
const (
	negationAnchorMsg    = "negation anchor matched in resource"
	conditionalAnchorMsg = "conditional anchor mismatch"
	globalAnchorMsg      = "global anchor mismatch"
)

type anchorError struct {
	kind    anchorErrorKind
	message string
}

func (e anchorError) Error() string { return e.message }

func newAnchorError(kind anchorErrorKind, msg string) anchorError {
	prefix := map[anchorErrorKind]string{
		conditionalAnchorError: conditionalAnchorMsg,
		globalAnchorError:      globalAnchorMsg,
		negationAnchorError:    negationAnchorMsg,
	}[kind]
	return anchorError{kind: kind, message: prefix + ": " + msg}
}

func isAnchorError(err error, kind anchorErrorKind, msg string) bool {
	if err == nil {
		return false
	}
	if ae, ok := err.(anchorError); ok {
		return ae.kind == kind
	}
	return strings.Contains(err.Error(), msg)
}

// isSkipError: a conditional or global anchor did not match, so the rule
// does not apply.
func isSkipError(err error) bool {
	return isAnchorError(err, conditionalAnchorError, conditionalAnchorMsg) ||
		isAnchorError(err, globalAnchorError, globalAnchorMsg)
}

func isNegationError(err error) bool {
	return isAnchorError(err, negationAnchorError, negationAnchorMsg)
}

// anchorPresence records, per anchored key seen in the pattern, whether the
// resource had that key somewhere (Kyverno's AnchorMap).
type anchorPresence map[string]bool

func (p anchorPresence) observe(pattern map[string]any, resource any) {
	for key := range pattern {
		a, ok := ParseAnchor(key)
		if !ok || (a.Type != ConditionAnchor && a.Type != ExistenceAnchor && a.Type != NegationAnchor) {
			continue
		}
		if p[key] {
			continue
		}
		p[key] = hasKey(resource, a.Key)
	}
}

// keysMissing is true when a condition or existence anchor never found its
// key in the resource.
func (p anchorPresence) keysMissing() bool {
	for key, present := range p {
		if !present && !anchorIs(key, NegationAnchor) {
			return true
		}
	}
	return false
}

func hasKey(resource any, key string) bool {
	switch r := resource.(type) {
	case map[string]any:
		_, ok := r[key]
		return ok
	case []any:
		for _, v := range r {
			if hasKey(v, key) {
				return true
			}
		}
	}
	return false
}
