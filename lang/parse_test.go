package lang

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/diag"
	"etap/lang/ast"
)

func TestScriptArguments(t *testing.T) {
	args := []string{"-5", "hello", "pid() + 1"}
	src := `global n = $1, s = @2, count = $#, scount = @#
probe begin { x = $3; y = @3 }`
	f, diags := Parse("t.stp", src, args)
	require.Empty(t, messages(diags))
	vars := f.Decls[0].(*ast.GlobalDecl).Vars
	assert.Equal(t, int64(-5), vars[0].Init.(*ast.IntLit).Value)
	assert.Equal(t, "hello", vars[1].Init.(*ast.StringLit).Value)
	assert.Equal(t, int64(3), vars[2].Init.(*ast.IntLit).Value)
	assert.Equal(t, "3", vars[3].Init.(*ast.StringLit).Value)

	body := f.Decls[1].(*ast.ProbeDecl).Body.Stmts
	assert.Equal(t, "(= x (+ (call pid) 1))", sexpr(body[0].(*ast.ExprStmt).X))
	assert.Equal(t, `(= y "pid() + 1")`, sexpr(body[1].(*ast.ExprStmt).X))
	// Substituted tokens point at the $N that stood for them.
	call := body[0].(*ast.ExprStmt).X.(*ast.AssignExpr).Y.(*ast.BinaryExpr)
	assert.Equal(t, diag.Pos{File: "t.stp", Offset: strings.Index(src, "$3"), Line: 2, Col: 19}, call.Start)
}

func TestScriptArgumentErrors(t *testing.T) {
	tests := []struct {
		src  string
		args []string
		want string
	}{
		{"probe begin { x = $2 }", []string{"1"}, "1:19: P008 script argument $2 is out of range: 1 given"},
		{"probe begin { x = @1 }", nil, "1:19: P008 script argument @1 is out of range: 0 given"},
		{`probe begin { x = $1 }`, []string{`"open`}, "1:19: P002 in script argument $1: unterminated string literal"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, diags := Parse("t.stp", tt.src, tt.args)
			require.Len(t, diags.Items, 1, "%s", diags)
			d := diags.Items[0]
			assert.Equal(t, tt.want, fmt.Sprintf("%d:%d: %s %s", d.Span.Start.Line, d.Span.Start.Col, d.Code, d.Message))
		})
	}
}

// TestDiagnosticPositions checks where the caret goes: on the offending
// token, not after it.
func TestDiagnosticPositions(t *testing.T) {
	tests := []struct {
		src       string
		line, col int
		code      string
	}{
		{"probe begin() { }", 1, 12, CodeEmptyProbeArgs},
		{"probe kernel.function( ).return { }", 1, 22, CodeEmptyProbeArgs},
		{"probe begin { x = }", 1, 19, CodeUnexpected},
		{"probe begin {\n  print(\"abc)\n}", 2, 9, CodeUnterminatedString},
		{"begin { }", 1, 1, CodeMissingProbe},
		{"probe begin { }\n  }", 2, 3, CodeStrayBrace},
		{"probe begin ; { }", 1, 13, CodeSemicolonAfterPoint},
		{"probe begin { @sun(x) }", 1, 15, CodeUnknownAt},
		{"global x == 1", 1, 10, CodeGlobalEquals},
		{"probe begin {", 1, 14, CodeUnexpected},
		{"probe begin { x = 1 +\t`\t}", 1, 23, CodeInvalidChar},
		{"probe begin { /* never", 1, 15, CodeUnterminatedComment},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, diags := Parse("t.stp", tt.src, nil)
			require.Len(t, diags.Items, 1, "%s", diags)
			d := diags.Items[0]
			assert.Equal(t, tt.code, d.Code)
			assert.Equal(t, diag.Parse, d.Kind)
			assert.Equal(t, diag.Error, d.Severity)
			assert.Equal(t, tt.line, d.Span.Start.Line, "line")
			assert.Equal(t, tt.col, d.Span.Start.Col, "column")
		})
	}
}

