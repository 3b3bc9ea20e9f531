package scenario

import (
	"slices"
	"sort"
)

// Site is where a policy first uses the image data: the place whose
// wording a failed lookup carries (docs/design.md, decision 5). A row (or
// a whole file) names its site with the label `site`; the loader refuses a
// site not declared in Sites, and the catalogue and the verdict group by
// it. A new site is one entry of Sites (then the rows that name it).
type Site string

// SiteInfo declares one site.
type SiteInfo struct {
	Site Site
	// Where says where the image data is first read and, for a failed
	// lookup, the wording Kyverno v1.19.1 gives the error there (measured
	// by the scenarios; docs/error-strings.md lists every string).
	Where string
}

// Sites declares every site the scenarios may name, in the order the
// documentation lists them (legacy kyverno.io policies, then CEL).
func Sites() []SiteInfo {
	return []SiteInfo{
		{"preconditions", "a validate rule's preconditions: `failed to evaluate preconditions: failed to substitute variables in condition key: ...`"},
		{"deny", "a validate rule's deny conditions: `failed to check deny conditions: ...`"},
		{"validate-deny", "a validate rule's deny conditions, in the files that vary the entry itself (its name, its order, a second entry of the same name): `failed to check deny conditions: ...`; an entry Kyverno cannot set up fails before: `failed to load context: failed to create deferred loader for context entry ...`"},
		{"pattern", "a validate rule's pattern: `variable substitution failed: failed to resolve ... at path ...`"},
		{"message", "only a validate rule's message, of a rule that always denies"},
		{"foreach", "the deny conditions of a validate foreach element: `validation failure: failed to check deny conditions: ...`"},
		{"foreach-deny", "the deny conditions of validate foreach blocks reading rule-level entries (loaded lazily in the first block, restored for the next)"},
		{"foreach-preconditions", "a validate foreach element's preconditions: an element whose preconditions error is skipped, so no element applies and the rule gives no result"},
		{"unreferenced", "nowhere: an entry nothing reads is never fetched"},
		{"mutate-preconditions", "a mutate rule's preconditions: `failed to evaluate preconditions: ...`"},
		{"mutate-patchStrategicMerge", "a mutate rule's patchStrategicMerge: `variable substitution failed: failed to resolve ... at path /mutate/patchStrategicMerge/...`"},
		{"mutate-patchesJson6902", "a mutate rule's patchesJson6902: `variable substitution failed: ... at path /mutate/patchesJson6902`"},
		{"mutate-foreach", "a mutate foreach element's preconditions: `failed to mutate elements: failed to evaluate mutate.foreach[0].preconditions: ...`"},
		{"verifyImages-preconditions", "a verifyImages rule's preconditions (both of its passes)"},
		{"verifyImages-attestation-conditions", "a verifyImages attestation's conditions (verifyImages substitutes the whole rule first: `failed to substitute variables: ...`)"},
		{"cel-variable", "a CEL policy's variables: `error: failed to get image data: ...`"},
		{"cel-validation", "a CEL validation expression: `error: failed to get image data: ...`"},
		{"cel-or-absorbed", "a CEL validation `a || b` with the lookup on one side: the error is absorbed only when the other side is true"},
		{"cel-message", "a CEL messageExpression of a failing validation: `failed to evaluate message expression: failed to get image data: ...`"},
		{"cel-match", "a CEL matchCondition: under failurePolicy Fail `failed to load context: failed to get image data: ...` (rule `evaluation`); under Ignore the policy does not apply"},
		{"cel-audit-annotation", "a CEL auditAnnotation: `failed to load context: failed to evaluate auditAnnotation '<key>': failed to get image data: ...`"},
		{"cel-mutate", "a MutatingPolicy's mutation: `failed to evaluate policy: failed to get image data: ...`"},
		{"cel-verify-signature", "an ImageValidatingPolicy's signature verification: `failed to evaluate policy: failed to get image data: ...`"},
		{"cel-verify-attestation", "an ImageValidatingPolicy's attestation check: `failed to evaluate policy: failed to get image data: ...`"},
	}
}

// Known reports whether s is declared in Sites.
func (s Site) Known() bool {
	return slices.ContainsFunc(Sites(), func(i SiteInfo) bool { return i.Site == s })
}

// SiteNames lists the declared sites, sorted, for error messages.
func SiteNames() []string {
	var out []string
	for _, i := range Sites() {
		out = append(out, string(i.Site))
	}
	sort.Strings(out)
	return out
}
