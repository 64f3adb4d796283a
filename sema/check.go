package sema

import (
	"etap/diag"
	"etap/lang/ast"
)

// Options are what Check needs besides the files.
type Options struct {
	Kernel  Kernel
	Library Library
	// Tapsets are library files: their aliases serve the script's probe
	// points, and their functions and globals are declared only when the
	// script uses them, so that an unused part costs nothing and cannot
	// fail the script.
	Tapsets []*ast.File
}

// maxInferencePasses bounds the type inference fixed point; each pass can
// only move variables from unknown to known, so a script with N variables
// settles in at most N+1 passes, and real scripts in two or three.
const maxInferencePasses = 64

// resolver holds the state of one Check.
type resolver struct {
	kernel  Kernel
	lib     Library
	diags   *diag.List
	prog    *Program
	globals map[string]*Var
	order   []*Var

	// Per probe declaration.
	scope      *scope
	kernelSide bool
	// fn is the function being checked, nil in probes.
	fn *Function
	// funcs are the script's functions by name; probeCalls those probes
	// call directly.
	funcs      map[string][]*Function
	funcList   []*Function
	probeCalls map[*Function]bool
	loopDepth  int
	// scalarAt remembers where a variable was first used as a scalar, to
	// explain a later use as an array.
	scalarAt map[*Var]diag.Span

	aliases    []*alias
	aliasSites []aliasSite
	// syscallsLoaded is set once the system call aliases are declared.
	syscallsLoaded bool
	// tapsetFuncs and tapsetGlobals are the tapsets' declarations not
	// pulled into the program yet.
	tapsetFuncs   map[string][]*ast.FunctionDecl
	tapsetGlobals map[string]*ast.GlobalVar

	// report is false during the inference passes and true in the last
	// pass, which reports what is still wrong.
	report  bool
	changed bool

	// tapsetFiles are the names of the tapset files, whose variables
	// never warn; foreachKeys are the locals a foreach binds.
	tapsetFiles map[string]bool
	foreachKeys map[*Var]bool
}

// Check elaborates files into a Program. Diagnostics, including warnings,
// come back in the list; the Program is nil when there are errors.
func Check(files []*ast.File, opts Options) (*Program, *diag.List) {
	r := &resolver{
		kernel:   opts.Kernel,
		lib:      opts.Library,
		diags:    &diag.List{},
		globals:  map[string]*Var{},
		scalarAt: map[*Var]diag.Span{},
		prog: &Program{
			Types:     map[ast.Expr]Type{},
			Refs:      map[*ast.Ident]*Var{},
			Calls:     map[*ast.CallExpr]*Builtin{},
			FuncCalls: map[*ast.CallExpr]*Function{},
		},
		funcs:         map[string][]*Function{},
		probeCalls:    map[*Function]bool{},
		tapsetFuncs:   map[string][]*ast.FunctionDecl{},
		tapsetGlobals: map[string]*ast.GlobalVar{},
		tapsetFiles:   tapsetNames(opts.Tapsets),
		foreachKeys:   map[*Var]bool{},
	}
	r.declareTapsets(opts.Tapsets)
	var decls []*ast.ProbeDecl
	for _, f := range files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.GlobalDecl:
				r.declareGlobals(d)
			case *ast.ProbeDecl:
				decls = append(decls, d)
			case *ast.FunctionDecl:
				if d.Body == nil {
					r.add(embeddedC(d.Span()))
				} else {
					r.declareFunction(d)
				}
			case *ast.AliasDecl:
				r.declareAlias(d)
			case *ast.EmbeddedCDecl:
				r.add(embeddedC(d.Span()))
			}
		}
	}
	declUses := make([][]*use, len(decls))
	for i, d := range decls {
		for _, pp := range d.Points {
			if pp.Cond != nil {
				r.add(notBuilt(pp.Cond.Span(), "probe arming conditions (if)"))
			}
			declUses[i] = append(declUses[i], r.expand(pp, 0)...)
		}
		r.pruneTapsetStmts(d, declUses[i])
	}
	decls, declUses = splitByAlias(decls, declUses)
	scopes := make([]*scope, len(decls))
	for i := range decls {
		scopes[i] = &scope{vars: map[string]*Var{}}
		for _, u := range declUses[i] {
			scopes[i].points = append(scopes[i].points, u.points...)
		}
	}
	if r.diags.HasErrors() {
		return r.finish(nil)
	}
	walk := func() {
		for i, d := range decls {
			r.enterProbe(scopes[i])
			for _, u := range declUses[i] {
				r.checkAliasStmts(u, u.before)
			}
			r.stmt(d.Body)
			for _, u := range declUses[i] {
				r.checkAliasStmts(u, u.after)
			}
		}
		for _, f := range r.funcList {
			r.enterFunction(f)
			r.stmt(f.Decl.Body)
		}
		r.fn = nil
	}
	for pass := 0; pass < maxInferencePasses; pass++ {
		r.changed = false
		walk()
		if !r.changed {
			break
		}
	}
	r.report = true
	walk()
	r.checkRecursion()
	r.prog.Functions = r.usedFunctions()
	for i, d := range decls {
		r.wrap(d, declUses[i])
		for _, u := range declUses[i] {
			for _, p := range u.points {
				r.prog.Probes = append(r.prog.Probes, &Probe{Decl: u.decl, Point: p, Locals: r.trim(u, scopes[i].list)})
			}
		}
	}
	// A type left unknown is most often the echo of an error already
	// reported; say it only when it is the whole story.
	cascade := r.diags.HasErrors()
	for _, v := range r.order {
		if v.Read || v.Written {
			r.prog.Globals = append(r.prog.Globals, v)
		}
		if !cascade {
			r.checkResolved(v)
		}
	}
	for _, f := range r.funcList {
		scopes = append(scopes, f.scope)
		for _, p := range f.Params {
			if !cascade && p.Type == Unknown {
				r.add(diag.Errorf(diag.Semantic, "S064", p.Decl, "cannot infer the type of parameter '%s'", p.Name).
					WithHint("declare it, as in %s:long", p.Name))
			}
		}
	}
	var locals []*Var
	for _, sc := range scopes {
		for _, v := range sc.list {
			if !cascade {
				r.checkResolved(v)
			}
		}
		locals = append(locals, sc.list...)
	}
	// Warnings after errors would mostly be their echoes.
	if !r.diags.HasErrors() {
		r.warnVariables(locals)
	}
	return r.finish(r.prog)
}

