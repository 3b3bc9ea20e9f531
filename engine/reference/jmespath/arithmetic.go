package jmespath

import (
	"fmt"
	"math"
	"reflect"
	"time"

	"gopkg.in/inf.v0"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Kyverno's arithmetic works on three kinds of operand: JSON numbers
// (scalars), strings that parse as a resource.Quantity ("1Gi", "500m",
// also "10"), and strings that parse as a Go duration but not as a quantity
// ("1h30m"). Quantity parsing is tried first, so "1m" is 1 milli, not one
// minute. Results: quantities and durations come back as strings in their
// canonical form, scalars as float64.
//
//	add, subtract, sum: q±q -> q, d±d -> d, s±s -> s, else "Types mismatch"
//	multiply:           q*s, s*q -> q; d*s, s*d -> d; s*s -> s
//	divide:             q/q -> s, q/s -> q, d/d -> s, d/s -> d, s/s -> s
//	modulo:             q%q -> q, d%d -> d, s%s -> s (integers only)

type operandKind int

const (
	scalarOperand operandKind = iota
	quantityOperand
	durationOperand
)

type operand struct {
	kind operandKind
	s    float64
	q    resource.Quantity
	d    time.Duration
}

func parseOperand(function string, a []any, index int) (operand, error) {
	if v, err := argOf(function, a, index, reflect.Float64); err == nil {
		return operand{kind: scalarOperand, s: v.Float()}, nil
	}
	if v, err := argOf(function, a, index, reflect.String); err == nil {
		if q, err := resource.ParseQuantity(v.String()); err == nil {
			return operand{kind: quantityOperand, q: q}, nil
		}
		if d, err := time.ParseDuration(v.String()); err == nil {
			return operand{kind: durationOperand, d: d}, nil
		}
	}
	return operand{}, fnError(errGeneric, function, errInvalidOperand)
}

func parseOperands(function string, a []any) (operand, operand, error) {
	x, err := parseOperand(function, a, 0)
	if err != nil {
		return operand{}, operand{}, err
	}
	y, err := parseOperand(function, a, 1)
	if err != nil {
		return operand{}, operand{}, err
	}
	return x, y, nil
}

// addOperands implements add and sum; function names the caller in errors.
func addOperands(function string, x, y operand) (any, error) {
	if x.kind != y.kind {
		return nil, fnError(errTypeMismatch, function)
	}
	switch x.kind {
	case quantityOperand:
		q := x.q.DeepCopy()
		q.Add(y.q)
		return q.String(), nil
	case durationOperand:
		return (x.d + y.d).String(), nil
	default:
		return x.s + y.s, nil
	}
}

func fnAdd(a []any) (any, error) {
	x, y, err := parseOperands("add", a)
	if err != nil {
		return nil, err
	}
	return addOperands("add", x, y)
}

func fnSum(a []any) (any, error) {
	items, ok := a[0].([]any)
	if !ok {
		return nil, fnError(errTypeMismatch, "sum")
	}
	if len(items) == 0 {
		return nil, fnError(errGeneric, "sum", errSumEmptyArray)
	}
	result := items[0]
	for _, item := range items[1:] {
		x, y, err := parseOperands("sum", []any{result, item})
		if err != nil {
			return nil, err
		}
		if result, err = addOperands("sum", x, y); err != nil {
			return nil, err
		}
	}
	return result, nil
}

func fnSubtract(a []any) (any, error) {
	x, y, err := parseOperands("subtract", a)
	if err != nil {
		return nil, err
	}
	if x.kind != y.kind {
		return nil, fnError(errTypeMismatch, "subtract")
	}
	switch x.kind {
	case quantityOperand:
		q := x.q.DeepCopy()
		q.Sub(y.q)
		return q.String(), nil
	case durationOperand:
		return (x.d - y.d).String(), nil
	default:
		return x.s - y.s, nil
	}
}

// scalarQuantity turns a number into a Quantity through its %v text, as
// Kyverno does.
func scalarQuantity(f float64) (resource.Quantity, error) {
	return resource.ParseQuantity(fmt.Sprintf("%v", f))
}

// secondsDuration renders a number of seconds as a duration string.
func secondsDuration(seconds float64) string {
	return time.Duration(seconds * float64(time.Second)).String()
}

func fnMultiply(a []any) (any, error) {
	x, y, err := parseOperands("multiply", a)
	if err != nil {
		return nil, err
	}
	if x.kind == scalarOperand && y.kind != scalarOperand {
		x, y = y, x
	}
	if y.kind != scalarOperand {
		return nil, fnError(errTypeMismatch, "multiply")
	}
	switch x.kind {
	case quantityOperand:
		factor, err := scalarQuantity(y.s)
		if err != nil {
			return nil, err
		}
		var prod inf.Dec
		prod.Mul(x.q.AsDec(), factor.AsDec())
		return resource.NewDecimalQuantity(prod, x.q.Format).String(), nil
	case durationOperand:
		return secondsDuration(x.d.Seconds() * y.s), nil
	default:
		return x.s * y.s, nil
	}
}

func fnDivide(a []any) (any, error) {
	x, y, err := parseOperands("divide", a)
	if err != nil {
		return nil, err
	}
	zero := fnError(errZeroDivisor, "divide")
	switch {
	case x.kind == quantityOperand && y.kind == quantityOperand:
		divisor := y.q.AsApproximateFloat64()
		if divisor == 0 {
			return nil, zero
		}
		return x.q.AsApproximateFloat64() / divisor, nil
	case x.kind == quantityOperand && y.kind == scalarOperand:
		if y.s == 0 {
			return nil, zero
		}
		divisor, err := scalarQuantity(y.s)
		if err != nil {
			return nil, err
		}
		dividend := x.q.DeepCopy()
		scale := inf.Scale(max(dividend.AsDec().Scale(), divisor.AsDec().Scale()))
		var quo inf.Dec
		quo.QuoRound(dividend.AsDec(), divisor.AsDec(), scale, inf.RoundDown)
		return resource.NewDecimalQuantity(quo, x.q.Format).String(), nil
	case x.kind == durationOperand && y.kind == durationOperand:
		if y.d.Seconds() == 0 {
			return nil, zero
		}
		return x.d.Seconds() / y.d.Seconds(), nil
	case x.kind == durationOperand && y.kind == scalarOperand:
		if y.s == 0 {
			return nil, zero
		}
		return secondsDuration(x.d.Seconds() / y.s), nil
	case x.kind == scalarOperand && y.kind == scalarOperand:
		if y.s == 0 {
			return nil, zero
		}
		return x.s / y.s, nil
	}
	return nil, fnError(errTypeMismatch, "divide")
}

// exactInt64 reports f as an int64 when it has no fraction.
func exactInt64(f float64) (int64, bool) {
	i := int64(f)
	return i, f == float64(i)
}

func fnModulo(a []any) (any, error) {
	x, y, err := parseOperands("modulo", a)
	if err != nil {
		return nil, err
	}
	if x.kind != y.kind {
		return nil, fnError(errTypeMismatch, "modulo")
	}
	switch x.kind {
	case quantityOperand:
		i1, ok1 := exactInt64(x.q.ToDec().AsApproximateFloat64())
		i2, ok2 := exactInt64(y.q.ToDec().AsApproximateFloat64())
		if !ok1 || !ok2 {
			return nil, fnError(errNonIntModulo, "modulo")
		}
		if i2 == 0 {
			return nil, fnError(errZeroDivisor, "modulo")
		}
		return resource.NewQuantity(i1%i2, x.q.Format).String(), nil
	case durationOperand:
		if y.d == 0 {
			return nil, fnError(errZeroDivisor, "modulo")
		}
		return (x.d % y.d).String(), nil
	default:
		i1, ok1 := exactInt64(x.s)
		i2, ok2 := exactInt64(y.s)
		if !ok1 || !ok2 {
			return nil, fnError(errNonIntModulo, "modulo")
		}
		if i2 == 0 {
			return nil, fnError(errZeroDivisor, "modulo")
		}
		return float64(i1 % i2), nil
	}
}

func fnRound(a []any) (any, error) {
	value, err := numberArg("round", a, 0)
	if err != nil {
		return nil, err
	}
	digits, err := numberArg("round", a, 1)
	if err != nil {
		return nil, err
	}
	n, err := toInt(digits)
	if err != nil {
		return nil, fnError(errNonIntRound, "round")
	}
	if n < 0 {
		return nil, roundNegativeDigitsError{}
	}
	shift := math.Pow(10, float64(n))
	return math.Round(value*shift) / shift, nil
}

// roundNegativeDigitsError reproduces the text Kyverno's round gives for a
// negative digit count (its format string is short of arguments).
type roundNegativeDigitsError struct{}

func (roundNegativeDigitsError) Error() string { return errRoundNegDigits }
