package sema

import (
	"fmt"
	"sort"
	"strings"

	"etap/diag"
	"etap/lang/ast"
)

func (r *resolver) stmt(s ast.Stmt) {
	switch s := s.(type) {
	case nil, *ast.EmptyStmt:
	case *ast.NextStmt:
		if r.fn != nil {
			r.addReport(notBuilt(s.Span(), "next statements in functions"))
		}
	case *ast.BlockStmt:
		for _, st := range s.Stmts {
			r.stmt(st)
		}
	case *ast.ExprStmt:
		r.exprStmt(s.X)
	case *ast.IfStmt:
		r.cond(s.Cond)
		r.stmt(s.Then)
		r.stmt(s.Else)
	case *ast.ForeachStmt:
		r.foreach(s)
	case *ast.HistForeachStmt:
		r.histForeach(s)
	case *ast.BreakStmt, *ast.ContinueStmt:
		if r.loopDepth == 0 {
			r.addReport(diag.Errorf(diag.Semantic, "S020", s.Span(), "break or continue outside a loop"))
		}
	case *ast.DeleteStmt:
		r.delete(s)
	case *ast.WhileStmt:
		r.cond(s.Cond)
		r.loopBody(s.Body)
	case *ast.ForStmt:
		if s.Init != nil {
			r.exprStmt(s.Init)
		}
		if s.Cond != nil {
			r.cond(s.Cond)
		}
		if s.Post != nil {
			r.exprStmt(s.Post)
		}
		r.loopBody(s.Body)
	case *ast.ReturnStmt:
		r.returnStmt(s)
	case *ast.TryStmt:
		r.stmt(s.Body)
		if s.Var != nil {
			// catch (msg) binds the error's message, as a string.
			v := r.scalar(s.Var)
			v.Written = true
			r.setType(v, String, s.Var.Span())
		}
		r.stmt(s.Catch)
	default:
		r.addReport(notBuilt(s.Span(), "these statements"))
	}
}

// exprStmt checks an expression used as a statement, where a call that gives
// no value (printf) is fine.
func (r *resolver) exprStmt(e ast.Expr) {
	if call, ok := e.(*ast.CallExpr); ok {
		r.prog.Types[e] = r.call(call, Unknown, true)
		return
	}
	r.expr(e, Unknown)
}

// cond checks a condition: a long.
func (r *resolver) cond(e ast.Expr) {
	r.expect(e, r.expr(e, Long), Long)
}

func (r *resolver) foreach(s *ast.ForeachStmt) {
	if r.kernelSide && (s.SortColumn != 0 || s.SortAggregate != "") {
		r.addReport(diag.Errorf(diag.Semantic, "S021", s.Span(), "a kernel probe cannot sort: foreach there visits the elements in the map's order").
			WithHint("drop the + or -, or iterate in an end or timer probe, which run in user space"))
	}
	arr := r.arrayVar(s.Array, len(s.Keys))
	r.statForeach(s, arr)
	if arr != nil {
		arr.Read = true
		for i, k := range s.Keys {
			kv := r.scalar(k)
			kv.Written = true
			if !kv.Global {
				r.foreachKeys[kv] = true
			}
			if i < len(arr.Keys) {
				r.setType(kv, arr.Keys[i], k.Span())
				r.setKey(arr, i, kv.Type, k.Span())
			}
		}
		r.foreachValue(s, arr)
		r.foreachSlice(s, arr)
	}
	if s.Limit != nil {
		r.expect(s.Limit, r.expr(s.Limit, Long), Long)
	}
	r.loopBody(s.Body)
	if arr != nil {
		r.foreachMutation(s.Body, arr)
	}
}

// foreachMutation reports what changes the elements of the array a
// foreach visits, in its body or in a function the body calls, as stap
// does: the iteration could miss or repeat elements. Deleting the whole
// array is allowed, as in stap.
func (r *resolver) foreachMutation(body ast.Stmt, arr *Var) {
	if at := r.mutation(body, arr); at != nil {
		r.addReport(diag.Errorf(diag.Semantic, "S096", at.Span(), "variable '%s' modified during 'foreach' iteration", arr.Name).
			WithHint("collect the changes in another array and apply them after the loop"))
		return
	}
	ast.Inspect(body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		if f := r.prog.FuncCalls[call]; f != nil && f.Decl.Body != nil && r.mutation(f.Decl.Body, arr) != nil {
			r.addReport(diag.Errorf(diag.Semantic, "S096", call.Span(), "function call modifies var '%s' during 'foreach' iteration", arr.Name).
				WithHint("collect the changes in another array and apply them after the loop"))
		}
		return true
	})
}

