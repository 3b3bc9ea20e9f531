// Package mutants measures how many broken builds the specification
// catches: it makes single-point mutants of Go source files (standard
// operators), applies each to a git checkout as a commit of its own, runs a
// build command and a judging command on it, and classifies the mutant as
// killed, lived, not viable or timed out. Results are cached by mutant so a
// run resumes; the report gives the kill rate, killed / (killed + lived).
//
// The checkout is a copy of the Kyverno module (or KYVERNO_SRC); the
// commands default to this project's `make suite-bin` and `make conformance`
// with KYVERNO_SRC set to it (RunSession; imagectx mutants is its command).
package mutants

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path"
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
	// OpArithmetic swaps + and -, * and /.
	OpArithmetic Operator = "arithmetic"
	// OpStringLiteral changes a string literal that is compared (==, !=,
	// a case), returned, an index, or a key or value of a composite
	// literal (a map key such as "failed" is what a policy reads).
	OpStringLiteral Operator = "string-literal"
	// OpRemoveCall removes a call statement whose result is not used
	// (a context entry not added, a field not set); logging calls are left.
	OpRemoveCall Operator = "remove-call"
	// OpSwapArguments swaps two neighbouring arguments of fmt.Errorf or
	// fmt.Sprintf after the format (a message naming the reference where
	// it names the error). Only these calls: their arguments are `any`, so
	// every swap compiles; a swap of other calls' arguments needs types.
	OpSwapArguments Operator = "swap-arguments"
)

// Operators are every Operator, in report order.
func Operators() []Operator {
	return []Operator{OpNegateCondition, OpBoundary, OpBoolLiteral, OpErrorFormat, OpRemoveReturnError,
		OpArithmetic, OpStringLiteral, OpRemoveCall, OpSwapArguments}
}

// Mutant is one change to one file: the bytes [Start, End) of File (a
// path relative to the checkout of Module) become Replacement.
type Mutant struct {
	ID string `json:"id"`
	// Module is the Go module the file belongs to (its import path).
	Module string `json:"module"`
	File   string `json:"file"`
	// FileSum is the first 12 hex digits of the file's SHA-256: a mutant
	// of another version of the file is another mutant.
	FileSum     string   `json:"fileSum"`
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
	arithmetic = map[token.Token]token.Token{
		token.ADD: token.SUB, token.SUB: token.ADD,
		token.MUL: token.QUO, token.QUO: token.MUL,
	}
	boundaries = map[token.Token]token.Token{
		token.LSS: token.LEQ, token.LEQ: token.LSS,
		token.GTR: token.GEQ, token.GEQ: token.GTR,
	}
)

// Package is the import path of the mutant's package.
func (m Mutant) Package() string {
	return path.Join(m.Module, path.Dir(m.File))
}

// Generate returns the mutants of one Go source file of module (name is
// the path relative to the module's root, used in IDs and reports), in
// source order. Test files have none. Errors: src does not parse.
func Generate(module, name string, src []byte) ([]Mutant, error) {
	if strings.HasSuffix(name, "_test.go") {
		return nil, nil
	}
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("mutants: %w", err)
	}
	fileSum := sha256.Sum256(src)
	var out []Mutant
	add := func(op Operator, start, end token.Pos, replacement string) {
		s, e := fset.Position(start).Offset, fset.Position(end).Offset
		m := Mutant{Module: module, File: name, FileSum: hex.EncodeToString(fileSum[:6]), Line: fset.Position(start).Line,
			Operator: op, Start: s, End: e, Original: string(src[s:e]), Replacement: replacement}
		sum := sha256.Sum256([]byte(fmt.Sprintf("%s|%s|%s|%d|%s|%s|%s", module, name, m.FileSum, s, op, m.Original, replacement)))
		m.ID = hex.EncodeToString(sum[:6])
		out = append(out, m)
	}
	// span is the source text between two positions.
	span := func(from, to token.Pos) string {
		return string(src[fset.Position(from).Offset:fset.Position(to).Offset])
	}
	literal := func(e ast.Expr) {
		if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if v, err := strconv.Unquote(lit.Value); err == nil {
				add(OpStringLiteral, lit.Pos(), lit.End(), strconv.Quote(v+"-MUTATED"))
			}
		}
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
			if to, ok := arithmetic[n.Op]; ok && !isStringLit(n.X) && !isStringLit(n.Y) {
				add(OpArithmetic, n.OpPos, n.OpPos+token.Pos(len(n.Op.String())), to.String())
			}
			if n.Op == token.EQL || n.Op == token.NEQ {
				literal(n.X)
				literal(n.Y)
			}
		case *ast.IndexExpr:
			literal(n.Index)
		case *ast.CaseClause:
			for _, e := range n.List {
				literal(e)
			}
		case *ast.ReturnStmt:
			for _, e := range n.Results {
				literal(e)
			}
		case *ast.CompositeLit:
			for _, e := range n.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok {
					literal(kv.Key)
					literal(kv.Value)
				} else {
					literal(e)
				}
			}
		case *ast.ExprStmt:
			if call, ok := n.X.(*ast.CallExpr); ok && !isLogging(call) {
				add(OpRemoveCall, n.Pos(), n.End(), "")
			}
		case *ast.Ident:
			switch n.Name {
			case "true":
				add(OpBoolLiteral, n.Pos(), n.End(), "false")
			case "false":
				add(OpBoolLiteral, n.Pos(), n.End(), "true")
			}
		case *ast.CallExpr:
			if isFormatCall(n.Fun) {
				for i := 1; i+1 < len(n.Args); i++ {
					a, b := n.Args[i], n.Args[i+1]
					at, bt := span(a.Pos(), a.End()), span(b.Pos(), b.End())
					if at != bt {
						add(OpSwapArguments, a.Pos(), b.End(), bt+span(a.End(), b.Pos())+at)
					}
				}
			}
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

// isStringLit: a string literal (the operand of a string concatenation).
func isStringLit(e ast.Expr) bool {
	lit, ok := e.(*ast.BasicLit)
	return ok && lit.Kind == token.STRING
}

// isLogging: a call on a logger (logr's Info, Error, V(n).Info, ...), a
// span or the log and fmt packages' printers: removing it changes no
// result.
func isLogging(call *ast.CallExpr) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	switch sel.Sel.Name {
	case "Info", "Error", "V", "Debug", "Warn", "Printf", "Println", "Print", "Fprintf", "Fprintln", "End", "SetStatus", "RecordError", "AddEvent", "SetAttributes":
		return true
	}
	if id, ok := sel.X.(*ast.Ident); ok && (id.Name == "logger" || id.Name == "log" || id.Name == "logging") {
		return true
	}
	return false
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

// isFormatCall: fmt.Errorf or fmt.Sprintf (the format is the first
// argument, the rest are `any`).
func isFormatCall(fun ast.Expr) bool {
	sel, ok := fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	return ok && pkg.Name == "fmt" && (sel.Sel.Name == "Errorf" || sel.Sel.Name == "Sprintf")
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
