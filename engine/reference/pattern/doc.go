// Package pattern implements Kyverno v1.19.1's validate.pattern and
// validate.anyPattern matching (pkg/engine/validate, pkg/engine/anchor,
// pkg/engine/pattern, pkg/engine/wildcards and the message building of
// pkg/engine/handlers/validation/validate_resource.go).
//
// Validate(resource, pattern) returns nil on a match or an *Error with
// Kyverno's failing Path (e.g. "/spec/containers/0/image/"), Skip (a
// conditional or global anchor did not match) and Msg. Rule.Pattern and
// Rule.AnyPattern turn that into the rule status and message Kyverno
// reports:
//
//	pass:  validation rule 'NAME' passed.            (anyPattern: validation rule 'NAME' anyPattern[I] passed.)
//	fail:  validation error: MSG. rule NAME failed at path PATH
//	skip:  the *Error text, e.g. conditional anchor mismatch: resource value 'a' does not match 'b' at path /x/
//	error: validation error: MSG. rule NAME execution error: ERR   (an *Error with no path and no skip)
//	anyPattern fail: validation error: MSG. rule NAME[0] failed at path P rule NAME[1] failed at path Q
//	anyPattern skip: rule NAME[0] skipped: ERR rule NAME[1] skipped: ERR
//
// Pattern strings support wildcards (* and ? via github.com/IGLOU-EU/go-wildcard),
// the operators >, <, >=, <=, ! and ranges a-b / a!-b, alternatives "|" and
// conjunctions "&", and compare durations, then quantities, then strings.
// Anchors: (key) conditional, <(key) global, X(key) negation, =(key)
// equality, ^(key) existence (lists). +(key) has no validation meaning in
// Kyverno: the key is looked up literally, "+(key)" included, exactly as
// Kyverno does.
//
// Numbers: resources decoded the way Kubernetes does it (unstructured) hold
// integers as int64, patterns decoded with encoding/json hold float64; both
// are handled as Kyverno handles them, and the messages print values with
// %v as Kyverno does, so the caller should decode resources like Kyverno
// (int64 for integers) to get identical texts.
//
// Deviations from Kyverno v1.19.1:
//   - Metadata label/annotation wildcard keys resolve against the resource's
//     keys in sorted order (Kyverno iterates a Go map, so when a wildcard
//     matches several keys its choice is random).
//   - When a pattern map holds "metadata" both plain and anchored (or
//     "labels"/"annotations" several times), Kyverno expands wildcards in
//     whichever its map iteration meets first; this package takes the plain
//     key, then anchored forms in sorted order (one of Kyverno's outcomes).
//   - The caller's pattern is never modified (Kyverno rewrites metadata
//     wildcard keys in place).
package pattern