// finish returns p and the diagnostics, sorted; no Program when there are
// errors.
func (r *resolver) finish(p *Program) (*Program, *diag.List) {
	r.notePrologues()
	r.dedupe()
	r.diags.Sort()
	if r.diags.HasErrors() {
		return nil, r.diags
	}
	return p, r.diags
}

func (r *resolver) add(d *diag.Diagnostic) { r.diags.Add(d) }

// addReport adds d only in the reporting pass, so that the inference passes
// do not repeat it.
func (r *resolver) addReport(d *diag.Diagnostic) {
	if r.report {
		r.diags.Add(d)
	}
}

func notBuilt(span diag.Span, what string) *diag.Diagnostic {
	return diag.Errorf(diag.Semantic, "S001", span, "%s are not built yet in etap", what)
}

func embeddedC(span diag.Span) *diag.Diagnostic {
	return diag.Errorf(diag.Semantic, "S002", span, "embedded C is not allowed").
		WithHint("etap runs without guru mode: write it in stp")
}

func (r *resolver) declareGlobals(d *ast.GlobalDecl) {
	for _, g := range d.Vars {
		if prev, ok := r.globals[g.Name]; ok {
			r.add(diag.Errorf(diag.Semantic, "S003", g.Span(), "global '%s' is declared twice", g.Name).
				WithNote(prev.Decl, "first declared here"))
			continue
		}
		v := &Var{Name: g.Name, Global: true, Decl: g.Span(), IsArray: g.IsArray, Size: g.Size, Wrap: g.Wrap, Init: g.Init}
		if g.Wrap {
			r.add(notBuilt(g.Span(), "wrapping arrays (%)"))
		}
		switch lit := g.Init.(type) {
		case *ast.IntLit:
			v.Type, v.TypedAt = Long, lit.Span()
		case *ast.StringLit:
			v.Type, v.TypedAt = String, lit.Span()
		}
		if g.Init != nil {
			r.scalarAt[v] = g.Init.Span()
		}
		r.globals[g.Name] = v
		r.order = append(r.order, v)
	}
}

// scope is the local variables of one probe declaration. It outlives the
// inference passes, so that what one pass learns the next one keeps.
type scope struct {
	vars   map[string]*Var
	list   []*Var
	points []*Point
}

func (r *resolver) enterProbe(sc *scope) {
	r.scope = sc
	r.fn = nil
	r.kernelSide = false
	for _, p := range sc.points {
		r.kernelSide = r.kernelSide || p.Kernel
	}
	r.loopDepth = 0
}

func (r *resolver) checkResolved(v *Var) {
	if !v.Read && !v.Written {
		return
	}
	what := "variable"
	if v.IsArray {
		what = "array"
	}
	if v.Type == Unknown {
		example := v.Name
		if v.IsArray {
			example += "[...]"
		}
		r.add(diag.Errorf(diag.Semantic, "S004", v.Decl, "cannot infer the type of %s '%s'", what, v.Name).
			WithHint("assign it a number or a string somewhere, e.g. %s = 0", example))
		return
	}
	for i, k := range v.Keys {
		if k == Unknown {
			r.add(diag.Errorf(diag.Semantic, "S005", v.KeysAt, "cannot infer the type of index %d of array '%s'", i+1, v.Name))
		}
	}
}

// setType records that v has type t, as seen at span, and returns the type
// the use should continue with: t itself after a mismatch, which is
// reported here, so that callers do not report it a second time.
func (r *resolver) setType(v *Var, t Type, span diag.Span) Type {
	switch {
	case t == Unknown || t == Void:
	case v.Type == Unknown:
		v.Type, v.TypedAt = t, span
		r.changed = true
	case v.Type != t:
		r.addReport(diag.Errorf(diag.Semantic, "S006", span, "type mismatch (%s): '%s' was %s", t, v.Name, v.Type).
			WithNote(v.TypedAt, "type of '%s' was first inferred here (%s)", v.Name, v.Type).
			WithHint("use a second variable"))
		return t
	}
	return v.Type
}

// expect reports an expression of type got where want was needed.
func (r *resolver) expect(e ast.Expr, got, want Type) {
	if got == Unknown || want == Unknown || got == want {
		return
	}
	if got == Void {
		r.addReport(diag.Errorf(diag.Semantic, "S007", e.Span(), "this call gives no value"))
		return
	}
	r.addReport(diag.Errorf(diag.Semantic, "S008", e.Span(), "type mismatch: expected %s, found %s", want, got))
}
