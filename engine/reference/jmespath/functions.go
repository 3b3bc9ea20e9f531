package jmespath

import (
	"time"

	gojmespath "github.com/kyverno/go-jmespath"
)

// Argument types as go-jmespath checks them before a handler runs.
var (
	tString      = gojmespath.JpString
	tNumber      = gojmespath.JpNumber
	tObject      = gojmespath.JpObject
	tArray       = gojmespath.JpArray
	tAny         = gojmespath.JpAny
	tStringOrNum = []gojmespath.JpType{gojmespath.JpString, gojmespath.JpNumber}
	tObjOrArray  = []gojmespath.JpType{gojmespath.JpObject, gojmespath.JpArray}
)

func args(types ...[]gojmespath.JpType) []gojmespath.ArgSpec {
	specs := make([]gojmespath.ArgSpec, len(types))
	for i, t := range types {
		specs[i] = gojmespath.ArgSpec{Types: t}
	}
	return specs
}

func one(t gojmespath.JpType) []gojmespath.JpType { return []gojmespath.JpType{t} }

func entry(name string, handler gojmespath.JpFunction, types ...[]gojmespath.JpType) gojmespath.FunctionEntry {
	e := gojmespath.FunctionEntry{Name: name, Handler: handler}
	if len(types) > 0 {
		e.Arguments = args(types...)
	}
	return e
}

// customFunctions is Kyverno v1.19.1's GetFunctions list (same names and
// argument specs), minus random, image_normalize and is_external_url.
func customFunctions(now func() time.Time) []gojmespath.FunctionEntry {
	s, n, o, a, any_ := one(tString), one(tNumber), one(tObject), one(tArray), one(tAny)
	clock := timeFunctions{now: now}
	return []gojmespath.FunctionEntry{
		// strings
		entry("compare", fnCompare, s, s),
		entry("equal_fold", fnEqualFold, s, s),
		entry("replace", fnReplace, s, s, s, n),
		entry("replace_all", fnReplaceAll, s, s, s),
		entry("to_upper", fnToUpper, s),
		entry("to_lower", fnToLower, s),
		entry("trim", fnTrim, s, s),
		entry("trim_prefix", fnTrimPrefix, s, s),
		entry("split", fnSplit, s, s),
		entry("regex_replace_all", fnRegexReplaceAll, s, tStringOrNum, tStringOrNum),
		entry("regex_replace_all_literal", fnRegexReplaceAllLiteral, s, tStringOrNum, tStringOrNum),
		entry("regex_match", fnRegexMatch, s, tStringOrNum),
		entry("pattern_match", fnPatternMatch, s, tStringOrNum),
		entry("label_match", fnLabelMatch, o, o),
		entry("to_boolean", fnToBoolean, s),
		entry("path_canonicalize", fnPathCanonicalize, s),
		entry("truncate", fnTruncate, s, n),
		entry("semver_compare", fnSemverCompare, s, s),
		// arithmetic
		entry("add", fnAdd, any_, any_),
		entry("sum", fnSum, a),
		entry("subtract", fnSubtract, any_, any_),
		entry("multiply", fnMultiply, any_, any_),
		entry("divide", fnDivide, any_, any_),
		entry("modulo", fnModulo, any_, any_),
		entry("round", fnRound, n, n),
		// encodings and data
		entry("base64_decode", fnBase64Decode, s),
		entry("base64_encode", fnBase64Encode, s),
		entry("parse_json", fnParseJSON, s),
		entry("parse_yaml", fnParseYAML, s),
		entry("lookup", fnLookup, tObjOrArray, tStringOrNum),
		entry("items", fnItems, tObjOrArray, s, s),
		entry("object_from_lists", fnObjectFromLists, a, a),
		entry("x509_decode", fnX509Decode, s),
		entry("sha256", fnSHA256, s),
		entry("sha1", fnSHA1, s),
		entry("md5", fnMD5, s),
		// time
		entry("time_since", clock.since, s, s, s),
		entry("time_now", clock.nowLocal),
		entry("time_now_utc", clock.nowUTC),
		entry("time_to_cron", fnTimeToCron, s),
		entry("time_add", fnTimeAdd, s, s),
		entry("time_parse", fnTimeParse, s, s),
		entry("time_utc", fnTimeUTC, s),
		entry("time_diff", fnTimeDiff, s, s),
		entry("time_before", fnTimeBefore, s, s),
		entry("time_after", fnTimeAfter, s, s),
		entry("time_between", fnTimeBetween, s, s, s),
		entry("time_truncate", fnTimeTruncate, s, s),
	}
}
