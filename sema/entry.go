package sema

import (
	"fmt"
	"maps"
	"strings"

	"etap/lang/ast"
)

// Values at a function's entry, for its return probe. A .return probe may
// read @entry(expr), and its function's $parameters, as they were when the
// function was entered: by the time it returns, the registers that held
// them hold something else. As stap does, etap splits such a handler in
// two:
//
//	probe kernel.function("vfs_read").return { printf("%d %d\n", $count, $return) }
//
// becomes an entry probe that keeps $count in a hidden array by thread,
//
//	probe kernel.function("vfs_read") { __entry_1_1[tid()] = $count }
//
// and a return probe that takes it out again before anything else:
//
//	probe kernel.function("vfs_read").return {
//		__entry1 = __entry_1_1[tid()]; delete __entry_1_1[tid()]
//		printf("%d %d\n", __entry1, $return)
//	}
//
// A thread that enters the function again before it returns (recursion)
// sees the values of its innermost entry.

// entryValue is one value a return probe takes from its entry: the local
// that holds it in the return probe, and the expression the entry probe
// computes.
type entryValue struct {
	local string
	expr  ast.Expr
}

// isReturn says whether p is a function's return.
func isReturn(p *Point) bool {
	return p != nil && (p.Kind == PointKretprobe || p.Kind == PointUretprobe)
}

// entry replaces x, in a return probe, by a local holding its value at
// the function's entry.
func (f *folder) entry(x ast.Expr) ast.Expr {
	name := fmt.Sprintf("__entry%d", len(f.entries)+1)
	f.entries = append(f.entries, entryValue{local: name, expr: x})
	return &ast.Ident{Base: base(x.Span()), Name: name}
}

// entryParam says whether e is a parameter that a return probe must take
// from the function's entry.
func (f *folder) entryParam(e *ast.TargetVar) bool {
	if !isReturn(f.point) || e.Name == "return" {
		return false
	}
	_, ok := f.point.Fields[e.Name]
	return ok
}

// entryInstance makes the entry probe that saves entries for the return
// probe instance u of declaration d, and puts their retrieval first in u.
func (r *resolver) entryInstance(d *ast.ProbeDecl, u *use, entries []entryValue) *instance {
	ret := u.points[0]
	entry := *ret
	entry.Kind = map[PointKind]PointKind{PointKretprobe: PointKprobe, PointUretprobe: PointUprobe}[ret.Kind]
	entry.Text = strings.TrimSuffix(ret.Text, ".return")
	entry.Fields = maps.Clone(ret.Fields)
	delete(entry.Fields, "return")
	entry.Targets = nil

	r.entrySets++
	var save, take []ast.Stmt
	for i, e := range entries {
		at := base(e.expr.Span())
		name := fmt.Sprintf("__entry_%d_%d", r.entrySets, i+1)
		v := &Var{Name: name, Global: true, IsArray: true, Decl: e.expr.Span()}
		r.globals[name] = v
		r.order = append(r.order, v)
		slot := func() ast.Expr {
			return &ast.IndexExpr{Base: at, Array: &ast.Ident{Base: at, Name: name}, Index: []ast.Expr{&ast.CallExpr{Base: at, Name: "tid"}}}
		}
		save = append(save, &ast.ExprStmt{Base: at, X: &ast.AssignExpr{Base: at, Op: "=", X: slot(), Y: e.expr}})
		take = append(take,
			&ast.ExprStmt{Base: at, X: &ast.AssignExpr{Base: at, Op: "=", X: &ast.Ident{Base: at, Name: e.local}, Y: slot()}},
			&ast.DeleteStmt{Base: at, X: slot()})
	}
	u.before = append(take, u.before...)
	u.viaAlias = true // its statements now wrap the handler
	eu := &use{points: []*Point{&entry}, body: &ast.BlockStmt{Base: d.Body.Base, Stmts: save}}
	return &instance{decl: d, use: eu, scope: &scope{vars: map[string]*Var{}, point: &entry}}
}
