// Command kyvernodiff checks engine/reference/jmespath, conditions and
// pattern against Kyverno v1.19.1's own packages (pkg/engine/jmespath,
// pkg/engine/variables/operator, pkg/engine/pattern, pkg/engine/validate),
// linked in from the module cache: every condition operator over a grid of
// keys and values, scalar pattern matching over a grid, 200000 random
// resource/pattern trees with all anchor kinds (path, skip flag and error
// text must be identical), and about 4000 JMESPath expressions (results and
// error texts identical). It prints each difference and exits 1 if any.
//
// It is a separate module so the main module does not depend on Kyverno:
//
//	cd engine/reference/pattern/kyvernodiff && GOPROXY=off go run .
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"math/rand"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/go-logr/logr"
	kyvernov1 "github.com/kyverno/kyverno/api/kyverno/v1"
	"github.com/kyverno/kyverno/pkg/config"
	kjp "github.com/kyverno/kyverno/pkg/engine/jmespath"
	kpattern "github.com/kyverno/kyverno/pkg/engine/pattern"
	kvalidate "github.com/kyverno/kyverno/pkg/engine/validate"
	koperator "github.com/kyverno/kyverno/pkg/engine/variables/operator"

	"github.com/imagectx/conformance/engine/reference/conditions"
	"github.com/imagectx/conformance/engine/reference/jmespath"
	"github.com/imagectx/conformance/engine/reference/pattern"
)

var failures int

func report(format string, args ...any) {
	failures++
	if failures <= 60 {
		fmt.Printf(format+"\n", args...)
	}
}

func main() {
	checkConditions()
	checkValues()
	checkPatterns()
	checkJMESPath()
	fmt.Printf("failures: %d\n", failures)
	if failures > 0 {
		os.Exit(1)
	}
}

var scalars = []any{
	nil, true, false, 0.0, 1.0, 1.5, 3600.0, -2.0, int64(0), int64(1), int64(5), int64(3600),
	"", "0", "1", "5", "10", "1.5", "a", "b", "abc", "nginx", "ngin*", "*", "?", "a*", "true",
	"1Gi", "1024Mi", "2Gi", "500m", "1m", "1h", "60m", "30m", "0s", "90s", "1.2.3", "1.10.0",
	"1-10", "5-50", "1Gi-2Gi", `["a","b"]`, `["5"]`, `{"a":1}`, "[1]", "!a", ">1", "a|b", "a & b",
}

func composites() []any {
	return []any{
		[]any{}, []any{"a"}, []any{"a", "b"}, []any{"b", "c"}, []any{"ngin*"}, []any{"nginx", "x"},
		[]any{1.0, 2.0}, []any{"5", "50"}, []any{"5", "6"}, []any{true}, []any{nil},
		map[string]any{}, map[string]any{"a": 1.0}, map[string]any{"a": "b"},
	}
}

func checkConditions() {
	ops := append(conditions.Operators(), "Equal", "NotEqual", "equals", "greaterthan", "DURATIONLESSTHAN", "Bogus")
	values := append(append([]any{}, scalars...), composites()...)
	n := 0
	for _, op := range ops {
		for _, k := range values {
			for _, v := range values {
				n++
				want, kerr := kyvernoCondition(k, op, v)
				got, err := conditions.Evaluate(k, op, v)
				if kerr != nil {
					if err == nil {
						report("condition %#v %s %#v: kyverno panicked (%v), we gave %v", k, op, v, kerr, got)
					}
					continue
				}
				if want == nil {
					if err == nil {
						report("condition %#v %s %#v: kyverno has no handler, we gave %v", k, op, v, got)
					}
					continue
				}
				if err != nil || got != *want {
					report("condition %#v %s %#v: kyverno %v, we %v (%v)", k, op, v, *want, got, err)
				}
			}
		}
	}
	fmt.Printf("conditions: %d cases\n", n)
}

func kyvernoCondition(k any, op string, v any) (res *bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	h := koperator.CreateOperatorHandler(logr.Discard(), nil, kyvernov1.ConditionOperator(op))
	if h == nil {
		return nil, nil
	}
	b := h.Evaluate(k, v)
	return &b, nil
}