// mutation returns the array name of the first element of arr that root
// writes, deletes or feeds, or nil.
func (r *resolver) mutation(root ast.Node, arr *Var) *ast.Ident {
	var at *ast.Ident
	target := func(e ast.Expr) {
		if ix, ok := e.(*ast.IndexExpr); ok && at == nil && r.prog.Refs[ix.Array] == arr {
			at = ix.Array
		}
	}
	ast.Inspect(root, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignExpr:
			target(unparen(n.X))
		case *ast.IncDecExpr:
			target(unparen(n.X))
		case *ast.DeleteStmt:
			target(n.X)
		}
		return at == nil
	})
	return at
}

// foreachValue checks the value variable of `foreach (v = k in a)`: it
// takes the array's type.
func (r *resolver) foreachValue(s *ast.ForeachStmt, arr *Var) {
	if s.Value == nil {
		return
	}
	if arr.Type == Stats {
		r.addReport(diag.Errorf(diag.Semantic, "S090", s.Value.Span(), "statistic array '%s' has no values to bind to '%s'", arr.Name, s.Value.Name).
			WithHint("read each element with an extractor, as in @count(%s[k])", arr.Name))
		return
	}
	v := r.scalar(s.Value)
	v.Written = true
	if !v.Global {
		r.foreachKeys[v] = true
	}
	r.setType(v, arr.Type, s.Value.Span())
	if arr.Type == Unknown && v.Type != Unknown {
		r.setType(arr, v.Type, s.Value.Span())
	}
}

// foreachSlice checks the slice of `foreach ([a, b] in arr[k, *])`: one
// value or `*` per column.
func (r *resolver) foreachSlice(s *ast.ForeachStmt, arr *Var) {
	if s.Slice == nil {
		return
	}
	if len(s.Slice) != len(arr.Keys) {
		r.addReport(diag.Errorf(diag.Semantic, "S026", s.Array.Span(), "array '%s' sliced with %d columns", arr.Name, len(s.Slice)).
			WithNote(arr.KeysAt, "but indexed with %d here", len(arr.Keys)))
		return
	}
	for i, k := range s.Slice {
		if k != nil {
			r.setKey(arr, i, r.expr(k, arr.Keys[i]), k.Span())
		}
	}
}

// loopBody checks the body of a loop, where break and continue belong.
func (r *resolver) loopBody(body ast.Stmt) {
	r.loopDepth++
	r.stmt(body)
	r.loopDepth--
}

func (r *resolver) delete(s *ast.DeleteStmt) {
	switch x := s.X.(type) {
	case *ast.IndexExpr:
		if v := r.index(x); v != nil {
			v.Written = true
		}
	case *ast.Ident:
		v := r.lookup(x)
		v.Written = true
	default:
		r.addReport(diag.Errorf(diag.Semantic, "S022", s.X.Span(), "delete needs a variable or an array element"))
	}
}

// lookup binds an identifier to a global, or to a local of the current
// probe, which it creates on first use.
func (r *resolver) lookup(id *ast.Ident) *Var {
	v, ok := r.global(id.Span().Start.File, id.Name)
	if !ok {
		v = r.local(id)
	}
	r.prog.Refs[id] = v
	return v
}

func (r *resolver) local(id *ast.Ident) *Var {
	if v, ok := r.scope.vars[id.Name]; ok {
		return v
	}
	if g, ok := r.global(id.Span().Start.File, id.Name); ok {
		return g
	}
	v := &Var{Name: id.Name, Decl: id.Span()}
	r.scope.vars[id.Name] = v
	r.scope.list = append(r.scope.list, v)
	return v
}

// scalar looks up an identifier used as a scalar.
func (r *resolver) scalar(id *ast.Ident) *Var {
	v := r.lookup(id)
	if v.IsArray {
		r.addReport(diag.Errorf(diag.Semantic, "S023", id.Span(), "array '%s' used as a scalar", id.Name).
			WithHint("index it, as in %s[key]", id.Name))
	} else if _, ok := r.scalarAt[v]; !ok {
		r.scalarAt[v] = id.Span()
	}
	return v
}

