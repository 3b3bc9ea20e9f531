package jmespath

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fixedNow is the clock for time_now, time_now_utc and time_since.
var fixedNow = time.Date(2026, 11, 25, 22, 30, 0, 0, time.UTC)

type searchCase struct {
	name    string
	expr    string
	data    string // JSON; empty means null
	want    any
	wantErr string // exact error text when set
}

func decode(t *testing.T, data string) any {
	t.Helper()
	if data == "" {
		return nil
	}
	var v any
	if err := json.Unmarshal([]byte(data), &v); err != nil {
		t.Fatalf("test data %q: %v", data, err)
	}
	return v
}

func runCases(t *testing.T, cases []searchCase) {
	t.Helper()
	jp := New(WithClock(func() time.Time { return fixedNow }))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := jp.Search(tc.expr, decode(t, tc.data))
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("Search(%q) = %#v, want error %q", tc.expr, got, tc.wantErr)
				}
				if err.Error() != tc.wantErr {
					t.Fatalf("Search(%q) error = %q, want %q", tc.expr, err.Error(), tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Search(%q): unexpected error %v", tc.expr, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Search(%q) = %#v (%T), want %#v (%T)", tc.expr, got, got, tc.want, tc.want)
			}
		})
	}
}

func TestLibraryBehaviour(t *testing.T) {
	runCases(t, []searchCase{
		{name: "field", expr: "a.b", data: `{"a":{"b":"x"}}`, want: "x"},
		{name: "missing key", expr: "a.c", data: `{"a":{"b":"x"}}`, wantErr: `Unknown key "c" in path`},
		{name: "missing top key", expr: "nope", data: `{"a":1}`, wantErr: `Unknown key "nope" in path`},
		{name: "unknown function", expr: "frobnicate(a)", data: `{"a":1}`, wantErr: "unknown function: frobnicate"},
		{name: "random not provided", expr: "random('[a-z]{3}')", wantErr: "unknown function: random"},
		{name: "image_normalize not provided", expr: "image_normalize('nginx')", wantErr: "unknown function: image_normalize"},
		{name: "is_external_url not provided", expr: "is_external_url('http://127.0.0.1')", wantErr: "unknown function: is_external_url"},
		{name: "wrong arity", expr: "to_upper('a', 'b')", wantErr: "incorrect number of args"},
		{name: "wrong type", expr: "to_upper(`1`)", wantErr: "Invalid type for: 1, expected: []jmespath.JpType{\"string\"}"},
		{name: "syntax error", expr: "a.[", wantErr: "SyntaxError: Incomplete expression"},
		{name: "or default swallows missing key", expr: "a.c || 'dflt'", data: `{"a":{"b":"x"}}`, want: "dflt"},
		{name: "multiselect on null is null", expr: "['a']", want: nil},
		{name: "library panic becomes error", expr: "merge(`1`)", wantErr: "jmespath: evaluating \"merge(`1`)\" panicked: interface conversion: interface {} is float64, not map[string]interface {}"},
		{name: "to_string", expr: "to_string(a)", data: `{"a":1}`, want: "1"},
		{name: "to_number", expr: "to_number('12.5')", want: 12.5},
		{name: "length", expr: "length(a)", data: `{"a":[1,2,3]}`, want: 3.0},
		{name: "contains", expr: "contains(a, 'nginx')", data: `{"a":"docker.io/nginx:1"}`, want: true},
		{name: "starts_with", expr: "starts_with(a, 'ghcr.io/')", data: `{"a":"ghcr.io/x"}`, want: true},
		{name: "ends_with", expr: "ends_with(a, ':latest')", data: `{"a":"nginx:1.2"}`, want: false},
		{name: "join", expr: "join('/', a)", data: `{"a":["x","y"]}`, want: "x/y"},
		{name: "keys", expr: "sort(keys(a))", data: `{"a":{"b":1,"a":2}}`, want: []any{"a", "b"}},
		{name: "map builtin", expr: "map(&to_upper(@), a)", data: `{"a":["x","y"]}`, want: []any{"X", "Y"}},
		{name: "pipe", expr: "a | length(@)", data: `{"a":"abcd"}`, want: 4.0},
	})
}