func checkValues() {
	patterns := append(append([]any{}, scalars...),
		"<1Gi", ">=1Gi", "<=60m", ">30m", "1!-10", "-5--1", ">1 & <10", "!*:latest", "Always | IfNotPresent",
		"?*", "!", ">", "1.5E+00", "1-", map[string]any{}, []any{"a"}, 2.5, int64(-2))
	values := append(append([]any{}, scalars...), composites()...)
	n := 0
	for _, p := range patterns {
		for _, v := range values {
			n++
			want := kpattern.Validate(logr.Discard(), v, p)
			if got := pattern.ValidateValue(v, p); got != want {
				report("value %#v ~ pattern %#v: kyverno %v, we %v", v, p, want, got)
			}
		}
	}
	fmt.Printf("values: %d cases\n", n)
}

// Random resource/pattern trees over a small vocabulary so anchors collide.
var keys = []string{"a", "b", "c", "name", "image", "labels", "metadata", "annotations"}
var leafValues = []any{"x", "y", "nginx:1", "busy:latest", 1.0, int64(2), true, false, nil, "1Gi", "512Mi", "1h",
	"", 0.0, int64(0), "2Gi", "45m", "0", 2.5, "a|b", "x y"}
var leafPatterns = []any{"x", "y", "*", "?*", "!*:latest", "nginx:*", ">1", "<=1Gi", "1-3", "x | y", nil, true, 1.0, "null", "!x",
	"1Gi-2Gi", "!null", "*:*", "", "0", 2.0, "1h", ">=30m", "1!-2", ">0 & <3", "a|b", "!", int64(2), false}
var anchorForms = []string{"%s", "%s", "%s", "(%s)", "<(%s)", "X(%s)", "=(%s)", "^(%s)", "+(%s)"}

func randResource(r *rand.Rand, depth int) any {
	switch x := r.Intn(10); {
	case depth > 3 || x < 4:
		return leafValues[r.Intn(len(leafValues))]
	case x < 7:
		m := map[string]any{}
		for range r.Intn(4) {
			m[keys[r.Intn(len(keys))]] = randResource(r, depth+1)
		}
		return m
	default:
		l := []any{}
		for range r.Intn(4) {
			l = append(l, randResource(r, depth+1))
		}
		return l
	}
}

func randPattern(r *rand.Rand, depth int) any {
	switch x := r.Intn(10); {
	case depth > 3 || x < 4:
		return leafPatterns[r.Intn(len(leafPatterns))]
	case x < 7:
		m := map[string]any{}
		for range 1 + r.Intn(3) {
			m[fmt.Sprintf(anchorForms[r.Intn(len(anchorForms))], keys[r.Intn(len(keys))])] = randPattern(r, depth+1)
		}
		return m
	default:
		l := []any{}
		for range r.Intn(3) {
			l = append(l, randPattern(r, depth+1))
		}
		if r.Intn(2) == 0 {
			l = []any{map[string]any{fmt.Sprintf(anchorForms[r.Intn(len(anchorForms))], keys[r.Intn(len(keys))]): randPattern(r, depth+1)}}
		}
		return l
	}
}

func deepCopy(v any) any {
	b, _ := json.Marshal(v)
	var out any
	json.Unmarshal(b, &out)
	return restoreInts(v, out)
}

// restoreInts keeps int64 leaves (json turns them into float64).
func restoreInts(orig, cp any) any {
	switch o := orig.(type) {
	case int64:
		return o
	case map[string]any:
		m := cp.(map[string]any)
		for k := range m {
			m[k] = restoreInts(o[k], m[k])
		}
		return m
	case []any:
		l := cp.([]any)
		for i := range l {
			l[i] = restoreInts(o[i], l[i])
		}
		return l
	}
	return cp
}

