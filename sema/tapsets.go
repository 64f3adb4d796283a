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
				key := scoped(f.Name, d.Name, d.Private)
				r.tapsetFuncs[key] = append(r.tapsetFuncs[key], d)
			case *ast.GlobalDecl:
				for _, g := range d.Vars {
					r.tapsetGlobals[scoped(f.Name, g.Name, d.Private)] = tapsetGlobal{g, d.Private}
				}
			}
		}
	}
}

// pullFunction declares the tapset functions a call of name in file
// means, on their first call: the file's private ones, else the public
// ones when the script has none of its own. A builtin of the same name
// wins over a tapset function: the tapset's is the fallback of a build
// without that builtin.
func (r *resolver) pullFunction(file, name string) {
	for _, key := range []string{scoped(file, name, true), name} {
		decls, ok := r.tapsetFuncs[key]
		if !ok {
			continue
		}
		delete(r.tapsetFuncs, key)
		if _, own := r.funcs[key]; own {
			return
		}
		if _, builtin := r.lib.Lookup(key); builtin {
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
		return
	}
}

// pullGlobal declares the tapset global that name means in file, on its
// first use: the file's private one, else a public one when the script has
// no global of that name.
func (r *resolver) pullGlobal(file, name string) {
	for _, key := range []string{scoped(file, name, true), name} {
		tg, ok := r.tapsetGlobals[key]
		if !ok {
			continue
		}
		delete(r.tapsetGlobals, key)
		if _, own := r.globals[key]; !own {
			r.declareGlobals(&ast.GlobalDecl{Base: tg.g.Base, Private: tg.private, Vars: []*ast.GlobalVar{tg.g}})
			r.changed = true
		}
		return
	}
}
