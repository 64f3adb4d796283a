package bpf

import (
	"github.com/cilium/ebpf/asm"

	"etap/lang/ast"
)

// Loops over the bytes of strings (strpos, str_replace, text_str, strtol)
// run with the bpf_loop helper: their body is a subprogram that the helper
// calls once per round. The verifier checks such a body a few times, until
// what it knows at its start stops changing, where a plain loop is checked
// once per round and, with a nested loop or branches, per round and path:
// a plain strpos costs it over 100,000 instructions at the default
// MAXSTRINGLEN, the bpf_loop one 600. A body reads its round and the
// scratch area from its arguments and keeps what lives from one round to
// the next in scratch words. The user-space interpreter provides bpf_loop
// too.

// loopCtx is the word at the start of a body's context: the caller's
// scratch address, the only thing a body needs from it.
const loopCtx = 0

// bpfLoop emits bpf_loop(rounds, body, ctx) for the call at pos. body
// emits the code of one round with the round's index in R1 and the scratch
// area in regScratch; it returns 1 to stop (see loopStop) and 0, by
// falling off its end, to go on. A body has a frame of its own, empty at
// its start, and may raise no runtime error.
func (g *gen) bpfLoop(rounds int32, pos ast.Node, body func()) {
	name := g.newLabel("loop_body")
	g.subprogram(name, pos.Span().Start, loopBody, func() {
		g.emit(asm.LoadMem(regScratch, asm.R2, loopCtx, asm.DWord))
		body()
		g.emit(asm.Mov.Imm(asm.R0, 0), asm.Return())
	})
	ctx := g.pushStack()
	defer g.popStack()
	g.emit(asm.StoreMem(asm.R10, int16(ctx+loopCtx), regScratch, asm.DWord))
	g.callLoop(rounds, name, ctx)
}

// loopStop ends the loop from its body.
func (g *gen) loopStop() {
	g.emit(asm.Mov.Imm(asm.R0, 1), asm.Return())
}

// loopIndex bounds the round index in R1 to [0, limit) for the verifier,
// which knows nothing of it, stopping the loop if it is not.
func (g *gen) loopIndex(limit int32) {
	ok := g.newLabel("round_ok")
	g.emit(asm.JLT.Imm(asm.R1, limit, ok))
	g.loopStop()
	g.setLabel(ok)
}
