package sema

import (
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
// locals are the probes' and functions' local variables, parameters
// excluded.
func (r *resolver) warnVariables(locals []*Var) {
	for _, v := range r.order {
		if r.quiet(v) {
			continue
		}
		if v.Read && !v.Written && v.Init == nil {
			r.add(diag.Warnf(diag.Semantic, codeReadNotWritten, v.Decl, "variable '%s' is read but never assigned", v.Name))
		}
	}
	for _, v := range locals {
		if r.quiet(v) || r.foreachKeys[v] {
			continue
		}
		switch {
		case v.Written && !v.Read:
			r.add(diag.Warnf(diag.Semantic, codeWrittenNotRead, v.Decl, "variable '%s' is written but never read", v.Name))
		case v.Read && !v.Written:
			r.add(diag.Warnf(diag.Semantic, codeReadNotWritten, v.Decl, "variable '%s' is read but never assigned", v.Name))
		}
	}
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
