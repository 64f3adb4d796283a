package sema

import (
	"cmp"
	"strconv"

	"etap/diag"
	"etap/lang/ast"
)

// Optimisation before checking, as stap's first optimisation pass does it:
// constant expressions become literals and branches that can never run go
// away, so that neither is checked nor compiled:
//
//	if (@defined($flags)) print($flags)   // on a point without $flags: gone
//	x = 60 * 60 * 24                      // x = 86400
//	while (0) { ... }                     // gone
//
// @defined always folds, even with -u, because it is how a script says
// "only where this exists": the branch it guards must not be checked at a
// point without the variable. Everything else folds only when optimising.

// folder rewrites one body in place.
type folder struct {
	r *resolver
	// point is where the body runs, to decide @defined; nil in functions,
	// which have no context variables.
	point *Point
	// full is unset with -u: then only @defined and the conditions it
	// decides fold.
	full bool
	// defined is set once a @defined in the condition being folded has
	// become a literal: with -u, that condition folds all the same.
	defined bool
	// entries are the values a return probe takes from its function's
	// entry (see entry.go), in order.
	entries []entryValue
}

// foldFunction folds the statements of a function body.
func (r *resolver) foldFunction(stmts []ast.Stmt) []ast.Stmt {
	f := &folder{r: r, full: !r.unoptimized}
	return f.stmts(stmts)
}

// foldInstance folds the statements of one handler instance, and returns
// the values it takes from its function's entry.
func (r *resolver) foldInstance(u *use) []entryValue {
	f := &folder{r: r, point: u.points[0], full: !r.unoptimized}
	u.before = f.stmts(u.before)
	u.body.Stmts = f.stmts(u.body.Stmts)
	u.after = f.stmts(u.after)
	return f.entries
}

func (f *folder) stmt(s ast.Stmt) ast.Stmt {
	f.defined = false
	switch s := s.(type) {
	case *ast.BlockStmt:
		s.Stmts = f.stmts(s.Stmts)
	case *ast.ExprStmt:
		s.X = f.expr(s.X)
	case *ast.IfStmt:
		cond, known := f.cond(s.Cond)
		s.Cond = cond
		if known != nil {
			if *known {
				return f.stmt(s.Then)
			}
			if s.Else == nil {
				return &ast.EmptyStmt{Base: s.Base}
			}
			return f.stmt(s.Else)
		}
		s.Then = f.stmt(s.Then)
		if s.Else != nil {
			s.Else = f.stmt(s.Else)
		}
	case *ast.WhileStmt:
		cond, known := f.cond(s.Cond)
		s.Cond = cond
		if known != nil && !*known {
			return &ast.EmptyStmt{Base: s.Base}
		}
		s.Body = f.stmt(s.Body)
	case *ast.ForStmt:
		s.Init, s.Post = f.optExpr(s.Init), f.optExpr(s.Post)
		if s.Cond != nil {
			cond, known := f.cond(s.Cond)
			s.Cond = cond
			if known != nil && !*known {
				if s.Init == nil {
					return &ast.EmptyStmt{Base: s.Base}
				}
				return &ast.ExprStmt{Base: s.Base, X: s.Init}
			}
		}
		s.Body = f.stmt(s.Body)
	case *ast.ForeachStmt:
		f.foreach(s)
	case *ast.HistForeachStmt:
		s.Hist.X = f.expr(s.Hist.X)
		f.foreach(&s.ForeachStmt)
	case *ast.ReturnStmt:
		s.X = f.optExpr(s.X)
	case *ast.DeleteStmt:
		s.X = f.expr(s.X)
	case *ast.TryStmt:
		s.Body = f.stmt(s.Body).(*ast.BlockStmt)
		s.Catch = f.stmt(s.Catch).(*ast.BlockStmt)
	}
	return s
}

func (f *folder) foreach(s *ast.ForeachStmt) {
	s.Limit = f.optExpr(s.Limit)
	f.exprs(s.Slice)
	s.Body = f.stmt(s.Body)
}

