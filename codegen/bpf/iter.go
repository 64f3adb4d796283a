package bpf

import (
	"github.com/cilium/ebpf/asm"

	"etap/lang/ast"
	"etap/sema"
)

// Loops in kernel probes on open-coded iterators. The verifier proves a
// plain loop ends by following it round by round, a state per round and
// per path; a loop whose values it cannot know,
//
//	while (i < n) { i++; if (i % 3) continue; sum += i }
//
// soon has more states than it will look at. Wrapped around the kernel's
// numeric iterator (bpf_iter_num_new/next/destroy), a loop is checked only
// until its state at the top stops changing: the iterator, not the
// verifier, bounds the rounds. For that state to settle, the values that
// change from round to round must be unknown to the verifier: the action
// count lives in scratch memory, whose contents it does not track, and the
// long locals pass through scratch at the end of each round.

// iterLoops says whether this handler's loops use iterators.
func (g *gen) iterLoops() bool {
	return g.probe.Point.Kernel && g.c.prog.Kfuncs != nil
}

// kfunc calls a kernel function by its BTF id.
func (g *gen) kfunc(name string) {
	g.emit(asm.Instruction{
		OpCode:   asm.OpCode(asm.JumpClass).SetJumpOp(asm.Call),
		Src:      asm.PseudoKfuncCall,
		Constant: int64(g.c.prog.Kfuncs[name]),
	})
}

// iterStart reserves the iterator's stack slot and starts it with room
// for as many rounds as the action limit allows: each round is at least
// one action.
func (g *gen) iterStart() {
	it := g.pushStack()
	g.iters = append(g.iters, it)
	g.forgetLocals()
	g.emit(
		asm.Mov.Reg(asm.R1, asm.R10),
		asm.Add.Imm(asm.R1, int32(it)),
		asm.Mov.Imm(asm.R2, 0),
		asm.Mov.Imm(asm.R3, int32(g.maxActions())),
	)
	g.kfunc("bpf_iter_num_new")
}

// iterNext starts a round; an iterator that has run out means the loop
// ran more rounds than the action limit allows.
func (g *gen) iterNext(loop ast.Stmt) {
	ok := g.newLabel("round")
	g.emit(asm.Mov.Reg(asm.R1, asm.R10), asm.Add.Imm(asm.R1, int32(g.iters[len(g.iters)-1])))
	g.kfunc("bpf_iter_num_next")
	g.emit(asm.JNE.Imm(asm.R0, 0, ok))
	g.maxActionExceeded(loop)
	g.setLabel(ok)
}

// iterEnd destroys the innermost iterator where its loop ends.
func (g *gen) iterEnd() {
	g.destroyIters(len(g.iters) - 1)
	g.iters = g.iters[:len(g.iters)-1]
	g.popStack()
}

// destroyIters destroys the iterators from the from'th on, innermost
// first, as every way out of their loops must: the verifier refuses a
// program that leaves one behind.
func (g *gen) destroyIters(from int) {
	for i := len(g.iters) - 1; i >= from; i-- {
		g.emit(asm.Mov.Reg(asm.R1, asm.R10), asm.Add.Imm(asm.R1, int32(g.iters[i])))
		g.kfunc("bpf_iter_num_destroy")
	}
}

// forgetLocals hides the values of the long locals in scope from the
// verifier by passing each through scratch memory.
func (g *gen) forgetLocals() {
	vars := g.probe.Locals
	for _, r := range g.returns {
		vars = append(append(vars[:len(vars):len(vars)], r.fn.Params...), r.fn.Locals...)
	}
	tmp := g.allocScratch(8)
	for _, v := range vars {
		if v.Type == sema.String {
			continue
		}
		g.emit(
			asm.LoadMem(asm.R1, asm.R10, int16(g.slot[v]), asm.DWord),
			asm.StoreMem(regScratch, int16(tmp), asm.R1, asm.DWord),
			asm.LoadMem(asm.R1, regScratch, int16(tmp), asm.DWord),
			asm.StoreMem(asm.R10, int16(g.slot[v]), asm.R1, asm.DWord),
		)
	}
}
