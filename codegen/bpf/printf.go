package bpf

import (
	"errors"
	"strings"

	"github.com/cilium/ebpf/asm"

	"etap/diag"
	"etap/lang/ast"
	"etap/maps"
	"etap/sema"
)

// printfBuiltin is printf(fmt, args...): the arguments travel in a ring
// buffer record; user space formats them with the interned format.
func printfBuiltin() *builtin {
	return &builtin{
		Builtin: sema.Builtin{Name: "printf", Variadic: true, Result: sema.Void, ArgTypes: formatArgTypes("printf")},
		emit: func(g *gen, call *ast.CallExpr) {
			format := call.Args[0].(*ast.StringLit).Value
			g.print(format, call.Args[1:])
		},
	}
}

// printBuiltin is print or println: each argument in its natural format,
// one after the other, then suffix.
func printBuiltin(name, suffix string) *builtin {
	return &builtin{
		Builtin: sema.Builtin{
			Name: name, Variadic: true, Result: sema.Void,
			ArgTypes: anyArgs,
		},
		emit: func(g *gen, call *ast.CallExpr) {
			if h, ok := histArg(call); ok {
				g.histPrint(h)
				if suffix != "" {
					g.print(suffix, nil)
				}
				return
			}
			var format strings.Builder
			for _, a := range call.Args {
				if g.typeOf(a) == sema.String {
					format.WriteString("%s")
				} else {
					format.WriteString("%d")
				}
			}
			format.WriteString(suffix)
			g.print(format.String(), call.Args)
		},
	}
}

// formatArgTypes checks the format of printf or sprintf (name) and gives
// the types its arguments must have.
func formatArgTypes(name string) func(call *ast.CallExpr) ([]sema.Type, *diag.Diagnostic) {
	return func(call *ast.CallExpr) ([]sema.Type, *diag.Diagnostic) {
		if len(call.Args) == 0 {
			return nil, diag.Errorf(diag.Semantic, "S050", call.Span(), "%s needs a format string", name)
		}
		lit, ok := call.Args[0].(*ast.StringLit)
		if !ok {
			return nil, diag.Errorf(diag.Semantic, "S051", call.Args[0].Span(), "the format of %s must be a literal string", name)
		}
		dirs, err := maps.ParseFormat(lit.Value)
		if err != nil {
			d := diag.Errorf(diag.Semantic, "S052", lit.Span(), "bad %s format: %v", name, err)
			var fe *maps.FormatError
			if errors.As(err, &fe) {
				d.WithHint("the conversions are %%d %%i %%u %%x %%X %%o %%c %%s %%p %%b %%m %%M and %%%%")
			}
			return nil, d
		}
		types := []sema.Type{sema.String}
		for _, d := range dirs {
			if name == "sprintf" && (d.Verb == 'm' || d.Verb == 'M') {
				return nil, diag.Errorf(diag.Semantic, "S054", lit.Span(), "sprintf cannot format %%%c: it shows memory only in printf", d.Verb).
					WithHint("print the memory with printf, or format the address with %%p")
			}
			for _, t := range d.ArgTypes() {
				if t == maps.String {
					types = append(types, sema.String)
				} else {
					types = append(types, sema.Long)
				}
			}
		}
		if len(types) != len(call.Args) {
			return nil, diag.Errorf(diag.Semantic, "S053", call.Span(),
				"format %q wants %d arguments, but %s has %d", lit.Value, len(types)-1, name, len(call.Args)-1)
		}
		return types, nil
	}
}

// print builds a print record in scratch and sends it. The reader is not
// woken for each record: it drains the buffer on a short timer.
func (g *gen) print(format string, args []ast.Expr) {
	types := make([]maps.Type, len(args))
	for i, a := range args {
		types[i] = g.typeOf(a).ABI()
	}
	g.c.abi.Prints = append(g.c.abi.Prints, maps.PrintSite{Format: format, Args: types})
	id := len(g.c.abi.Prints) - 1

	p := g.c.opts.Params
	size := maps.HeaderSize + p.TupleSize(types)
	rec := g.allocScratch(size)
	for i, off := range p.TupleOffsets(types) {
		g.expr(args[i])
		if types[i] == maps.String {
			g.copyString(regScratch, rec+maps.HeaderSize+off, asm.R0)
			continue
		}
		g.emit(asm.StoreMem(regScratch, int16(rec+maps.HeaderSize+off), asm.R0, asm.DWord))
	}
	g.emit(
		asm.StoreImm(regScratch, int16(rec), int64(maps.KindPrint), asm.Word),
		asm.StoreImm(regScratch, int16(rec+4), int64(id), asm.Word),
	)
	g.output(rec, size, rbNoWakeup)
}
