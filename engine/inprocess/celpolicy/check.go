package celpolicy

import (
	"fmt"
	"strings"

	"github.com/kyverno/kyverno/pkg/cel/libs"
	mpolcompiler "github.com/kyverno/kyverno/pkg/cel/policies/mpol/compiler"
	vpolcompiler "github.com/kyverno/kyverno/pkg/cel/policies/vpol/compiler"
	ivpoleval "github.com/kyverno/kyverno/pkg/image/verification/evaluator"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// checkContext is what Check compiles against: an empty provider, what
// Kyverno falls back to; one value, so concurrent checks share it.
var checkContext libs.Context = libs.NewFakeContextProvider()

// CompileError is a policy Kyverno's compiler refused: its kind and name,
// and Kyverno's errors (each names the field path, e.g.
// "spec.validations[0].expression", and the CEL compiler's message).
type CompileError struct {
	Kind   string
	Policy string
	Errors []string
}

func (e *CompileError) Error() string {
	return fmt.Sprintf("%s %s does not compile: %s", e.Kind, e.Policy, strings.Join(e.Errors, "; "))
}

// Check compiles every policy with Kyverno's compilers (as the admission
// controller does before it serves a policy, and the CLI before it applies
// one) and returns a *CompileError for the first that does not compile.
func Check(p Policies) error {
	if p.Len() == 0 {
		return nil
	}
	defer libraryContext.hold(checkContext)()
	for _, pol := range p.Validating {
		if _, errs := vpolcompiler.NewCompiler().Compile(pol, nil); len(errs) > 0 {
			return &CompileError{Kind: pol.GetKind(), Policy: pol.GetName(), Errors: fieldErrors(errs)}
		}
	}
	for _, pol := range p.Mutating {
		if _, errs := mpolcompiler.NewCompiler().Compile(pol, nil); len(errs) > 0 {
			return &CompileError{Kind: pol.GetKind(), Policy: pol.GetName(), Errors: fieldErrors(errs)}
		}
	}
	for _, pol := range p.ImageValidating {
		if _, err := ivpoleval.Validate(pol, nil); err != nil {
			return &CompileError{Kind: pol.GetKind(), Policy: pol.GetName(), Errors: []string{err.Error()}}
		}
	}
	return nil
}

// fieldErrors are Kyverno's errors without the placeholder its compilers
// put first ("failed to compile policy", no field).
func fieldErrors(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		if e.Field == "<nil>" || e.Field == "" {
			if len(errs) > 1 {
				continue
			}
		}
		out = append(out, e.Error())
	}
	return out
}
