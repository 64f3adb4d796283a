package bpf

import (
	"fmt"
	"math"
	"strings"

	"github.com/cilium/ebpf/asm"

	"etap/diag"
	"etap/lang/ast"
	"etap/maps"
	"etap/sema"
)

// Register plan. R1–R5 are clobbered by every helper call; R0 carries the
// value of the expression just emitted (a long, or a pointer to a string
// slot).
const (
	regCtx     = asm.R6 // the probe's context
	regScratch = asm.R7 // this CPU's scratch area
	regGlobals = asm.R8 // the scalar globals
)

// Stack plan: the word at -8 is the zero key used to look up the scratch and
// globals maps; locals and temporaries follow below it.
const (
	keySlot   = -8
	stackSize = 512
)

// Scratch plan: the first record-sized bytes hold exit and error records,
// which never need more than a header.
const recordSlot = 0

// gen emits one probe handler.
type gen struct {
	c     *compiler
	probe *sema.Probe
	insns asm.Instructions

	// Stack slots in use below keySlot, and the most ever used.
	stackUsed, maxStack int
	// Scratch bytes in use, and the most ever used.
	scratchUsed, maxScratch int
	// slot of each local: a stack offset for longs, a scratch offset for
	// strings.
	slot map[*sema.Var]int

	// pending labels for the next instruction; aliases maps extra labels
	// that met at one instruction to the one it carries.
	pending []string
	aliases map[string]string
	// referenced holds the labels emitted jumps go to; dead is set after
	// an instruction that never falls through.
	referenced map[string]bool
	dead       bool
	// src is the script line of the statement being emitted, until its
	// first instruction carries it.
	src   *sourceLine
	lines []LinePos
	raw   int

	loops []loop
	// actions is where the count of the statements loops ran lives: a
	// stack slot, or scratch when loops use iterators (see iter.go).
	actions     int
	actionsBase asm.Register
	// iters are the stack slots of the iterators of the loops being
	// emitted, innermost last.
	iters []int
	// returns are the functions being inlined, innermost last.
	returns []inlined
	// cbs are the foreach callbacks being emitted, innermost last; subs
	// the subprograms emitted, appended after the handler; calleeStack
	// is the stack the subprograms the frame being emitted calls need,
	// with those they call (see stackNeed).
	cbs         []*callback
	subs        []subprog
	calleeStack int
	// tries are the try blocks whose bodies are being emitted, innermost
	// last: a runtime error raised in one jumps to its catch.
	tries []tryBlock
	// unrolled is the size of the code of each recursive function the
	// handler inlines, with all its copies.
	unrolled map[*sema.Function]int
	// depth lowers the MAXNESTING of calls of some recursive functions in
	// this handler, as compileHandler decides.
	depth map[*sema.Function]int
	// unrollFrom is where the outermost copy of a recursive function
	// started, or -1. When unrollLimit is set, a copy that grows past it
	// is given up: emit drops everything from then on, and sets tooLarge.
	unrollFrom, unrollLimit int
	tooLarge                bool
	// usesRegs is set when the handler reads its context as the registers
	// of the probed code beyond its parameters (uint_arg(n), addr(), a
	// stack): it has no fentry/fexit variant, whose context is not them.
	usesRegs bool
}

type loop struct{ brk, cont string }

func (c *compiler) newGen(p *sema.Probe, depth map[*sema.Function]int) *gen {
	return &gen{
		c: c, probe: p, depth: depth, unrollFrom: -1,
		unrolled:    map[*sema.Function]int{},
		slot:        map[*sema.Var]int{},
		aliases:     map[string]string{},
		referenced:  map[string]bool{},
		scratchUsed: maps.HeaderSize,
		maxScratch:  maps.HeaderSize,
	}
}

