package bpf

import (
	"github.com/cilium/ebpf/asm"

	"etap/diag"
	"etap/lang/ast"
	"etap/sema"
)

// String slots are StringLen bytes, NUL-terminated and zero-padded after
// the NUL. The operations here keep them so, and need no loops: the kernel
// helper bpf_probe_read_kernel_str copies up to a NUL and says how far it
// went, which the verifier bounds.

var unsignedJumps = map[string]asm.JumpOp{
	"==": asm.JEq, "!=": asm.JNE, "<": asm.JLT, "<=": asm.JLE, ">": asm.JGT, ">=": asm.JGE,
}

// stringCompare compares two strings as strcmp would. Zero padding makes
// the slots compare like big-endian numbers, a word at a time.
func (g *gen) stringCompare(e *ast.BinaryExpr) {
	g.operands(e.X, e.Y)
	decided, yes, end := g.newLabel("str_decided"), g.newLabel("str_true"), g.newLabel("str_end")
	for i := 0; i < g.c.opts.Params.StringLen; i += 8 {
		g.emit(
			asm.LoadMem(asm.R2, asm.R0, int16(i), asm.DWord),
			asm.LoadMem(asm.R3, asm.R1, int16(i), asm.DWord),
			asm.HostTo(asm.BE, asm.R2, asm.DWord),
			asm.HostTo(asm.BE, asm.R3, asm.DWord),
			asm.JNE.Reg(asm.R2, asm.R3, decided),
		)
	}
	// Equal all along: R2 == R3 holds for the comparison below.
	g.setLabel(decided)
	g.emit(
		unsignedJumps[e.Op].Reg(asm.R2, asm.R3, yes),
		asm.Mov.Imm(asm.R0, 0),
		asm.Ja.Label(end),
	)
	g.setLabel(yes)
	g.emit(asm.Mov.Imm(asm.R0, 1))
	g.setLabel(end)
}

// concat joins the strings R0 and R1 point to into a new slot, truncated to
// MAXSTRINGLEN-1 bytes, and leaves its address in R0. The slot has room for
// twice MAXSTRINGLEN, so that the second copy, at whatever offset the first
// ended, stays inside it for the verifier.
func (g *gen) concat() {
	n := g.c.opts.Params.StringLen
	dst := g.allocScratch(2 * n)
	second := g.pushStack()
	defer g.popStack()
	g.emit(
		asm.StoreMem(asm.R10, int16(second), asm.R1, asm.DWord),
		asm.Mov.Reg(asm.R3, asm.R0),
	)
	g.zeroScratch(dst, 2*n)
	g.readString(dst, n)
	// R0 is the first string's length plus its NUL.
	g.clampLength(asm.R0, -1)
	g.scratchPtr(asm.R1, dst)
	g.emit(
		asm.Add.Reg(asm.R1, asm.R0),
		asm.LoadMem(asm.R3, asm.R10, int16(second), asm.DWord),
		asm.Mov.Imm(asm.R2, int32(n)),
		asm.FnProbeReadKernelStr.Call(),
		asm.StoreImm(regScratch, int16(dst+n-1), 0, asm.Byte),
	)
	g.scratchPtr(asm.R0, dst)
}

// readString copies the string R3 points to into the scratch slot at dst,
// at most size bytes with its NUL; R0 then holds the length plus one.
func (g *gen) readString(dst, size int) {
	g.scratchPtr(asm.R1, dst)
	g.emit(asm.Mov.Imm(asm.R2, int32(size)), asm.FnProbeReadKernelStr.Call())
}

// clampLength adds delta to reg and bounds it to [0, MAXSTRINGLEN-1].
func (g *gen) clampLength(reg asm.Register, delta int32) {
	low, high := g.newLabel("not_negative"), g.newLabel("in_range")
	g.emit(
		asm.Add.Imm(reg, delta),
		asm.JSGE.Imm(reg, 0, low),
		asm.Mov.Imm(reg, 0),
	)
	g.setLabel(low)
	g.emit(asm.JLE.Imm(reg, int32(g.c.opts.Params.StringLen-1), high), asm.Mov.Imm(reg, int32(g.c.opts.Params.StringLen-1)))
	g.setLabel(high)
}

// appendAssign emits x .= y.
func (g *gen) appendAssign(e *ast.AssignExpr) {
	switch x := unparen(e.X).(type) {
	case *ast.Ident:
		g.operands(x, e.Y)
		g.concat()
		g.storeVar(g.c.prog.Refs[x])
	case *ast.IndexExpr:
		arr := g.c.prog.Refs[x.Array]
		keyOff := g.arrayKey(x.Array, x.Index)
		g.arrayLoad(arr, keyOff)
		g.secondOperand(sema.String, e.Y)
		g.concat()
		saved := g.pushStack()
		defer g.popStack()
		g.emit(asm.StoreMem(asm.R10, int16(saved), asm.R0, asm.DWord))
		g.update(arr, x, keyOff, func() { g.emit(asm.Mov.Reg(asm.R3, asm.R0)) })
		g.emit(asm.LoadMem(asm.R0, asm.R10, int16(saved), asm.DWord))
	}
}