func TestEmptyArgsStillParse(t *testing.T) {
	f, diags := Parse("t.stp", "probe begin() { x = 1 }", nil)
	require.Len(t, diags.Items, 1)
	require.Len(t, f.Decls, 1)
	c := f.Decls[0].(*ast.ProbeDecl).Points[0].Components[0]
	assert.True(t, c.HasParens)
	assert.Nil(t, c.Arg)
	assert.Equal(t, "begin", c.Name)
}

func TestUnclosedBlockNote(t *testing.T) {
	_, diags := Parse("t.stp", "probe begin {\n  if (x) {\n", nil)
	require.Len(t, diags.Items, 1)
	d := diags.Items[0]
	require.Len(t, d.Related, 1)
	assert.Equal(t, 2, d.Related[0].Span.Start.Line)
	assert.Equal(t, 10, d.Related[0].Span.Start.Col)
}

func TestRenderedDiagnostic(t *testing.T) {
	src := "probe begin() {\n  exit()\n}\n"
	_, diags := Parse("t.stp", src, nil)
	var b strings.Builder
	diag.RenderList(&b, diags, func(string) (string, bool) { return src, true })
	assert.Equal(t, `t.stp:1:12: parse error: probe point 'begin' does not take an empty argument list
        source: probe begin() {
                           ^
        hint: write 'probe begin { ... }'
`, b.String())
}

func TestErrorLimit(t *testing.T) {
	var src strings.Builder
	for range 30 {
		src.WriteString("probe begin { x = }\n")
	}
	f, diags := Parse("t.stp", src.String(), nil)
	assert.Len(t, diags.Items, maxErrors)
	assert.Empty(t, f.Decls)
	for i, d := range diags.Items {
		assert.Equal(t, i+1, d.Span.Start.Line, "one error per probe, in order")
	}
}

func TestRecoveryKeepsGoodDeclarations(t *testing.T) {
	f, diags := Parse("t.stp", "global a\nprobe begin { x = }\nprobe end { a = 1 }\nfunction f() { return 1 }", nil)
	require.Len(t, diags.Items, 1)
	require.Len(t, f.Decls, 3)
	assert.IsType(t, &ast.GlobalDecl{}, f.Decls[0])
	assert.IsType(t, &ast.ProbeDecl{}, f.Decls[1])
	assert.IsType(t, &ast.FunctionDecl{}, f.Decls[2])
}

func TestDeepNesting(t *testing.T) {
	// 100,000 parentheses are the stress case; the other shapes need only
	// pass the limit to show that each recursion counts.
	const n, m = 100000, 5000
	tests := map[string]string{
		"parens":          "probe begin { x = " + strings.Repeat("(", n) + "1" + strings.Repeat(")", n) + " }",
		"unclosed parens": "probe begin { x = " + strings.Repeat("(", n),
		"blocks":          "probe begin { " + strings.Repeat("{", m) + strings.Repeat("}", m) + " }",
		"unary":           "probe begin { x = " + strings.Repeat("- ", m) + "1 }",
		"not":             "probe begin { x = " + strings.Repeat("!", m) + "1 }",
		"target indexes":  "probe begin { x = " + strings.Repeat("$a[", m) + "1" + strings.Repeat("]", m) + " }",
		"point braces":    "probe " + strings.Repeat("{", m) + "begin" + strings.Repeat("}", m) + " { }",
		"if":              "probe begin { " + strings.Repeat("if (1) ", m) + "x = 1 }",
		"assign":          "probe begin { " + strings.Repeat("x = ", m) + "1 }",
		"ternary":         "probe begin { x = " + strings.Repeat("a ? b : ", m) + "c }",
		"index":           "probe begin { x = " + strings.Repeat("a[", m) + "1" + strings.Repeat("]", m) + " }",
		"calls":           "probe begin { x = " + strings.Repeat("f(", m) + "1" + strings.Repeat(")", m) + " }",
		"in tuples":       "probe begin { x = " + strings.Repeat("[", m) + "1" + strings.Repeat("] in a", m) + " }",
		"probe condition": "probe begin if (" + strings.Repeat("(", n) + "1" + strings.Repeat(")", n) + ") { }",
	}
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			_, diags := Parse("t.stp", src, nil)
			require.Len(t, diags.Items, 1, "%s", diags)
			assert.Equal(t, CodeTooDeep, diags.Items[0].Code)
			assert.Equal(t, 1, diags.Items[0].Span.Start.Line)
		})
	}
}

