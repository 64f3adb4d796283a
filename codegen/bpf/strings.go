package bpf

import (
	"slices"

	"github.com/cilium/ebpf/asm"

	"etap/diag"
	"etap/lang/ast"
	"etap/maps"
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
		asm.StoreImm(regScratch, int16(dst+g.c.opts.Params.Longest()), 0, asm.Byte),
	)
	g.scratchPtr(asm.R0, dst)
}

// readString copies the string R3 points to into the scratch slot at dst,
// at most size bytes with its NUL; R0 then holds the length plus one.
func (g *gen) readString(dst, size int) {
	g.scratchPtr(asm.R1, dst)
	g.emit(asm.Mov.Imm(asm.R2, int32(size)), asm.FnProbeReadKernelStr.Call())
}

// clampLength adds delta to reg and bounds it to [0, MAXSTRINGLEN-1], the
// longest a string is.
func (g *gen) clampLength(reg asm.Register, delta int32) {
	low, high := g.newLabel("not_negative"), g.newLabel("in_range")
	g.emit(
		asm.Add.Imm(reg, delta),
		asm.JSGE.Imm(reg, 0, low),
		asm.Mov.Imm(reg, 0),
	)
	g.setLabel(low)
	longest := int32(g.c.opts.Params.Longest())
	g.emit(asm.JLE.Imm(reg, longest, high), asm.Mov.Imm(reg, longest))
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

// copyMessage says whether a string copy takes a message to give instead
// of raising the fault.
type copyMessage int

const (
	optionalMessage copyMessage = iota
	requiredMessage
)

// stringCopy is user_string(addr[, err_msg]), kernel_string and their
// variants: the NUL-terminated string at addr, at most n bytes of it with
// withN (the n argument follows addr). A fault raises stap's runtime
// error, or gives err_msg when there is one; a syscall argument can be a
// page not yet mapped, and a tapset must not end the run for that. The
// helper writes straight into a record or key slot (into), and a message
// that cannot change anything is made only on a fault: the common
// printf("%s", user_string($filename, "<fault>")) costs one helper call.
func stringCopy(name, space string, fn asm.BuiltinFunc, withN bool, msg copyMessage) *builtin {
	fixed := []sema.Type{sema.Long}
	if withN {
		fixed = append(fixed, sema.Long)
	}
	// sema reports a call with another number of arguments.
	argTypes := func(call *ast.CallExpr) ([]sema.Type, *diag.Diagnostic) {
		if msg == requiredMessage || msg == optionalMessage && len(call.Args) > len(fixed) {
			return append(slices.Clone(fixed), sema.String), nil
		}
		return fixed, nil
	}
	into := func(g *gen, call *ast.CallExpr, off, size int, padded bool) {
		withMessage := len(call.Args) > len(fixed)
		lazy := withMessage && !hasSideEffects(call.Args[len(fixed)])
		evaluated := call.Args
		if lazy {
			evaluated = call.Args[:len(fixed)]
		}
		args := g.stackArgs(evaluated)
		defer g.popArgs(args)
		g.readInto(off, size, padded, args, withN, fn)
		copied := g.newLabel("string_copied")
		g.emit(asm.JSGE.Imm(asm.R0, 0, copied))
		switch {
		case lazy:
			g.stringInto(call.Args[len(fixed)], off, size, padded)
		case withMessage:
			g.emit(asm.LoadMem(asm.R2, asm.R10, int16(args[len(fixed)]), asm.DWord))
			g.copyStringN(regScratch, off, asm.R2, size)
		default:
			g.raise(g.errorSite(space+" string copy fault", "identifier '"+name+"'", call.Span().Start))
		}
		g.setLabel(copied)
	}
	b := &builtin{
		Builtin: sema.Builtin{Name: name, Result: sema.String, ArgTypes: argTypes},
		emit: func(g *gen, call *ast.CallExpr) {
			n := g.c.opts.Params.StringLen
			slot := g.allocScratch(n)
			into(g, call, slot, n, true)
			g.scratchPtr(asm.R0, slot)
		},
		into: into,
	}
	if withN {
		b.maxLen = copyNLen
	}
	return b
}

// copyNLen bounds user_string_n(addr, n[, err_msg]) and its kin by a
// literal n, and by the message's bound where there is one: a key of
// user_string_n($filename, 16) is 24 bytes wide, not MAXSTRINGLEN.
func copyNLen(c *compiler, call *ast.CallExpr) int {
	n, ok := call.Args[1].(*ast.IntLit)
	if !ok {
		return -1
	}
	most := int(min(max(n.Value, 0), int64(c.opts.Params.Longest())))
	if len(call.Args) > 2 {
		msg := c.maxLen(call.Args[2])
		if msg < 0 {
			return -1
		}
		most = max(most, msg)
	}
	return most
}

// quotedCopy is user_string_quoted(addr) and its kin: the string at addr
// quoted and escaped as string_quoted does, or the address as %p gives it
// when it cannot be read.
func quotedCopy(name string, fn asm.BuiltinFunc, withN bool) *builtin {
	params := []sema.Type{sema.Long}
	if withN {
		params = append(params, sema.Long)
	}
	return &builtin{
		Builtin: sema.Builtin{Name: name, Params: params, Result: sema.String},
		emit: func(g *gen, call *ast.CallExpr) {
			args := g.stackArgs(call.Args)
			defer g.popArgs(args)
			slot := g.copyIn(args, withN, fn)
			fault, end := g.newLabel("quote_fault"), g.newLabel("quote_end")
			g.emit(asm.JSLT.Imm(asm.R0, 0, fault))
			g.scratchPtr(asm.R0, slot)
			g.textStr(true, call)
			g.emit(asm.Ja.Label(end))
			g.setLabel(fault)
			addr := g.word()
			g.emit(asm.LoadMem(asm.R0, asm.R10, int16(args[0]), asm.DWord))
			g.storeWord(addr, asm.R0)
			g.format([]maps.Directive{{Verb: 'p', Width: -1, Prec: -1}}, []fmtArg{{off: addr}})
			g.setLabel(end)
		},
	}
}

// stackArgs evaluates args in order into stack slots.
func (g *gen) stackArgs(args []ast.Expr) []int {
	slots := make([]int, len(args))
	for i, a := range args {
		g.expr(a)
		slots[i] = g.pushStack()
		g.emit(asm.StoreMem(asm.R10, int16(slots[i]), asm.R0, asm.DWord))
	}
	return slots
}

// popArgs releases the slots of stackArgs.
func (g *gen) popArgs(slots []int) {
	for range slots {
		g.popStack()
	}
}

// copyIn copies the string at the address in stack slot args[0] into a
// fresh zeroed slot with fn (see readInto). It returns the slot's offset
// and leaves the helper's result in R0.
func (g *gen) copyIn(args []int, withN bool, fn asm.BuiltinFunc) int {
	n := g.c.opts.Params.StringLen
	slot := g.allocScratch(n)
	g.readInto(slot, n, true, args, withN, fn)
	return slot
}

// readInto copies the string at the address in stack slot args[0] with
// fn into the size-byte slot at scratch offset off, zeroed first when
// padded is set (the helper stops at the NUL, and a reader of a record
// does too): at most MAXSTRINGLEN-1 bytes and the NUL, or as many as the
// stack slot args[1] says when withN, and never more than the slot holds.
// The helper's result is left in R0; on a fault the helper has zeroed
// the slot.
func (g *gen) readInto(off, size int, padded bool, args []int, withN bool, fn asm.BuiltinFunc) {
	limit := int32(min(g.c.opts.Params.Longest()+1, size))
	if padded {
		g.zeroScratch(off, size)
	}
	if withN {
		// n bytes and the NUL, as stap's clamp of n+1 to [1, MAXSTRINGLEN].
		g.emit(asm.LoadMem(asm.R2, asm.R10, int16(args[1]), asm.DWord), asm.Add.Imm(asm.R2, 1))
		low := g.newLabel("size_positive")
		g.emit(asm.JSGE.Imm(asm.R2, 1, low), asm.Mov.Imm(asm.R2, 1))
		g.setLabel(low)
		g.clampReg(asm.R2, limit)
	} else {
		g.emit(asm.Mov.Imm(asm.R2, limit))
	}
	g.emit(asm.LoadMem(asm.R3, asm.R10, int16(args[0]), asm.DWord))
	g.scratchPtr(asm.R1, off)
	g.emit(fn.Call())
}
