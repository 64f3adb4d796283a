package sema

import "etap/lang/ast"

// declareTapsets takes the aliases of the tapsets, and keeps their
// functions and globals aside until the script names them: a tapset
// function the script never calls is not checked, so its mistakes cannot
// fail the script, and costs no time. Plain probes and embedded C at the
// top of a tapset have no use in etap and are ignored.
func (r *resolver) declareTapsets(files []*ast.File) {
	for _, f := range files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.AliasDecl:
				r.declareAlias(d)
			case *ast.FunctionDecl:
				r.tapsetFuncs[d.Name] = append(r.tapsetFuncs[d.Name], d)
			case *ast.GlobalDecl:
				for _, g := range d.Vars {
					r.tapsetGlobals[g.Name] = g
				}
			}
		}
	}
}

// pullFunction declares the tapset functions called name, when the
// script has none of its own, on their first call. A builtin of the same
// name wins over a tapset function: the tapset's is the fallback of a
// build without that builtin.
func (r *resolver) pullFunction(name string) {
	decls, ok := r.tapsetFuncs[name]
	if !ok {
		return
	}
	delete(r.tapsetFuncs, name)
	if _, own := r.funcs[name]; own {
		return
	}
	if _, builtin := r.lib.Lookup(name); builtin {
		return
	}
	for _, d := range decls {
		if d.Body == nil {
			r.add(embeddedC(d.Span()))
			continue
		}
		r.declareFunction(d)
	}
	// The new bodies are checked from the next inference pass on.
	r.changed = true
}

// pullGlobal declares the tapset global called name, when the script has
// no global of that name, on its first use.
func (r *resolver) pullGlobal(name string) {
	g, ok := r.tapsetGlobals[name]
	if !ok {
		return
	}
	delete(r.tapsetGlobals, name)
	if _, own := r.globals[name]; !own {
		r.declareGlobals(&ast.GlobalDecl{Base: g.Base, Vars: []*ast.GlobalVar{g}})
		r.changed = true
	}
}