// arrayVar looks up an identifier used as an array with n index columns.
func (r *resolver) arrayVar(id *ast.Ident, n int) *Var {
	v := r.lookup(id)
	if !v.Global {
		r.addReport(diag.Errorf(diag.Semantic, "S024", id.Span(), "'%s' is not a global array", id.Name).
			WithHint("declare it at the top level: global %s", id.Name))
		return nil
	}
	if at, ok := r.scalarAt[v]; ok {
		r.addReport(diag.Errorf(diag.Semantic, "S025", id.Span(), "'%s' is used as an array here", id.Name).
			WithNote(at, "but as a scalar here"))
		return nil
	}
	if !v.IsArray || v.Keys == nil {
		v.IsArray = true
		v.Keys = make([]Type, n)
		v.KeysAt = id.Span()
		r.changed = true
	}
	if len(v.Keys) != n {
		r.addReport(diag.Errorf(diag.Semantic, "S026", id.Span(), "array '%s' indexed with %d columns", id.Name, n).
			WithNote(v.KeysAt, "but with %d here", len(v.Keys)))
		return nil
	}
	if n > maxColumns {
		r.addReport(diag.Errorf(diag.Semantic, "S091", id.Span(), "array '%s' has %d index columns, more than stap's %d", id.Name, n, maxColumns))
	}
	return v
}

func (r *resolver) setKey(v *Var, i int, t Type, span diag.Span) {
	switch {
	case t == Unknown || t == Void:
	case v.Keys[i] == Unknown:
		v.Keys[i] = t
		r.changed = true
	case v.Keys[i] != t:
		r.addReport(diag.Errorf(diag.Semantic, "S027", span, "type mismatch (%s): index %d of '%s' is %s", t, i+1, v.Name, v.Keys[i]).
			WithNote(v.KeysAt, "array '%s' first indexed here", v.Name))
	}
}

// index checks the index columns of an array access and returns the array.
func (r *resolver) index(x *ast.IndexExpr) *Var {
	return r.keyed(x.Array, x.Index)
}

// keyed checks an array named with the given index columns, as in a[i, j]
// or [i, j] in a, and returns the array.
func (r *resolver) keyed(array *ast.Ident, index []ast.Expr) *Var {
	v := r.arrayVar(array, len(index))
	for i, k := range index {
		if k == nil {
			continue // a * of a slice
		}
		want := Unknown
		if v != nil {
			want = v.Keys[i]
		}
		t := r.expr(k, want)
		if v != nil {
			r.setKey(v, i, t, k.Span())
		}
	}
	return v
}

// expr checks e, which should have type want (Unknown: any), and returns
// its type. Variables of unknown type take want.
func (r *resolver) expr(e ast.Expr, want Type) Type {
	t := r.exprType(e, want)
	r.prog.Types[e] = t
	return t
}

func (r *resolver) exprType(e ast.Expr, want Type) Type {
	switch e := e.(type) {
	case *ast.IntLit:
		return Long
	case *ast.StringLit:
		return String
	case *ast.ParenExpr:
		return r.expr(e.X, want)
	case *ast.Ident:
		v := r.scalar(e)
		v.Read = true
		if v.Type == Stats {
			r.statValue(e, v.Name)
			return Unknown
		}
		return r.setType(v, want, e.Span())
	case *ast.TargetVar:
		return r.targetVar(e, want)
	case *ast.TargetExpr:
		if tv, ok := IsVarsString(e); ok {
			return r.varsString(tv, true) // $name$ and $$vars$
		}
		return r.targetExpr(e, want)
	case *ast.CastExpr:
		// A bare @cast is the pointer itself.
		r.expect(e.X, r.expr(e.X, Long), Long)
		return Long
	case *ast.IndexExpr:
		v := r.index(e)
		if v == nil {
			return Unknown
		}
		v.Read = true
		if v.Type == Stats {
			r.statValue(e, v.Name)
			return Unknown
		}
		return r.setType(v, want, e.Span())
	case *ast.InExpr:
		if v := r.keyed(e.Array, e.Keys); v != nil {
			v.Read = true
		}
		return Long
	case *ast.BinaryExpr:
		return r.binary(e)
	case *ast.UnaryExpr:
		r.expect(e.X, r.expr(e.X, Long), Long)
		return Long
	case *ast.IncDecExpr:
		r.expect(e.X, r.lvalue(e.X, Long), Long)
		return Long
	case *ast.AssignExpr:
		return r.assign(e)
	case *ast.TernaryExpr:
		r.cond(e.Cond)
		tx := r.expr(e.X, want)
		ty := r.expr(e.Y, tx)
		if tx == Unknown {
			tx = r.propagate(e.X, ty)
		}
		r.expect(e.Y, ty, tx)
		return tx
	case *ast.CallExpr:
		return r.call(e, want, false)
	case *ast.AggregateExpr:
		return r.aggregate(e)
	case *ast.HistIndexExpr:
		r.histBucket(e.Hist, e.Index)
		return Long
	case *ast.HistInExpr:
		r.histBucket(e.Hist, e.Keys)
		return Long
	case *ast.AtExpr:
		return r.atExpr(e)
	case *ast.EmbeddedExpr:
		r.addReport(embeddedC(e.Span()))
		return Unknown
	case *ast.AtVarExpr:
		r.addReport(notBuilt(e.Span(), "@var expressions").
			WithHint("etap reads kernel memory through context variables and @cast"))
		return Unknown
	}
	r.addReport(notBuilt(e.Span(), "these expressions"))
	return Unknown
}

