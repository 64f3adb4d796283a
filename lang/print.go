package lang

import (
	"io"
	"strconv"
	"strings"

	"etap/lang/ast"
)

// Print writes f as stp text, the -p1 output. Like stap it puts every
// operand of a binary operator in parentheses, `(a) + ((b) * (c))`, so the
// reader sees how the script was grouped; the text parses back to the same
// tree, apart from positions and the ParenExpr nodes that it adds.
func Print(w io.Writer, f *ast.File) {
	var pr printer
	for _, d := range f.Decls {
		pr.decl(d)
		pr.WriteByte('\n')
	}
	_, _ = io.WriteString(w, pr.String()) // like fmt.Fprint, Print leaves write errors to w
}

// PrintBlock writes a block as Print does, for the -p2 listing of the
// bodies sema resolved and folded.
func PrintBlock(w io.Writer, b *ast.BlockStmt) {
	var pr printer
	pr.block(b)
	pr.WriteByte('\n')
	_, _ = io.WriteString(w, pr.String())
}

// printer accumulates the text; indent is the depth of the current block.
type printer struct {
	strings.Builder
	indent int
}

func (pr *printer) newline() {
	pr.WriteByte('\n')
	for range pr.indent {
		pr.WriteByte('\t')
	}
}

func (pr *printer) decl(d ast.Decl) {
	switch d := d.(type) {
	case *ast.GlobalDecl:
		if d.Private {
			pr.WriteString("private ")
		}
		pr.WriteString("global ")
		for i, v := range d.Vars {
			if i > 0 {
				pr.WriteString(", ")
			}
			pr.globalVar(v)
		}
	case *ast.ProbeDecl:
		pr.WriteString("probe ")
		pr.points(d.Points)
		pr.WriteByte(' ')
		pr.block(d.Body)
	case *ast.AliasDecl:
		pr.WriteString("probe ")
		for i, name := range d.Names {
			pr.points([]*ast.ProbePoint{name})
			if d.Epilogue && i == len(d.Names)-1 {
				pr.WriteString(" += ")
			} else {
				pr.WriteString(" = ")
			}
		}
		pr.points(d.Points)
		pr.WriteByte(' ')
		pr.block(d.Body)
		if d.EpilogueBody != nil {
			pr.WriteString(", ")
			pr.block(d.EpilogueBody)
		}
	case *ast.FunctionDecl:
		pr.function(d)
	case *ast.EmbeddedCDecl:
		pr.WriteString("%{" + d.Code + "%}")
	}
}

func (pr *printer) globalVar(v *ast.GlobalVar) {
	pr.WriteString(v.Name)
	if v.Wrap {
		pr.WriteByte('%')
	}
	// An array without a size needs no brackets: its uses make it one.
	if v.IsArray && v.Size != 0 {
		pr.WriteString("[" + strconv.FormatInt(v.Size, 10) + "]")
	}
	if v.Init != nil {
		pr.WriteString(" = ")
		pr.expr(v.Init)
	}
}

func (pr *printer) function(f *ast.FunctionDecl) {
	if f.Private {
		pr.WriteString("private ")
	}
	pr.WriteString("function " + f.Name)
	if f.Result != "" {
		pr.WriteString(":" + string(f.Result))
	}
	pr.WriteString(" (")
	for i, p := range f.Params {
		if i > 0 {
			pr.WriteString(", ")
		}
		pr.WriteString(p.Name)
		if p.Type != "" {
			pr.WriteString(":" + string(p.Type))
		}
	}
	pr.WriteString(") ")
	if f.Priority != 0 {
		pr.WriteString(":" + strconv.FormatInt(f.Priority, 10) + " ")
	}
	if f.Body == nil {
		pr.WriteString("%{" + f.EmbeddedC + "%}")
		return
	}
	pr.block(f.Body)
}