func TestStringFunctions(t *testing.T) {
	runCases(t, []searchCase{
		{name: "compare less", expr: "compare('a', 'b')", want: -1},
		{name: "compare equal", expr: "compare('b', 'b')", want: 0},
		{name: "compare greater", expr: "compare('c', 'b')", want: 1},
		{name: "equal_fold", expr: "equal_fold('Nginx', 'nGINX')", want: true},
		{name: "equal_fold differs", expr: "equal_fold('nginx', 'nginy')", want: false},
		{name: "replace n", expr: "replace('a-a-a', '-', '+', `1`)", want: "a+a-a"},
		{name: "replace all -1", expr: "replace('a-a-a', '-', '+', `-1`)", want: "a+a+a"},
		{name: "replace_all", expr: "replace_all('a.b.c', '.', '/')", want: "a/b/c"},
		{name: "to_upper", expr: "to_upper('abc')", want: "ABC"},
		{name: "to_lower", expr: "to_lower('AbC')", want: "abc"},
		{name: "trim", expr: "trim('--x--', '-')", want: "x"},
		{name: "trim_prefix", expr: "trim_prefix('docker.io/nginx', 'docker.io/')", want: "nginx"},
		{name: "trim_prefix absent", expr: "trim_prefix('nginx', 'docker.io/')", want: "nginx"},
		{name: "split", expr: "split('a:b:c', ':')", want: []any{"a", "b", "c"}},
		{name: "split no sep", expr: "split('abc', ':')", want: []any{"abc"}},
		{name: "split then index", expr: "split(a, ':')[1]", data: `{"a":"nginx:1.25"}`, want: "1.25"},
		{name: "regex_match", expr: "regex_match('^nginx:[0-9.]+$', 'nginx:1.25')", want: true},
		{name: "regex_match number", expr: "regex_match('^1\\.5$', `1.5`)", want: true},
		{name: "regex_match no", expr: "regex_match('^a$', 'b')", want: false},
		{name: "regex_match bad regex", expr: "regex_match('(', 'b')", wantErr: "error parsing regexp: missing closing ): `(`"},
		{name: "regex_replace_all", expr: "regex_replace_all('([0-9]+)', 'v12', 'n${1}')", want: "vn12"},
		{name: "regex_replace_all number src", expr: "regex_replace_all('2', `12`, `3`)", want: "13"},
		{name: "regex_replace_all bad", expr: "regex_replace_all('(', 'x', 'y')", wantErr: "JMESPath function 'regex_replace_all': error parsing regexp: missing closing ): `(`"},
		{name: "regex_replace_all_literal", expr: "regex_replace_all_literal('[0-9]+', 'v12', '${1}')", want: "v${1}"},
		{name: "pattern_match star", expr: "pattern_match('nginx:*', 'nginx:1.2')", want: true},
		{name: "pattern_match question", expr: "pattern_match('v?', 'v12')", want: false},
		{name: "pattern_match number", expr: "pattern_match('1*', `123`)", want: true},
		{name: "label_match yes", expr: "label_match(`{\"app\":\"a\"}`, `{\"app\":\"a\",\"x\":\"y\"}`)", want: true},
		{name: "label_match no", expr: "label_match(`{\"app\":\"a\"}`, `{\"app\":\"b\"}`)", want: false},
		{name: "to_boolean", expr: "to_boolean('TrUe')", want: true},
		{name: "to_boolean false", expr: "to_boolean('false')", want: false},
		{name: "to_boolean bad", expr: "to_boolean('yes')", wantErr: "JMESPath function 'to_boolean': lowercase argument must be 'true' or 'false' (provided: 'yes')"},
		{name: "path_canonicalize", expr: "path_canonicalize('/a//b/../c/')", want: "/a/c"},
		{name: "truncate", expr: "truncate('abcdef', `3`)", want: "abc"},
		{name: "truncate longer", expr: "truncate('ab', `9`)", want: "ab"},
		{name: "truncate negative", expr: "truncate('ab', `-1`)", want: ""},
		{name: "truncate runes", expr: "truncate('héllo', `2`)", want: "hé"},
		{name: "truncate fraction", expr: "truncate('abcdef', `2.9`)", want: "ab"},
		{name: "semver_compare yes", expr: "semver_compare('1.2.3', '>1.0.0')", want: true},
		{name: "semver_compare no", expr: "semver_compare('1.2.3', '>=2.0.0')", want: false},
		{name: "semver_compare range", expr: "semver_compare('1.2.3', '>1.0.0 <2.0.0 || >3.0.0')", want: true},
		{name: "semver_compare bad version is 0.0.0", expr: "semver_compare('bad', '<0.0.1')", want: true},
		{name: "semver_compare bad range", expr: "semver_compare('1.0.0', 'bad')", wantErr: `Could not get version from string: "bad"`},
	})
}