func TestModerateNestingIsFine(t *testing.T) {
	const n = 300
	src := "probe begin { " + strings.Repeat("{", n) + "x = " + strings.Repeat("(", n) + "1" +
		strings.Repeat(")", n) + strings.Repeat("}", n) + " }"
	_, diags := Parse("t.stp", src, nil)
	assert.Empty(t, messages(diags))
}

func TestDeclarations(t *testing.T) {
	f, diags := Parse("t.stp", `private global a = -3, w%[10], arr
probe syscall.open*.return?, timer.ms(-1)! if (a) { }
probe al.x += kernel.trace("sched:*") { }
function f:string (x:long, y) %{ code %}`, nil)
	require.Empty(t, messages(diags))
	require.Len(t, f.Decls, 4)

	g := f.Decls[0].(*ast.GlobalDecl)
	assert.True(t, g.Private)
	require.Len(t, g.Vars, 3)
	assert.Equal(t, "-3", g.Vars[0].Init.(*ast.IntLit).Text)
	assert.Equal(t, int64(-3), g.Vars[0].Init.(*ast.IntLit).Value)
	assert.Equal(t, &ast.GlobalVar{Base: g.Vars[1].Base, Name: "w", Size: 10, IsArray: true, Wrap: true}, g.Vars[1])
	assert.False(t, g.Vars[2].IsArray, "an array needs no brackets")

	p := f.Decls[1].(*ast.ProbeDecl)
	require.Len(t, p.Points, 2)
	assert.True(t, p.Points[0].Optional)
	assert.Equal(t, []string{"syscall", "open*", "return"}, componentNames(p.Points[0]))
	assert.True(t, p.Points[1].Sufficient)
	assert.Equal(t, int64(-1), p.Points[1].Components[1].Arg.(*ast.IntLit).Value)
	assert.Equal(t, "a", p.Points[1].Cond.(*ast.Ident).Name)

	a := f.Decls[2].(*ast.AliasDecl)
	assert.True(t, a.Epilogue)
	assert.Equal(t, []string{"al", "x"}, componentNames(a.Names[0]))
	assert.Equal(t, "sched:*", a.Points[0].Components[1].Arg.(*ast.StringLit).Value)

	fn := f.Decls[3].(*ast.FunctionDecl)
	assert.Equal(t, ast.TypeName("string"), fn.Result)
	assert.Equal(t, " code ", fn.EmbeddedC)
	assert.Nil(t, fn.Body)
	require.Len(t, fn.Params, 2)
	assert.Equal(t, ast.TypeName("long"), fn.Params[0].Type)
	assert.Equal(t, ast.TypeName(""), fn.Params[1].Type)
}

func componentNames(pp *ast.ProbePoint) []string {
	var names []string
	for _, c := range pp.Components {
		names = append(names, c.Name)
	}
	return names
}

