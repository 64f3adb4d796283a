package bpf

import (
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
)

// Loops over the bytes of strings (strpos, str_replace, text_str, strtol)
// run with the bpf_loop helper: their body is a function that the helper
// calls once per round. The verifier checks such a body a few times, until
// what it knows at its start stops changing, where a plain loop is checked
// once per round and, with a nested loop or branches, per round and path:
// a plain strpos costs it over 100,000 instructions at the default
// MAXSTRINGLEN. A body reads its round and the scratch area from its
// arguments and keeps what lives from one round to the next in scratch
// words. The user-space interpreter provides bpf_loop too.

// callback is a loop body, emitted after the handler.
type callback struct {
	insns asm.Instructions
	lines []LinePos
}

// loopCtx is the word at the start of a body's context: the caller's
// scratch address, the only thing a body needs from it.
const loopCtx = 0

// bpfLoop emits bpf_loop(rounds, body, ctx). body emits the code of one
// round with the round's index in R1 and the scratch area in regScratch;
// it returns 1 to stop (see loopStop) and 0, by falling off its end, to go
// on. A body has its own stack frame and may raise no runtime error.
func (g *gen) bpfLoop(rounds int32, body func()) {
	name := g.newLabel("loop_body")
	ctx := g.pushStack()
	defer g.popStack()
	g.emit(
		asm.StoreMem(asm.R10, int16(ctx+loopCtx), regScratch, asm.DWord),
		asm.Mov.Imm(asm.R1, rounds),
		asm.Instruction{OpCode: asm.LoadImmOp(asm.DWord), Dst: asm.R2, Src: asm.PseudoFunc, Constant: -1}.WithReference(name),
		asm.Mov.Reg(asm.R3, asm.R10),
		asm.Add.Imm(asm.R3, int32(ctx)),
		asm.Mov.Imm(asm.R4, 0),
		asm.FnLoop.Call(),
	)

	// Emit the body aside: save what describes the handler's code.
	insns, pending, dead, raw, lines := g.insns, g.pending, g.dead, g.raw, g.lines
	used, most := g.stackUsed, g.maxStack
	g.insns, g.pending, g.dead, g.raw, g.lines = nil, nil, false, 0, nil
	g.stackUsed, g.maxStack = 0, 0
	// The kernel wants each function's first instruction to have a line.
	g.setSource(g.srcPos)
	g.emit(asm.LoadMem(regScratch, asm.R2, loopCtx, asm.DWord).WithSymbol(name))
	body()
	g.emit(asm.Mov.Imm(asm.R0, 0), asm.Return())
	g.insns[0] = btf.WithFuncMetadata(g.insns[0], callbackFunc(name))
	g.callbacks = append(g.callbacks, callback{insns: g.insns, lines: g.lines})
	g.calleeStack = max(g.calleeStack, g.maxStack)
	g.insns, g.pending, g.dead, g.src, g.raw, g.lines = insns, pending, dead, nil, raw, lines
	g.stackUsed, g.maxStack = used, most
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

// appendCallbacks puts the loop bodies after the handler's code, and their
// line positions after its own. A program with bodies needs BTF function
// information, the handler's too.
func (g *gen) appendCallbacks(insns asm.Instructions) asm.Instructions {
	if len(g.callbacks) == 0 {
		return insns
	}
	insns[0] = btf.WithFuncMetadata(insns[0], &btf.Func{
		Name:    "handler",
		Type:    &btf.FuncProto{Return: btfInt, Params: []btf.FuncParam{{Name: "ctx", Type: &btf.Pointer{Target: &btf.Void{}}}}},
		Linkage: btf.GlobalFunc,
	})
	raw := g.raw
	for _, cb := range g.callbacks {
		insns = append(insns, cb.insns...)
		for _, l := range cb.lines {
			g.lines = append(g.lines, LinePos{Offset: raw + l.Offset, Pos: l.Pos})
		}
		for _, ins := range cb.insns {
			raw += int(ins.Size() / asm.InstructionSize)
		}
	}
	return insns
}

var btfInt = &btf.Int{Name: "long", Size: 8, Encoding: btf.Signed}

// callbackFunc describes a loop body: long body(u64 index, void *ctx).
// bpf_loop wants it static.
func callbackFunc(name string) *btf.Func {
	return &btf.Func{
		Name: name,
		Type: &btf.FuncProto{Return: btfInt, Params: []btf.FuncParam{
			{Name: "index", Type: &btf.Int{Name: "u64", Size: 8}},
			{Name: "ctx", Type: &btf.Pointer{Target: &btf.Void{}}},
		}},
		Linkage: btf.StaticFunc,
	}
}
