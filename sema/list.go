package sema

import (
	"etap/diag"
	"etap/lang/ast"
)

// ResolvePoint resolves one probe point, aliases and wildcards included,
// to what it attaches to, for -l and -L: each Point's Text is the line
// stap -l prints, such as process("/usr/bin/bash").function("read_builtin"),
// and its Fields are the context variables -L adds.
func ResolvePoint(pp *ast.ProbePoint, opts Options) ([]*Point, *diag.List) {
	r := newResolver(opts)
	var points []*Point
	for _, u := range r.expand(pp, 0) {
		points = append(points, u.points...)
	}
	return points, r.diags
}