func TestArithmeticFunctions(t *testing.T) {
	runCases(t, []searchCase{
		{name: "add numbers", expr: "add(`1`, `2.5`)", want: 3.5},
		{name: "add quantities", expr: "add('1Gi', '1Mi')", want: "1025Mi"},
		{name: "add quantities milli", expr: "add('500m', '1')", want: "1500m"},
		{name: "add durations", expr: "add('1h', '30m0s')", want: "1h30m0s"},
		{name: "add 1m is a quantity", expr: "add('1m', '1m')", want: "2m"},
		{name: "add mismatch", expr: "add('1h', `1`)", wantErr: "JMESPath function 'add': Types mismatch"},
		{name: "add quantity and number mismatch", expr: "add('1Gi', `1`)", wantErr: "JMESPath function 'add': Types mismatch"},
		{name: "add invalid operand", expr: "add('abc', `1`)", wantErr: "JMESPath function 'add': invalid operand"},
		{name: "add null operand", expr: "add(`null`, `1`)", wantErr: "JMESPath function 'add': invalid operand"},
		{name: "sum numbers", expr: "sum(`[1, 2, 3]`)", want: 6.0},
		{name: "sum quantities", expr: "sum(['1Gi', '1Gi', '512Mi'])", data: `{}`, want: "2560Mi"},
		{name: "sum durations", expr: "sum(['1h', '1h'])", data: `{}`, want: "2h0m0s"},
		{name: "sum one", expr: "sum(['1h'])", data: `{}`, want: "1h"},
		{name: "sum empty", expr: "sum(`[]`)", wantErr: "JMESPath function 'sum': at least one element in the array is required"},
		{name: "sum mismatch", expr: "sum(['1h', `1`])", data: `{}`, wantErr: "JMESPath function 'sum': Types mismatch"},
		{name: "sum invalid", expr: "sum(['x', 'y'])", data: `{}`, wantErr: "JMESPath function 'sum': invalid operand"},
		{name: "subtract numbers", expr: "subtract(`5`, `7`)", want: -2.0},
		{name: "subtract quantities", expr: "subtract('2Gi', '512Mi')", want: "1536Mi"},
		{name: "subtract durations", expr: "subtract('2h', '30m0s')", want: "1h30m0s"},
		{name: "subtract mismatch", expr: "subtract('2Gi', '1h')", wantErr: "JMESPath function 'subtract': Types mismatch"},
		{name: "multiply numbers", expr: "multiply(`3`, `4`)", want: 12.0},
		{name: "multiply quantity", expr: "multiply('1Gi', `2`)", want: "2Gi"},
		{name: "multiply scalar quantity", expr: "multiply(`3`, '100m')", want: "300m"},
		{name: "multiply quantity fraction", expr: "multiply('10', `2.5`)", want: "25"},
		{name: "multiply duration", expr: "multiply('1h', `1.5`)", want: "1h30m0s"},
		{name: "multiply scalar duration", expr: "multiply(`2`, '45s')", want: "1m30s"},
		{name: "multiply q q", expr: "multiply('1Gi', '1Gi')", wantErr: "JMESPath function 'multiply': Types mismatch"},
		{name: "multiply d d", expr: "multiply('1h', '1h')", wantErr: "JMESPath function 'multiply': Types mismatch"},
		{name: "divide numbers", expr: "divide(`7`, `2`)", want: 3.5},
		{name: "divide zero", expr: "divide(`7`, `0`)", wantErr: "JMESPath function 'divide': Zero divisor passed"},
		{name: "divide quantities", expr: "divide('1Gi', '512Mi')", want: 2.0},
		{name: "divide quantity zero", expr: "divide('1Gi', '0')", wantErr: "JMESPath function 'divide': Zero divisor passed"},
		{name: "divide quantity by number", expr: "divide('1Gi', `2`)", want: "512Mi"},
		{name: "divide quantity by number rounds down", expr: "divide('10', `3`)", want: "3"},
		{name: "divide durations", expr: "divide('1h', '30m0s')", want: 2.0},
		{name: "divide duration by number", expr: "divide('1h', `4`)", want: "15m0s"},
		{name: "divide duration zero", expr: "divide('1h', `0`)", wantErr: "JMESPath function 'divide': Zero divisor passed"},
		{name: "divide number by quantity", expr: "divide(`1`, '1Gi')", wantErr: "JMESPath function 'divide': Types mismatch"},
		{name: "modulo numbers", expr: "modulo(`7`, `3`)", want: 1.0},
		{name: "modulo non int", expr: "modulo(`7.5`, `3`)", wantErr: "JMESPath function 'modulo': Non-integer argument(s) passed for modulo"},
		{name: "modulo zero", expr: "modulo(`7`, `0`)", wantErr: "JMESPath function 'modulo': Zero divisor passed"},
		{name: "modulo quantities", expr: "modulo('7', '3')", want: "1"},
		{name: "modulo durations", expr: "modulo('1h10m', '30m0s')", want: "10m0s"},
		{name: "modulo duration zero", expr: "modulo('1h', '0s')", wantErr: "JMESPath function 'modulo': Zero divisor passed"},
		{name: "modulo mismatch", expr: "modulo('1h', `3`)", wantErr: "JMESPath function 'modulo': Types mismatch"},
		{name: "round", expr: "round(`3.14159`, `2`)", want: 3.14},
		{name: "round zero digits", expr: "round(`2.5`, `0`)", want: 3.0},
		{name: "round fraction digits", expr: "round(`2.5`, `1.5`)", wantErr: "JMESPath function 'round': Non-integer argument(s) passed for round off"},
		{name: "round negative digits", expr: "round(`2.5`, `-1`)", wantErr: "JMESPath function 'round': %!d(MISSING) argument is out of bounds (%!d(MISSING))"},
	})
}

