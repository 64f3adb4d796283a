package bpf

import (
	"github.com/cilium/ebpf/asm"

	"etap/diag"
	"etap/lang/ast"
	"etap/maps"
	"etap/sema"
)

// User-space symbols. The kernel cannot read a program's symbol table, so
// these builtins make symbolic strings (see maps.Symbolic): the pid and
// the raw addresses, which the printer names when it prints them.
//
//	printf("%s\n", usymname(uaddr()))    print_ubacktrace()
//	bt = ubacktrace()                    printf("%s\n", usymdata(addr))

// userStackFlag is BPF_F_USER_STACK: bpf_get_stack walks the user stack.
const userStackFlag = 1 << 8

func usymBuiltins() []*builtin {
	return []*builtin{
		{Builtin: sema.Builtin{Name: "uaddr", Result: sema.Long}, emit: emitUaddr},
		symbolName("usymname", maps.SymbolName),
		symbolName("usymdata", maps.SymbolData),
		{Builtin: sema.Builtin{Name: "ubacktrace", Result: sema.String}, emit: func(g *gen, call *ast.CallExpr) {
			g.userBacktrace(call, maps.SymbolAddresses)
		}},
		{Builtin: sema.Builtin{Name: "sprint_ubacktrace", Result: sema.String}, emit: func(g *gen, call *ast.CallExpr) {
			g.userBacktrace(call, maps.SymbolLines)
		}},
		{Builtin: sema.Builtin{Name: "print_ubacktrace", Result: sema.Void}, emit: func(g *gen, call *ast.CallExpr) {
			g.printWith("%s", []maps.Type{maps.String}, nil, nil, func(int, int) ast.Expr { g.userBacktrace(call, maps.SymbolLines); return call })
		}},
	}
}

// kernelOnly reports a call in a probe that runs in user space, where
// there is no user stack of a probed process to read. In a kernel probe it
// marks the handler as reading the registers, which the stack helpers
// take as their context.
func (g *gen) kernelOnly(call *ast.CallExpr) bool {
	if g.probe.Point.Kernel {
		g.usesRegs = true
		return true
	}
	g.c.diags.Add(diag.Errorf(diag.Codegen, "C011", call.Span(),
		"%s() reads the probed process's user stack, which %s does not have", call.Name, g.probe.Point.Text).
		WithHint("call it in a kernel probe such as process(\"/path\").function(\"f\")"))
	g.emit(asm.Mov.Imm(asm.R0, 0))
	return false
}

// emitUaddr is uaddr(): the user-space address the current task was at,
// the first frame of its user stack; 0 when there is none (a kernel
// thread).
func emitUaddr(g *gen, call *ast.CallExpr) {
	if !g.kernelOnly(call) {
		return
	}
	slot := g.pushStack()
	defer g.popStack()
	done := g.newLabel("uaddr")
	g.emit(
		storeDW(asm.R10, int16(slot), 0),
		asm.Mov.Reg(asm.R1, regCtx),
		asm.Mov.Reg(asm.R2, asm.R10),
		asm.Add.Imm(asm.R2, int32(slot)),
		asm.Mov.Imm(asm.R3, 8),
		asm.Mov.Imm(asm.R4, userStackFlag),
		asm.FnGetStack.Call(),
		asm.Mov.Reg(asm.R1, asm.R0),
		asm.Mov.Imm(asm.R0, 0),
		asm.JSLT.Imm(asm.R1, 8, done),
		asm.LoadMem(asm.R0, asm.R10, int16(slot), asm.DWord),
	)
	g.setLabel(done)
}

// symbolName is usymname(addr) or usymdata(addr).
func symbolName(name string, kind byte) *builtin {
	return &builtin{
		Builtin: sema.Builtin{Name: name, Params: []sema.Type{sema.Long}, Result: sema.String},
		emit: func(g *gen, call *ast.CallExpr) {
			g.expr(call.Args[0])
			addr := g.pushStack()
			defer g.popStack()
			g.emit(asm.StoreMem(asm.R10, int16(addr), asm.R0, asm.DWord))
			str, ok := g.symbolicString(call, kind, 1)
			if !ok {
				return
			}
			g.emit(asm.LoadMem(asm.R0, asm.R10, int16(addr), asm.DWord))
			g.digits(str+maps.SymbolicOverhead-1, maps.AddrDigits)
			g.emit(asm.StoreImm(regScratch, int16(str+maps.SymbolicOverhead-1+maps.AddrDigits), maps.SymbolicEscape, asm.Byte))
			g.scratchPtr(asm.R0, str)
		},
	}
}

