package sema

import (
	"path"
	"reflect"
	"strings"

	"etap/diag"
	"etap/lang/ast"
)

// Probe aliases. A probe on an alias is a probe on the alias's points whose
// handler runs the alias's prologue first and its epilogue last, all three
// sharing the handler's locals:
//
//	probe syscall.openat = kernel.trace("syscalls:sys_enter_openat") { filename = user_string($filename) }
//	probe syscall.openat { printf("%s\n", filename) }
//
// is the probe kernel.trace("syscalls:sys_enter_openat") { filename = ...; printf(...) }.
// Each use gets its own copy of the alias statements, because sema binds
// names and context variables by node and two handlers have different locals.

// maxAliasDepth bounds aliases defined over aliases, so that a cycle is an
// error rather than endless expansion.
const maxAliasDepth = 16

// alias is one name an alias declaration defines: `probe a = b = PP`
// defines two.
type alias struct {
	names []string // the name's components
	decl  *ast.AliasDecl
	// syscall describes a system call alias whose declaration is made
	// on first use; decl is nil until then.
	syscall *syscallAlias
}

func (a *alias) text() string { return strings.Join(a.names, ".") }

// use is what one written probe point turns into: the points to attach
// and, through an alias, the statements to run around the handler.
type use struct {
	points        []*Point
	before, after []ast.Stmt
	// viaAlias is set when the point named an alias, even one whose
	// statements were all dropped: its handler gets only the locals it
	// mentions.
	viaAlias bool
	// body is the user's handler for these points, and decl the
	// handler's declaration: one with body or, through an alias, one whose
	// body wraps body between the alias statements.
	body *ast.BlockStmt
	decl *ast.ProbeDecl
}

// aliasSite is where an alias was used, to explain diagnostics located in
// its statements.
type aliasSite struct {
	alias *alias
	at    diag.Span
}

// declareAlias records the names an alias declaration defines.
func (r *resolver) declareAlias(d *ast.AliasDecl) {
	for _, pp := range d.Names {
		a := &alias{decl: d}
		for _, c := range pp.Components {
			a.names = append(a.names, c.Name)
		}
		r.aliases = append(r.aliases, a)
	}
}

// matchAliases lists the aliases a probe point names, with wildcards in
// its components (syscall.open*).
func (r *resolver) matchAliases(pp *ast.ProbePoint) []*alias {
	if matchName(pp.Components[0].Name, "syscall") || matchName(pp.Components[0].Name, "nd_syscall") {
		r.loadSyscalls()
	}
	var out []*alias
	for _, a := range r.aliases {
		if len(a.names) != len(pp.Components) {
			continue
		}
		ok := true
		for i, c := range pp.Components {
			ok = ok && c.Arg == nil && matchName(c.Name, a.names[i])
		}
		if ok {
			out = append(out, a)
		}
	}
	return out
}

// matchPrefix finds the aliases that name the longest leading part of pp,
// for suffix propagation: when no alias is called syscall.read.return but
// one is called syscall.read, the rest (.return) goes on the alias's own
// points, and the alias's statements stay:
//
//	probe vfs.read = kernel.function("vfs_read") { fn = "vfs_read" }
//	probe vfs.read.return { }   // kernel.function("vfs_read").return
func (r *resolver) matchPrefix(pp *ast.ProbePoint) ([]*alias, []*ast.Component) {
	for n := len(pp.Components) - 1; n > 0; n-- {
		head := &ast.ProbePoint{Base: pp.Base, Components: pp.Components[:n]}
		if matched := r.matchAliases(head); len(matched) > 0 {
			return matched, pp.Components[n:]
		}
	}
	return nil, nil
}

// withSuffix is the point inner with the components suffix after its own.
func withSuffix(inner *ast.ProbePoint, suffix []*ast.Component) *ast.ProbePoint {
	out := *inner
	out.Components = append(append([]*ast.Component(nil), inner.Components...), suffix...)
	return &out
}

// matchName matches a component pattern against a name; most patterns
// have no wildcard, and syscall.* checks hundreds of names.
func matchName(pattern, name string) bool {
	if !strings.ContainsAny(pattern, "*?[\\") {
		return pattern == name
	}
	m, _ := path.Match(pattern, name)
	return m
}

// aliasFamily reports whether aliases define the first component of pp
// (syscall), so that pp names a missing alias rather than an unknown
// family; near is the closest alias name.
func (r *resolver) aliasFamily(pp *ast.ProbePoint) (near string, ok bool) {
	var names []string
	for _, a := range r.aliases {
		if a.names[0] == pp.Components[0].Name {
			names = append(names, a.text())
		}
	}
	if names == nil {
		return "", false
	}
	return diag.Closest(pointText(pp), names), true
}

