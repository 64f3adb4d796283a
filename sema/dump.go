package sema

import (
	"fmt"
	"io"
	"strings"

	"etap/lang"
)

// Dump prints the resolved program for -p2, in the spirit of stap's pass 2
// listing: globals with their types, the functions probes call, then each
// probe with the point it attaches to, its locals, the context variables
// it reads and its body as it will be compiled: folded, with its aliases'
// statements around it.
func Dump(w io.Writer, p *Program) {
	fmt.Fprintln(w, "# globals")
	for _, g := range p.Globals {
		fmt.Fprintf(w, "%s:%s\n", g.Name, typeText(g))
	}
	fmt.Fprintln(w, "# functions")
	for _, f := range p.Functions {
		params := make([]string, len(f.Params))
		for i, v := range f.Params {
			params[i] = v.Name + ":" + typeText(v)
		}
		fmt.Fprintf(w, "%s:%s (%s)\n", f.Decl.Name, f.Result, strings.Join(params, ", "))
		for _, l := range f.Locals {
			fmt.Fprintf(w, "  %s:%s\n", l.Name, typeText(l))
		}
		dumpCasts(w, p, f.Decl.Body)
		lang.PrintBlock(w, f.Decl.Body)
	}
	fmt.Fprintln(w, "# probes")
	for _, pr := range p.Probes {
		where := "user"
		if pr.Point.Kernel {
			where = "kernel"
		}
		fmt.Fprintf(w, "%s /* %s, %s */\n", pr.Point.Text, pointKindText(pr.Point.Kind), where)
		for _, l := range pr.Locals {
			fmt.Fprintf(w, "  %s:%s\n", l.Name, typeText(l))
		}
		dumpTargets(w, pr.Point)
		dumpCasts(w, p, pr.Decl.Body)
		lang.PrintBlock(w, pr.Decl.Body)
	}
}

func typeText(v *Var) string {
	if !v.IsArray {
		return v.Type.String()
	}
	keys := make([]string, len(v.Keys))
	for i, k := range v.Keys {
		keys[i] = k.String()
	}
	return fmt.Sprintf("%s [%s]", v.Type, strings.Join(keys, ", "))
}

func pointKindText(k PointKind) string {
	switch k {
	case PointBegin:
		return "begin"
	case PointEnd:
		return "end"
	case PointError:
		return "error"
	case PointNever:
		return "never"
	case PointTimer:
		return "timer"
	case PointTracepoint:
		return "tracepoint"
	case PointKprobe:
		return "kprobe"
	case PointKretprobe:
		return "kretprobe"
	case PointUprobe:
		return "uprobe"
	case PointUretprobe:
		return "uretprobe"
	case PointRawTracepoint:
		return "raw tracepoint"
	case PointPerf:
		return "perf"
	}
	return "?"
}