func TestForeachHeaders(t *testing.T) {
	tests := []struct {
		header          string
		value           string
		keys            int
		sortCol         int
		desc            bool
		agg             string
		slice, hasLimit bool
	}{
		{header: "k in a", keys: 1},
		{header: "[k1, k2] in a", keys: 2},
		{header: "v = k in a", value: "v", keys: 1},
		{header: "v = [k1, k2] in a", value: "v", keys: 2},
		{header: "k+ in a", keys: 1, sortCol: 1},
		{header: "[k1, k2-] in a", keys: 2, sortCol: 2, desc: true},
		{header: "k in a-", keys: 1, sortCol: -1, desc: true},
		{header: "v- = k in a", value: "v", keys: 1, sortCol: -1, desc: true},
		{header: "v = k+ in a", value: "v", keys: 1, sortCol: 1},
		{header: "k in a @sum-", keys: 1, sortCol: -1, desc: true, agg: "sum"},
		{header: "k in a[*, 1] limit 5", keys: 1, slice: true, hasLimit: true},
		{header: "k in a+ limit n * 2", keys: 1, sortCol: -1, hasLimit: true},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			f, diags := Parse("t.stp", "probe end { foreach ("+tt.header+") next }", nil)
			require.Empty(t, messages(diags))
			s := f.Decls[0].(*ast.ProbeDecl).Body.Stmts[0].(*ast.ForeachStmt)
			if tt.value == "" {
				assert.Nil(t, s.Value)
			} else {
				require.NotNil(t, s.Value)
				assert.Equal(t, tt.value, s.Value.Name)
			}
			assert.Len(t, s.Keys, tt.keys)
			assert.Equal(t, "a", s.Array.Name)
			assert.Equal(t, tt.sortCol, s.SortColumn)
			assert.Equal(t, tt.desc, s.SortDesc)
			assert.Equal(t, tt.agg, s.SortAggregate)
			assert.Equal(t, tt.slice, s.Slice != nil)
			assert.Equal(t, tt.hasLimit, s.Limit != nil)
			assert.IsType(t, &ast.NextStmt{}, s.Body)
		})
	}
}

func TestSliceStars(t *testing.T) {
	f, diags := Parse("t.stp", "probe end { foreach (k in a[*, 1]) next; delete a[k, *] }", nil)
	require.Empty(t, messages(diags))
	stmts := f.Decls[0].(*ast.ProbeDecl).Body.Stmts
	assert.Nil(t, stmts[0].(*ast.ForeachStmt).Slice[0])
	assert.Nil(t, stmts[1].(*ast.DeleteStmt).X.(*ast.IndexExpr).Index[1])
}

func TestStatementSpans(t *testing.T) {
	src := "probe begin { x = 1; if (x) y++ else { z } }"
	f, diags := Parse("t.stp", src, nil)
	require.Empty(t, messages(diags))
	p := f.Decls[0].(*ast.ProbeDecl)
	text := func(n ast.Node) string { return src[n.Span().Start.Offset:n.Span().End.Offset] }
	assert.Equal(t, src, text(p))
	assert.Equal(t, "{ x = 1; if (x) y++ else { z } }", text(p.Body))
	assert.Equal(t, "x = 1;", text(p.Body.Stmts[0]))
	assert.Equal(t, "x = 1", text(p.Body.Stmts[0].(*ast.ExprStmt).X))
	assert.Equal(t, "if (x) y++ else { z }", text(p.Body.Stmts[1]))
	assert.Equal(t, "begin", text(p.Points[0]))
}

// pointNames renders the points of the first probe of src as text.
func pointNames(t *testing.T, src string) []string {
	t.Helper()
	f, diags := Parse("t.stp", src, nil)
	require.Empty(t, messages(diags))
	var names []string
	for _, pp := range f.Decls[0].(*ast.ProbeDecl).Points {
		name := pointName(pp.Components)
		if pp.Optional {
			name += "?"
		}
		if pp.Sufficient {
			name += "!"
		}
		if pp.Cond != nil {
			name += " if " + sexpr(pp.Cond)
		}
		names = append(names, name)
	}
	return names
}