func (pr *printer) points(points []*ast.ProbePoint) {
	for i, pp := range points {
		if i > 0 {
			pr.WriteString(", ")
		}
		for j, c := range pp.Components {
			if j > 0 {
				pr.WriteByte('.')
			}
			writeComponent(&pr.Builder, c)
		}
		// `!` implies `?` in stap, which takes only one of them.
		switch {
		case pp.Sufficient:
			pr.WriteByte('!')
		case pp.Optional:
			pr.WriteByte('?')
		}
		if pp.Cond != nil {
			pr.WriteString(" if (")
			pr.expr(pp.Cond)
			pr.WriteByte(')')
		}
	}
}

// writeComponent writes `name` or `name(arg)`; the diagnostics of probe
// points quote components the same way.
func writeComponent(b *strings.Builder, c *ast.Component) {
	b.WriteString(c.Name)
	if !c.HasParens {
		return
	}
	b.WriteByte('(')
	if c.Arg != nil {
		var pr printer
		pr.expr(c.Arg)
		b.WriteString(pr.String())
	}
	b.WriteByte(')')
}

// ---- statements ----

func (pr *printer) block(b *ast.BlockStmt) {
	pr.WriteByte('{')
	pr.indent++
	for _, s := range b.Stmts {
		pr.newline()
		pr.stmt(s)
	}
	pr.indent--
	pr.newline()
	pr.WriteByte('}')
}

func (pr *printer) stmt(s ast.Stmt) {
	switch s := s.(type) {
	case *ast.BlockStmt:
		pr.block(s)
	case *ast.ExprStmt:
		pr.expr(s.X)
		pr.WriteByte(';')
	case *ast.IfStmt:
		pr.WriteString("if (")
		pr.expr(s.Cond)
		pr.WriteString(") ")
		pr.stmt(s.Then)
		if s.Else != nil {
			pr.WriteString(" else ")
			pr.stmt(s.Else)
		}
	case *ast.WhileStmt:
		pr.WriteString("while (")
		pr.expr(s.Cond)
		pr.WriteString(") ")
		pr.stmt(s.Body)
	case *ast.ForStmt:
		pr.WriteString("for (")
		pr.optExpr(s.Init)
		pr.WriteString("; ")
		pr.optExpr(s.Cond)
		pr.WriteString("; ")
		pr.optExpr(s.Post)
		pr.WriteString(") ")
		pr.stmt(s.Body)
	case *ast.ForeachStmt:
		pr.foreach(s, func() { pr.WriteString(s.Array.Name) })
	case *ast.HistForeachStmt:
		pr.foreach(&s.ForeachStmt, func() { pr.expr(s.Hist) })
	case *ast.NextStmt:
		pr.WriteString("next;")
	case *ast.BreakStmt:
		pr.WriteString("break;")
	case *ast.ContinueStmt:
		pr.WriteString("continue;")
	case *ast.ReturnStmt:
		pr.WriteString("return")
		if s.X != nil {
			pr.WriteByte(' ')
			pr.expr(s.X)
		}
		pr.WriteByte(';')
	case *ast.DeleteStmt:
		pr.WriteString("delete ")
		pr.expr(s.X)
		pr.WriteByte(';')
	case *ast.TryStmt:
		pr.WriteString("try ")
		pr.block(s.Body)
		pr.WriteString(" catch ")
		if s.Var != nil {
			pr.WriteString("(" + s.Var.Name + ") ")
		}
		pr.block(s.Catch)
	case *ast.EmptyStmt:
		pr.WriteByte(';')
	}
}

func (pr *printer) optExpr(x ast.Expr) {
	if x != nil {
		pr.expr(x)
	}
}