// emitStrlen is strlen(s).
func emitStrlen(g *gen, call *ast.CallExpr) {
	n := g.c.opts.Params.StringLen
	tmp := g.allocScratch(n)
	g.expr(call.Args[0])
	g.emit(asm.Mov.Reg(asm.R3, asm.R0))
	g.readString(tmp, n)
	g.clampLength(asm.R0, -1)
}

// emitSubstr is substr(s, start, length): length bytes of s from the
// 0-based start, fewer where s ends first.
func emitSubstr(g *gen, call *ast.CallExpr) {
	n := g.c.opts.Params.StringLen
	str, start := g.pushStack(), g.pushStack()
	defer g.popStack()
	defer g.popStack()
	g.expr(call.Args[0])
	g.emit(asm.StoreMem(asm.R10, int16(str), asm.R0, asm.DWord))
	g.expr(call.Args[1])
	g.emit(asm.StoreMem(asm.R10, int16(start), asm.R0, asm.DWord))
	g.expr(call.Args[2])
	dst := g.allocScratch(n)
	g.zeroScratch(dst, n)
	// Copy length bytes and the NUL, from within the slot.
	g.emit(asm.Mov.Reg(asm.R2, asm.R0))
	g.clampLength(asm.R2, 0)
	g.emit(asm.Add.Imm(asm.R2, 1), asm.LoadMem(asm.R3, asm.R10, int16(start), asm.DWord))
	g.clampLength(asm.R3, 0)
	g.emit(asm.LoadMem(asm.R1, asm.R10, int16(str), asm.DWord), asm.Add.Reg(asm.R3, asm.R1))
	g.scratchPtr(asm.R1, dst)
	g.emit(asm.FnProbeReadKernelStr.Call())
	g.scratchPtr(asm.R0, dst)
}

// stringCopy is user_string(addr[, err_msg]) or kernel_string(addr[,
// err_msg]): the NUL-terminated string at addr in a fresh slot. A fault
// raises stap's runtime error, or gives err_msg when there is one; a
// syscall argument can be a page not yet mapped, and a tapset must not end
// the run for that.
func stringCopy(name, space string, fn asm.BuiltinFunc) *builtin {
	into := func(g *gen, call *ast.CallExpr, off, size int, padded bool) {
		withMessage := len(call.Args) == 2
		// A message that cannot change anything is made only on a fault.
		lazy := withMessage && !hasSideEffects(call.Args[1])
		msg := 0
		if withMessage && !lazy {
			msg = g.pushStack()
			defer g.popStack()
			g.operands(call.Args[0], call.Args[1])
			g.emit(asm.StoreMem(asm.R10, int16(msg), asm.R1, asm.DWord))
		} else {
			g.expr(call.Args[0])
		}
		if padded {
			g.zeroScratch(off, size)
		}
		g.emit(asm.Mov.Reg(asm.R3, asm.R0), asm.Mov.Imm(asm.R2, int32(size)))
		g.scratchPtr(asm.R1, off)
		copied := g.newLabel("string_copied")
		g.emit(fn.Call(), asm.JSGE.Imm(asm.R0, 0, copied))
		// A fault leaves the slot zeroed.
		switch {
		case lazy:
			g.stringInto(call.Args[1], off, size, padded)
		case withMessage:
			g.emit(asm.LoadMem(asm.R2, asm.R10, int16(msg), asm.DWord))
			g.copyStringN(regScratch, off, asm.R2, size)
		default:
			g.raise(g.errorSite(space+" string copy fault", name+"()", call.Span().Start))
		}
		g.setLabel(copied)
	}
	return &builtin{
		Builtin: sema.Builtin{Name: name, Result: sema.String, ArgTypes: addressAndMessage},
		emit: func(g *gen, call *ast.CallExpr) {
			n := g.c.opts.Params.StringLen
			slot := g.allocScratch(n)
			into(g, call, slot, n, true)
			g.scratchPtr(asm.R0, slot)
		},
		into: into,
	}
}

// addressAndMessage types the arguments of user_string and kernel_string:
// an address and an optional message for a fault.
func addressAndMessage(call *ast.CallExpr) ([]sema.Type, *diag.Diagnostic) {
	if len(call.Args) <= 1 {
		return []sema.Type{sema.Long}, nil
	}
	return []sema.Type{sema.Long, sema.String}, nil
}
