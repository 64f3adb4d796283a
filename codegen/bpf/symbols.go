package bpf

import (
	"runtime"

	"github.com/cilium/ebpf/asm"

	"etap/diag"
	"etap/lang/ast"
	"etap/maps"
	"etap/sema"
)

// Kernel symbols. A probe records addresses, the instruction pointer or
// a stack; user space looks their symbols up in /proc/kallsyms when it
// prints the record (maps.Conv). So symname(), symdata() and backtrace()
// are strings only in what printf, print and println print:
//
//	printf("%s\n", symname(addr()))    print_backtrace()

// ipOffset is the offset of the instruction pointer in struct pt_regs,
// the uapi layout ptrace also uses, by architecture.
var ipOffset = map[string]int16{"amd64": 16 * 8}

// printedLater says what a print record carries for a builtin whose
// string user space makes, and how it becomes that string.
type printedLater struct {
	typ  maps.Type
	conv maps.Conv
}

// symbolBuiltins are addr(), symname(), symdata(), backtrace() and
// print_backtrace().
func symbolBuiltins() []*builtin {
	symbol := func(name string, conv maps.Conv) *builtin {
		return &builtin{
			Builtin: sema.Builtin{Name: name, Params: []sema.Type{sema.Long}, Result: sema.String},
			later:   &printedLater{maps.Long, conv},
			emit:    onlyPrinted,
		}
	}
	return []*builtin{
		{Builtin: sema.Builtin{Name: "addr", Result: sema.Long}, emit: emitAddr},
		symbol("symname", maps.ConvSymname),
		symbol("symdata", maps.ConvSymdata),
		{
			Builtin: sema.Builtin{Name: "backtrace", Result: sema.String},
			later:   &printedLater{maps.Stack, maps.ConvBacktrace},
			emit:    onlyPrinted,
		},
		{
			Builtin: sema.Builtin{Name: "print_backtrace", Result: sema.Void},
			later:   &printedLater{maps.Stack, maps.ConvPrintBacktrace},
			emit: func(g *gen, call *ast.CallExpr) {
				g.print("%s", []ast.Expr{call})
			},
		},
	}
}

// emitAddr reads the instruction pointer of the probed code from the
// context's registers; a point without registers (a tracepoint, begin)
// gives 0, as stap's addr() does where it has none.
func emitAddr(g *gen, _ *ast.CallExpr) {
	off, ok := ipOffset[runtime.GOARCH]
	if !g.probe.Point.PtRegs || !ok {
		g.emit(asm.Mov.Imm(asm.R0, 0))
		return
	}
	g.usesRegs = true
	g.emit(asm.LoadMem(asm.R0, regCtx, off, asm.DWord))
}

// onlyPrinted reports a symbol builtin used anywhere but as an argument
// of printf, print or println: its string does not exist in the kernel.
func onlyPrinted(g *gen, call *ast.CallExpr) {
	g.c.diags.Add(diag.Errorf(diag.Codegen, "C014", call.Span(),
		"%s() can only be printed in etap: its symbols are looked up as the output is printed", call.Name).
		WithHint("use it as an argument of printf, print or println, as in printf(\"%%s\\n\", %s(...))", call.Name))
	g.emit(asm.Mov.Imm(asm.R0, 0))
}

// laterArg returns how a print argument is recorded when user space makes
// its string, or nil for an argument recorded as it is.
func (g *gen) laterArg(a ast.Expr) (*ast.CallExpr, *printedLater) {
	call, ok := a.(*ast.CallExpr)
	if !ok || g.c.prog.FuncCalls[call] != nil {
		return nil, nil
	}
	b, ok := builtins[call.Name]
	if !ok || b.later == nil {
		return nil, nil
	}
	return call, b.later
}

// recordLater writes what a print record carries for call at scratch
// offset dst: its address argument, or the kernel stack.
func (g *gen) recordLater(call *ast.CallExpr, later *printedLater, dst int) {
	if later.typ == maps.Long {
		g.expr(call.Args[0])
		g.emit(asm.StoreMem(regScratch, int16(dst), asm.R0, asm.DWord))
		return
	}
	size := g.c.opts.Params.SizeOf(maps.Stack)
	g.zeroScratch(dst, size)
	if !g.probe.Point.Kernel {
		return // user space has no kernel stack: an empty one
	}
	g.usesRegs = true
	g.emit(asm.Mov.Reg(asm.R1, regCtx))
	g.scratchPtr(asm.R2, dst)
	g.emit(
		asm.Mov.Imm(asm.R3, int32(size)),
		asm.Mov.Imm(asm.R4, 0),
		asm.FnGetStack.Call(),
	)
}
