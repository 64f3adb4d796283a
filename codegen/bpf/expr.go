package bpf

import (
	"math"

	"github.com/cilium/ebpf/asm"

	"etap/diag"
	"etap/lang/ast"
	"etap/sema"
)

// expr emits e. R0 then holds its value: a long, or the address of a
// zero-padded string slot valid until the end of the statement.
func (g *gen) expr(e ast.Expr) {
	switch e := e.(type) {
	case *ast.IntLit:
		g.loadConst(asm.R0, e.Value)
	case *ast.StringLit:
		g.stringLit(e.Value)
	case *ast.ParenExpr:
		g.expr(e.X)
	case *ast.Ident:
		g.loadVar(g.c.prog.Refs[e])
	case *ast.TargetVar:
		g.field(e)
	case *ast.TargetExpr:
		if g.c.prog.Casts[e] == nil {
			// sema allows only context strings ($$vars$) besides @cast.
			g.notPrinted(e)
			return
		}
		g.cast(e)
	case *ast.CastExpr:
		g.expr(e.X)
	case *ast.IndexExpr:
		g.arrayLoad(g.c.prog.Refs[e.Array], g.arrayKey(e.Array, e.Index))
	case *ast.InExpr:
		if hasWildcard(e.Keys) {
			g.inSlice(e)
			return
		}
		arr := g.c.prog.Refs[e.Array]
		g.lookup(arr, g.arrayKey(e.Array, e.Keys))
		g.boolFromNonZero()
	case *ast.BinaryExpr:
		g.binary(e)
	case *ast.UnaryExpr:
		g.expr(e.X)
		switch e.Op {
		case "-":
			g.emit(asm.Neg.Imm(asm.R0, 0))
		case "~":
			g.emit(asm.Xor.Imm(asm.R0, -1))
		case "!":
			g.emit(asm.Mov.Reg(asm.R1, asm.R0))
			g.emit(asm.Mov.Imm(asm.R0, 0))
			end := g.newLabel("not")
			g.emit(asm.JNE.Imm(asm.R1, 0, end), asm.Mov.Imm(asm.R0, 1))
			g.setLabel(end)
		}
	case *ast.IncDecExpr:
		op := "+"
		if e.Op == "--" {
			op = "-"
		}
		g.modify(e.X, !e.Postfix, func() {
			g.emit(asm.Mov.Imm(asm.R1, 1))
			g.arith(op, "", diag.Pos{})
		})
	case *ast.AssignExpr:
		g.assign(e)
	case *ast.TernaryExpr:
		g.ifElse(e.Cond, func() { g.expr(e.X) }, func() { g.expr(e.Y) })
	case *ast.AggregateExpr:
		g.statExtract(e)
	case *ast.HistIndexExpr:
		g.histIndex(e)
	case *ast.HistInExpr:
		g.histIn(e)
	case *ast.CallExpr:
		if f := g.c.prog.FuncCalls[e]; f != nil {
			g.inline(e, f)
			return
		}
		builtins[e.Name].emit(g, e)
	default:
		g.c.diags.Add(diag.Errorf(diag.Codegen, "C003", e.Span(), "internal error: no code for this expression"))
	}
}

// ifElse emits a two-way branch on cond, for if statements and ?: alike.
func (g *gen) ifElse(cond ast.Expr, then, els func()) {
	elseLabel, end := g.newLabel("else"), g.newLabel("fi")
	g.expr(cond)
	g.emit(asm.JEq.Imm(asm.R0, 0, elseLabel))
	then()
	g.emit(asm.Ja.Label(end))
	g.setLabel(elseLabel)
	els()
	g.setLabel(end)
}

// loadConst sets reg to v, with a one-slot move when v fits 32 bits.
func (g *gen) loadConst(reg asm.Register, v int64) {
	if v >= math.MinInt32 && v <= math.MaxInt32 {
		g.emit(asm.Mov.Imm(reg, int32(v)))
		return
	}
	g.emit(asm.LoadImm(reg, v, asm.DWord))
}

// boolFromNonZero turns R0 into 1 when it is not zero.
func (g *gen) boolFromNonZero() {
	end := g.newLabel("bool")
	g.emit(asm.JEq.Imm(asm.R0, 0, end), asm.Mov.Imm(asm.R0, 1))
	g.setLabel(end)
}