func TestBraceExpansion(t *testing.T) {
	tests := []struct {
		src  string
		want []string
	}{
		{"probe syscall.{open,close} {}", []string{"syscall.open", "syscall.close"}},
		{"probe {a,b}.{c,d} {}", []string{"a.c", "a.d", "b.c", "b.d"}},
		{"probe a.{b.{c,d},e}.f {}", []string{"a.b.c.f", "a.b.d.f", "a.e.f"}},
		{"probe x.{y*,z(1)}.return? {}", []string{"x.y*.return?", "x.z(1).return?"}},
		{"probe {a?, b!, c if (g)} {}", []string{"a?", "b!", "c if g"}},
		{"probe p.{a,b} if (g), q {}", []string{"p.a if g", "p.b if g", "q"}},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			assert.Equal(t, tt.want, pointNames(t, tt.src))
		})
	}

	f, diags := Parse("t.stp", "probe p.{a,b}.c(\"s\") if (g) {}", nil)
	require.Empty(t, messages(diags))
	points := f.Decls[0].(*ast.ProbeDecl).Points
	require.Len(t, points, 2)
	assert.Same(t, points[0].Cond, points[1].Cond, "one brace group shares its condition")
	assert.NotSame(t, points[0].Components[0], points[1].Components[0], "and nothing else")
	assert.NotSame(t, points[0].Components[2].Arg, points[1].Components[2].Arg)
	assert.Equal(t, points[0].Span(), points[1].Span(), "each spans the whole written point")
}

func TestBraceExpansionReportsOnce(t *testing.T) {
	_, diags := Parse("t.stp", "probe begin().{a,b,c} {}", nil)
	assert.Equal(t, []string{"P010 probe point 'begin' does not take an empty argument list hint: write 'probe begin.a { ... }'"}, messages(diags))
}

func TestContextExpressions(t *testing.T) {
	f, diags := Parse("t.stp", `probe begin { x = &$p->a[i + 1]->b$$; y = $p->a->b; z = @cast(q, "t", "m")->f; w = $v$ }`, nil)
	require.Empty(t, messages(diags))
	stmts := f.Decls[0].(*ast.ProbeDecl).Body.Stmts
	value := func(i int) ast.Expr { return stmts[i].(*ast.ExprStmt).X.(*ast.AssignExpr).Y }

	x := value(0).(*ast.TargetExpr)
	assert.True(t, x.AddrOf)
	assert.Equal(t, "p", x.X.(*ast.TargetVar).Name)
	require.Len(t, x.Path, 3)
	assert.Equal(t, "a", x.Path[0].Member)
	assert.Equal(t, "(+ i 1)", sexpr(x.Path[1].Index))
	assert.Equal(t, "b", x.Path[2].Member)
	assert.Equal(t, "$$", x.Pretty)

	y := value(1).(*ast.TargetVar)
	assert.Equal(t, []string{"a", "b"}, y.Fields, "members only: a TargetVar, as before")

	z := value(2).(*ast.TargetExpr)
	assert.Equal(t, &ast.CastExpr{Base: z.X.(*ast.CastExpr).Base, X: z.X.(*ast.CastExpr).X, Type: "t", Module: "m"}, z.X)

	w := value(3).(*ast.TargetExpr)
	assert.Equal(t, "v", w.X.(*ast.TargetVar).Name)
	assert.Equal(t, "$", w.Pretty)
}

func TestAliasAndFunctionForms(t *testing.T) {
	f, diags := Parse("t.stp", "probe a = b = begin { x = 1 }, { x = 2 }\nfunction g:long (n) :7 { return n }", nil)
	require.Empty(t, messages(diags))
	a := f.Decls[0].(*ast.AliasDecl)
	assert.Equal(t, []string{"a"}, componentNames(a.Names[0]))
	assert.Equal(t, []string{"b"}, componentNames(a.Names[1]))
	assert.False(t, a.Epilogue)
	require.NotNil(t, a.EpilogueBody)
	assert.Len(t, a.EpilogueBody.Stmts, 1)
	assert.Equal(t, int64(7), f.Decls[1].(*ast.FunctionDecl).Priority)
}