// compileProbe emits the whole handler.
func (g *gen) compileProbe() asm.Instructions {
	g.setSource(g.probe.Decl.Span().Start)
	g.emit(asm.Mov.Reg(regCtx, asm.R1))
	g.emit(storeDW(asm.R10, keySlot, 0))
	g.lookupZero(maps.ScratchMap, regScratch)
	// The scalars map is a plain array: its value's address is a constant
	// the kernel patches in at load, no lookup needed.
	g.emit(asm.LoadMapValue(regGlobals, 0, 0).WithReference(maps.ScalarsMap))
	if g.probe.Point.Kernel {
		g.emit(asm.LoadMem(asm.R0, regGlobals, int16(g.c.abi.Hidden.Exiting), asm.DWord))
		g.leaveIf(asm.JNE)
		g.pointFilters()
	}
	for _, v := range g.probe.Locals {
		g.initLocal(v)
	}
	if g.c.prog.HasLoops(g.probe.Decl.Body) {
		g.actions, g.actionsBase = g.pushStack(), asm.R10
		if g.iterLoops() {
			g.actions, g.actionsBase = g.allocScratch(8), regScratch
		}
		g.emit(storeDW(g.actionsBase, int16(g.actions), 0))
	}
	g.stmt(g.probe.Decl.Body)
	g.leave()
	if need := g.stackNeed(); need > stackSize {
		g.c.diags.Add(diag.Errorf(diag.Codegen, "C001", g.probe.Decl.Span(),
			"probe needs %d bytes of stack, more than BPF's %d", need, stackSize).
			WithHint("%s", g.sizeHint("split long expressions into statements with locals")))
	}
	if g.maxScratch > maxScratch {
		g.c.diags.Add(diag.Errorf(diag.Codegen, "C004", g.probe.Decl.Span(),
			"probe needs %d bytes of string and key space, more than the %d a BPF map value can hold", g.maxScratch, maxScratch).
			WithHint("%s", g.sizeHint("use fewer string variables or a smaller MAXSTRINGLEN")))
	}
	g.appendSubprograms()
	insns := g.resolveAliases()
	g.checkJumps(insns)
	return insns
}

// sizeHint is the hint of a diagnostic about a handler's size: recursive
// functions are unrolled MAXNESTING deep, which may be what made it large.
func (g *gen) sizeHint(hint string) string {
	if len(g.unrolled) > 0 {
		return fmt.Sprintf("%s, or lower -D MAXNESTING (now %d): BPF cannot recurse, so etap unrolls recursive functions that deep", hint, g.c.maxNesting)
	}
	return hint
}

// stackNeed is the stack the frame being emitted needs, with the deepest
// chain of subprograms it calls: the kernel stacks their frames on its,
// each rounded up to 32 bytes, and wants them all within 512 bytes. (A
// JIT that gives tracing programs private stacks, x86-64's since Linux
// 6.13, checks a large frame alone and accepts more; this is the rule of
// the kernels without.)
func (g *gen) stackNeed() int {
	need := g.maxStack - keySlot
	if g.calleeStack > 0 {
		need = roundUp32(need) + g.calleeStack
	}
	return need
}

func roundUp32(n int) int { return (n + 31) &^ 31 }

// maxScratch is the largest per-CPU map value the kernel allocates.
const maxScratch = 32 << 10

// checkJumps reports a handler too long for BPF's 16-bit jump offsets;
// cilium would silently truncate them.
func (g *gen) checkJumps(insns asm.Instructions) {
	at := map[string]int{}
	iter := insns.Iterate()
	for iter.Next() {
		if sym := iter.Ins.Symbol(); sym != "" {
			at[sym] = int(iter.Offset)
		}
	}
	iter = insns.Iterate()
	for iter.Next() {
		ref := iter.Ins.Reference()
		if ref == "" || !iter.Ins.OpCode.Class().IsJump() {
			continue
		}
		if d := at[ref] - int(iter.Offset) - 1; d < math.MinInt16 || d > math.MaxInt16 {
			g.c.diags.Add(diag.Errorf(diag.Codegen, "C005", g.probe.Decl.Span(),
				"probe is too long: a jump spans %d instructions, more than BPF's %d", d, math.MaxInt16).
				WithHint("%s", g.sizeHint("split the work between several probes")))
			return
		}
	}
}

// lookupZero looks up key 0 of a one-entry map into reg, leaving the probe
// if the map has no entry (it always has; the verifier wants the check).
func (g *gen) lookupZero(name string, reg asm.Register) {
	g.emit(
		asm.LoadMapPtr(asm.R1, 0).WithReference(name),
		asm.Mov.Reg(asm.R2, asm.R10),
		asm.Add.Imm(asm.R2, keySlot),
		asm.FnMapLookupElem.Call(),
	)
	g.leaveIf(asm.JEq)
	g.emit(asm.Mov.Reg(reg, asm.R0))
}