// atExpr checks the @operators that remain after folding: @defined is
// gone by then, the others etap does not have.
func (r *resolver) atExpr(e *ast.AtExpr) Type {
	if e.Op == "probewrite" {
		r.addReport(diag.Errorf(diag.Semantic, "S028", e.Span(), "@probewrite writes the probed program's memory, which etap does not do").
			WithHint("etap runs without guru mode: it reads context variables but never writes them"))
		return Unknown
	}
	if e.Op == "entry" {
		// A return probe's @entry became a local before checking.
		r.addReport(diag.Errorf(diag.Semantic, "S032", e.Span(), "@entry is the value of an expression when the function was entered: it belongs in a .return probe").
			WithHint("read the expression itself here"))
		return Unknown
	}
	r.addReport(notBuilt(e.Span(), "@"+e.Op+" expressions"))
	return Unknown
}

// propagate gives t to the variable e names, when e is one whose type is
// not known yet, as in `x == "s"` before x is assigned; it returns e's type.
func (r *resolver) propagate(e ast.Expr, t Type) Type {
	switch x := e.(type) {
	case *ast.ParenExpr:
		return r.propagate(x.X, t)
	case *ast.Ident:
		return r.setType(r.prog.Refs[x], t, x.Span())
	case *ast.IndexExpr:
		if v := r.prog.Refs[x.Array]; v != nil && v.IsArray {
			return r.setType(v, t, x.Span())
		}
	case *ast.CallExpr:
		// A recursive function's result can be known only from the
		// other side of its call: return n ? f(n - 1) : 0.
		if f := r.prog.FuncCalls[x]; f != nil && f.Result == Unknown && (t == Long || t == String) {
			f.Result, f.ResultAt = t, x.Span()
			r.changed = true
			return t
		}
	}
	return r.prog.Types[e]
}

// maxColumns is the most index columns an array may have, as in stap.
const maxColumns = 9

var longOps = map[string]bool{
	"+": true, "-": true, "*": true, "/": true, "%": true,
	"<<": true, ">>": true, "&": true, "|": true, "^": true,
	"&&": true, "||": true,
}

func (r *resolver) binary(e *ast.BinaryExpr) Type {
	switch {
	case longOps[e.Op]:
		r.expect(e.X, r.expr(e.X, Long), Long)
		r.expect(e.Y, r.expr(e.Y, Long), Long)
		return Long
	case e.Op == "==" || e.Op == "!=" || e.Op == "<" || e.Op == "<=" || e.Op == ">" || e.Op == ">=":
		tx := r.expr(e.X, Unknown)
		ty := r.expr(e.Y, tx)
		if tx == Unknown {
			tx = r.propagate(e.X, ty)
		}
		r.expect(e.Y, ty, tx)
		return Long
	case e.Op == ".":
		r.expect(e.X, r.expr(e.X, String), String)
		r.expect(e.Y, r.expr(e.Y, String), String)
		return String
	}
	r.addReport(notBuilt(diag.Span{Start: e.OpPos, End: e.OpPos}, "operator "+e.Op+" expressions"))
	return Long
}

func (r *resolver) assign(e *ast.AssignExpr) Type {
	switch e.Op {
	case "=":
		ty := r.expr(e.Y, r.lvalueType(e.X))
		r.lvalue(e.X, ty)
		return ty
	case "+=", "-=", "*=", "/=", "%=", "<<=", ">>=", "&=", "|=", "^=":
		r.expect(e.X, r.lvalue(e.X, Long), Long)
		r.expect(e.Y, r.expr(e.Y, Long), Long)
		return Long
	case ".=":
		r.expect(e.X, r.lvalue(e.X, String), String)
		r.expect(e.Y, r.expr(e.Y, String), String)
		return String
	case "<<<":
		return r.statAssign(e)
	}
	r.addReport(notBuilt(diag.Span{Start: e.OpPos, End: e.OpPos}, "operator "+e.Op+" assignments"))
	return Unknown
}