func checkPatterns() {
	r := rand.New(rand.NewSource(1))
	n, matched, skipped, nondeterministic := 0, 0, 0, 0
	for range 400000 {
		res := map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "web", "team-a": "x"}}}
		for range 1 + r.Intn(3) {
			res[keys[r.Intn(len(keys))]] = randResource(r, 1)
		}
		pat := map[string]any{}
		for range 1 + r.Intn(3) {
			pat[fmt.Sprintf(anchorForms[r.Intn(len(anchorForms))], keys[r.Intn(len(keys))])] = randPattern(r, 1)
		}
		if r.Intn(5) == 0 {
			pat["metadata"] = map[string]any{"labels": map[string]any{"team-*": leafPatterns[r.Intn(len(leafPatterns))], "(app)": "w*"}}
			if r.Intn(2) == 0 {
				pat["metadata"] = map[string]any{"=(labels)": map[string]any{"X(te?m-*)": "*", "a*": randPattern(r, 3)}, "annotations": map[string]any{"*": "?*"}}
			}
		}
		n++
		err := pattern.Validate(res, pat)
		got, _ := err.(*pattern.Error)
		// Kyverno picks among duplicate metadata keys (e.g. "metadata" and
		// "+(metadata)") by Go map iteration order, so a few cases have
		// several outcomes; ours must be one of them.
		var outcomes []*pattern.Error
		agreed := false
		for try := 0; try < 100 && !agreed; try++ {
			want := kyvernoMatch(res, pat)
			if try == 0 && want == nil {
				matched++
			} else if try == 0 && want.Skip {
				skipped++
			}
			if reflect.DeepEqual(got, want) {
				agreed = true
				if try > 0 {
					nondeterministic++
				}
				break
			}
			outcomes = append(outcomes, want)
			if !hasDuplicateMetadata(pat) {
				break
			}
		}
		if !agreed {
			report("pattern %v on %v:\n  kyverno %#v\n  we      %#v", js(pat), js(res), outcomes[0], got)
		}
	}
	fmt.Printf("patterns: %d cases (%d match, %d skip; %d where Kyverno's outcome is random and ours is one of them)\n", n, matched, skipped, nondeterministic)
}

func js(v any) string { b, _ := json.Marshal(v); return string(b) }

