// Package mutants measures how many broken builds the specification
// catches: it makes single-point mutants of Go source files (standard
// operators), applies each to a git checkout as a commit of its own, runs a
// build command and a judging command on it, and classifies the mutant as
// killed, lived, not viable or timed out. Results are cached by mutant so a
// run resumes; the report gives the kill rate, killed / (killed + lived).
//
// The checkout is a copy of the Kyverno module (or KYVERNO_SRC); the
// commands default to this project's `make suite-bin` and `make conformance`
// with KYVERNO_SRC set to it (internal/cmd/mutants).
package mutants

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"sort"
	"strconv"
	"strings"
)

// Operator names a kind of mutation.
type Operator string

const (
	// OpNegateCondition swaps a comparison for its negation (== and !=,
	// < and >=, > and <=).
	OpNegateCondition Operator = "negate-condition"
	// OpBoundary moves a comparison's boundary (< and <=, > and >=).
	OpBoundary Operator = "boundary"
	// OpBoolLiteral swaps true and false.
	OpBoolLiteral Operator = "bool-literal"
	// OpErrorFormat changes the format string of fmt.Errorf and
	// errors.New (what a user reads in a rule's message).
	OpErrorFormat Operator = "error-format"
	// OpRemoveReturnError makes `if err != nil { return ..., err }` fall
	// through (the error is dropped).
	OpRemoveReturnError Operator = "remove-error-return"
)

// Operators are every Operator, in report order.
func Operators() []Operator {
	return []Operator{OpNegateCondition, OpBoundary, OpBoolLiteral, OpErrorFormat, OpRemoveReturnError}
}

// Mutant is one change to one file: the bytes [Start, End) of File (a
// path relative to the checkout) become Replacement.
type Mutant struct {
	ID          string   `json:"id"`
	File        string   `json:"file"`
	Line        int      `json:"line"`
	Operator    Operator `json:"operator"`
	Start       int      `json:"start"`
	End         int      `json:"end"`
	Original    string   `json:"original"`
	Replacement string   `json:"replacement"`
}

// Apply returns src with the mutant applied. It is an error when src does
// not hold the original text where the mutant says (the file changed).
func (m Mutant) Apply(src []byte) ([]byte, error) {
	if m.Start < 0 || m.End > len(src) || m.Start > m.End || string(src[m.Start:m.End]) != m.Original {
		return nil, fmt.Errorf("mutant %s: %s:%d no longer holds %q", m.ID, m.File, m.Line, m.Original)
	}
	out := make([]byte, 0, len(src)-len(m.Original)+len(m.Replacement))
	out = append(out, src[:m.Start]...)
	out = append(out, m.Replacement...)
	return append(out, src[m.End:]...), nil
}

// Diff is the mutant as a one-line change: "file:line: -old +new".
func (m Mutant) Diff() string {
	return fmt.Sprintf("%s:%d: -%s +%s", m.File, m.Line, oneLine(m.Original), oneLine(m.Replacement))
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

var (
	negations = map[token.Token]token.Token{
		token.EQL: token.NEQ, token.NEQ: token.EQL,
		token.LSS: token.GEQ, token.GEQ: token.LSS,
		token.GTR: token.LEQ, token.LEQ: token.GTR,
	}
	boundaries = map[token.Token]token.Token{
		token.LSS: token.LEQ, token.LEQ: token.LSS,
		token.GTR: token.GEQ, token.GEQ: token.GTR,
	}
)

// Generate returns the mutants of one Go source file (name is the path
// relative to the checkout, used in IDs and reports), in source order.
// Test files have none. Errors: src does not parse.
func Generate(name string, src []byte) ([]Mutant, error) {
	if strings.HasSuffix(name, "_test.go") {
		return nil, nil
	}
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("mutants: %w", err)
	}
	var out []Mutant
	add := func(op Operator, start, end token.Pos, replacement string) {
		s, e := fset.Position(start).Offset, fset.Position(end).Offset
		m := Mutant{File: name, Line: fset.Position(start).Line, Operator: op, Start: s, End: e,
			Original: string(src[s:e]), Replacement: replacement}
		sum := sha256.Sum256([]byte(fmt.Sprintf("%s|%d|%s|%s|%s", name, s, op, m.Original, replacement)))
		m.ID = hex.EncodeToString(sum[:6])
		out = append(out, m)
	}
	ast.Inspect(file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BinaryExpr:
			if to, ok := negations[n.Op]; ok {
				add(OpNegateCondition, n.OpPos, n.OpPos+token.Pos(len(n.Op.String())), to.String())
			}
			if to, ok := boundaries[n.Op]; ok {
				add(OpBoundary, n.OpPos, n.OpPos+token.Pos(len(n.Op.String())), to.String())
			}
		case *ast.Ident:
			switch n.Name {
			case "true":
				add(OpBoolLiteral, n.Pos(), n.End(), "false")
			case "false":
				add(OpBoolLiteral, n.Pos(), n.End(), "true")
			}
		case *ast.CallExpr:
			if isErrorConstructor(n.Fun) && len(n.Args) > 0 {
				if lit, ok := n.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil {
						add(OpErrorFormat, lit.Pos(), lit.End(), strconv.Quote("MUTATED "+s))
					}
				}
			}
		case *ast.IfStmt:
			if returnsOnError(n) {
				// `if err != nil {` becomes `if false {`: the body stays
				// (it compiles), the error is dropped.
				add(OpRemoveReturnError, n.Cond.Pos(), n.Cond.End(), "false")
			}
		}
		return true
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out, nil
}

// isErrorConstructor: fmt.Errorf or errors.New.
func isErrorConstructor(fun ast.Expr) bool {
	sel, ok := fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	return ok && ((pkg.Name == "fmt" && sel.Sel.Name == "Errorf") || (pkg.Name == "errors" && sel.Sel.Name == "New"))
}

// returnsOnError: `if err != nil { ...; return ... }` with no init and no
// else, the body ending in a return.
func returnsOnError(n *ast.IfStmt) bool {
	if n.Init != nil || n.Else != nil || len(n.Body.List) == 0 {
		return false
	}
	cond, ok := n.Cond.(*ast.BinaryExpr)
	if !ok || cond.Op != token.NEQ {
		return false
	}
	x, okX := cond.X.(*ast.Ident)
	y, okY := cond.Y.(*ast.Ident)
	if !okX || !okY || x.Name != "err" || y.Name != "nil" {
		return false
	}
	_, ok = n.Body.List[len(n.Body.List)-1].(*ast.ReturnStmt)
	return ok
}
