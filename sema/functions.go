package sema

import (
	"etap/diag"
	"etap/lang/ast"
)

// Function is a script function. Its parameters and locals are typed like
// any variable, from its calls and its body; the code generator inlines it
// where it is called.
type Function struct {
	Decl   *ast.FunctionDecl
	Params []*Var
	// Locals are the function's variables other than its parameters.
	Locals []*Var
	// Result is the type of `return x`, Void for a function that returns
	// no value.
	Result   Type
	ResultAt diag.Span
	// Recursive is set for a function that calls itself, directly or
	// through others.
	Recursive bool

	scope *scope
	// calls are the functions this one calls.
	calls map[*Function]bool
}

// declareFunction records a function; overloads differ in their number of
// parameters, as in stap.
func (r *resolver) declareFunction(d *ast.FunctionDecl) {
	key := scoped(d.Span().Start.File, d.Name, d.Private)
	for _, other := range r.funcs[key] {
		if len(other.Params) == len(d.Params) {
			r.add(diag.Errorf(diag.Semantic, "S060", d.Span(), "function '%s' with %d parameters is declared twice", d.Name, len(d.Params)).
				WithNote(other.Decl.Span(), "first declared here"))
			return
		}
	}
	// Whether it returns a value is decided as written: `if (0) return 7`
	// makes a function of longs, folded or not.
	valued := returnsValue(d.Body)
	d.Body.Stmts = r.foldFunction(d.Body.Stmts)
	f := &Function{Decl: d, scope: &scope{vars: map[string]*Var{}}, calls: map[*Function]bool{}}
	for _, p := range d.Params {
		v := &Var{Name: p.Name, Decl: p.Span(), Written: true, Type: typeName(p.Type)}
		if v.Type != Unknown {
			v.TypedAt = p.Span()
		}
		f.scope.vars[p.Name] = v
		f.Params = append(f.Params, v)
	}
	f.Result, f.ResultAt = typeName(d.Result), d.Span()
	if f.Result == Unknown && !valued {
		f.Result = Void
	}
	r.funcs[key] = append(r.funcs[key], f)
	r.funcList = append(r.funcList, f)
}

func typeName(t ast.TypeName) Type {
	switch t {
	case "long":
		return Long
	case "string":
		return String
	}
	return Unknown
}

// returnsValue reports whether a function body has a `return x`.
func returnsValue(body *ast.BlockStmt) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		if ret, ok := n.(*ast.ReturnStmt); ok && ret.X != nil {
			found = true
		}
		return !found
	})
	return found
}

func (r *resolver) enterFunction(f *Function) {
	r.scope = f.scope
	r.fn = f
	r.kernelSide = false
	r.loopDepth = 0
}

func (r *resolver) returnStmt(s *ast.ReturnStmt) {
	f := r.fn
	if f == nil {
		r.addReport(diag.Errorf(diag.Semantic, "S061", s.Span(), "return outside a function").
			WithHint("use 'next' to leave a probe"))
		return
	}
	if s.X == nil {
		if f.Result != Void && f.Result != Unknown {
			r.addReport(diag.Errorf(diag.Semantic, "S062", s.Span(), "function '%s' must return a %s", f.Decl.Name, f.Result))
		}
		return
	}
	t := r.expr(s.X, f.Result)
	switch {
	case t == Unknown || t == Void:
	case f.Result == Unknown:
		f.Result, f.ResultAt = t, s.X.Span()
		r.changed = true
	case f.Result != t:
		r.addReport(diag.Errorf(diag.Semantic, "S063", s.X.Span(), "type mismatch: function '%s' returns %s, not %s", f.Decl.Name, f.Result, t).
			WithNote(f.ResultAt, "its result type was set here"))
	}
}

// callFunction checks a call of a script function and returns its result.
func (r *resolver) callFunction(e *ast.CallExpr, overloads []*Function, asStmt bool) Type {
	var f *Function
	for _, o := range overloads {
		if len(o.Params) == len(e.Args) {
			f = o
		}
	}
	if f == nil {
		r.addReport(diag.Errorf(diag.Semantic, "S042", e.Span(), "no function '%s' takes %s", e.Name, plural(len(e.Args), "argument")).
			WithNote(overloads[0].Decl.Span(), "'%s' is declared here", e.Name))
		for _, a := range e.Args {
			r.expr(a, Unknown)
		}
		return Unknown
	}
	r.prog.FuncCalls[e] = f
	if r.fn != nil {
		r.fn.calls[f] = true
	} else {
		r.probeCalls[f] = true
	}
	for i, a := range e.Args {
		p := f.Params[i]
		t := r.expr(a, p.Type)
		r.setType(p, t, a.Span())
	}
	if f.Result == Void && !asStmt {
		r.addReport(diag.Errorf(diag.Semantic, "S007", e.Span(), "function '%s' returns no value", e.Name).
			WithNote(f.Decl.Span(), "declared here"))
		return Unknown
	}
	return f.Result
}

// markRecursion marks the functions that call themselves, directly or not.
// The code generator unrolls them up to MAXNESTING: kernel BPF cannot
// recurse.
func (r *resolver) markRecursion() {
	for _, f := range r.funcList {
		f.Recursive = reaches(f, f, map[*Function]bool{})
	}
}

func reaches(from, to *Function, seen map[*Function]bool) bool {
	for g := range from.calls {
		if g == to {
			return true
		}
		if !seen[g] {
			seen[g] = true
			if reaches(g, to, seen) {
				return true
			}
		}
	}
	return false
}

// walkFunctions checks the bodies of the functions probes call, directly
// or not; the others are elided before they are checked, as stap's first
// optimisation pass does, so a mistake in a function nothing calls does
// not fail the script. -u checks them all.
func (r *resolver) walkFunctions() {
	done := map[*Function]bool{}
	for {
		used := r.reachable()
		progress := false
		for _, f := range r.funcList {
			if done[f] || !used[f] {
				continue
			}
			done[f], progress = true, true
			r.enterFunction(f)
			r.stmt(f.Decl.Body)
		}
		if !progress {
			return
		}
	}
}

// reachable gives the functions probes call, directly or not, as far as
// the walk has seen the calls; with -u, every function.
func (r *resolver) reachable() map[*Function]bool {
	used := map[*Function]bool{}
	var mark func(f *Function)
	mark = func(f *Function) {
		if used[f] {
			return
		}
		used[f] = true
		for g := range f.calls {
			mark(g)
		}
	}
	for f := range r.probeCalls {
		mark(f)
	}
	if r.unoptimized {
		// -u keeps every function, as stap's does; tapset functions are
		// declared only when called, so this keeps only the script's own.
		for _, f := range r.funcList {
			mark(f)
		}
	}
	return used
}

// usedFunctions lists the functions that need code, in declaration order.
func (r *resolver) usedFunctions() []*Function {
	used := r.reachable()
	var list []*Function
	for _, f := range r.funcList {
		if used[f] {
			f.Locals = f.scope.list
			list = append(list, f)
		}
	}
	return list
}