func checkJMESPath() {
	kj := kjp.New(config.NewDefaultConfiguration(false))
	ours := jmespath.New()
	data := map[string]any{
		"a": map[string]any{"b": "x", "n": 1.5, "l": []any{"p", "q"}},
		"s": "nginx:1.25", "n": 7.0, "q": "1Gi", "d": "1h", "list": []any{"1Gi", "512Mi"}, "nums": []any{1.0, 2.0, 3.5},
		"obj": map[string]any{"k1": "v1", "k2": 2.0}, "pem": "nope", "t": "2026-11-25T22:30:00Z", "e": "",
	}
	exprs := []string{
		"a.b", "a.c", "nope", "a.c || 'd'", "frob(a)", "to_upper(a.b, 'x')", "to_upper(`1`)", "a.[", "length(a.l)",
		"to_string(n)", "to_number('3')", "contains(s, 'nginx')", "starts_with(s, 'ng')", "ends_with(s, '25')", "join(',', a.l)",
		"sort(keys(obj))", "compare('a','b')", "equal_fold('A','a')", "replace('aaa','a','b',`2`)", "replace_all('aaa','a','b')",
		"to_lower('AB')", "trim(' x ', ' ')", "trim_prefix(s, 'ngi')", "split(s, ':')", "regex_match('^ng', s)",
		"regex_match('(', s)", "regex_match('1', `1.5`)", "regex_replace_all('[0-9]', s, 'N')", "regex_replace_all('(', s, 'N')",
		"regex_replace_all_literal('[0-9]', s, '$1')", "pattern_match('ngi*', s)", "pattern_match(`1`, s)",
		"label_match(obj, obj)", "label_match(`{\"k1\":\"v2\"}`, obj)", "to_boolean('True')", "to_boolean('x')",
		"add(`1`, `2`)", "add(q, '1Mi')", "add(d, '30m')", "add(q, d)", "add('x', `1`)", "add(`null`, `1`)",
		"sum(list)", "sum(nums)", "sum(`[]`)", "sum([d, d])", "sum([d, n])",
		"subtract(q, '512Mi')", "subtract(d, '1m')", "subtract(n, `10`)", "subtract(q, `1`)",
		"multiply(q, `3`)", "multiply(`2.5`, q)", "multiply(d, `1.5`)", "multiply(n, n)", "multiply(q, q)", "multiply('100m', `0.3`)",
		"divide(q, '512Mi')", "divide(q, `3`)", "divide('10', `3`)", "divide(d, '7m')", "divide(d, `7`)", "divide(n, `0`)", "divide(n, q)", "divide('1.5Gi', `4`)",
		"modulo(n, `3`)", "modulo(`7.5`, `2`)", "modulo('7', '3')", "modulo(d, '7m')", "modulo(n, `0`)", "modulo(q, d)",
		"round(`2.555`, `2`)", "round(`2.5`, `-1`)", "round(`2.5`, `0.5`)",
		"base64_decode('aGk=')", "base64_decode('!')", "base64_decode(`1`)", "base64_encode('hi')",
		"parse_json('{\"a\":[1]}')", "parse_json('{')", "parse_yaml('a: [1, b]')", "parse_yaml('a: [')",
		"lookup(obj, 'k1')", "lookup(a.l, `1`)", "lookup(a.l, `9`)", "lookup(a.l, `0.5`)", "lookup(obj, `1`)", "lookup(a.l, 'x')",
		"items(obj, 'k', 'v')", "items(a.l, 'i', 'v')", "items(obj, 'k', 'v')[].k", "object_from_lists(a.l, nums)", "object_from_lists(nums, a.l)", "object_from_lists([`null`], a.l)",
		"path_canonicalize('/a//b/../c')", "truncate(s, `3`)", "truncate(s, `-1`)", "truncate(s, `99`)",
		"semver_compare('1.2.3', '>1.0.0')", "semver_compare('x', '<1.0.0')", "semver_compare('1.0.0', 'x')",
		"x509_decode(pem)", "sha256(s)", "sha1(s)", "md5(s)",
		"time_to_cron(t)", "time_add(t, '1h')", "time_add(t, 'x')", "time_add('x', '1h')", "time_parse('2006-01-02', '2026-01-02')",
		"time_parse('1136239445', '1700000000')", "time_parse('1', 'x')", "time_utc('2026-11-25T23:30:00+01:00')",
		"time_diff(t, '2026-11-26T00:00:00Z')", "time_before(t, t)", "time_after('2027-01-01T00:00:00Z', t)",
		"time_between(t, '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z')", "time_truncate(t, '1h')", "time_since('', t, '2026-11-26T00:00:00Z')",
		"time_since('2006', '2020', '2021')", "time_since('', 'x', e)", "map(&to_upper(@), a.l)", "sort_by(items(obj,'k','v'), &k)[0].k",
		"abs(`-1`)", "max(nums)", "not_null(e, n)", "type(obj)", "length(values(obj))", "reverse(a.l)", "to_array(n)", "merge(obj, `{\"z\":1}`)",
	}
	for _, e := range exprs {
		want, kerr := safe(func() (any, error) { return kj.Search(e, data) })
		got, err := ours.Search(e, data)
		switch {
		case kerr != nil && strings.HasPrefix(kerr.Error(), "PANIC ") && err != nil && strings.Contains(err.Error(), " panicked: "):
			// Kyverno panics; we return the panic as an error (documented).
		case kerr != nil || err != nil:
			if kerr == nil || err == nil || kerr.Error() != err.Error() {
				report("jmespath %s: kyverno %#v / %v, we %#v / %v", e, want, kerr, got, err)
			}
		case !reflect.DeepEqual(want, got):
			report("jmespath %s: kyverno %#v (%T), we %#v (%T)", e, want, want, got, got)
		}
	}
	// Arithmetic over every pair of operand kinds.
	operands := []string{"`0`", "`1`", "`2.5`", "`-3`", "`1000`", "`0.1`", "'1Gi'", "'512Mi'", "'100m'", "'1.5'", "'10'", "'0'",
		"'1h'", "'30m'", "'0s'", "'1m'", "'1h30m'", "'-2h'", "'x'", "''", "`null`", "`true`", "'1e3'", "'2k'", "'1.5Gi'", "'3'"}
	n := 0
	for _, op := range []string{"add", "subtract", "multiply", "divide", "modulo"} {
		for _, a := range operands {
			for _, b := range operands {
				exprs = append(exprs, fmt.Sprintf("%s(%s, %s)", op, a, b))
				n++
			}
		}
	}
	for _, a := range operands {
		for _, b := range operands {
			exprs = append(exprs, fmt.Sprintf("sum([%s, %s, %s])", a, b, a))
		}
	}
	for _, str := range []string{"''", "'abc'", "'héllo wörld'", "`1`"} {
		for _, fn := range []string{"truncate(%s, `2`)", "to_upper(%s)", "base64_encode(%s)", "sha256(%s)", "path_canonicalize(%s)",
			"split(%s, '')", "regex_replace_all('l+', %s, 'L')", "time_parse('2006', %s)", "to_boolean(%s)", "parse_yaml(%s)", "parse_json(%s)"} {
			exprs = append(exprs, fmt.Sprintf(fn, str))
		}
	}
	for _, e := range exprs[len(exprs)-n-len(operands)*len(operands)-44:] {
		want, kerr := safe(func() (any, error) { return kj.Search(e, data) })
		got, err := ours.Search(e, data)
		if (kerr == nil) != (err == nil) || (kerr != nil && kerr.Error() != err.Error()) || !reflect.DeepEqual(want, got) {
			report("jmespath %s: kyverno %#v / %v, we %#v / %v", e, want, kerr, got, err)
		}
	}
	for _, pemText := range testPEMs() {
		d := map[string]any{"pem": pemText}
		want, kerr := safe(func() (any, error) { return kj.Search("x509_decode(pem)", d) })
		got, err := ours.Search("x509_decode(pem)", d)
		if (kerr == nil) != (err == nil) || (kerr != nil && kerr.Error() != err.Error()) || !reflect.DeepEqual(want, got) {
			report("x509_decode: kyverno %v / %v, we %v / %v", js(want), kerr, js(got), err)
		}
	}
	// time_now_utc is the one clock function: both must agree to the second.
	w, _ := kj.Search("time_now_utc()", nil)
	g, _ := ours.Search("time_now_utc()", nil)
	wt, _ := time.Parse(time.RFC3339, w.(string))
	gt, _ := time.Parse(time.RFC3339, g.(string))
	if d := gt.Sub(wt); d < 0 || d > 2*time.Second {
		report("time_now_utc: kyverno %v, we %v", w, g)
	}
	fmt.Printf("jmespath: %d expressions\n", len(exprs))
}