// leave returns from the handler. Every exit is emitted in place rather
// than as a jump to one shared exit: in a long handler such a jump could
// exceed the 16-bit offset of a BPF jump.
func (g *gen) leave() {
	g.destroyIters(0)
	if n := len(g.cbs); n > 0 {
		g.leaveCallback(g.cbs[n-1])
		return
	}
	g.emit(asm.Mov.Imm(asm.R0, 0), asm.Return())
}

// leaveIf returns from the handler when R0 compares to 0 as jmp says,
// JEq or JNE.
func (g *gen) leaveIf(jmp asm.JumpOp) {
	stay := g.newLabel("stay")
	inverse := asm.JEq
	if jmp == asm.JEq {
		inverse = asm.JNE
	}
	g.emit(inverse.Imm(asm.R0, 0, stay))
	g.leave()
	g.setLabel(stay)
}

func (g *gen) initLocal(v *sema.Var) {
	if v.Type == sema.String {
		off := g.allocScratch(g.c.opts.Params.StringLen)
		g.slot[v] = off
		g.zeroScratch(off, g.c.opts.Params.StringLen)
		return
	}
	off := g.pushStack()
	g.slot[v] = off
	g.emit(storeDW(asm.R10, int16(off), 0))
}

// emit appends instructions, giving the first one the pending labels and the
// current source line. Code after a return or an unconditional jump is
// dropped until a label that something jumps to: the verifier refuses
// unreachable instructions, which `next; x = 1` would otherwise make.
func (g *gen) emit(insns ...asm.Instruction) {
	for _, ins := range insns {
		if g.dead || g.tooLarge {
			continue
		}
		if g.unrollLimit > 0 && g.unrollFrom >= 0 && g.raw-g.unrollFrom > g.unrollLimit {
			g.tooLarge = true
			continue
		}
		if ins.OpCode.Class().IsJump() {
			switch ins.OpCode.JumpOp() {
			case asm.Ja, asm.Exit:
				g.dead = true
			}
			if ref := ins.Reference(); ref != "" {
				g.referenced[ref] = true
			}
		}
		if len(g.pending) > 0 {
			ins = ins.WithSymbol(g.pending[0])
			for _, alias := range g.pending[1:] {
				g.aliases[alias] = g.pending[0]
			}
			g.pending = g.pending[:0]
		}
		if g.src != nil {
			ins = ins.WithSource(g.src)
			g.lines = append(g.lines, LinePos{Offset: g.raw, Pos: g.src.pos})
			g.src = nil
		}
		g.insns = append(g.insns, ins)
		g.raw += int(ins.Size() / asm.InstructionSize)
	}
}

// newLabel returns a label unique in the compile.
func (g *gen) newLabel(what string) string {
	g.c.labels++
	return fmt.Sprintf("%s_%d", what, g.c.labels)
}

// setLabel makes name refer to the next instruction emitted. A label
// nothing has jumped to, after dead code, stays dead with it.
func (g *gen) setLabel(name string) {
	if g.dead {
		if !g.referenced[name] {
			return
		}
		g.dead = false
	}
	g.pending = append(g.pending, name)
}

// resolveAliases points jumps at labels that met another label to the one
// the instruction carries: cilium allows one symbol per instruction.
func (g *gen) resolveAliases() asm.Instructions {
	for i, ins := range g.insns {
		if to, ok := g.aliases[ins.Reference()]; ok {
			g.insns[i] = ins.WithReference(to)
		}
	}
	return g.insns
}

// sourceLine is a script line attached to the instructions made from it,
// shown by -p3 and used to place verifier errors.
type sourceLine struct {
	pos  diag.Pos
	text string
}

func (s sourceLine) String() string {
	return fmt.Sprintf("%s: %s", s.pos, strings.TrimSpace(s.text))
}

func (g *gen) setSource(pos diag.Pos) {
	if !pos.IsValid() {
		return
	}
	text := ""
	if g.c.opts.Sources != nil {
		if src, ok := g.c.opts.Sources(pos.File); ok {
			lines := strings.Split(src, "\n")
			if pos.Line <= len(lines) {
				text = lines[pos.Line-1]
			}
		}
	}
	// The line is recorded with the first instruction the statement
	// emits: a statement after `next` emits none.
	g.src = &sourceLine{pos: pos, text: text}
}

