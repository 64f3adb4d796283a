package sema

import (
	"path"
	"slices"
	"strings"

	"etap/diag"
	"etap/lang/ast"
)

// Listed is one probe point that -l lists, with what -L adds: its
// variables, as stap prints them: an alias's own variables by name
// ("filename:string"), then the context variables of the point under it
// ("$dfd:int").
type Listed struct {
	Text string
	Vars []string
}

// Line is the -L line of l: its text and its variables.
func (l Listed) Line() string {
	return strings.Join(append([]string{l.Text}, l.Vars...), " ")
}

// List resolves a probe point pattern, with wildcards, to the points it
// matches, as -l and -L print them: an alias lists itself (syscall.openat),
// a family the points it resolves to. A pattern that matches nothing gives
// an empty list, as in stap; a malformed one gives diagnostics.
func List(pp *ast.ProbePoint, opts Options) ([]Listed, *diag.List) {
	r := newResolver(opts)
	pp.Optional = true
	var out []Listed
	if aliases := r.matchAliases(pp); len(aliases) > 0 {
		seen := map[string]bool{}
		for _, a := range aliases {
			if seen[a.text()] {
				continue
			}
			seen[a.text()] = true
			out = append(out, Listed{Text: a.text(), Vars: r.aliasVars(a)})
		}
	} else {
		points := r.listPoints(pp)
		for _, p := range points {
			out = append(out, Listed{Text: p.Text, Vars: r.contextVars(p)})
		}
	}
	slices.SortFunc(out, func(a, b Listed) int { return strings.Compare(a.Text, b.Text) })
	out = slices.CompactFunc(out, func(a, b Listed) bool { return a.Text == b.Text })
	r.diags.Sort()
	return out, r.diags
}

// listPoints lists the points of pp's family; an unknown family is an
// error, as in a probe.
func (r *resolver) listPoints(pp *ast.ProbePoint) []*Point {
	if _, ok := r.aliasFamily(pp); ok {
		return nil // syscall.nosuch: an alias family, without this name
	}
	for i := range families {
		if !families[i].matches(pp) {
			continue
		}
		if families[i].list != nil {
			return families[i].list(r, pp)
		}
		return families[i].resolve(r, pp)
	}
	return r.resolvePoint(pp)
}

// aliasVars checks the statements of alias a over its points, as a probe
// on a with an empty body would, and lists the variables they set with
// their types, then the context variables of its first point.
func (r *resolver) aliasVars(a *alias) []string {
	pp := &ast.ProbePoint{Optional: true}
	for _, name := range a.names {
		pp.Components = append(pp.Components, &ast.Component{Name: name})
	}
	uses := r.expand(pp, 0)
	sc := &scope{vars: map[string]*Var{}}
	for range maxInferencePasses {
		r.changed = false
		for _, u := range uses {
			for _, p := range u.points {
				sc.point = p
				r.enterProbe(sc)
				for _, st := range append(append([]ast.Stmt(nil), u.before...), u.after...) {
					r.stmt(st)
				}
			}
		}
		if !r.changed {
			break
		}
	}
	var vars []string
	for _, v := range sc.list {
		if v.Written && !r.foreachKeys[v] {
			vars = append(vars, v.Name+":"+v.Type.String())
		}
	}
	if len(uses) > 0 && len(uses[0].points) > 0 {
		vars = append(vars, r.contextVars(uses[0].points[0])...)
	}
	return vars
}

// contextVars lists the context variables of p in declaration order, with
// their C types as stap spells them: "$prev:struct task_struct*". A
// tracepoint lists the typed arguments its raw tracepoint has, as stap
// does, or else the fields of its record after the common ones and the
// syscall number (__syscall_nr) that stap does not show.
func (r *resolver) contextVars(p *Point) []string {
	fields, order := p.Fields, p.Order
	if p.Kind == PointTracepoint {
		if args, argOrder, err := r.rawTracepointArgs(p.Event); err == nil {
			fields, order = args, argOrder
		}
	}
	var vars []string
	for _, name := range order {
		if strings.HasPrefix(name, "common_") || strings.HasPrefix(name, "__") {
			continue
		}
		ctype := strings.ReplaceAll(fields[name].CType, " *", "*")
		vars = append(vars, "$"+name+":"+ctype)
	}
	return vars
}

// listNames is the list of a family whose points are a fixed set of
// names (perf.sw.cpu_clock, timer.profile): a pattern with wildcards in
// its components lists the names it matches, each resolved; any other
// pattern resolves as a probe would.
func listNames(names func() []string, resolve func(r *resolver, pp *ast.ProbePoint) []*Point) func(r *resolver, pp *ast.ProbePoint) []*Point {
	return func(r *resolver, pp *ast.ProbePoint) []*Point {
		wild := false
		for _, c := range pp.Components {
			wild = wild || strings.ContainsAny(c.Name, "*?[")
		}
		if !wild {
			return resolve(r, pp)
		}
		var points []*Point
		for _, name := range names() {
			parts := strings.Split(name, ".")
			if len(parts) != len(pp.Components) {
				continue
			}
			ok := true
			for i, c := range pp.Components {
				m, _ := path.Match(c.Name, parts[i])
				ok = ok && m && c.Arg == nil
			}
			if !ok {
				continue
			}
			exact := &ast.ProbePoint{Optional: true}
			for _, part := range parts {
				exact.Components = append(exact.Components, &ast.Component{Name: part})
			}
			points = append(points, resolve(r, exact)...)
		}
		return points
	}
}
