package bpf

import (
	"slices"
	"strings"

	"github.com/cilium/ebpf/asm"

	"etap/diag"
	"etap/lang/ast"
	"etap/maps"
	"etap/sema"
)

// expandVars rewrites a print whose arguments include context strings
// ($$vars): each one's %s becomes the string's own format and the
// argument its variables, so that printf("%s\n", $$vars) on sched_switch
// prints as printf("prev_comm=\"%s\" prev_pid=0x%x ...\n", $prev_comm,
// $prev_pid, ...). Width and precision on such a %s are dropped.
func (g *gen) expandVars(format string, args []ast.Expr) (string, []ast.Expr) {
	if !slices.ContainsFunc(args, func(a ast.Expr) bool { return g.varsTarget(a) != nil }) {
		return format, args
	}
	dirs, err := maps.ParseFormat(format)
	if err != nil {
		return format, args // sema checked the format; nothing to expand
	}
	var b strings.Builder
	var out []ast.Expr
	next := 0
	for i, d := range dirs {
		end := len(format)
		if i+1 < len(dirs) {
			end = dirs[i+1].Offset
		}
		text := format[d.Offset:end]
		n := len(d.ArgTypes())
		if n == 0 {
			b.WriteString(text)
			continue
		}
		if t := g.varsTarget(args[next+n-1]); t != nil && d.Verb == 's' {
			b.WriteString(t.Format)
			for _, p := range t.Parts {
				out = append(out, p)
			}
		} else {
			b.WriteString(text)
			out = append(out, args[next:next+n]...)
		}
		next += n
	}
	return b.String(), out
}

// varsTarget returns the context string a print argument is, at this
// probe's point, or nil.
func (g *gen) varsTarget(a ast.Expr) *sema.Target {
	tv, ok := sema.IsVarsString(a)
	if !ok {
		return nil
	}
	return g.probe.Point.Targets[tv]
}

// notPrinted reports a context string used other than as a print
// argument: etap builds it only there.
func (g *gen) notPrinted(e ast.Expr) {
	g.c.diags.Add(diag.Errorf(diag.Codegen, "C008", e.Span(),
		"etap builds context strings such as $$vars only where they are printed").
		WithHint("print it directly, as in printf(\"%%s\\n\", $$vars)"))
	g.emit(asm.Mov.Imm(asm.R0, 0))
}
