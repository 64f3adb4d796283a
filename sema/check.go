package sema

import (
	"fmt"

	"etap/diag"
	"etap/lang/ast"
)

// Options are what Check needs besides the files.
type Options struct {
	Kernel Kernel
	// Binaries reads the programs of process(...) probes; nil reads this
	// machine's files.
	Binaries Binaries
	Library  Library
	// Tapsets are library files: their aliases serve the script's probe
	// points, and their functions and globals are declared only when the
	// script uses them, so that an unused part costs nothing and cannot
	// fail the script.
	Tapsets []*ast.File
	// Unoptimized is stap's -u: no constant folding, no dead-code
	// removal, no elision of unused functions and globals. @defined still
	// folds: it decides what is checked.
	Unoptimized bool
}

// maxInferencePasses bounds the type inference fixed point; each pass can
// only move variables from unknown to known, so a script with N variables
// settles in at most N+1 passes, and real scripts in two or three.
const maxInferencePasses = 64

// resolver holds the state of one Check.
type resolver struct {
	kernel      Kernel
	binaries    Binaries
	lib         Library
	unoptimized bool
	diags       *diag.List
	prog        *Program
	globals     map[string]*Var
	order       []*Var

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
	// conditions are the probe points' arming conditions, checked once
	// their names are bound.
	conditions []ast.Expr
	// entrySets counts the return probes that take values from their
	// function's entry, to name the arrays that carry them.
	entrySets int
	// syscallsLoaded is set once the system call aliases are declared.
	syscallsLoaded bool
	// tapsetFuncs and tapsetGlobals are the tapsets' declarations not
	// pulled into the program yet.
	tapsetFuncs   map[string][]*ast.FunctionDecl
	tapsetGlobals map[string]tapsetGlobal

	// report is false during the inference passes and true in the last
	// pass, which reports what is still wrong.
	report  bool
	changed bool

	// tapsetFiles are the names of the tapset files, whose variables
	// never warn; foreachKeys are the locals a foreach binds.
	tapsetFiles map[string]bool
	foreachKeys map[*Var]bool
}

// newResolver makes the resolver of one Check or List, with the tapsets' aliases,
// functions and globals declared.
func newResolver(opts Options) *resolver {
	r := &resolver{
		kernel:      opts.Kernel,
		binaries:    opts.Binaries,
		lib:         opts.Library,
		unoptimized: opts.Unoptimized,
		diags:       &diag.List{},
		globals:     map[string]*Var{},
		scalarAt:    map[*Var]diag.Span{},
		prog: &Program{
			Types:     map[ast.Expr]Type{},
			Refs:      map[*ast.Ident]*Var{},
			Calls:     map[*ast.CallExpr]*Builtin{},
			FuncCalls: map[*ast.CallExpr]*Function{},
			Casts:     map[*ast.TargetExpr]*Target{},
		},
		funcs:         map[string][]*Function{},
		probeCalls:    map[*Function]bool{},
		tapsetFuncs:   map[string][]*ast.FunctionDecl{},
		tapsetGlobals: map[string]tapsetGlobal{},
		tapsetFiles:   tapsetNames(opts.Tapsets),
		foreachKeys:   map[*Var]bool{},
	}
	if r.binaries == nil {
		r.binaries = NewELFFiles()
	}
	r.declareTapsets(opts.Tapsets)
	return r
}

// Check elaborates files into a Program. Diagnostics, including warnings,
// come back in the list; the Program is nil when there are errors.
func Check(files []*ast.File, opts Options) (*Program, *diag.List) {
	r := newResolver(opts)
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
	insts := r.instances(decls)
	if r.diags.HasErrors() {
		return r.finish(nil)
	}
	walk := func() {
		for _, in := range insts {
			r.enterProbe(in.scope)
			for _, st := range in.use.before {
				r.stmt(st)
			}
			r.stmt(in.use.body)
			for _, st := range in.use.after {
				r.stmt(st)
			}
		}
		r.walkFunctions()
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
	var points []*Point
	for _, in := range insts {
		points = append(points, in.scope.point)
	}
	r.preferRawTracepoints(points)
	r.markRecursion()
	r.checkConditions()
	r.prog.Functions = r.usedFunctions()
	var scopes []*scope
	// groups are the locals of each declaration's handlers and of each
	// function, for the warnings.
	var groups [][]*Var
	group := map[*ast.ProbeDecl]int{}
	for _, in := range insts {
		r.wrap(in.decl, in.use)
		r.prog.Probes = append(r.prog.Probes, &Probe{Decl: in.use.decl, Point: in.use.points[0], Locals: r.trim(in.use, in.scope.list)})
		scopes = append(scopes, in.scope)
		i, ok := group[in.decl]
		if !ok {
			i = len(groups)
			group[in.decl] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], in.scope.list...)
	}
	// A type left unknown is most often the echo of an error already
	// reported; say it only when it is the whole story.
	cascade := r.diags.HasErrors()
	for _, v := range r.order {
		// Unused globals are elided, as in stap; -u keeps those a type
		// can be given to.
		if v.Read || v.Written || (r.unoptimized && v.Type != Unknown) {
			r.prog.Globals = append(r.prog.Globals, v)
		}
		if !cascade {
			r.checkResolved(v, nil)
		}
	}
	for _, f := range r.prog.Functions {
		scopes = append(scopes, f.scope)
		groups = append(groups, f.scope.list)
		for _, p := range f.Params {
			if !cascade && p.Type == Unknown {
				r.add(diag.Errorf(diag.Semantic, "S064", p.Decl, "cannot infer the type of parameter '%s'", p.Name).
					WithHint("declare it, as in %s:long", p.Name))
			}
		}
	}
	for _, sc := range scopes {
		for _, v := range sc.list {
			if !cascade {
				r.checkResolved(v, sc.list)
			}
		}
	}
	if !r.diags.HasErrors() {
		r.resolveKfuncs()
	}
	// Warnings after errors would mostly be their echoes.
	if !r.diags.HasErrors() {
		r.warnVariables(groups)
	}
	renamePrivate(r.prog.Globals)
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
		file := g.Span().Start.File
		key := scoped(file, g.Name, d.Private)
		prev, ok := r.globals[key]
		if other, found := r.globals[scoped(file, g.Name, !d.Private)]; !ok && found && other.Decl.Start.File == file {
			prev, ok = other, true
		}
		if ok {
			r.add(diag.Errorf(diag.Semantic, "S003", g.Span(), "global '%s' is declared twice", g.Name).
				WithNote(prev.Decl, "first declared here"))
			continue
		}
		v := &Var{Name: g.Name, Global: true, Decl: g.Span(), IsArray: g.IsArray, Size: g.Size, Wrap: g.Wrap, Init: g.Init, private: d.Private}
		switch lit := g.Init.(type) {
		case *ast.IntLit:
			v.Type, v.TypedAt = Long, lit.Span()
		case *ast.StringLit:
			v.Type, v.TypedAt = String, lit.Span()
		}
		if g.Init != nil {
			r.scalarAt[v] = g.Init.Span()
		}
		r.globals[key] = v
		r.order = append(r.order, v)
	}
}