// foreach writes the sort mark on the key column it names, or on the array
// for a sort on the value; base writes what the loop iterates.
func (pr *printer) foreach(s *ast.ForeachStmt, base func()) {
	mark := "+"
	if s.SortDesc {
		mark = "-"
	}
	pr.WriteString("foreach (")
	if s.Value != nil {
		pr.WriteString(s.Value.Name + " = ")
	}
	if len(s.Keys) > 1 {
		pr.WriteByte('[')
	}
	for i, k := range s.Keys {
		if i > 0 {
			pr.WriteString(", ")
		}
		pr.WriteString(k.Name)
		if s.SortColumn == i+1 {
			pr.WriteString(mark)
		}
	}
	if len(s.Keys) > 1 {
		pr.WriteByte(']')
	}
	pr.WriteString(" in ")
	base()
	if s.Slice != nil {
		pr.WriteByte('[')
		pr.exprList(s.Slice)
		pr.WriteByte(']')
	}
	if s.SortAggregate != "" {
		pr.WriteString(" @" + s.SortAggregate)
	}
	if s.SortColumn == -1 {
		pr.WriteString(mark)
	}
	if s.Limit != nil {
		pr.WriteString(" limit ")
		pr.expr(s.Limit)
	}
	pr.WriteString(") ")
	pr.stmt(s.Body)
}

// ---- expressions ----

func (pr *printer) expr(x ast.Expr) {
	switch x := x.(type) {
	case *ast.IntLit:
		pr.WriteString(intText(x))
	case *ast.StringLit:
		pr.WriteString(quote(x.Value))
	case *ast.Ident:
		pr.WriteString(x.Name)
	case *ast.TargetVar:
		pr.WriteString("$" + x.Name)
		for _, f := range x.Fields {
			pr.WriteString("->" + f)
		}
	case *ast.BinaryExpr:
		pr.parenthesised(x.X)
		pr.WriteString(" " + x.Op + " ")
		if x.Op == "=~" || x.Op == "!~" {
			pr.expr(x.Y) // the pattern is a literal, never in parentheses
		} else {
			pr.parenthesised(x.Y)
		}
	case *ast.UnaryExpr:
		pr.WriteString(x.Op)
		pr.operand(x.X)
	case *ast.IncDecExpr:
		if x.Postfix {
			pr.operand(x.X)
			pr.WriteString(x.Op)
		} else {
			pr.WriteString(x.Op)
			pr.operand(x.X)
		}
	case *ast.AssignExpr:
		pr.operand(x.X)
		pr.WriteString(" " + x.Op + " ")
		pr.expr(x.Y) // assignment binds loosest and to the right
	case *ast.TernaryExpr:
		pr.operand(x.Cond)
		pr.WriteString(" ? ")
		pr.operand(x.X)
		pr.WriteString(" : ")
		pr.operand(x.Y)
	case *ast.IndexExpr:
		pr.WriteString(x.Array.Name + "[")
		pr.exprList(x.Index)
		pr.WriteByte(']')
	case *ast.InExpr:
		pr.keys(x.Keys)
		pr.WriteString(" in " + x.Array.Name)
	case *ast.HistInExpr:
		pr.keys(x.Keys)
		pr.WriteString(" in ")
		pr.expr(x.Hist)
	case *ast.HistIndexExpr:
		pr.expr(x.Hist)
		pr.WriteByte('[')
		pr.exprList(x.Index)
		pr.WriteByte(']')
	case *ast.CallExpr:
		pr.WriteString(x.Name + "(")
		if len(x.Args) > 0 && histPrinters[x.Name] && startsWithHist(x.Args[0]) {
			// print(@hist_log(s)...) would take the histogram, or a bucket
			// of it, as the whole argument: (@hist_log(s)[1]) + 1 is not.
			pr.parenthesised(x.Args[0])
			for _, a := range x.Args[1:] {
				pr.WriteString(", ")
				pr.expr(a)
			}
		} else {
			pr.exprList(x.Args)
		}
		pr.WriteByte(')')
	case *ast.AggregateExpr:
		pr.WriteString("@" + x.Op + "(")
		pr.exprList(append([]ast.Expr{x.X}, x.Args...))
		pr.WriteByte(')')
	case *ast.ParenExpr:
		pr.WriteByte('(')
		pr.expr(x.X)
		pr.WriteByte(')')
	case *ast.TargetExpr:
		pr.targetExpr(x)
	case *ast.CastExpr:
		pr.WriteString("@cast(")
		pr.expr(x.X)
		pr.WriteString(", " + quote(x.Type))
		if x.Module != "" {
			pr.WriteString(", " + quote(x.Module))
		}
		pr.WriteByte(')')
	case *ast.AtVarExpr:
		pr.WriteString("@var(" + quote(x.Name))
		if x.Module != "" {
			pr.WriteString(", " + quote(x.Module))
		}
		pr.WriteByte(')')
	case *ast.AtExpr:
		pr.WriteString("@" + x.Op + "(")
		pr.exprList(x.Args)
		pr.WriteByte(')')
	case *ast.EmbeddedExpr:
		pr.WriteString("%{" + x.Code + "%}")
	}
}