// loadVar puts a variable's value (or its string's address) in R0.
func (g *gen) loadVar(v *sema.Var) {
	switch {
	case v.Global && v.Type == sema.String:
		g.emit(asm.Mov.Reg(asm.R0, regGlobals), asm.Add.Imm(asm.R0, int32(g.globalOffset(v))))
	case v.Global:
		g.emit(asm.LoadMem(asm.R0, regGlobals, g.globalOffset(v), asm.DWord))
	case v.Type == sema.String:
		g.scratchPtr(asm.R0, g.slot[v])
	default:
		g.emit(asm.LoadMem(asm.R0, asm.R10, int16(g.slot[v]), asm.DWord))
	}
}

// storeVar stores R0 into a variable: the long, or a copy of the string R0
// points to. R0 is kept.
func (g *gen) storeVar(v *sema.Var) {
	switch {
	case v.Global && v.Type == sema.String:
		g.copyString(regGlobals, int(g.globalOffset(v)), asm.R0)
	case v.Global:
		g.emit(asm.StoreMem(regGlobals, g.globalOffset(v), asm.R0, asm.DWord))
	case v.Type == sema.String:
		g.copyString(regScratch, g.slot[v], asm.R0)
	default:
		g.emit(asm.StoreMem(asm.R10, int16(g.slot[v]), asm.R0, asm.DWord))
	}
}

// operands emits x then y, leaving x in R0 and y in R1.
func (g *gen) operands(x, y ast.Expr) {
	g.expr(x)
	g.secondOperand(g.typeOf(x), y)
}

// secondOperand emits y while keeping the first operand, of type xt, that
// is in R0: then R0 holds it again, and R1 holds y. A string is copied
// aside first when y could change it, as in s == (s = "new").
func (g *gen) secondOperand(xt sema.Type, y ast.Expr) {
	if xt == sema.String && hasSideEffects(y) {
		off := g.allocScratch(g.c.opts.Params.StringLen)
		g.copyString(regScratch, off, asm.R0)
		g.scratchPtr(asm.R0, off)
	}
	t := g.pushStack()
	g.emit(asm.StoreMem(asm.R10, int16(t), asm.R0, asm.DWord))
	g.expr(y)
	g.emit(asm.Mov.Reg(asm.R1, asm.R0), asm.LoadMem(asm.R0, asm.R10, int16(t), asm.DWord))
	g.popStack()
}

var aluOps = map[string]asm.ALUOp{
	"+": asm.Add, "-": asm.Sub, "*": asm.Mul, "/": asm.SDiv, "%": asm.SMod,
	"<<": asm.LSh, ">>": asm.ArSh, "&": asm.And, "|": asm.Or, "^": asm.Xor,
}

var jumpOps = map[string]asm.JumpOp{
	"==": asm.JEq, "!=": asm.JNE, "<": asm.JSLT, "<=": asm.JSLE, ">": asm.JSGT, ">=": asm.JSGE,
}

func (g *gen) binary(e *ast.BinaryExpr) {
	switch e.Op {
	case "&&", "||":
		g.logical(e)
		return
	}
	if e.Op == "." {
		g.operands(e.X, e.Y)
		g.concat()
		return
	}
	if jmp, ok := jumpOps[e.Op]; ok {
		if g.typeOf(e.X) == sema.String {
			g.stringCompare(e)
			return
		}
		g.operands(e.X, e.Y)
		yes, end := g.newLabel("cmp"), g.newLabel("cmp_end")
		g.emit(jmp.Reg(asm.R0, asm.R1, yes), asm.Mov.Imm(asm.R0, 0), asm.Ja.Label(end))
		g.setLabel(yes)
		g.emit(asm.Mov.Imm(asm.R0, 1))
		g.setLabel(end)
		return
	}
	g.operands(e.X, e.Y)
	g.arith(e.Op, e.Op, e.OpPos)
}

// arith applies op to R0 and R1, into R0. Division and modulo by zero raise
// stap's runtime error at the operator token written at pos ("/" or "/=");
// BPF itself would quietly give 0.
func (g *gen) arith(op, token string, pos diag.Pos) {
	if op == "/" || op == "%" {
		ok := g.newLabel("divisor_ok")
		g.emit(asm.JNE.Imm(asm.R1, 0, ok))
		g.raise(g.errorSite("division by 0", "operator '"+token+"'", pos))
		g.setLabel(ok)
	}
	g.emit(aluOps[op].Reg(asm.R0, asm.R1))
}