// symbolicString starts a symbolic string of kind in a fresh string slot:
// escape, kind and the current pid; addresses go from offset
// SymbolicOverhead-1 of the slot. It reports a MAXSTRINGLEN too small for
// min addresses.
func (g *gen) symbolicString(call *ast.CallExpr, kind byte, min int) (int, bool) {
	n := g.c.opts.Params.StringLen
	if g.c.opts.Params.Longest() < maps.SymbolicOverhead+min*maps.AddrDigits {
		g.c.diags.Add(diag.Errorf(diag.Codegen, "C012", call.Span(),
			"%s() needs strings of %d bytes, more than MAXSTRINGLEN", call.Name, maps.SymbolicOverhead+min*maps.AddrDigits+1))
		g.emit(asm.Mov.Imm(asm.R0, 0))
		return 0, false
	}
	g.c.abi.UserSymbols = true
	str := g.allocScratch(n)
	g.zeroScratch(str, n)
	g.emit(
		asm.StoreImm(regScratch, int16(str), maps.SymbolicEscape, asm.Byte),
		asm.StoreImm(regScratch, int16(str+1), int64(kind), asm.Byte),
		asm.FnGetCurrentPidTgid.Call(),
		asm.RSh.Imm(asm.R0, 32),
	)
	g.digits(str+2, maps.PidDigits)
	return str, true
}

// digits writes R0 at scratch offset off in n 7-bit digits, least
// significant first, each with its high bit set.
func (g *gen) digits(off, n int) {
	for i := range n {
		g.emit(
			asm.Mov.Reg(asm.R1, asm.R0),
			asm.RSh.Imm(asm.R1, int32(7*i)),
			asm.And.Imm(asm.R1, 0x7f),
			asm.Or.Imm(asm.R1, 0x80),
			asm.StoreMem(regScratch, int16(off+i), asm.R1, asm.Byte),
		)
	}
}

// userBacktrace makes a symbolic string of kind with the user stack's
// addresses, as many as the string holds, and leaves its address in R0.
func (g *gen) userBacktrace(call *ast.CallExpr, kind byte) {
	if !g.kernelOnly(call) {
		return
	}
	str, ok := g.symbolicString(call, kind, 1)
	if !ok {
		return
	}
	frames := (g.c.opts.Params.Longest() - maps.SymbolicOverhead) / maps.AddrDigits
	buf := g.allocScratch(8 * frames)
	got := g.pushStack()
	defer g.popStack()
	g.emit(asm.Mov.Reg(asm.R1, regCtx))
	g.scratchPtr(asm.R2, buf)
	g.emit(
		asm.Mov.Imm(asm.R3, int32(8*frames)),
		asm.Mov.Imm(asm.R4, userStackFlag),
		asm.FnGetStack.Call(),
		asm.StoreMem(asm.R10, int16(got), asm.R0, asm.DWord),
	)
	// Each frame ends the string with an escape that the next overwrites.
	end := g.newLabel("ustack")
	at := str + maps.SymbolicOverhead - 1
	g.emit(asm.StoreImm(regScratch, int16(at), maps.SymbolicEscape, asm.Byte))
	for i := range frames {
		g.emit(
			asm.LoadMem(asm.R0, asm.R10, int16(got), asm.DWord),
			asm.JSLE.Imm(asm.R0, int32(8*i), end),
			asm.LoadMem(asm.R0, regScratch, int16(buf+8*i), asm.DWord),
		)
		g.digits(at, maps.AddrDigits)
		at += maps.AddrDigits
		g.emit(asm.StoreImm(regScratch, int16(at), maps.SymbolicEscape, asm.Byte))
	}
	g.setLabel(end)
	g.scratchPtr(asm.R0, str)
}