// lvalueType is the type of an assignment target, without marking it used.
func (r *resolver) lvalueType(e ast.Expr) Type {
	switch x := e.(type) {
	case *ast.Ident:
		if v, ok := r.global(x.Span().Start.File, x.Name); ok {
			return v.Type
		}
		if v, ok := r.scope.vars[x.Name]; ok {
			return v.Type
		}
	case *ast.IndexExpr:
		if v, ok := r.global(x.Span().Start.File, x.Array.Name); ok {
			return v.Type
		}
	}
	return Unknown
}

// lvalue checks an assignment target that receives a value of type t.
func (r *resolver) lvalue(e ast.Expr, t Type) Type {
	switch x := e.(type) {
	case *ast.Ident:
		v := r.scalar(x)
		v.Written = true
		t = r.setType(v, t, x.Span())
		r.prog.Types[e] = t
		return t
	case *ast.IndexExpr:
		v := r.index(x)
		r.prog.Types[e] = Unknown
		if v == nil {
			return Unknown
		}
		v.Written = true
		t = r.setType(v, t, x.Span())
		r.prog.Types[e] = t
		return t
	case *ast.TargetVar:
		r.addReport(diag.Errorf(diag.Semantic, "S028", x.Span(), "cannot assign to context variable $%s", x.Name).
			WithHint("context variables are read-only in etap: writing them needs stap's guru mode (-g) or @probewrite, which etap does not have"))
		return t
	case *ast.ParenExpr:
		return r.lvalue(x.X, t)
	}
	r.addReport(diag.Errorf(diag.Semantic, "S029", e.Span(), "cannot assign to this expression").
		WithHint("assign to a variable or an array element"))
	return t
}

// call checks a call of a builtin. asStmt allows calls that give no value.
func (r *resolver) call(e *ast.CallExpr, want Type, asStmt bool) Type {
	if overloads, ok := r.functions(e.Span().Start.File, e.Name); ok {
		return r.callFunction(e, overloads, asStmt)
	}
	b, ok := r.lib.Lookup(e.Name)
	if !ok {
		d := diag.Errorf(diag.Semantic, "S040", e.Span(), "unknown function '%s'", e.Name)
		names := r.lib.Names()
		for name := range r.funcs {
			if !strings.Contains(name, "\x00") {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		if near := diag.Closest(e.Name, names); near != "" {
			d.WithHint("did you mean '%s'?", near)
		}
		r.addReport(d)
		for _, a := range e.Args {
			r.expr(a, Unknown)
		}
		return Unknown
	}
	r.prog.Calls[e] = b
	if b.UserOnly && r.kernelSide {
		r.addReport(diag.Errorf(diag.Semantic, "S041", e.Span(), "%s() cannot run in a kernel probe", e.Name).
			WithHint("call it in a begin, end or timer probe"))
	}
	if b.KernelOnly && !r.kernelSide && r.fn == nil {
		r.addReport(diag.Errorf(diag.Semantic, "S043", e.Span(), "%s() needs a kernel probe: %s runs in user space", e.Name, r.scope.point.Text).
			WithHint("call it in a kernel.trace or kernel.function probe"))
	}
	params := b.Params
	if b.ArgTypes != nil {
		var d *diag.Diagnostic
		params, d = b.ArgTypes(e)
		if d != nil {
			r.addReport(d)
			params = nil
		}
	}
	fixed := !b.Variadic && b.ArgTypes == nil
	if (params != nil || fixed) && len(e.Args) != len(params) {
		r.addReport(diag.Errorf(diag.Semantic, "S042", e.Span(), "%s() takes %s, not %d", e.Name, plural(len(params), "argument"), len(e.Args)))
		params = nil
	}
	for i, a := range e.Args {
		want := Unknown
		if i < len(params) {
			want = params[i]
		}
		r.expect(a, r.expr(a, want), want)
	}
	if b.Result == Void && !asStmt {
		r.addReport(diag.Errorf(diag.Semantic, "S007", e.Span(), "%s() gives no value", e.Name))
		return Unknown
	}
	return b.Result
}

// plural says "1 argument" or "2 arguments".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