// expand resolves a written probe point, through aliases where it names
// any, to its uses.
func (r *resolver) expand(pp *ast.ProbePoint, depth int) []*use {
	matched := r.matchAliases(pp)
	var suffix []*ast.Component
	if len(matched) == 0 {
		matched, suffix = r.matchPrefix(pp)
	}
	if len(matched) == 0 {
		if near, ok := r.aliasFamily(pp); ok {
			if !pp.Optional && !pp.Sufficient {
				d := diag.Errorf(diag.Semantic, "S121", pp.Span(), "no probe alias matches %s", pointText(pp))
				if near != "" {
					d.WithHint("did you mean '%s'?", near)
				}
				r.add(d)
			}
			return nil
		}
		return []*use{{points: r.resolvePoint(pp)}}
	}
	if depth >= maxAliasDepth {
		r.add(diag.Errorf(diag.Semantic, "S120", pp.Span(), "probe alias %s expands more than %d levels deep", pointText(pp), maxAliasDepth).
			WithHint("an alias is probably defined in terms of itself"))
		return nil
	}
	r.makeSyscallDecls(matched)
	var uses []*use
	for _, a := range matched {
		r.aliasSites = append(r.aliasSites, aliasSite{alias: a, at: pp.Span()})
		for _, inner := range a.decl.Points {
			if suffix != nil {
				inner = withSuffix(inner, suffix)
			}
			for _, u := range r.expand(inner, depth+1) {
				// The inner alias's prologue runs first and its epilogue
				// last: this alias wraps the handler more closely.
				body := cloneStmts(a.decl.Body.Stmts)
				if a.decl.Epilogue {
					u.after = append(body, u.after...)
				} else {
					u.before = append(u.before, body...)
				}
				if a.decl.EpilogueBody != nil {
					u.after = append(cloneStmts(a.decl.EpilogueBody.Stmts), u.after...)
				}
				r.guard(u, inner.Cond)
				u.viaAlias = true
				uses = append(uses, u)
			}
		}
	}
	return uses
}

// wrap gives a use of a declaration its handler: the user's, or the
// user's body between the alias statements that are still needed. It
// drops the assignments of alias variables that nothing reads (a
// syscall.openat probe that never reads argstr does not build it).
func (r *resolver) wrap(d *ast.ProbeDecl, u *use) {
	for r.dropUnread(u) {
	}
	body := u.body
	if u.viaAlias {
		stmts := append(append(append([]ast.Stmt(nil), u.before...), u.body), u.after...)
		body = &ast.BlockStmt{Base: d.Body.Base, Stmts: stmts}
	}
	u.decl = &ast.ProbeDecl{Base: d.Base, Points: d.Points, Body: body}
}

// dropUnread removes one round of alias assignments to locals nothing
// reads; dropping one can leave another unread (argstr reads filename),
// so the caller repeats until nothing changes.
func (r *resolver) dropUnread(u *use) bool {
	read := map[*Var]bool{}
	r.markReads(u.body, read)
	for _, s := range append(append([]ast.Stmt(nil), u.before...), u.after...) {
		r.markReads(s, read)
	}
	changed := false
	keep := func(stmts []ast.Stmt) []ast.Stmt {
		var out []ast.Stmt
		for _, s := range stmts {
			if v := r.assigned(s); v != nil && !v.Global && !read[v] {
				changed = true
				continue
			}
			out = append(out, s)
		}
		return out
	}
	u.before, u.after = keep(u.before), keep(u.after)
	return changed
}

// trim gives the locals of list that the handler of u mentions, and
// forgets the context variables it no longer reads: an alias variable
// whose assignment was dropped needs neither a slot nor a read.
func (r *resolver) trim(u *use, list []*Var) []*Var {
	if !u.viaAlias {
		return list
	}
	vars, targets := map[*Var]bool{}, map[*ast.TargetVar]bool{}
	ast.Inspect(u.decl.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Ident:
			vars[r.prog.Refs[n]] = true
		case *ast.TargetVar:
			targets[n] = true
		}
		return true
	})
	for _, p := range u.points {
		for t := range p.Targets {
			if !targets[t] {
				delete(p.Targets, t)
			}
		}
	}
	var out []*Var
	for _, v := range list {
		if vars[v] {
			out = append(out, v)
		}
	}
	return out
}

// markReads records the variables n reads; the target of a plain
// assignment is written, not read.
func (r *resolver) markReads(n ast.Node, read map[*Var]bool) {
	ast.Inspect(n, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignExpr:
			if _, ok := n.X.(*ast.Ident); ok && n.Op == "=" {
				r.markReads(n.Y, read)
				return false
			}
		case *ast.Ident:
			if v := r.prog.Refs[n]; v != nil {
				read[v] = true
			}
		}
		return true
	})
}

