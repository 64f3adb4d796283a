package sema

import (
	"sort"

	"etap/diag"
	"etap/lang/ast"
)

// Warnings about variables, as stap gives them. They never fail a check.
//
//	probe begin { x = 1 }               # W001: x is written but never read
//	global g; probe begin { print(g) }  # W002: g is read but never assigned
//
// A global written but never read is not a mistake: stap, and etap, display
// it when the run ends. Variables of the tapsets are the library's business,
// and alias variables the handler does not read are dropped on purpose
// (syscall.openat's argstr), so neither warns.
const (
	codeWrittenNotRead = "W001"
	codeReadNotWritten = "W002"
)

// warnVariables reports the variables of the program that are written but
// never read (locals only) or read but never written (globals and locals).
// groups are the local variables, parameters excluded, of each handler
// and function: a handler of several points has a copy of its locals per
// point, and a local warns only when it does in all of them together, so
// that `probe a, a.return { print(retval) }` does not warn for the point
// whose alias sets no retval.
func (r *resolver) warnVariables(groups [][]*Var) {
	for _, v := range r.order {
		if r.quiet(v) {
			continue
		}
		if v.Read && !v.Written && v.Init == nil {
			r.add(diag.Warnf(diag.Semantic, codeReadNotWritten, v.Decl, "variable '%s' is read but never assigned", v.Name))
		}
	}
	for _, locals := range groups {
		var order []string
		read, written, quiet := map[string]bool{}, map[string]bool{}, map[string]bool{}
		at := map[string]diag.Span{}
		for _, v := range locals {
			if _, seen := at[v.Name]; !seen {
				order = append(order, v.Name)
				at[v.Name] = v.Decl
			}
			read[v.Name] = read[v.Name] || v.Read
			written[v.Name] = written[v.Name] || v.Written
			quiet[v.Name] = quiet[v.Name] || r.quiet(v) || r.foreachKeys[v]
		}
		for _, name := range order {
			switch {
			case quiet[name]:
			case written[name] && !read[name]:
				r.add(diag.Warnf(diag.Semantic, codeWrittenNotRead, at[name], "variable '%s' is written but never read", name))
			case read[name] && !written[name]:
				d := diag.Warnf(diag.Semantic, codeReadNotWritten, at[name], "variable '%s' is read but never assigned", name)
				if near := r.nearVariable(name, written); near != "" {
					d.WithHint("did you mean '%s'?", near)
				}
				r.add(d)
			}
		}
	}
}

// nearVariable is the assigned local or global whose name is closest to
// name, for a misspelt variable: `count = 1; print(cuont)`.
func (r *resolver) nearVariable(name string, written map[string]bool) string {
	var names []string
	for n, w := range written {
		if w {
			names = append(names, n)
		}
	}
	for _, v := range r.order {
		if v.Written || v.Init != nil {
			names = append(names, v.Name)
		}
	}
	sort.Strings(names)
	return diag.Closest(name, names)
}

// quiet reports whether v belongs to a tapset or first appears in an alias
// body, where warnings would be about code the user did not write.
func (r *resolver) quiet(v *Var) bool {
	if r.tapsetFiles[v.Decl.Start.File] {
		return true
	}
	for _, a := range r.aliases {
		if a.decl != nil && within(a.decl.Span(), v.Decl) {
			return true
		}
	}
	return false
}

// tapsetNames gives the names of the tapset files.
func tapsetNames(files []*ast.File) map[string]bool {
	names := map[string]bool{syscallFile: true}
	for _, f := range files {
		names[f.Name] = true
	}
	return names
}