// logical emits && and || with short-circuit evaluation, giving 0 or 1.
func (g *gen) logical(e *ast.BinaryExpr) {
	short, end := g.newLabel("short"), g.newLabel("logic_end")
	jmp := asm.JEq // && stops at the first false
	if e.Op == "||" {
		jmp = asm.JNE
	}
	g.expr(e.X)
	g.emit(jmp.Imm(asm.R0, 0, short))
	g.expr(e.Y)
	g.boolFromNonZero()
	g.emit(asm.Ja.Label(end))
	g.setLabel(short)
	if e.Op == "||" {
		g.emit(asm.Mov.Imm(asm.R0, 1))
	} else {
		g.emit(asm.Mov.Imm(asm.R0, 0))
	}
	g.setLabel(end)
}

func (g *gen) assign(e *ast.AssignExpr) {
	if e.Op == "<<<" {
		g.statAdd(e)
		return
	}
	if e.Op == ".=" {
		g.appendAssign(e)
		return
	}
	if e.Op == "=" {
		switch x := unparen(e.X).(type) {
		case *ast.Ident:
			g.expr(e.Y)
			g.storeVar(g.c.prog.Refs[x])
		case *ast.IndexExpr:
			g.arrayAssign(x, e.Y)
		}
		return
	}
	op := e.Op[:len(e.Op)-1]
	g.modify(e.X, true, func() {
		t := g.pushStack()
		g.emit(asm.StoreMem(asm.R10, int16(t), asm.R0, asm.DWord))
		g.expr(e.Y)
		g.emit(asm.Mov.Reg(asm.R1, asm.R0), asm.LoadMem(asm.R0, asm.R10, int16(t), asm.DWord))
		g.popStack()
		g.arith(op, e.Op, e.OpPos)
	})
}

// modify emits a read-modify-write of a long target: R0 holds the old value
// when update runs, which leaves the new one in R0. The expression's value
// is the new value when giveNew is set (++x, x += y), else the old (x++).
func (g *gen) modify(target ast.Expr, giveNew bool, update func()) {
	old := g.pushStack()
	defer g.popStack()
	switch x := unparen(target).(type) {
	case *ast.Ident:
		v := g.c.prog.Refs[x]
		g.loadVar(v)
		g.emit(asm.StoreMem(asm.R10, int16(old), asm.R0, asm.DWord))
		update()
		g.storeVar(v)
	case *ast.IndexExpr:
		arr := g.c.prog.Refs[x.Array]
		keyOff := g.arrayKey(x.Array, x.Index)
		g.arrayLoad(arr, keyOff)
		g.emit(asm.StoreMem(asm.R10, int16(old), asm.R0, asm.DWord))
		update()
		g.arrayStoreLong(arr, x, keyOff)
	}
	if !giveNew {
		g.emit(asm.LoadMem(asm.R0, asm.R10, int16(old), asm.DWord))
	}
}

func unparen(e ast.Expr) ast.Expr {
	for {
		p, ok := e.(*ast.ParenExpr)
		if !ok {
			return e
		}
		e = p.X
	}
}

// stringLit builds a literal in a scratch slot.
func (g *gen) stringLit(s string) {
	n := g.c.opts.Params.StringLen
	if len(s) > g.c.opts.Params.Longest() {
		s = s[:g.c.opts.Params.Longest()]
	}
	off := g.allocScratch(n)
	g.literalWords(s, off, n)
	g.scratchPtr(asm.R0, off)
}

// literalWords writes s into the size-byte slot at scratch offset off, a
// word at a time, cut to size-1 bytes and zero-padded.
func (g *gen) literalWords(s string, off, size int) {
	if len(s) > size-1 {
		s = s[:size-1]
	}
	for i := 0; i < size; i += 8 {
		var word int64
		for j := 0; j < 8 && i+j < len(s); j++ {
			word |= int64(s[i+j]) << (8 * j)
		}
		if word == 0 || (word >= math.MinInt32 && word <= math.MaxInt32) {
			g.emit(storeDW(regScratch, int16(off+i), int32(word)))
			continue
		}
		g.emit(asm.LoadImm(asm.R1, word, asm.DWord), asm.StoreMem(regScratch, int16(off+i), asm.R1, asm.DWord))
	}
}

// hasSideEffects reports whether evaluating e could change a variable.
func hasSideEffects(e ast.Expr) bool {
	return contains(e, func(n ast.Node) bool {
		switch n.(type) {
		case *ast.AssignExpr, *ast.IncDecExpr, *ast.CallExpr:
			return true
		}
		return false
	})
}