// startsWithHist reports whether x prints as more than a histogram or a
// bucket of one, but starts with one.
func startsWithHist(x ast.Expr) bool {
	switch x.(type) {
	case *ast.AggregateExpr, *ast.HistIndexExpr:
		return false
	}
	var pr printer
	pr.expr(x)
	return strings.HasPrefix(pr.String(), "@hist_")
}

// keys writes the keys of an `in`: one key as an operand, several in
// brackets.
func (pr *printer) keys(keys []ast.Expr) {
	if len(keys) == 1 && keys[0] != nil {
		pr.operand(keys[0])
		return
	}
	pr.WriteByte('[')
	pr.exprList(keys)
	pr.WriteByte(']')
}

// targetExpr writes &X->m[i]$. The pretty-printing `$` joins a member or
// a context variable, as in `$p->f$`; after other values it stands apart,
// since `a$` would be one name, and so it does after `$` and `$$`.
func (pr *printer) targetExpr(x *ast.TargetExpr) {
	if x.AddrOf {
		pr.WriteByte('&')
	}
	pr.operand(x.X)
	for _, st := range x.Path {
		if st.Index == nil {
			pr.WriteString("->" + st.Member)
			continue
		}
		pr.WriteByte('[')
		pr.expr(st.Index)
		pr.WriteByte(']')
	}
	if x.Pretty == "" {
		return
	}
	joined := len(x.Path) > 0 // after `m` or `]`
	if tv, isVar := x.X.(*ast.TargetVar); len(x.Path) == 0 && isVar {
		joined = strings.Trim(tv.Name, "$") != "" // `$` then `$` would be the variable `$$`
	}
	if !joined {
		pr.WriteByte(' ')
	}
	pr.WriteString(x.Pretty)
}

// exprList writes a comma-separated list; nil entries are `*`.
func (pr *printer) exprList(xs []ast.Expr) {
	for i, x := range xs {
		if i > 0 {
			pr.WriteString(", ")
		}
		if x == nil {
			pr.WriteByte('*')
		} else {
			pr.expr(x)
		}
	}
}

// parenthesised writes x in parentheses, once.
func (pr *printer) parenthesised(x ast.Expr) {
	if _, ok := x.(*ast.ParenExpr); ok {
		pr.expr(x)
		return
	}
	pr.WriteByte('(')
	pr.expr(x)
	pr.WriteByte(')')
}

// operand writes the operand of a unary, ?: or assignment operator,
// parenthesised unless it is a primary expression, which no operator can
// split: -(a + b) must not print as -a + b.
func (pr *printer) operand(x ast.Expr) {
	switch x := x.(type) {
	case *ast.Ident, *ast.StringLit, *ast.TargetVar, *ast.IndexExpr,
		*ast.CallExpr, *ast.AggregateExpr, *ast.ParenExpr, *ast.TargetExpr,
		*ast.CastExpr, *ast.AtVarExpr, *ast.AtExpr, *ast.EmbeddedExpr, *ast.HistIndexExpr:
		pr.expr(x)
		return
	case *ast.IntLit:
		if !strings.HasPrefix(intText(x), "-") {
			pr.expr(x)
			return
		}
	}
	pr.parenthesised(x)
}

// intText is a literal as written, or in decimal for a built tree.
func intText(x *ast.IntLit) string {
	if x.Text != "" {
		return x.Text
	}
	return strconv.FormatInt(x.Value, 10)
}
