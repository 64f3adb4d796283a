package bpf

import (
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"

	"etap/lang/ast"
)

// Loops over the bytes of strings (strpos, str_replace, text_str, strtol)
// run with the bpf_loop helper: their body is a function that the helper
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

// bpfLoop emits bpf_loop(rounds, body, ctx). body emits the code of one
// round with the round's index in R1 and the scratch area in regScratch;
// it returns 1 to stop (see loopStop) and 0, by falling off its end, to go
// on. A body runs in a frame of its own and may raise no runtime error.
func (g *gen) bpfLoop(rounds int32, pos ast.Node, body func()) {
	name := g.newLabel("loop_body")
	ctx := g.pushStack()
	defer g.popStack()
	g.subprogram(name, pos, func() {
		g.emit(asm.LoadMem(regScratch, asm.R2, loopCtx, asm.DWord))
		body()
		g.emit(asm.Mov.Imm(asm.R0, 0), asm.Return())
	})
	g.emit(
		asm.StoreMem(asm.R10, int16(ctx+loopCtx), regScratch, asm.DWord),
		asm.Mov.Imm(asm.R1, rounds),
		asm.Instruction{OpCode: asm.LoadImmOp(asm.DWord), Dst: asm.R2, Src: asm.PseudoFunc, Constant: -1}.WithReference(name),
		asm.Mov.Reg(asm.R3, asm.R10),
		asm.Add.Imm(asm.R3, int32(ctx)),
		asm.Mov.Imm(asm.R4, 0),
		asm.FnLoop.Call(),
	)
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

// subprog is a callback's code, appended after the handler's.
type subprog struct {
	insns asm.Instructions
	raw   int
	lines []LinePos
}

// subprogram emits a function named name, made by body, to be appended
// after the handler: the handler's code goes on where it was.
func (g *gen) subprogram(name string, pos ast.Node, body func()) {
	// A callback is a frame of its own: the caller's loops are not its to
	// end.
	insns, dead, pending, raw, lines, loops := g.insns, g.dead, g.pending, g.raw, g.lines, g.loops
	g.insns, g.dead, g.pending, g.raw, g.lines, g.loops = nil, false, nil, 0, nil, nil
	g.setLabel(name)
	// The kernel wants line info at the start of every function.
	g.setSource(pos.Span().Start)
	body()
	g.subs = append(g.subs, subprog{insns: g.insns, raw: g.raw, lines: g.lines})
	g.insns, g.dead, g.pending, g.raw, g.lines, g.loops = insns, dead, pending, raw, lines, loops
}

// appendSubprograms puts the callbacks after the handler. With callbacks,
// the kernel wants BTF function info for every function, and callbacks
// static.
func (g *gen) appendSubprograms() {
	if len(g.subs) == 0 {
		return
	}
	long := &btf.Int{Name: "long", Size: 8, Encoding: btf.Signed}
	ptr := &btf.Pointer{Target: &btf.Void{}}
	g.insns[0] = btf.WithFuncMetadata(g.insns[0], &btf.Func{
		Name: "handler", Linkage: btf.GlobalFunc,
		Type: &btf.FuncProto{Return: long, Params: []btf.FuncParam{{Name: "ctx", Type: ptr}}},
	})
	for _, s := range g.subs {
		for _, l := range s.lines {
			g.lines = append(g.lines, LinePos{Offset: l.Offset + g.raw, Pos: l.Pos})
		}
		g.raw += s.raw
		s.insns[0] = btf.WithFuncMetadata(s.insns[0], &btf.Func{
			Name: s.insns[0].Symbol(), Linkage: btf.StaticFunc,
			Type: &btf.FuncProto{Return: long, Params: []btf.FuncParam{
				{Name: "map", Type: ptr}, {Name: "key", Type: ptr}, {Name: "value", Type: ptr}, {Name: "ctx", Type: ptr},
			}},
		})
		g.insns = append(g.insns, s.insns...)
	}
}
