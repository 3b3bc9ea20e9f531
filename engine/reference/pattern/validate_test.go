package pattern

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func mustJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad test JSON %q: %v", s, err)
	}
	return v
}

const pod = `{
  "apiVersion": "v1", "kind": "Pod",
  "metadata": {"name": "p", "labels": {"app": "web", "team-a": "x"}},
  "spec": {
    "hostNetwork": false,
    "containers": [
      {"name": "a", "image": "nginx:1.25", "imagePullPolicy": "Always",
       "resources": {"limits": {"memory": "512Mi", "cpu": "500m"}}},
      {"name": "b", "image": "busybox:latest",
       "resources": {"limits": {"memory": "2Gi"}}}
    ]
  }
}`

func TestValidate(t *testing.T) {
	cases := []struct {
		name    string
		pattern string
		want    *Error // nil: match
	}{
		{name: "empty map matches", pattern: `{}`},
		{name: "plain value", pattern: `{"kind": "Pod"}`},
		{name: "plain value mismatch", pattern: `{"kind": "Deployment"}`,
			want: &Error{Path: "/kind/", Msg: "resource value 'Pod' does not match 'Deployment' at path /kind/"}},
		{name: "wildcard every container", pattern: `{"spec": {"containers": [{"image": "*:*"}]}}`},
		{name: "no latest tag fails on second container", pattern: `{"spec": {"containers": [{"image": "!*:latest"}]}}`,
			want: &Error{Path: "/spec/containers/1/image/", Msg: "resource value 'busybox:latest' does not match '!*:latest' at path /spec/containers/1/image/"}},
		{name: "missing field", pattern: `{"spec": {"containers": [{"imagePullPolicy": "Always"}]}}`,
			want: &Error{Path: "/spec/containers/1/imagePullPolicy/", Msg: "resource value '<nil>' does not match 'Always' at path /spec/containers/1/imagePullPolicy/"}},
		{name: "star requires presence", pattern: `{"spec": {"containers": [{"imagePullPolicy": "*"}]}}`,
			want: &Error{Path: "/spec/containers/1/", Msg: "/spec/containers/1//imagePullPolicy not found"}},
		{name: "quantity upper bound", pattern: `{"spec": {"containers": [{"resources": {"limits": {"memory": "<=1Gi"}}}]}}`,
			want: &Error{Path: "/spec/containers/1/resources/limits/memory/", Msg: "resource value '2Gi' does not match '<=1Gi' at path /spec/containers/1/resources/limits/memory/"}},
		{name: "quantity range", pattern: `{"spec": {"containers": [{"resources": {"limits": {"memory": "256Mi-4Gi"}}}]}}`},
		{name: "bool", pattern: `{"spec": {"hostNetwork": false}}`},
		{name: "bool mismatch", pattern: `{"spec": {"hostNetwork": true}}`,
			want: &Error{Path: "/spec/hostNetwork/", Msg: "resource value 'false' does not match 'true' at path /spec/hostNetwork/"}},
		{name: "map expected", pattern: `{"kind": {"a": "b"}}`,
			want: &Error{Path: "/kind/", Msg: "pattern and resource have different structures. Path: /kind/. Expected map[string]interface {}, found string"}},
		{name: "array expected", pattern: `{"kind": [{"a": "b"}]}`,
			want: &Error{Path: "/kind/", Msg: "validation rule failed at path /kind/, resource does not satisfy the expected overlay pattern"}},
		{name: "empty pattern array", pattern: `{"spec": {"containers": []}}`,
			want: &Error{Path: "/spec/containers/", Msg: "pattern Array empty"}},
		{name: "scalar pattern against list", pattern: `{"spec": {"containers": ["x"]}}`,
			want: &Error{Path: "/spec/containers/", Msg: "resource value '[map[image:nginx:1.25 imagePullPolicy:Always name:a resources:map[limits:map[cpu:500m memory:512Mi]]] map[image:busybox:latest name:b resources:map[limits:map[memory:2Gi]]]]' does not match 'x' at path /spec/containers/"}},

		// conditional anchors
		{name: "condition true then check", pattern: `{"spec": {"containers": [{"(name)": "a", "imagePullPolicy": "Always"}]}}`},
		{name: "condition selects failing item", pattern: `{"spec": {"containers": [{"(name)": "b", "image": "!*:latest"}]}}`,
			want: &Error{Path: "/spec/containers/1/image/", Msg: "resource value 'busybox:latest' does not match '!*:latest' at path /spec/containers/1/image/"}},
		{name: "condition never true skips", pattern: `{"spec": {"containers": [{"(name)": "zzz", "image": "x"}]}}`,
			want: &Error{Skip: true, Msg: "conditional anchor mismatch: resource value 'a' does not match 'zzz' at path /spec/containers/0/name/; conditional anchor mismatch: resource value 'b' does not match 'zzz' at path /spec/containers/1/name/"}},
		{name: "condition key missing at top skips", pattern: `{"(foo)": "bar", "kind": "X"}`,
			want: &Error{Skip: true, Msg: "conditional anchor mismatch: conditional anchor key doesn't exist in the resource"}},
		{name: "condition on map", pattern: `{"metadata": {"labels": {"(app)": "web"}}, "spec": {"hostNetwork": true}}`,
			want: &Error{Path: "/spec/hostNetwork/", Msg: "resource value 'false' does not match 'true' at path /spec/hostNetwork/"}},
		{name: "condition mismatch on map skips", pattern: `{"metadata": {"labels": {"(app)": "db"}}, "spec": {"hostNetwork": true}}`,
			want: &Error{Skip: true, Msg: "conditional anchor mismatch: resource value 'web' does not match 'db' at path /metadata/labels/app/"}},

		// global anchor
		{name: "global anchor selects items", pattern: `{"spec": {"containers": [{"<(image)": "nginx:*", "imagePullPolicy": "Always"}]}}`},
		{name: "global anchor selected item fails", pattern: `{"spec": {"containers": [{"<(image)": "nginx:*", "imagePullPolicy": "Never"}]}}`,
			want: &Error{Path: "/spec/containers/0/imagePullPolicy/", Msg: "resource value 'Always' does not match 'Never' at path /spec/containers/0/imagePullPolicy/"}},
		{name: "global anchor never true skips", pattern: `{"spec": {"containers": [{"<(image)": "redis:*", "imagePullPolicy": "Never"}]}}`,
			want: &Error{Skip: true, Msg: "global anchor mismatch: resource value 'nginx:1.25' does not match 'redis:*' at path /spec/containers/0/image/; global anchor mismatch: resource value 'busybox:latest' does not match 'redis:*' at path /spec/containers/1/image/"}},
		{name: "global anchor match then fail", pattern: `{"spec": {"containers": [{"<(image)": "*:*", "name": "a"}]}}`,
			want: &Error{Path: "/spec/containers/1/name/", Msg: "resource value 'b' does not match 'a' at path /spec/containers/1/name/"}},

		// negation
		{name: "negation absent ok", pattern: `{"spec": {"X(hostPID)": "null"}}`},
		{name: "negation present fails", pattern: `{"spec": {"X(hostNetwork)": "null"}}`,
			want: &Error{Path: "/spec/hostNetwork/", Msg: "negation anchor matched in resource: /spec/hostNetwork/ is not allowed"}},

		// equality
		{name: "equality absent ok", pattern: `{"spec": {"=(hostPID)": true}}`},
		{name: "equality present mismatch", pattern: `{"spec": {"=(hostNetwork)": true}}`,
			want: &Error{Path: "/spec/hostNetwork/", Msg: "resource value 'false' does not match 'true' at path /spec/hostNetwork/"}},
		{name: "equality nested", pattern: `{"spec": {"containers": [{"=(imagePullPolicy)": "Always"}]}}`},
		{name: "equality nested mismatch", pattern: `{"spec": {"containers": [{"=(imagePullPolicy)": "IfNotPresent"}]}}`,
			want: &Error{Path: "/spec/containers/0/imagePullPolicy/", Msg: "resource value 'Always' does not match 'IfNotPresent' at path /spec/containers/0/imagePullPolicy/"}},

		// existence
		{name: "existence found", pattern: `{"spec": {"^(containers)": [{"image": "nginx:*"}]}}`},
		{name: "existence not found", pattern: `{"spec": {"^(containers)": [{"image": "redis:*"}]}}`,
			want: &Error{Path: "/spec/containers/", Msg: "existence anchor validation failed at path /spec/containers/"}},
		{name: "existence on non-list", pattern: `{"spec": {"^(hostNetwork)": [{"a": "b"}]}}`,
			want: &Error{Path: "/spec/hostNetwork/", Msg: "invalid resource type bool: Existence ^ () anchor can be used only on list/array type resource"}},
		{name: "existence pattern not a list", pattern: `{"spec": {"^(containers)": {"a": "b"}}}`,
			want: &Error{Path: "/spec/containers/", Msg: "invalid pattern type map[string]interface {}: Pattern has to be of list to compare against resource"}},

		// add-if-not-present is looked up literally in validation
		{name: "plus anchor literal key", pattern: `{"spec": {"+(dnsPolicy)": "Default"}}`,
			want: &Error{Path: "/spec/+(dnsPolicy)/", Msg: "resource value '<nil>' does not match 'Default' at path /spec/+(dnsPolicy)/"}},

		// metadata wildcards
		{name: "label key wildcard", pattern: `{"metadata": {"labels": {"team-*": "x"}}}`},
		{name: "label key wildcard value mismatch", pattern: `{"metadata": {"labels": {"team-*": "y"}}}`,
			want: &Error{Path: "/metadata/labels/team-a/", Msg: "resource value 'x' does not match 'y' at path /metadata/labels/team-a/"}},
		{name: "label key wildcard no match", pattern: `{"metadata": {"labels": {"owner-*": "?*"}}}`,
			want: &Error{Path: "/metadata/labels/owner-*/", Msg: "resource value '<nil>' does not match '?*' at path /metadata/labels/owner-*/"}},

		// null patterns
		{name: "null pattern for absent", pattern: `{"spec": {"hostPID": null}}`},
		{name: "null pattern for false", pattern: `{"spec": {"hostNetwork": null}}`},
	}
	resource := mustJSON(t, pod)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pattern := mustJSON(t, tc.pattern)
			err := Validate(resource, pattern)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate = %#v, want match", err)
				}
				return
			}
			var got *Error
			if !errors.As(err, &got) {
				t.Fatalf("Validate = %v, want *Error %#v", err, tc.want)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Validate =\n  %#v\nwant\n  %#v", got, tc.want)
			}
		})
	}
}

