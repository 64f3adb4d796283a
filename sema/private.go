package sema

import (
	"path"
	"strings"

	"etap/lang/ast"
)

// Private names. `private global x` and `private function f` belong to
// the file that declares them: code of that file sees them before any
// public name, code of other files never does. So a tapset's private
// global is invisible to the script, and a script global of the same name
// is another variable:
//
//	# tapset a.stp:   private global count; function a_bump() { count++ }
//	# script:         global count; probe begin { a_bump(); count = 5 }
//
// Public globals of the same name in several files are one variable, as
// in stap.

// scoped is the key a name declared in file is kept under: the name
// itself when public, the file and the name when private.
func scoped(file, name string, private bool) string {
	if private {
		return file + "\x00" + name
	}
	return name
}

// global finds the global that name means in file, pulling it from the
// tapsets on first use.
func (r *resolver) global(file, name string) (*Var, bool) {
	r.pullGlobal(file, name)
	if v, ok := r.globals[scoped(file, name, true)]; ok {
		return v, true
	}
	v, ok := r.globals[name]
	return v, ok
}

// functions finds the overloads that a call of name in file means,
// pulling them from the tapsets on first use.
func (r *resolver) functions(file, name string) ([]*Function, bool) {
	r.pullFunction(file, name)
	if fs, ok := r.funcs[scoped(file, name, true)]; ok {
		return fs, true
	}
	fs, ok := r.funcs[name]
	return fs, ok
}

// renamePrivate gives private globals that share their name with another
// global of the program a name of their own, for the maps and the display
// at the end of the run: count in tapsets/a.stp becomes a_count.
func renamePrivate(globals []*Var) {
	count := map[string]int{}
	for _, v := range globals {
		count[v.Name]++
	}
	for _, v := range globals {
		if v.private && count[v.Name] > 1 {
			base := strings.TrimSuffix(path.Base(v.Decl.Start.File), path.Ext(v.Decl.Start.File))
			v.Name = strings.Map(func(c rune) rune {
				if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
					return c
				}
				return '_'
			}, base) + "_" + v.Name
		}
	}
}

// tapsetGlobal is a tapset's global not pulled into the program yet.
type tapsetGlobal struct {
	g       *ast.GlobalVar
	private bool
}
