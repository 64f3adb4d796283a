package bpf

import (
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"

	"etap/diag"
)

// Subprograms. Some helpers call back into the program: bpf_for_each_map_elem
// (whatever visits every element of an array in a kernel probe, see
// foreach.go) and bpf_loop (the CPUs of an aggregate in a kernel probe, see
// aggregates.go; the bytes of a string, see loop.go). What they call is a
// subprogram: a bpf-to-bpf function with a stack frame of its own, emitted
// aside and appended after the handler. The user-space interpreter has both
// helpers and calls back the same way.

// calleeKind is what calls a subprogram: it says the subprogram's
// arguments and how its frame is laid out.
type calleeKind struct {
	params []btf.FuncParam
	// mirror lays the frame out as the caller's: its stack slots go on
	// from the caller's, so that code that addresses the caller's locals
	// at their offsets runs on copies kept at the same offsets (see
	// forEachElem). Otherwise the frame starts empty.
	mirror bool
}

var (
	btfLong = &btf.Int{Name: "long", Size: 8, Encoding: btf.Signed}
	btfPtr  = &btf.Pointer{Target: &btf.Void{}}

	// eachCallback is called by bpf_for_each_map_elem:
	// long cb(void *map, void *key, void *value, void *ctx).
	eachCallback = calleeKind{
		params: []btf.FuncParam{{Name: "map", Type: btfPtr}, {Name: "key", Type: btfPtr}, {Name: "value", Type: btfPtr}, {Name: "ctx", Type: btfPtr}},
		mirror: true,
	}
	// loopBody is called by bpf_loop: long body(u64 index, void *ctx).
	loopBody = calleeKind{
		params: []btf.FuncParam{{Name: "index", Type: &btf.Int{Name: "u64", Size: 8}}, {Name: "ctx", Type: btfPtr}},
	}
)

// subprog is a subprogram's code, appended after the handler's.
type subprog struct {
	insns  asm.Instructions
	raw    int
	lines  []LinePos
	params []btf.FuncParam
}

// funcAddr loads the address of the subprogram name into reg, for a
// helper to call.
func funcAddr(reg asm.Register, name string) asm.Instruction {
	return asm.Instruction{OpCode: asm.LoadImmOp(asm.DWord), Dst: reg, Src: asm.PseudoFunc, Constant: -1}.WithReference(name)
}

// callLoop emits bpf_loop(rounds, name, ctx), which calls the subprogram
// name (a loopBody) with each index below rounds until it returns 1. ctx
// is the stack offset of what the body gets as its context, or 0 for
// none.
func (g *gen) callLoop(rounds int32, name string, ctx int) {
	g.emit(asm.Mov.Imm(asm.R1, rounds), funcAddr(asm.R2, name))
	if ctx != 0 {
		g.emit(asm.Mov.Reg(asm.R3, asm.R10), asm.Add.Imm(asm.R3, int32(ctx)))
	} else {
		g.emit(asm.Mov.Imm(asm.R3, 0))
	}
	g.emit(asm.Mov.Imm(asm.R4, 0), asm.FnLoop.Call())
}

// subprogram emits a function named name, made by body, that kind calls,
// to be appended after the handler: the handler's code goes on where it
// was. pos is the script line its first instruction is given.
func (g *gen) subprogram(name string, pos diag.Pos, kind calleeKind, body func()) {
	// A subprogram is a frame of its own: the caller's loops and their
	// iterators are not its to end, nor the caller's catch blocks its to
	// jump to (an error in a kernel foreach ends the probe), nor the
	// caller's callback its to leave.
	insns, dead, pending, raw, lines, src := g.insns, g.dead, g.pending, g.raw, g.lines, g.src
	loops, iters, tries, cbs := g.loops, g.iters, g.tries, g.cbs
	used, most, callee := g.stackUsed, g.maxStack, g.calleeStack
	g.insns, g.dead, g.pending, g.raw, g.lines = nil, false, nil, 0, nil
	g.loops, g.iters, g.tries, g.cbs = nil, nil, nil, nil
	if !kind.mirror {
		g.stackUsed = 0
	}
	g.maxStack, g.calleeStack = g.stackUsed, 0
	subs := len(g.subs)
	g.setLabel(name)
	// The kernel wants line info at the start of every function.
	g.setSource(pos)
	body()
	need := roundUp32(g.stackNeed())
	g.subs = append(g.subs, subprog{insns: g.insns, raw: g.raw, lines: g.lines, params: kind.params})
	g.insns, g.dead, g.pending, g.raw, g.lines, g.src = insns, dead, pending, raw, lines, src
	g.loops, g.iters, g.tries, g.cbs = loops, iters, tries, cbs
	g.stackUsed, g.maxStack, g.calleeStack = used, most, callee
	if dead {
		// Nothing calls it: the kernel refuses unreachable code.
		g.subs = g.subs[:subs]
		return
	}
	g.calleeStack = max(g.calleeStack, need)
}

// appendSubprograms puts the subprograms after the handler. With
// subprograms, the kernel wants BTF function info for every function, and
// callbacks static.
func (g *gen) appendSubprograms() {
	if len(g.subs) == 0 {
		return
	}
	g.insns[0] = btf.WithFuncMetadata(g.insns[0], &btf.Func{
		Name: "handler", Linkage: btf.GlobalFunc,
		Type: &btf.FuncProto{Return: btfLong, Params: []btf.FuncParam{{Name: "ctx", Type: btfPtr}}},
	})
	for _, s := range g.subs {
		for _, l := range s.lines {
			g.lines = append(g.lines, LinePos{Offset: l.Offset + g.raw, Pos: l.Pos})
		}
		g.raw += s.raw
		s.insns[0] = btf.WithFuncMetadata(s.insns[0], &btf.Func{
			Name: s.insns[0].Symbol(), Linkage: btf.StaticFunc,
			Type: &btf.FuncProto{Return: btfLong, Params: s.params},
		})
		g.insns = append(g.insns, s.insns...)
	}
}
