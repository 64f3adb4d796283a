package bpf

import (
	"github.com/cilium/ebpf/asm"

	"etap/lang/ast"
	"etap/sema"
)

// inlined is a function whose body is being emitted at a call site.
type inlined struct {
	fn *sema.Function
	// result is the slot of the returned value: a stack offset for a long,
	// a scratch offset for a string.
	result int
	end    string
	// iters is how many loop iterators were open where the call began.
	iters int
}

// inline emits a call of a script function as its body, in place: no
// bpf-to-bpf call, no frame, and the verifier sees the actual arguments.
// Parameters and locals get fresh slots for this call.
func (g *gen) inline(call *ast.CallExpr, f *sema.Function) {
	n := g.c.opts.Params.StringLen
	pushed := 0
	slot := func(t sema.Type) int {
		if t == sema.String {
			return g.allocScratch(n)
		}
		pushed++
		return g.pushStack()
	}
	// Arguments are evaluated before any parameter is bound: an argument
	// may itself call the function, as in f(f(1)).
	args := make([]int, len(call.Args))
	for i, a := range call.Args {
		g.expr(a)
		args[i] = slot(f.Params[i].Type)
		g.storeSlot(f.Params[i].Type, args[i])
	}
	result := 0
	if f.Result == sema.Long || f.Result == sema.String {
		result = slot(f.Result)
	}
	saved := map[*sema.Var]int{}
	for i, v := range f.Params {
		saved[v] = g.slot[v]
		g.slot[v] = args[i]
	}
	for _, v := range f.Locals {
		saved[v] = g.slot[v]
		if v.Type != sema.String {
			pushed++
		}
		g.initLocal(v)
	}
	end := g.newLabel("return")
	g.returns = append(g.returns, inlined{fn: f, result: result, end: end, iters: len(g.iters)})
	g.stmt(f.Decl.Body)
	g.returns = g.returns[:len(g.returns)-1]
	// Falling off the end returns 0 or "".
	g.emit(asm.Mov.Imm(asm.R0, 0))
	if f.Result == sema.String {
		g.zeroScratch(result, n)
		g.scratchPtr(asm.R0, result)
	}
	if f.Result == sema.Long || f.Result == sema.String {
		g.storeSlot(f.Result, result)
	}
	g.setLabel(end)
	g.loadSlot(f.Result, result)
	for v, s := range saved {
		g.slot[v] = s
	}
	for range pushed {
		g.popStack()
	}
}

// returnStmt stores the returned value and leaves the inlined body.
func (g *gen) returnStmt(s *ast.ReturnStmt) {
	in := g.returns[len(g.returns)-1]
	if s.X != nil {
		g.expr(s.X)
		g.storeSlot(in.fn.Result, in.result)
	}
	g.destroyIters(in.iters)
	g.emit(asm.Ja.Label(in.end))
}

// storeSlot stores R0, a long or the address of a string, into a slot.
func (g *gen) storeSlot(t sema.Type, off int) {
	if t == sema.String {
		g.copyString(regScratch, off, asm.R0)
		return
	}
	g.emit(asm.StoreMem(asm.R10, int16(off), asm.R0, asm.DWord))
}

// loadSlot puts a slot's long, or its string's address, in R0; a function
// without a value gives 0.
func (g *gen) loadSlot(t sema.Type, off int) {
	switch t {
	case sema.String:
		g.scratchPtr(asm.R0, off)
	case sema.Long:
		g.emit(asm.LoadMem(asm.R0, asm.R10, int16(off), asm.DWord))
	default:
		g.emit(asm.Mov.Imm(asm.R0, 0))
	}
}