// stmts folds a statement list; the statements that fold to nothing go,
// and when optimising, empty statements too.
func (f *folder) stmts(list []ast.Stmt) []ast.Stmt {
	out := list[:0]
	for _, orig := range list {
		st := f.stmt(orig)
		if _, empty := st.(*ast.EmptyStmt); empty && (f.full || st != orig) {
			continue
		}
		out = append(out, st)
	}
	return out
}

// cond folds a condition and says whether it is known: nil when it is
// decided only at run time.
func (f *folder) cond(e ast.Expr) (ast.Expr, *bool) {
	outer := f.defined
	f.defined = false
	defer func() { f.defined = outer }()
	e = f.expr(e)
	if lit, ok := e.(*ast.IntLit); ok && f.folds() {
		known := lit.Value != 0
		return e, &known
	}
	return e, nil
}

func (f *folder) optExpr(e ast.Expr) ast.Expr {
	if e == nil {
		return nil
	}
	return f.expr(e)
}

// expr folds e and returns what replaces it.
func (f *folder) expr(e ast.Expr) ast.Expr {
	switch e := e.(type) {
	case *ast.AtExpr:
		if e.Op == "defined" {
			f.defined = true
			return boolLit(e.Span(), f.r.defined(f.point, e.Args[0]))
		}
		if e.Op == "entry" && isReturn(f.point) {
			return f.entry(e.Args[0])
		}
		for i, a := range e.Args {
			e.Args[i] = f.expr(a)
		}
	case *ast.ParenExpr:
		e.X = f.expr(e.X)
		if lit := literal(e.X); lit != nil && f.folds() {
			return lit
		}
	case *ast.UnaryExpr:
		e.X = f.expr(e.X)
		if x, ok := e.X.(*ast.IntLit); ok && f.folds() {
			return foldUnary(e, x.Value)
		}
	case *ast.BinaryExpr:
		return f.binary(e)
	case *ast.TernaryExpr:
		cond, known := f.cond(e.Cond)
		e.Cond = cond
		if known != nil {
			if *known {
				return f.expr(e.X)
			}
			return f.expr(e.Y)
		}
		e.X, e.Y = f.expr(e.X), f.expr(e.Y)
	case *ast.AssignExpr:
		e.X, e.Y = f.expr(e.X), f.expr(e.Y)
	case *ast.IncDecExpr:
		e.X = f.expr(e.X)
	case *ast.IndexExpr:
		f.exprs(e.Index)
	case *ast.InExpr:
		f.exprs(e.Keys)
	case *ast.CallExpr:
		f.exprs(e.Args)
	case *ast.AggregateExpr:
		e.X = f.expr(e.X)
	case *ast.HistIndexExpr:
		f.exprs(e.Index)
	case *ast.HistInExpr:
		f.exprs(e.Keys)
	case *ast.TargetVar:
		if f.entryParam(e) {
			return f.entry(e)
		}
	case *ast.TargetExpr:
		e.X = f.expr(e.X)
		for _, st := range e.Path {
			st.Index = f.optExpr(st.Index)
		}
	case *ast.CastExpr:
		e.X = f.expr(e.X)
	}
	return e
}

// exprs folds a list of expressions in place; nil entries (wildcards) stay.
func (f *folder) exprs(list []ast.Expr) {
	for i, x := range list {
		list[i] = f.optExpr(x)
	}
}

// folds says whether the expression being folded may become a literal:
// always when optimising, and with -u only when a @defined decided it.
func (f *folder) folds() bool { return f.full || f.defined }

func (f *folder) binary(e *ast.BinaryExpr) ast.Expr {
	e.X = f.expr(e.X)
	// `0 && x` and `1 || x` never evaluate x: it need not be valid here,
	// as in `@defined($p) && $p->f`.
	if x, ok := e.X.(*ast.IntLit); ok && (e.Op == "&&" || e.Op == "||") && f.folds() {
		if (e.Op == "&&") == (x.Value == 0) {
			return boolLit(e.Span(), x.Value != 0)
		}
	}
	e.Y = f.expr(e.Y)
	if !f.folds() {
		return e
	}
	switch x := e.X.(type) {
	case *ast.IntLit:
		if y, ok := e.Y.(*ast.IntLit); ok {
			if lit := f.foldLongs(e, x.Value, y.Value); lit != nil {
				return lit
			}
		}
	case *ast.StringLit:
		if y, ok := e.Y.(*ast.StringLit); ok {
			return foldStrings(e, x.Value, y.Value)
		}
	}
	return e
}

