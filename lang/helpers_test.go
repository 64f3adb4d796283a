package lang

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"etap/diag"
	"etap/lang/ast"
)

// dump renders a tree without positions, ParenExpr nodes and the file's
// expansions, the things a Print round trip may change.
func dump(n any) string {
	var b strings.Builder
	dumpValue(&b, reflect.ValueOf(n))
	return b.String()
}

var (
	baseType  = reflect.TypeOf(ast.Base{})
	posType   = reflect.TypeOf(diag.Pos{})
	parenType = reflect.TypeOf(&ast.ParenExpr{})
)

func dumpValue(b *strings.Builder, v reflect.Value) {
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			b.WriteString("nil")
			return
		}
		if v.Type() == parenType {
			dumpValue(b, v.Elem().FieldByName("X"))
			return
		}
		dumpValue(b, v.Elem())
	case reflect.Struct:
		b.WriteString(v.Type().Name() + "{")
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if f.Type == baseType || f.Type == posType || (f.Name == "Name" || f.Name == "Expansions") && v.Type() == reflect.TypeOf(ast.File{}) {
				continue
			}
			b.WriteString(f.Name + ":")
			dumpValue(b, v.Field(i))
			b.WriteByte(' ')
		}
		b.WriteByte('}')
	case reflect.Slice:
		b.WriteByte('[')
		for i := range v.Len() {
			dumpValue(b, v.Index(i))
			b.WriteByte(' ')
		}
		b.WriteByte(']')
	default:
		fmt.Fprintf(b, "%#v", v.Interface())
	}
}

// sexpr renders an expression compactly for precedence tables:
// a + b * c is (+ a (* b c)).
func sexpr(x ast.Expr) string {
	list := func(head string, xs ...ast.Expr) string {
		parts := []string{head}
		for _, x := range xs {
			parts = append(parts, sexpr(x))
		}
		return "(" + strings.Join(parts, " ") + ")"
	}
	switch x := x.(type) {
	case nil:
		return "*"
	case *ast.IntLit:
		return fmt.Sprint(x.Value)
	case *ast.StringLit:
		return fmt.Sprintf("%q", x.Value)
	case *ast.Ident:
		return x.Name
	case *ast.TargetVar:
		return "$" + strings.Join(append([]string{x.Name}, x.Fields...), "->")
	case *ast.BinaryExpr:
		return list(x.Op, x.X, x.Y)
	case *ast.UnaryExpr:
		return list("u"+x.Op, x.X)
	case *ast.IncDecExpr:
		if x.Postfix {
			return list("post"+x.Op, x.X)
		}
		return list("pre"+x.Op, x.X)
	case *ast.AssignExpr:
		return list(x.Op, x.X, x.Y)
	case *ast.TernaryExpr:
		return list("?:", x.Cond, x.X, x.Y)
	case *ast.IndexExpr:
		return list("index "+x.Array.Name, x.Index...)
	case *ast.InExpr:
		return list("in "+x.Array.Name, x.Keys...)
	case *ast.CallExpr:
		return list("call "+x.Name, x.Args...)
	case *ast.AggregateExpr:
		return list("@"+x.Op, append([]ast.Expr{x.X}, x.Args...)...)
	case *ast.ParenExpr:
		return list("paren", x.X)
	case *ast.HistIndexExpr:
		return list("hist[]", append([]ast.Expr{x.Hist}, x.Index...)...)
	case *ast.HistInExpr:
		return list("in", append([]ast.Expr{x.Hist}, x.Keys...)...)
	case *ast.TargetExpr:
		parts := []string{sexpr(x.X)}
		if x.AddrOf {
			parts = append([]string{"&"}, parts...)
		}
		for _, st := range x.Path {
			if st.Index == nil {
				parts = append(parts, "(-> "+st.Member+")")
			} else {
				parts = append(parts, "([] "+sexpr(st.Index)+")")
			}
		}
		if x.Pretty != "" {
			parts = append(parts, x.Pretty)
		}
		return "(" + strings.Join(parts, " ") + ")"
	case *ast.CastExpr:
		s := fmt.Sprintf("(@cast %s %q", sexpr(x.X), x.Type)
		if x.Module != "" {
			s += fmt.Sprintf(" %q", x.Module)
		}
		return s + ")"
	case *ast.AtVarExpr:
		return fmt.Sprintf("(@var %q %q)", x.Name, x.Module)
	case *ast.AtExpr:
		return list("@"+x.Op, x.Args...)
	case *ast.EmbeddedExpr:
		return "(%{" + x.Code + "%})"
	}
	return fmt.Sprintf("?%T", x)
}

// parseExpr parses src as the one expression statement of a probe.
func parseExpr(t *testing.T, src string, args ...string) ast.Expr {
	t.Helper()
	f, diags := Parse("t.stp", "probe begin { "+src+" }", args)
	require.False(t, diags.HasErrors(), "%s", diags)
	require.Len(t, f.Decls, 1)
	body := f.Decls[0].(*ast.ProbeDecl).Body
	require.Len(t, body.Stmts, 1)
	stmt, ok := body.Stmts[0].(*ast.ExprStmt)
	require.True(t, ok, "not an expression statement: %T", body.Stmts[0])
	return stmt.X
}

// checkSpans verifies that every node has a valid span and lies within its
// parent, which catches a node built with the wrong start or end token.
func checkSpans(t *testing.T, f *ast.File) {
	t.Helper()
	var stack []ast.Node
	ast.Inspect(f, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return false
		}
		s := n.Span()
		if _, isFile := n.(*ast.File); !isFile {
			require.True(t, s.Start.IsValid() && s.End.IsValid(), "%T has no span", n)
			require.LessOrEqual(t, s.Start.Offset, s.End.Offset, "%T at %s ends before it starts", n, s.Start)
			if len(stack) > 0 {
				if _, parentIsFile := stack[len(stack)-1].(*ast.File); !parentIsFile {
					ps := stack[len(stack)-1].Span()
					require.True(t, ps.Start.Offset <= s.Start.Offset && s.End.Offset <= ps.End.Offset,
						"%T %s-%s outside its parent %T %s-%s", n, s.Start, s.End, stack[len(stack)-1], ps.Start, ps.End)
				}
			}
		}
		stack = append(stack, n)
		return true
	})
}

// messages renders diagnostics as "CODE message hint: hint" lines, the
// form the parseko markers match.
func messages(l *diag.List) []string {
	var out []string
	for _, d := range l.Items {
		out = append(out, formatDiag(d))
	}
	sort.Strings(out)
	return out
}

func formatDiag(d *diag.Diagnostic) string {
	s := d.Code + " " + d.Message
	if d.Hint != "" {
		s += " hint: " + d.Hint
	}
	return s
}