// scope is the local variables of one handler instance or function. It
// outlives the inference passes, so that what one pass learns the next
// one keeps.
type scope struct {
	vars map[string]*Var
	list []*Var
	// point is where the handler runs; nil for a function.
	point *Point
}

func (r *resolver) enterProbe(sc *scope) {
	r.scope = sc
	r.fn = nil
	r.kernelSide = sc.point.Kernel
	r.loopDepth = 0
}

// checkResolved reports a used variable whose type is still unknown;
// locals are the other variables of its scope, for "did you mean" when it
// was never assigned.
func (r *resolver) checkResolved(v *Var, locals []*Var) {
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
		d := diag.Errorf(diag.Semantic, "S004", v.Decl, "cannot infer the type of %s '%s'", what, v.Name).
			WithHint("assign it a number or a string somewhere, e.g. %s = 0", example)
		if !v.Written {
			written := map[string]bool{}
			for _, l := range locals {
				written[l.Name] = l.Written
			}
			if near := r.nearVariable(v.Name, written); near != "" {
				d.Hint = fmt.Sprintf("did you mean '%s'?", near)
			}
		}
		r.add(d)
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

// instance is one probe point with its own copy of the handler: stap
// elaborates a handler once per point, because points differ in their
// context variables, and so in the types of the locals that hold them
// and in the branches @defined keeps.
type instance struct {
	decl  *ast.ProbeDecl
	use   *use
	scope *scope
}

// instances resolves the points of every probe declaration and gives each
// point its handler: the first point of a declaration gets the written
// nodes, the others copies. Each body is folded for its point.
func (r *resolver) instances(decls []*ast.ProbeDecl) []*instance {
	var out []*instance
	for _, d := range decls {
		var uses []*use
		for _, pp := range d.Points {
			n := len(uses)
			expanded := r.expand(pp, 0)
			r.pruneTapsetStmts(d, expanded)
			for _, u := range expanded {
				r.guard(u, pp.Cond)
				for _, p := range u.points {
					uses = append(uses, &use{points: []*Point{p}, before: u.before, after: u.after, viaAlias: u.viaAlias, body: d.Body})
				}
			}
			// `a!, b`: a point marked ! that resolves is sufficient, the
			// points after it are not tried.
			if pp.Sufficient && len(uses) > n {
				break
			}
		}
		// Copy before folding: folding rewrites the nodes for one point.
		for i, u := range uses {
			if i > 0 {
				u.before, u.after = cloneStmts(u.before), cloneStmts(u.after)
				u.body = cloneStmts([]ast.Stmt{d.Body})[0].(*ast.BlockStmt)
			}
		}
		for _, u := range uses {
			p := u.points[0]
			if entries := r.foldInstance(u); len(entries) > 0 {
				out = append(out, r.entryInstance(d, u, entries))
			}
			out = append(out, &instance{decl: d, use: u, scope: &scope{vars: map[string]*Var{}, point: p}})
		}
	}
	return out
}

// dedupe drops repeated diagnostics: a mistake in a handler of several
// points is found in each point's copy.
func (r *resolver) dedupe() {
	type key struct {
		code, msg string
		span      diag.Span
	}
	seen := map[key]bool{}
	var items []*diag.Diagnostic
	for _, d := range r.diags.Items {
		k := key{d.Code, d.Message, d.Span}
		if !seen[k] {
			seen[k] = true
			items = append(items, d)
		}
	}
	r.diags.Items = items
}