// pushStack reserves an 8-byte stack slot and returns its offset from R10.
func (g *gen) pushStack() int {
	g.stackUsed += 8
	g.maxStack = max(g.maxStack, g.stackUsed)
	return keySlot - g.stackUsed
}

// popStack releases the slot pushStack reserved last.
func (g *gen) popStack() { g.stackUsed -= 8 }

// allocScratch reserves n bytes of scratch, 8-byte aligned. Scratch is
// released by statement: see stmt.
func (g *gen) allocScratch(n int) int {
	off := g.scratchUsed
	g.scratchUsed += roundUp8(n)
	g.maxScratch = max(g.maxScratch, g.scratchUsed)
	return off
}

func (g *gen) zeroScratch(off, n int) {
	for i := 0; i < n; i += 8 {
		g.emit(storeDW(regScratch, int16(off+i), 0))
	}
}

// scratchPtr sets reg to the address of scratch offset off.
func (g *gen) scratchPtr(reg asm.Register, off int) {
	g.emit(asm.Mov.Reg(reg, regScratch), asm.Add.Imm(reg, int32(off)))
}

// copyString copies a string slot from the address in src to dst+off.
// Slots are zero-padded, so copying whole words keeps them so.
func (g *gen) copyString(dst asm.Register, off int, src asm.Register) {
	g.copyStringN(dst, off, src, g.c.opts.Params.StringLen)
}

// copyStringN copies the first size bytes of a string slot, in whole
// words: a narrow key column or record field whose strings fit.
func (g *gen) copyStringN(dst asm.Register, off int, src asm.Register, size int) {
	for i := 0; i < size; i += 8 {
		g.emit(
			asm.LoadMem(asm.R1, src, int16(i), asm.DWord),
			asm.StoreMem(dst, int16(off+i), asm.R1, asm.DWord),
		)
	}
}

// Ring buffer flags.
const (
	rbNoWakeup    = 1
	rbForceWakeup = 2
)

// sendRecord sends a header-only record, waking the reader at once: exit and
// errors should not wait for the next drain.
func (g *gen) sendRecord(kind uint32, id int) {
	g.emit(
		asm.StoreImm(regScratch, recordSlot, int64(kind), asm.Word),
		asm.StoreImm(regScratch, recordSlot+4, int64(id), asm.Word),
	)
	g.output(recordSlot, maps.HeaderSize, rbForceWakeup)
}

// output sends size bytes at scratch offset off to the ring buffer,
// counting the record as lost when the buffer is full.
func (g *gen) output(off, size int, flags int32) {
	ok := g.newLabel("sent")
	g.emit(asm.LoadMapPtr(asm.R1, 0).WithReference(maps.EventsMap))
	g.scratchPtr(asm.R2, off)
	g.emit(
		asm.Mov.Imm(asm.R3, int32(size)),
		asm.Mov.Imm(asm.R4, flags),
		asm.FnRingbufOutput.Call(),
		asm.JSGE.Imm(asm.R0, 0, ok),
		asm.Mov.Imm(asm.R1, 1),
		asm.AddAtomic.Mem(regGlobals, asm.R1, asm.DWord, int16(g.c.abi.Hidden.Lost)),
	)
	g.setLabel(ok)
}

// globalOffset returns the offset of a scalar global in the scalars map.
func (g *gen) globalOffset(v *sema.Var) int16 {
	return int16(g.c.abi.Globals[g.c.global[v]].Offset)
}

// typeOf returns the checked type of e.
func (g *gen) typeOf(e ast.Expr) sema.Type { return g.c.prog.Types[e] }

// storeDW emits `*(u64 *)(dst + off) = imm`, the immediate sign-extended.
// The kernel accepts this form; cilium's asm.StoreImm refuses DWord only
// because its value could not hold a full 64-bit constant.
func storeDW(dst asm.Register, off int16, imm int32) asm.Instruction {
	return asm.Instruction{OpCode: asm.StoreImmOp(asm.DWord), Dst: dst, Offset: off, Constant: int64(imm)}
}

// contains reports whether any node under root matches.
func contains(root ast.Node, match func(ast.Node) bool) bool {
	found := false
	ast.Inspect(root, func(n ast.Node) bool {
		found = found || n != nil && match(n)
		return !found
	})
	return found
}