func TestValidateDoesNotMutatePattern(t *testing.T) {
	pattern := mustJSON(t, `{"metadata": {"labels": {"team-*": "x"}}}`)
	before, _ := json.Marshal(pattern)
	if err := Validate(mustJSON(t, pod), pattern); err != nil {
		t.Fatal(err)
	}
	after, _ := json.Marshal(pattern)
	if string(before) != string(after) {
		t.Fatalf("pattern changed: %s -> %s", before, after)
	}
}

func TestRuleOutcomes(t *testing.T) {
	resource := mustJSON(t, pod)
	failing := mustJSON(t, `{"spec": {"containers": [{"image": "!*:latest"}]}}`)
	passing := mustJSON(t, `{"spec": {"containers": [{"name": "?*"}]}}`)
	skipping := mustJSON(t, `{"(kind)": "Deployment"}`)
	arrays := mustJSON(t, `{"spec": {"containers": [["x"], ["y"], ["z"]]}}`)
	substErr := func(string) (string, error) { return "", errors.New("boom") }
	cases := []struct {
		name string
		got  Outcome
		want Outcome
	}{
		{"pattern pass", Rule{Name: "r"}.Pattern(resource, passing),
			Outcome{StatusPass, "validation rule 'r' passed."}},
		{"pattern fail no message", Rule{Name: "r"}.Pattern(resource, failing),
			Outcome{StatusFail, "validation error: rule r failed at path /spec/containers/1/image/"}},
		{"pattern fail message", Rule{Name: "r", Message: "no latest"}.Pattern(resource, failing),
			Outcome{StatusFail, "validation error: no latest. rule r failed at path /spec/containers/1/image/"}},
		{"pattern fail message with dot", Rule{Name: "r", Message: "no latest."}.Pattern(resource, failing),
			Outcome{StatusFail, "validation error: no latest. rule r failed at path /spec/containers/1/image/"}},
		{"pattern fail substituted", Rule{Name: "r", Message: "{{x}}", Substitute: func(string) (string, error) { return "got x", nil }}.Pattern(resource, failing),
			Outcome{StatusFail, "validation error: got x. rule r failed at path /spec/containers/1/image/"}},
		{"pattern fail substitution error", Rule{Name: "r", Message: "{{x}}", Substitute: substErr}.Pattern(resource, failing),
			Outcome{StatusFail, "validation error: variables substitution error in rule r execution error: resource value 'busybox:latest' does not match '!*:latest' at path /spec/containers/1/image/"}},
		{"pattern skip", Rule{Name: "r", Message: "m"}.Pattern(resource, skipping),
			Outcome{StatusSkip, "conditional anchor mismatch: resource value 'Pod' does not match 'Deployment' at path /kind/"}},
		{"pattern error without path", Rule{Name: "r"}.Pattern(resource, arrays),
			Outcome{StatusError, "validation error: rule r execution error: validate Array failed, array length mismatch, resource Array len is 2 and pattern Array len is 3"}},
		{"pattern error with message", Rule{Name: "r", Message: "m"}.Pattern(resource, arrays),
			Outcome{StatusError, "validation error: m. rule r execution error: validate Array failed, array length mismatch, resource Array len is 2 and pattern Array len is 3"}},
		{"anyPattern second passes", Rule{Name: "r"}.AnyPattern(resource, []any{failing, passing}),
			Outcome{StatusPass, "validation rule 'r' anyPattern[1] passed."}},
		{"anyPattern all fail", Rule{Name: "r", Message: "need one"}.AnyPattern(resource, []any{failing, mustJSON(t, `{"kind": "X"}`)}),
			Outcome{StatusFail, "validation error: need one. rule r[0] failed at path /spec/containers/1/image/ rule r[1] failed at path /kind/"}},
		{"anyPattern all fail message with dot", Rule{Name: "r", Message: "need one."}.AnyPattern(resource, []any{failing}),
			Outcome{StatusFail, "validation error: need one. rule r[0] failed at path /spec/containers/1/image/"}},
		{"anyPattern fail no message and skip left out", Rule{Name: "r"}.AnyPattern(resource, []any{skipping, failing}),
			Outcome{StatusFail, "validation error: rule r[1] failed at path /spec/containers/1/image/"}},
		{"anyPattern fail without path", Rule{Name: "r"}.AnyPattern(resource, []any{arrays}),
			Outcome{StatusFail, "validation error: rule r[0] failed: validate Array failed, array length mismatch, resource Array len is 2 and pattern Array len is 3"}},
		{"anyPattern all skipped", Rule{Name: "r"}.AnyPattern(resource, []any{skipping, skipping}),
			Outcome{StatusSkip, "rule r[0] skipped: conditional anchor mismatch: resource value 'Pod' does not match 'Deployment' at path /kind/ rule r[1] skipped: conditional anchor mismatch: resource value 'Pod' does not match 'Deployment' at path /kind/"}},
		{"anyPattern not a list", Rule{Name: "r"}.AnyPattern(resource, map[string]any{"a": "b"}),
			Outcome{StatusError, "failed to deserialize anyPattern, expected type array: json: cannot unmarshal object into Go value of type []interface {}"}},
		{"anyPattern empty", Rule{Name: "r", Message: "raw {{x}}"}.AnyPattern(resource, []any{}),
			Outcome{StatusPass, "raw {{x}}"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("got  %#v\nwant %#v", tc.got, tc.want)
			}
		})
	}
}

func TestMessageSubstitutedOnlyOnFailure(t *testing.T) {
	calls := 0
	r := Rule{Name: "r", Message: "m", Substitute: func(m string) (string, error) { calls++; return m, nil }}
	r.Pattern(mustJSON(t, pod), mustJSON(t, `{"kind": "Pod"}`))
	if calls != 0 {
		t.Fatalf("message substituted %d times on a pass", calls)
	}
	r.Pattern(mustJSON(t, pod), mustJSON(t, `{"kind": "X"}`))
	if calls != 1 {
		t.Fatalf("message substituted %d times on a failure, want 1", calls)
	}
}

func TestMetadataWildcardPrefersPlainKey(t *testing.T) {
	resource := mustJSON(t, pod)
	// Both "metadata" and "=(metadata)": the plain one is expanded, so
	// "team-*" becomes "team-a" and its value is checked.
	pattern := mustJSON(t, `{"=(metadata)": {"name": "p"}, "metadata": {"labels": {"team-*": "y"}}}`)
	var got *Error
	if !errors.As(Validate(resource, pattern), &got) || got.Path != "/metadata/labels/team-a/" {
		t.Fatalf("Validate = %#v, want a failure at /metadata/labels/team-a/", got)
	}
}