func TestDataFunctions(t *testing.T) {
	runCases(t, []searchCase{
		{name: "base64_decode", expr: "base64_decode('aGVsbG8=')", want: "hello"},
		{name: "base64_decode bad", expr: "base64_decode('!!')", wantErr: "illegal base64 data at input byte 0"},
		{name: "base64_encode", expr: "base64_encode('hello')", want: "aGVsbG8="},
		{name: "sha256", expr: "sha256('abc')", want: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{name: "sha1", expr: "sha1('abc')", want: "a9993e364706816aba3e25717850c26c9cd0d89d"},
		{name: "md5", expr: "md5('abc')", want: "900150983cd24fb0d6963f7d28e17f72"},
		{name: "parse_json object", expr: "parse_json(a).x", data: `{"a":"{\"x\":[1,\"y\"]}"}`, want: []any{1.0, "y"}},
		{name: "parse_json bad", expr: "parse_json('{')", wantErr: "unexpected end of JSON input"},
		{name: "parse_yaml", expr: "parse_yaml('a: 1\nb: [x]')", want: map[string]any{"a": 1.0, "b": []any{"x"}}},
		{name: "parse_yaml bad", expr: "parse_yaml('a: [')", wantErr: "yaml: line 1: did not find expected node content"},
		{name: "lookup object", expr: "lookup(a, 'k')", data: `{"a":{"k":"v"}}`, want: "v"},
		{name: "lookup object missing", expr: "lookup(a, 'z')", data: `{"a":{"k":"v"}}`, want: nil},
		{name: "lookup array", expr: "lookup(a, `1`)", data: `{"a":["x","y"]}`, want: "y"},
		{name: "lookup array out of range", expr: "lookup(a, `5`)", data: `{"a":["x","y"]}`, want: nil},
		{name: "lookup array fraction", expr: "lookup(a, `1.5`)", data: `{"a":["x","y"]}`, wantErr: "JMESPath function 'lookup': argument #2: expected an integer number but got: 1.5"},
		{name: "lookup object number key", expr: "lookup(a, `1`)", data: `{"a":{"k":"v"}}`, wantErr: "JMESPath function 'lookup': argument #2 is not of type String"},
		{name: "lookup array string key", expr: "lookup(a, 'k')", data: `{"a":["x"]}`, wantErr: "JMESPath function 'lookup': argument #2 is not of type Number"},
		{name: "items object", expr: "items(a, 'k', 'v')", data: `{"a":{"b":2,"a":1}}`, want: []map[string]any{{"k": "a", "v": 1.0}, {"k": "b", "v": 2.0}}},
		{name: "items array", expr: "items(a, 'i', 'v')", data: `{"a":["x"]}`, want: []map[string]any{{"i": 0.0, "v": "x"}}},
		{name: "items then project", expr: "items(a, 'k', 'v')[].k", data: `{"a":{"b":2,"a":1}}`, want: []any{"a", "b"}},
		{name: "object_from_lists", expr: "object_from_lists(['a','b'], [`1`])", data: `{}`, want: map[string]any{"a": 1.0, "b": nil}},
		{name: "object_from_lists number keys", expr: "object_from_lists([`1`, `true`], ['x','y'])", data: `{}`, want: map[string]any{"1": "x", "true": "y"}},
		{name: "object_from_lists bad key", expr: "object_from_lists([`null`], ['x'])", data: `{}`, wantErr: "JMESPath function 'object_from_lists': argument #1 is not of type StringArray"},
		{name: "x509_decode bad pem", expr: "x509_decode('nope')", wantErr: "failed to decode PEM block"},
		{name: "x509_decode wrong block", expr: "x509_decode(a)", data: `{"a":"-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n"}`, wantErr: "PEM block neither contains a CERTIFICATE or CERTIFICATE REQUEST"},
	})
}

func TestTimeFunctions(t *testing.T) {
	runCases(t, []searchCase{
		{name: "time_now_utc", expr: "time_now_utc()", want: "2026-11-25T22:30:00Z"},
		{name: "time_since default layout", expr: "time_since('', '2026-11-25T20:00:00Z', '')", want: "2h30m0s"},
		{name: "time_since explicit end", expr: "time_since('', '2026-01-01T00:00:00Z', '2026-01-01T00:00:30Z')", want: "30s"},
		{name: "time_since layout", expr: "time_since('2006-01-02', '2026-01-01', '2026-01-02')", want: "24h0m0s"},
		{name: "time_since bad", expr: "time_since('', 'x', '')", wantErr: `parsing time "x" as "2006-01-02T15:04:05Z07:00": cannot parse "x" as "2006"`},
		{name: "time_to_cron", expr: "time_to_cron('2026-11-25T22:30:00Z')", want: "30 22 25 11 3"},
		{name: "time_add", expr: "time_add('2026-11-25T22:30:00Z', '1h30m')", want: "2026-11-26T00:00:00Z"},
		{name: "time_add bad duration", expr: "time_add('2026-11-25T22:30:00Z', 'x')", wantErr: `time: invalid duration "x"`},
		{name: "time_parse layout", expr: "time_parse('2006-01-02', '2026-03-04')", want: "2026-03-04T00:00:00Z"},
		{name: "time_parse epoch", expr: "time_parse('1136239445', '1700000000')", want: "2023-11-14T22:13:20Z"},
		{name: "time_parse epoch bad", expr: "time_parse('1136239445', 'x')", wantErr: `strconv.ParseInt: parsing "x": invalid syntax`},
		{name: "time_utc", expr: "time_utc('2026-11-25T23:30:00+01:00')", want: "2026-11-25T22:30:00Z"},
		{name: "time_diff", expr: "time_diff('2026-11-25T22:00:00Z', '2026-11-25T22:30:00Z')", want: "30m0s"},
		{name: "time_before", expr: "time_before('2026-11-25T22:00:00Z', '2026-11-25T22:30:00Z')", want: true},
		{name: "time_after", expr: "time_after('2026-11-25T22:00:00Z', '2026-11-25T22:30:00Z')", want: false},
		{name: "time_between", expr: "time_between('2026-11-25T22:10:00Z', '2026-11-25T22:00:00Z', '2026-11-25T22:30:00Z')", want: true},
		{name: "time_between edge", expr: "time_between('2026-11-25T22:00:00Z', '2026-11-25T22:00:00Z', '2026-11-25T22:30:00Z')", want: false},
		{name: "time_truncate", expr: "time_truncate('2026-11-25T22:47:13Z', '1h')", want: "2026-11-25T22:00:00Z"},
	})
}

func TestCompiledQueryAndConcurrency(t *testing.T) {
	jp := New()
	q, err := jp.Compile("to_upper(a)")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := q.Search(map[string]any{"a": strings.Repeat("x", i)})
			if err != nil || got != strings.Repeat("X", i) {
				t.Errorf("goroutine %d: got %v, %v", i, got, err)
			}
		}()
	}
	wg.Wait()
	if _, err := jp.Compile("a.["); err == nil {
		t.Fatal("Compile of a bad expression succeeded")
	}
}

