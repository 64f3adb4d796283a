package sema

import (
	"strings"

	"etap/lang/ast"
)

// $$vars, $$parms, $$locals and $$return are strings of the context
// variables: "prev_comm=\"bash\" prev_pid=0x1c2 ...". A suffix $ prints
// them pretty: numbers in decimal, character pointers as the strings they
// point to; so does $name$ for one variable.
//
//	probe kernel.trace("sched:sched_switch") { printf("%s\n", $$vars) }
//
// etap builds such a string only where it is printed: the handler records
// each variable and printf formats them with a format made here (Target's
// Format and Parts), so no string is formatted in the kernel. Any other
// use is a compile error until the kernel side has sprintf.

// varsStrings are the context strings by their name without the first $.
var varsStrings = map[string]bool{"$vars": true, "$parms": true, "$locals": true, "$return": true}

// IsVarsString reports whether e is a context string, $$vars, $$parms,
// $$locals or $$return with or without a pretty-printing suffix, or one
// variable with one ($name$), and returns the variable that names it.
func IsVarsString(e ast.Expr) (*ast.TargetVar, bool) {
	if x, ok := e.(*ast.TargetExpr); ok && !x.AddrOf && len(x.Path) == 0 && x.Pretty != "" {
		tv, ok := x.X.(*ast.TargetVar)
		return tv, ok && len(tv.Fields) == 0
	}
	tv, ok := e.(*ast.TargetVar)
	return tv, ok && len(tv.Fields) == 0 && varsStrings[tv.Name]
}

// varsString resolves a context string at the handler's point.
func (r *resolver) varsString(e *ast.TargetVar, pretty bool) Type {
	p, ok := r.contextPoint(e)
	if !ok {
		return String
	}
	if p.Targets == nil {
		p.Targets = map[*ast.TargetVar]*Target{}
	}
	if t := p.Targets[e]; t != nil && t.Parts != nil {
		return String // resolved in an earlier pass
	}
	if t := r.varsTarget(p, e, pretty); t != nil {
		p.Targets[e] = t
	}
	return String
}

// varsTarget makes the format and the parts of a context string at p.
// A variable etap cannot read prints as "name=?", as stap prints one it
// cannot find; $name$ of a variable p lacks is an error, and nil.
func (r *resolver) varsTarget(p *Point, e *ast.TargetVar, pretty bool) *Target {
	t := &Target{Type: String, CType: "string", Parts: []*ast.TargetVar{}}
	var names []string
	single := !varsStrings[e.Name]
	switch e.Name {
	case "$return":
		if _, ok := p.Fields["return"]; ok {
			names = []string{"return"}
		}
	case "$vars", "$parms":
		for _, name := range p.Order {
			if name != "return" && !strings.HasPrefix(name, "common_") && !strings.HasPrefix(name, "__") {
				names = append(names, name)
			}
		}
	}
	if single {
		names = []string{e.Name}
	}
	// $$locals: etap knows no locals without debuginfo.
	var pieces []string
	for _, name := range names {
		part := &ast.TargetVar{Base: e.Base, Name: name}
		want := Long
		if pretty {
			want = Unknown
		}
		pt, d := p.target(part, want)
		switch {
		case d != nil && single:
			// Not kept: the next pass reports it.
			r.addReport(d)
			return nil
		case d != nil:
			pieces = append(pieces, name+"=?")
			continue
		}
		p.Targets[part] = pt
		r.prog.Types[part] = pt.Type
		t.Parts = append(t.Parts, part)
		if single {
			pieces = append(pieces, partFormat(pt, pretty))
		} else {
			pieces = append(pieces, name+"="+partFormat(pt, pretty))
		}
	}
	t.Format = strings.Join(pieces, " ")
	return t
}

// partFormat is the printf directive of one variable of a context string:
// stap prints numbers in hex, or in decimal when pretty, and pointers in
// hex; strings quoted.
func partFormat(t *Target, pretty bool) string {
	switch {
	case t.Type == String:
		return `"%s"`
	case !pretty || strings.Contains(t.CType, "*"):
		return "0x%x"
	case signedCType(t):
		return "%d"
	}
	return "%u"
}

// signedCType says whether a number prints signed. A syscall
// tracepoint's format calls every argument unsigned ("int dfd ...
// signed:0") in its 8-byte slot, so the C type decides where it names one.
func signedCType(t *Target) bool {
	if len(t.Reads) > 0 {
		return t.Reads[len(t.Reads)-1].Signed
	}
	c := t.CType
	if strings.Contains(c, "unsigned") || strings.HasPrefix(c, "u") || strings.Contains(c, "size_t") || c == "bool" || c == "_Bool" {
		return false
	}
	return t.Field.Signed || strings.Contains(c, "int") || strings.Contains(c, "long") || strings.Contains(c, "short") || strings.HasPrefix(c, "s")
}
