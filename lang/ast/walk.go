package ast

import "etap/diag"

// Span returns the extent of the file's declarations, so that a File can be
// walked like any other node.
func (f *File) Span() diag.Span {
	if len(f.Decls) == 0 {
		return diag.Span{}
	}
	return diag.Span{Start: f.Decls[0].Span().Start, End: f.Decls[len(f.Decls)-1].Span().End}
}

// Visitor is called by Walk for each node. If Visit returns a non-nil w,
// Walk visits the node's children with w and then calls w.Visit(nil).
type Visitor interface {
	Visit(n Node) (w Visitor)
}

// Walk traverses the tree rooted at n depth first, children in source
// order, in the manner of go/ast.Walk. Absent optional children (a nil
// Else, the `*` entries of a slice) are skipped. The points of one brace
// group share their condition, which Walk visits once for each.
func Walk(v Visitor, n Node) {
	if v = v.Visit(n); v == nil {
		return
	}
	for _, c := range children(n) {
		Walk(v, c)
	}
	v.Visit(nil)
}

// inspector adapts a function to a Visitor.
type inspector func(Node) bool

// Visit calls the function and continues while it returns true.
func (f inspector) Visit(n Node) Visitor {
	if f(n) {
		return f
	}
	return nil
}

// Inspect traverses the tree rooted at n in source order, calling f for
// each node; when f returns true it goes on into the node's children and
// then calls f(nil), as go/ast.Inspect does.
func Inspect(n Node, f func(Node) bool) {
	Walk(inspector(f), n)
}

// children lists the direct children of n in source order.
func children(n Node) []Node {
	var out []Node
	add := func(c Node) { out = append(out, c) }
	expr := func(x Expr) {
		if x != nil {
			add(x)
		}
	}
	stmt := func(s Stmt) {
		if s != nil {
			add(s)
		}
	}
	ident := func(id *Ident) {
		if id != nil {
			add(id)
		}
	}
	block := func(b *BlockStmt) {
		if b != nil {
			add(b)
		}
	}
	exprs := func(xs []Expr) {
		for _, x := range xs {
			expr(x)
		}
	}
	points := func(ps []*ProbePoint) {
		for _, p := range ps {
			add(p)
		}
	}
	// foreach lists a loop's children; base adds what it iterates.
	foreach := func(n *ForeachStmt, base func()) {
		ident(n.Value)
		for _, k := range n.Keys {
			ident(k)
		}
		base()
		exprs(n.Slice)
		expr(n.Limit)
		stmt(n.Body)
	}
	switch n := n.(type) {
	case *File:
		for _, d := range n.Decls {
			add(d)
		}
	case *GlobalDecl:
		for _, v := range n.Vars {
			add(v)
		}
	case *GlobalVar:
		expr(n.Init)
	case *ProbeDecl:
		points(n.Points)
		block(n.Body)
	case *AliasDecl:
		points(n.Names)
		points(n.Points)
		block(n.Body)
		block(n.EpilogueBody)
	case *FunctionDecl:
		for _, p := range n.Params {
			add(p)
		}
		block(n.Body)
	case *ProbePoint:
		for _, c := range n.Components {
			add(c)
		}
		expr(n.Cond)
	case *Component:
		expr(n.Arg)
	case *BlockStmt:
		for _, s := range n.Stmts {
			stmt(s)
		}
	case *ExprStmt:
		expr(n.X)
	case *IfStmt:
		expr(n.Cond)
		stmt(n.Then)
		stmt(n.Else)
	case *WhileStmt:
		expr(n.Cond)
		stmt(n.Body)
	case *ForStmt:
		expr(n.Init)
		expr(n.Cond)
		expr(n.Post)
		stmt(n.Body)
	case *ForeachStmt:
		foreach(n, func() { ident(n.Array) })
	case *HistForeachStmt:
		foreach(&n.ForeachStmt, func() { add(n.Hist) })
	case *ReturnStmt:
		expr(n.X)
	case *DeleteStmt:
		expr(n.X)
	case *TryStmt:
		block(n.Body)
		ident(n.Var)
		block(n.Catch)
	case *BinaryExpr:
		expr(n.X)
		expr(n.Y)
	case *UnaryExpr:
		expr(n.X)
	case *IncDecExpr:
		expr(n.X)
	case *AssignExpr:
		expr(n.X)
		expr(n.Y)
	case *TernaryExpr:
		expr(n.Cond)
		expr(n.X)
		expr(n.Y)
	case *IndexExpr:
		ident(n.Array)
		exprs(n.Index)
	case *InExpr:
		exprs(n.Keys)
		ident(n.Array)
	case *CallExpr:
		exprs(n.Args)
	case *AggregateExpr:
		expr(n.X)
		exprs(n.Args)
	case *ParenExpr:
		expr(n.X)
	case *TargetExpr:
		expr(n.X)
		for _, st := range n.Path {
			add(st)
		}
	case *TargetStep:
		expr(n.Index)
	case *CastExpr:
		expr(n.X)
	case *AtExpr:
		exprs(n.Args)
	case *HistIndexExpr:
		add(n.Hist)
		exprs(n.Index)
	case *HistInExpr:
		exprs(n.Keys)
		add(n.Hist)
	}
	return out
}
