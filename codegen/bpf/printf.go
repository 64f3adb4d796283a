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
		Builtin: sema.Builtin{Name: "printf", Variadic: true, Result: sema.Void, ArgTypes: printfArgTypes},
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
			ArgTypes: func(call *ast.CallExpr) ([]sema.Type, *diag.Diagnostic) {
				return make([]sema.Type, len(call.Args)), nil
			},
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

// printfArgTypes checks printf's format and gives the types its arguments
// must have.
func printfArgTypes(call *ast.CallExpr) ([]sema.Type, *diag.Diagnostic) {
	if len(call.Args) == 0 {
		return nil, diag.Errorf(diag.Semantic, "S050", call.Span(), "printf needs a format string")
	}
	lit, ok := call.Args[0].(*ast.StringLit)
	if !ok {
		return nil, diag.Errorf(diag.Semantic, "S051", call.Args[0].Span(), "the format of printf must be a literal string")
	}
	dirs, err := maps.ParseFormat(lit.Value)
	if err != nil {
		d := diag.Errorf(diag.Semantic, "S052", lit.Span(), "bad printf format: %v", err)
		var fe *maps.FormatError
		if errors.As(err, &fe) {
			d.WithHint("the conversions are %%d %%i %%u %%x %%X %%o %%c %%s %%p %%b %%m %%M and %%%%")
		}
		return nil, d
	}
	types := []sema.Type{sema.String}
	for _, d := range dirs {
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
			"format %q wants %d arguments, but printf has %d", lit.Value, len(types)-1, len(call.Args)-1)
	}
	return types, nil
}

// print builds a print record in scratch and sends it. The reader is not
// woken for each record: it drains the buffer on a short timer.
func (g *gen) print(format string, args []ast.Expr) {
	types := make([]maps.Type, len(args))
	sizes := make([]int, len(args))
	for i, a := range args {
		types[i] = g.typeOf(a).ABI()
		sizes[i] = maps.LongSize
		if types[i] == maps.String {
			sizes[i] = g.stringSize(a)
		}
	}
	g.c.abi.Prints = append(g.c.abi.Prints, maps.PrintSite{Format: format, Args: types, Sizes: sizes})
	id := len(g.c.abi.Prints) - 1

	size := maps.HeaderSize + maps.TupleSize(sizes)
	rec := g.allocScratch(size)
	for i, off := range maps.TupleOffsets(sizes) {
		if types[i] == maps.String {
			g.stringInto(args[i], rec+maps.HeaderSize+off, sizes[i], false)
			continue
		}
		g.expr(args[i])
		g.emit(asm.StoreMem(regScratch, int16(rec+maps.HeaderSize+off), asm.R0, asm.DWord))
	}
	g.emit(
		asm.StoreImm(regScratch, int16(rec), int64(maps.KindPrint), asm.Word),
		asm.StoreImm(regScratch, int16(rec+4), int64(id), asm.Word),
	)
	g.output(rec, size, rbNoWakeup)
}
