package jmespath

import (
	"fmt"
	"math"
	"reflect"
)

// Error texts Kyverno v1.19.1 (pkg/engine/jmespath) gives for failing custom
// functions. Kept verbatim because rule messages embed them.
const (
	errPrefix          = "JMESPath function '%s': "
	errArgType         = errPrefix + "argument #%d is not of type %s"
	errGeneric         = errPrefix + "%s"
	errArgOutOfBounds  = errPrefix + "%d argument is out of bounds (%d)"
	errZeroDivisor     = errPrefix + "Zero divisor passed"
	errNonIntModulo    = errPrefix + "Non-integer argument(s) passed for modulo"
	errTypeMismatch    = errPrefix + "Types mismatch"
	errNonIntRound     = errPrefix + "Non-integer argument(s) passed for round off"
	errRoundNegDigits  = "JMESPath function 'round': %!d(MISSING) argument is out of bounds (%!d(MISSING))"
	errInvalidOperand  = "invalid operand"
	errSumEmptyArray   = "at least one element in the array is required"
	errNoPattern       = "no pattern provided"
	errNotAnInteger    = "expected an integer number but got: %g"
	errOutOfIntRange   = "number is outside the range of integer numbers: %g"
	errLookupIndexText = "JMESPath function '%s': argument #2: %s"
)

func fnError(format, function string, values ...any) error {
	return fmt.Errorf(format, append([]any{function}, values...)...)
}

// argOf returns argument index of the given kind, failing with Kyverno's
// message (argument numbers are 1-based, the type name is Go's kind name).
func argOf(function string, args []any, index int, kind reflect.Kind) (reflect.Value, error) {
	if index >= len(args) {
		return reflect.Value{}, fnError(errArgOutOfBounds, function, index+1, len(args))
	}
	if args[index] == nil {
		return reflect.Value{}, fnError(errArgType, function, index+1, kind.String())
	}
	v := reflect.ValueOf(args[index])
	if v.Kind() != kind {
		return reflect.Value{}, fnError(errArgType, function, index+1, kind.String())
	}
	return v, nil
}

func stringArg(function string, args []any, index int) (string, error) {
	v, err := argOf(function, args, index, reflect.String)
	if err != nil {
		return "", err
	}
	return v.String(), nil
}

func numberArg(function string, args []any, index int) (float64, error) {
	v, err := argOf(function, args, index, reflect.Float64)
	if err != nil {
		return 0, err
	}
	return v.Float(), nil
}

// toInt converts a JSON number to an int when it holds an exact integer.
func toInt(f float64) (int, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) || math.Trunc(f) != f {
		return 0, fmt.Errorf(errNotAnInteger, f)
	}
	i := int(f)
	if float64(i) != f {
		return 0, fmt.Errorf(errOutOfIntRange, f)
	}
	return i, nil
}
