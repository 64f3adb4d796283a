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
			g.print(g.naturalFormat(call.Args, "", suffix), call.Args)
		},
	}
}

// printdBuiltin is printd or printdln: the values after the delimiter,
// each in its natural format, separated by it, then suffix. As in stap,
// the delimiter is a literal, so it joins the interned format.
func printdBuiltin(name, suffix string) *builtin {
	return &builtin{
		Builtin: sema.Builtin{
			Name: name, Variadic: true, Result: sema.Void,
			ArgTypes: func(call *ast.CallExpr) ([]sema.Type, *diag.Diagnostic) {
				if len(call.Args) < 2 {
					return nil, diag.Errorf(diag.Semantic, "S095", call.Span(), "%s needs a delimiter and at least one value", name)
				}
				if _, ok := call.Args[0].(*ast.StringLit); !ok {
					return nil, diag.Errorf(diag.Semantic, "S095", call.Args[0].Span(), "the delimiter of %s must be a literal string", name)
				}
				types := make([]sema.Type, len(call.Args))
				types[0] = sema.String
				return types, nil
			},
		},
		emit: func(g *gen, call *ast.CallExpr) {
			delim := call.Args[0].(*ast.StringLit).Value
			g.print(g.naturalFormat(call.Args[1:], delim, suffix), call.Args[1:])
		},
	}
}

// logBuiltin is log(msg): the message and a newline, on standard output
// with everything else the script prints.
func logBuiltin() *builtin {
	return &builtin{
		Builtin: sema.Builtin{Name: "log", Params: []sema.Type{sema.String}, Result: sema.Void},
		emit:    func(g *gen, call *ast.CallExpr) { g.print("%s\n", call.Args) },
	}
}

// naturalFormat is the format that shows args each in its natural
// format, as print and sprint do, separated by delim and followed by
// suffix, both text taken as it is.
func (g *gen) naturalFormat(args []ast.Expr, delim, suffix string) string {
	text := func(s string) string { return strings.ReplaceAll(s, "%", "%%") }
	var format strings.Builder
	for i, a := range args {
		if i > 0 {
			format.WriteString(text(delim))
		}
		if g.typeOf(a) == sema.String {
			format.WriteString("%s")
		} else {
			format.WriteString("%d")
		}
	}
	format.WriteString(text(suffix))
	return format.String()
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
	format, args = g.expandVars(format, args)
	types := make([]maps.Type, len(args))
	sizes := make([]int, len(args))
	var convs []maps.Conv
	for i, a := range args {
		types[i] = g.typeOf(a).ABI()
		if _, later := g.laterArg(a); later != nil {
			if convs == nil {
				convs = make([]maps.Conv, len(args))
			}
			types[i], convs[i] = later.typ, later.conv
		}
		sizes[i] = g.c.opts.Params.SizeOf(types[i])
		if types[i] == maps.String {
			sizes[i] = g.stringSize(a)
		}
	}
	g.printWith(format, types, sizes, convs, func(i, dst int) ast.Expr {
		if call, later := g.laterArg(args[i]); later != nil {
			g.recordLater(call, later, dst)
			return nil
		}
		if types[i] == maps.String {
			g.stringInto(args[i], dst, sizes[i], false)
			return nil
		}
		g.expr(args[i])
		return args[i]
	})
}

// printWith sends a print record of values of the given types, shown with
// convs where set, in slots of the given sizes (nil: full slots; a %m or
// %M argument's is always full). arg emits each into R0 and returns the
// expression it comes from (for messages), or writes it at scratch offset
// dst itself, in its slot, and returns nil.
func (g *gen) printWith(format string, types []maps.Type, sizes []int, convs []maps.Conv, arg func(i, dst int) ast.Expr) {
	p := g.c.opts.Params
	if sizes == nil {
		sizes = p.Sizes(types)
	}
	mem := memoryArgs(format)
	for i := range mem {
		types[i], sizes[i] = maps.Memory, p.SizeOf(maps.Memory)
	}
	g.c.abi.Prints = append(g.c.abi.Prints, maps.PrintSite{Format: format, Args: types, Sizes: sizes, Convs: convs})
	id := len(g.c.abi.Prints) - 1

	size := maps.HeaderSize + maps.TupleSize(sizes)
	rec := g.allocScratch(size)
	offs := maps.TupleOffsets(sizes)
	for i, off := range offs {
		e := arg(i, rec+maps.HeaderSize+off)
		if e == nil {
			continue
		}
		if d, ok := mem[i]; ok {
			prec := -1
			if d.PrecStar {
				prec = rec + maps.HeaderSize + offs[i-1]
			}
			g.memoryArg(rec+maps.HeaderSize+off, d, prec, e)
			continue
		}
		if types[i] == maps.String {
			g.copyStringN(regScratch, rec+maps.HeaderSize+off, asm.R0, sizes[i])
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

// memoryArgs maps the index of each argument that a %m or %M shows to
// its directive.
func memoryArgs(format string) map[int]maps.Directive {
	dirs, _ := maps.ParseFormat(format)
	mem := map[int]maps.Directive{}
	n := 0
	for _, d := range dirs {
		n += len(d.ArgTypes())
		if d.Verb == 'm' || d.Verb == 'M' {
			mem[n-1] = d
		}
	}
	return mem
}

// memoryArg copies the bytes %m or %M shows from the address in R0 to
// scratch offset dst: as many as the precision, 1 by default, at most
// MAXSTRINGLEN; a `.*` precision is the long at scratch offset prec. The
// address is the kernel's, or with `#` the probed process's; a read that
// faults is stap's runtime error.
func (g *gen) memoryArg(dst int, d maps.Directive, prec int, arg ast.Expr) {
	n := g.c.opts.Params.StringLen
	g.emit(asm.Mov.Reg(asm.R3, asm.R0))
	if prec >= 0 {
		small, big := g.newLabel("mem_small"), g.newLabel("mem_sized")
		g.emit(
			asm.LoadMem(asm.R2, regScratch, int16(prec), asm.DWord),
			asm.JSGE.Imm(asm.R2, 1, small),
			asm.Mov.Imm(asm.R2, 1),
		)
		g.setLabel(small)
		g.emit(asm.JSLE.Imm(asm.R2, int32(n), big), asm.Mov.Imm(asm.R2, int32(n)))
		g.setLabel(big)
	} else {
		g.emit(asm.Mov.Imm(asm.R2, int32(min(max(d.Prec, 1), n))))
	}
	g.scratchPtr(asm.R1, dst)
	fn, space := asm.FnProbeReadKernel, "kernel"
	if d.Hash {
		fn, space = asm.FnProbeReadUser, "user"
	}
	ok := g.newLabel("mem_read")
	g.emit(fn.Call(), asm.JEq.Imm(asm.R0, 0, ok))
	g.raise(g.errorSite(space+" read fault", "%"+string(d.Verb), arg.Span().Start))
	g.setLabel(ok)
}