func safe(f func() (any, error)) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("PANIC %v", r)
		}
	}()
	return f()
}

func testPEMs() []string {
	rsaKey, _ := rsa.GenerateKey(crand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "test", Organization: []string{"o"}},
		NotBefore: time.Unix(1700000000, 0), NotAfter: time.Unix(1800000000, 0), DNSNames: []string{"a.example"}}
	var out []string
	for _, k := range []any{rsaKey, ecKey} {
		pub := k.(interface{ Public() crypto.PublicKey }).Public()
		der, err := x509.CreateCertificate(crand.Reader, tmpl, tmpl, pub, k)
		if err != nil {
			panic(err)
		}
		out = append(out, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
		csr, err := x509.CreateCertificateRequest(crand.Reader, &x509.CertificateRequest{Subject: tmpl.Subject, DNSNames: tmpl.DNSNames}, k)
		if err != nil {
			panic(err)
		}
		out = append(out, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr})))
	}
	out = append(out, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")})))
	return out
}

func kyvernoMatch(res, pat map[string]any) *pattern.Error {
	kerr := kvalidate.MatchPattern(logr.Discard(), deepCopy(res), deepCopy(pat))
	if kerr == nil {
		return nil
	}
	pe := kerr.(*kvalidate.PatternError)
	return &pattern.Error{Path: pe.Path, Skip: pe.Skip, Msg: pe.Error()}
}

// hasDuplicateMetadata: the pattern has "metadata" more than once (plain and
// anchored), or labels/annotations more than once inside it.
func hasDuplicateMetadata(pat map[string]any) bool {
	count := func(m map[string]any, tag string) (int, []any) {
		n, vals := 0, []any{}
		for k, v := range m {
			if k == tag {
				n++
				vals = append(vals, v)
			} else if a, ok := pattern.ParseAnchor(k); ok && a.Key == tag {
				n++
				vals = append(vals, v)
			}
		}
		return n, vals
	}
	n, metas := count(pat, "metadata")
	if n > 1 {
		return true
	}
	for _, m := range metas {
		if mm, ok := m.(map[string]any); ok {
			if l, _ := count(mm, "labels"); l > 1 {
				return true
			}
			if a, _ := count(mm, "annotations"); a > 1 {
				return true
			}
		}
	}
	return false
}