func TestTimeNowUsesWallClockByDefault(t *testing.T) {
	got, err := New().Search("time_now_utc()", nil)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := time.Parse(time.RFC3339, got.(string))
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(parsed); d < -time.Second || d > time.Minute {
		t.Fatalf("time_now_utc() = %s, far from now", got)
	}
}

// TestFunctionsAreCallable checks that every listed name resolves to a
// function: calling it with a wrong argument count must never give
// "unknown function".
func TestFunctionsAreCallable(t *testing.T) {
	jp := New()
	names := Functions()
	if !slices.IsSorted(names) {
		t.Fatalf("Functions() not sorted: %v", names)
	}
	for _, required := range []string{"to_string", "to_number", "length", "contains", "starts_with", "ends_with",
		"split", "join", "to_upper", "to_lower", "truncate", "regex_match", "parse_json", "base64_decode", "sum",
		"keys", "time_since", "time_now_utc", "add", "subtract", "multiply", "divide"} {
		if !slices.Contains(names, required) {
			t.Errorf("Functions() lacks %s", required)
		}
	}
	for _, name := range names {
		_, err := jp.Search(name+"(`1`, `2`, `3`, `4`, `5`)", nil)
		if err != nil && strings.HasPrefix(err.Error(), "unknown function") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if got := CustomFunctions(); slices.Contains(got, "abs") || !slices.Contains(got, "add") {
		t.Errorf("CustomFunctions() = %v", got)
	}
}