// assigned returns the variable of a statement `x = e` whose e has no side
// effects, which can go when nothing reads x; nil for any other statement.
func (r *resolver) assigned(s ast.Stmt) *Var {
	es, ok := s.(*ast.ExprStmt)
	if !ok {
		return nil
	}
	as, ok := es.X.(*ast.AssignExpr)
	if !ok || as.Op != "=" {
		return nil
	}
	id, ok := as.X.(*ast.Ident)
	if !ok || !r.pure(as.Y) {
		return nil
	}
	return r.prog.Refs[id]
}

// pure reports whether e has no effect but its value. Builtins that give a
// value are pure, as stap's tapset functions are marked: a string copy
// that would fault in an unread variable need not run. Script functions
// may write globals or print, so they are not.
func (r *resolver) pure(e ast.Expr) bool {
	pure := true
	ast.Inspect(e, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignExpr, *ast.IncDecExpr:
			pure = false
		case *ast.CallExpr:
			b := r.prog.Calls[n]
			pure = pure && b != nil && b.Result != Void
		}
		return pure
	})
	return pure
}

// notePrologues adds "expanded from alias" to diagnostics located in the
// statements of an alias the script used, pointing at the use.
func (r *resolver) notePrologues() {
	for _, d := range r.diags.Items {
		for _, site := range r.aliasSites {
			if within(site.alias.decl.Span(), d.Span) {
				d.WithNote(site.at, "expanded from alias '%s'", site.alias.text())
				break
			}
		}
	}
}

// within reports whether s lies inside outer.
func within(outer, s diag.Span) bool {
	return s.Start.File == outer.Start.File && outer.Start.Offset <= s.Start.Offset && s.Start.Offset < outer.End.Offset
}

// cloneStmts deep-copies statements, so that each use of an alias has
// nodes of its own.
func cloneStmts(stmts []ast.Stmt) []ast.Stmt {
	return clone(reflect.ValueOf(stmts)).Interface().([]ast.Stmt)
}

// clone deep-copies the pointers, slices and interfaces of a syntax tree;
// positions and names are values and copy as they are.
func clone(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Elem().Type())
		out.Elem().Set(clone(v.Elem()))
		return out
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Type()).Elem()
		out.Set(clone(v.Elem()))
		return out
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			out.Index(i).Set(clone(v.Index(i)))
		}
		return out
	case reflect.Struct:
		out := reflect.New(v.Type()).Elem()
		for i := 0; i < v.NumField(); i++ {
			out.Field(i).Set(clone(v.Field(i)))
		}
		return out
	}
	return v
}

// pruneTapsetStmts drops, before anything is checked, the assignments
// that tapset aliases make to variables nothing in the probe mentions:
// syscall.* brings hundreds of alias bodies, and a variable such as
// argstr may call what this build lacks. The tapsets' own rule is that
// their alias assignments have no side effects, so names decide: a
// variable the handler or a kept statement mentions keeps its assignment.
// dropUnread later refines what this leaves, with bindings and types.
func (r *resolver) pruneTapsetStmts(d *ast.ProbeDecl, uses []*use) {
	for _, u := range uses {
		if !u.viaAlias {
			continue
		}
		needed := map[string]bool{}
		mentions(d.Body, needed)
		all := append(append([]ast.Stmt(nil), u.before...), u.after...)
		droppable := map[ast.Stmt]string{}
		for _, s := range all {
			if name := r.tapsetAssign(s); name != "" {
				droppable[s] = name
			} else {
				mentions(s, needed)
			}
		}
		for changed := true; changed; {
			changed = false
			for s, name := range droppable {
				if needed[name] {
					mentions(s, needed)
					delete(droppable, s)
					changed = true
				}
			}
		}
		keep := func(stmts []ast.Stmt) []ast.Stmt {
			var out []ast.Stmt
			for _, s := range stmts {
				if _, drop := droppable[s]; !drop {
					out = append(out, s)
				}
			}
			return out
		}
		u.before, u.after = keep(u.before), keep(u.after)
	}
}

// tapsetAssign returns the variable of a tapset statement `x = e` that
// assigns a local, "" for any other statement.
func (r *resolver) tapsetAssign(s ast.Stmt) string {
	es, ok := s.(*ast.ExprStmt)
	if !ok || !r.tapsetFiles[s.Span().Start.File] {
		return ""
	}
	as, ok := es.X.(*ast.AssignExpr)
	if !ok || as.Op != "=" {
		return ""
	}
	id, ok := as.X.(*ast.Ident)
	if !ok || r.globals[id.Name] != nil {
		return ""
	}
	return id.Name
}

// mentions adds the names n mentions to names.
func mentions(n ast.Node, names map[string]bool) {
	ast.Inspect(n, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			names[id.Name] = true
		}
		return true
	})
}
