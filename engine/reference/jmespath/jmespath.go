// Package jmespath evaluates JMESPath expressions the way Kyverno v1.19.1 does:
// github.com/kyverno/go-jmespath (the fork Kyverno uses) extended with
// Kyverno's custom functions, under Kyverno's names, argument types,
// semantics and error texts (pkg/engine/jmespath of Kyverno v1.19.1).
//
// Errors are the library's own, unwrapped: a missing key is
// `Unknown key "x" in path`, an unknown function is
// `unknown function: NAME`, a wrong argument count is
// `incorrect number of args`, a type mismatch is
// `Invalid type for: VALUE, expected: TYPES`. Custom functions fail with
// Kyverno's `JMESPath function 'NAME': ...` texts, including Kyverno's quirks
// (pattern_match reports itself as regex_match, time_add as time_to_cron,
// base64_decode/base64_encode/sha256/sha1/md5 with an empty name).
//
// Deviations from Kyverno v1.19.1:
//   - random is not provided (non-deterministic; Kyverno uses a regex-driven
//     generator); calling it gives `unknown function: random`.
//   - image_normalize is not provided (it depends on Kyverno's configurable
//     default registry); `unknown function: image_normalize`.
//   - is_external_url is not provided (it resolves host names over the
//     network); `unknown function: is_external_url`.
//   - x509_decode parses the RSA key with crypto/x509 rather than Kyverno's
//     cryptobyte walk; the decoded object is the same for RSA certificates and
//     CSRs.
//   - A panic inside the library (for example merge(`1`)) is returned as the
//     error `jmespath: evaluating "EXPR" panicked: ...` instead of crashing.
//   - The clock used by time_now, time_now_utc and time_since can be fixed
//     with WithClock (Kyverno always uses the wall clock).
package jmespath

import (
	"fmt"
	"sort"
	"time"

	gojmespath "github.com/kyverno/go-jmespath"
)

// JMESPath evaluates expressions with Kyverno's function set. It is safe for
// concurrent use: the function table is built once and only read afterwards.
type JMESPath struct {
	caller *gojmespath.FunctionCaller
}

// Query is a compiled expression bound to a JMESPath's functions.
type Query struct {
	expr     string
	compiled *gojmespath.JMESPath
	caller   *gojmespath.FunctionCaller
}

// Option configures New.
type Option func(*options)

type options struct {
	now func() time.Time
}

// WithClock makes time_now, time_now_utc and time_since read the time from
// now instead of the wall clock, so tests and replays are deterministic.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// New returns an evaluator with the library's built-in functions plus
// Kyverno's custom ones (which replace the built-in sum, as in Kyverno).
func New(opts ...Option) *JMESPath {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	caller := gojmespath.NewFunctionCaller()
	for _, f := range customFunctions(o.now) {
		caller.Register(f)
	}
	return &JMESPath{caller: caller}
}

// Search compiles and evaluates expr against data.
func (j *JMESPath) Search(expr string, data any) (result any, err error) {
	defer recoverPanic(expr, &err)
	return gojmespath.Search(expr, data, gojmespath.WithFunctionCaller(j.caller))
}

// recoverPanic turns a panic inside the library (some built-ins, such as
// merge, type-assert their arguments unchecked) into an error, so a bad
// policy cannot crash the engine.
func recoverPanic(expr string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("jmespath: evaluating %q panicked: %v", expr, r)
	}
}

// Compile parses expr once for repeated evaluation.
func (j *JMESPath) Compile(expr string) (*Query, error) {
	compiled, err := gojmespath.Compile(expr)
	if err != nil {
		return nil, err
	}
	return &Query{expr: expr, compiled: compiled, caller: j.caller}, nil
}

// Search evaluates the compiled expression against data.
func (q *Query) Search(data any) (result any, err error) {
	defer recoverPanic(q.expr, &err)
	return q.compiled.Search(data, gojmespath.WithFunctionCaller(q.caller))
}

// builtinFunctions are the functions github.com/kyverno/go-jmespath provides
// itself (its NewFunctionCaller table).
var builtinFunctions = []string{
	"abs", "avg", "ceil", "contains", "ends_with", "floor", "join", "keys",
	"length", "map", "max", "max_by", "merge", "min", "min_by", "not_null",
	"reverse", "sort", "sort_by", "starts_with", "sum", "to_array",
	"to_number", "to_string", "type", "values",
}

// Functions returns the sorted names of every function an expression can
// call: the library's built-ins and Kyverno's custom functions.
func Functions() []string {
	seen := map[string]bool{}
	for _, name := range builtinFunctions {
		seen[name] = true
	}
	for _, f := range customFunctions(time.Now) {
		seen[f.Name] = true
	}
	names := make([]string, 0, len(seen))
	for name := range seen {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// CustomFunctions returns the sorted names of the functions this package adds
// (Kyverno's), as opposed to the library's built-ins.
func CustomFunctions() []string {
	fs := customFunctions(time.Now)
	names := make([]string, 0, len(fs))
	for _, f := range fs {
		names = append(names, f.Name)
	}
	sort.Strings(names)
	return names
}