// foldLongs computes a binary operator on two longs as the generated code
// would: 64-bit two's complement, shifts by the low 6 bits. A constant
// division by zero is an error, as in stap, rather than a run that fails
// at once. nil when e is not an operator on longs.
func (f *folder) foldLongs(e *ast.BinaryExpr, x, y int64) ast.Expr {
	var v int64
	switch e.Op {
	case "+":
		v = x + y
	case "-":
		v = x - y
	case "*":
		v = x * y
	case "/", "%":
		if y == 0 {
			f.r.add(diag.Errorf(diag.Semantic, "S065", e.Span(), "division by zero in a constant expression").
				WithHint("etap folds constant expressions; run with -u to keep it for run time"))
			return nil
		}
		if e.Op == "/" {
			v = x / y
		} else {
			v = x % y
		}
	case "<<":
		v = x << (uint64(y) & 63)
	case ">>":
		v = x >> (uint64(y) & 63)
	case "&":
		v = x & y
	case "|":
		v = x | y
	case "^":
		v = x ^ y
	case "&&":
		return boolLit(e.Span(), x != 0 && y != 0)
	case "||":
		return boolLit(e.Span(), x != 0 || y != 0)
	default:
		if b, ok := compare(e.Op, x, y); ok {
			return boolLit(e.Span(), b)
		}
		return nil
	}
	return intLit(e.Span(), v)
}

// compare applies the comparison operator op to x and y; ok is false
// when op is not a comparison.
func compare[T cmp.Ordered](op string, x, y T) (result, ok bool) {
	switch op {
	case "==":
		return x == y, true
	case "!=":
		return x != y, true
	case "<":
		return x < y, true
	case "<=":
		return x <= y, true
	case ">":
		return x > y, true
	case ">=":
		return x >= y, true
	}
	return false, false
}

// foldStrings computes concatenation and comparison of two string literals;
// comparisons order bytes, as strcmp does.
func foldStrings(e *ast.BinaryExpr, x, y string) ast.Expr {
	switch e.Op {
	case ".":
		return &ast.StringLit{Base: base(e.Span()), Value: x + y}
	}
	if b, ok := compare(e.Op, x, y); ok {
		return boolLit(e.Span(), b)
	}
	return e
}

func foldUnary(e *ast.UnaryExpr, x int64) ast.Expr {
	switch e.Op {
	case "-":
		return intLit(e.Span(), -x)
	case "+":
		return intLit(e.Span(), x)
	case "~":
		return intLit(e.Span(), ^x)
	case "!":
		return boolLit(e.Span(), x == 0)
	}
	return e
}

// literal returns e when it is a literal, else nil.
func literal(e ast.Expr) ast.Expr {
	switch e.(type) {
	case *ast.IntLit, *ast.StringLit:
		return e
	}
	return nil
}

func base(s diag.Span) ast.Base { return ast.Base{Start: s.Start, End: s.End} }

func intLit(s diag.Span, v int64) *ast.IntLit {
	return &ast.IntLit{Base: base(s), Value: v, Text: strconv.FormatInt(v, 10)}
}

func boolLit(s diag.Span, b bool) *ast.IntLit {
	if b {
		return intLit(s, 1)
	}
	return intLit(s, 0)
}

// defined decides @defined(e) at point p: whether every context variable
// in e can be read there. @var names variables of the probed program,
// which etap cannot read yet: never defined.
func (r *resolver) defined(p *Point, e ast.Expr) bool {
	ok := true
	ast.Inspect(e, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.TargetVar:
			ok = ok && p != nil && p.Kernel && r.readable(p, n)
		case *ast.TargetExpr:
			ok = ok && p != nil && p.Kernel && r.targetExprReadable(p, n)
			return false
		case *ast.AtVarExpr:
			ok = false
		}
		return ok
	})
	return ok
}

// readable says whether p can read the context variable e.
func (r *resolver) readable(p *Point, e *ast.TargetVar) bool {
	_, d := p.target(e, Unknown)
	return d == nil
}
