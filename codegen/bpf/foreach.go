package bpf

import (
	"slices"

	"github.com/cilium/ebpf/asm"

	"etap/diag"
	"etap/lang/ast"
	"etap/maps"
	"etap/sema"
)

// Whatever visits every element of an array runs as a callback of
// bpf_for_each_map_elem, in kernel and user-space probes alike (vm has the
// helper too): foreach in kernel probes, whole-array and wildcard deletes,
// `[k, *] in a`. The kernel cannot sort, so a kernel foreach visits the
// live map in its own order; user-space probes sort with the foreach
// helpers instead (see foreach).
//
// A callback is a bpf-to-bpf function with a stack frame of its own, so the
// code of a loop body, which addresses locals at fixed offsets from R10,
// runs there on a copy: the caller copies its long locals (and the few
// slots an iteration reports through) to scratch, the callback copies them
// into the same offsets of its frame, runs the body and copies them back,
// and the caller reloads them. Going through scratch, a map value whose
// contents the verifier does not track, keeps it from following each
// iteration's constants, which would make it walk every possible element
// count. The callback's context argument is the caller's frame, where the
// caller spilled the probe's context; R7 and R8 are set up again.

// callback is a bpf_for_each_map_elem callback being emitted.
type callback struct {
	// ctxSave and stop are caller slots: the probe's context, and the
	// flag that tells the caller to leave the probe once the iteration
	// returns.
	ctxSave, stop int
	// ctxArg, key and value are this frame's slots holding the callback's
	// arguments: the caller's frame, the element's key and value.
	ctxArg, key, value int
	// shared are the slots copied in and out through scratch at offset
	// exchange.
	shared   []int
	exchange int
	// brk ends the iteration, cont goes on to the next element.
	brk, cont string
}

// forEachElem emits a bpf_for_each_map_elem over the map named mapName
// whose callback runs body. body ends by falling through (next element)
// or by jumping to cb.brk (stop); leave() in it leaves the probe. keep are
// slots of the caller, besides its long locals, that the body reads or
// writes.
func (g *gen) forEachElem(mapName string, pos ast.Node, keep []int, body func(cb *callback)) {
	cb := &callback{ctxSave: g.pushStack(), stop: g.pushStack()}
	cb.shared = g.sharedSlots(keep)
	cb.exchange = g.allocScratch(8 * len(cb.shared))
	g.emit(asm.StoreMem(asm.R10, int16(cb.ctxSave), regCtx, asm.DWord), storeDW(asm.R10, int16(cb.stop), 0))
	g.exchange(cb, false)
	cb.ctxArg, cb.key, cb.value = g.pushStack(), g.pushStack(), g.pushStack()
	name := g.newLabel("each")
	cb.brk, cb.cont = g.newLabel("each_break"), g.newLabel("each_next")
	g.subprogram(name, pos.Span().Start, eachCallback, func() { g.callbackBody(cb, body) })

	g.emit(
		asm.LoadMapPtr(asm.R1, 0).WithReference(mapName),
		funcAddr(asm.R2, name),
		asm.Mov.Reg(asm.R3, asm.R10),
		asm.Add.Imm(asm.R3, keySlot),
		asm.Mov.Imm(asm.R4, 0),
		asm.FnForEachMapElem.Call(),
	)
	g.exchange(cb, true)
	g.emit(asm.LoadMem(asm.R0, asm.R10, int16(cb.stop), asm.DWord))
	g.leaveIf(asm.JNE)
	for range 5 {
		g.popStack()
	}
}

// sharedSlots returns the slots a callback shares with its caller: the
// long locals, the action count when it is on the stack, and keep.
func (g *gen) sharedSlots(keep []int) []int {
	slots := append([]int{}, keep...)
	for v, o := range g.slot {
		if v.Type != sema.String && o < keySlot {
			slots = append(slots, o)
		}
	}
	if g.actions != 0 && g.actionsBase == asm.R10 {
		slots = append(slots, g.actions)
	}
	// Map order is random; keep the listing stable.
	slices.Sort(slots)
	return slices.Compact(slots)
}

// exchange copies the shared slots to scratch, or back from it when in.
func (g *gen) exchange(cb *callback, in bool) {
	for i, o := range cb.shared {
		x := int16(cb.exchange + 8*i)
		if in {
			g.emit(asm.LoadMem(asm.R0, regScratch, x, asm.DWord), asm.StoreMem(asm.R10, int16(o), asm.R0, asm.DWord))
		} else {
			g.emit(asm.LoadMem(asm.R0, asm.R10, int16(o), asm.DWord), asm.StoreMem(regScratch, x, asm.R0, asm.DWord))
		}
	}
}

// callbackBody emits the callback: its prologue, body and two epilogues.
func (g *gen) callbackBody(cb *callback, body func(cb *callback)) {
	g.emit(
		asm.StoreMem(asm.R10, int16(cb.key), asm.R2, asm.DWord),
		asm.StoreMem(asm.R10, int16(cb.value), asm.R3, asm.DWord),
		asm.StoreMem(asm.R10, int16(cb.ctxArg), asm.R4, asm.DWord),
		asm.LoadMem(regCtx, asm.R4, int16(cb.ctxSave-keySlot), asm.DWord),
		storeDW(asm.R10, keySlot, 0),
	)
	g.cbs = append(g.cbs, cb)
	g.lookupZero(maps.ScratchMap, regScratch)
	g.emit(asm.LoadMapValue(regGlobals, 0, 0).WithReference(maps.ScalarsMap))
	g.exchange(cb, true)
	body(cb)
	g.setLabel(cb.cont)
	g.exchange(cb, false)
	g.emit(asm.Mov.Imm(asm.R0, 0), asm.Return())
	g.setLabel(cb.brk)
	g.exchange(cb, false)
	g.emit(asm.Mov.Imm(asm.R0, 1), asm.Return())
	g.cbs = g.cbs[:len(g.cbs)-1]
}

// leaveCallback leaves the probe from inside a callback: it tells the
// caller to leave too, and stops the iteration.
func (g *gen) leaveCallback(cb *callback) {
	g.emit(
		asm.LoadMem(asm.R1, asm.R10, int16(cb.ctxArg), asm.DWord),
		storeDW(asm.R1, int16(cb.stop-keySlot), 1),
		asm.Mov.Imm(asm.R0, 1),
		asm.Return(),
	)
}

// foreach emits `foreach ([v =] [k1, k2] in a[slice] sort limit n) body`.
// User-space probes iterate sorted, through the foreach helpers; kernel
// probes over the live map, through a callback.
func (g *gen) foreach(s *ast.ForeachStmt) {
	if g.probe.Point.Kernel {
		g.foreachLive(s)
		return
	}
	g.foreachSorted(s)
}

// foreachSorted asks the interpreter to collect and sort the array's keys,
// then fetches them one by one into the key variables:
//
//	foreach (k in c- limit 5) body
//
// With a slice, the helper cannot know which keys match, so the limit is
// counted here instead.
func (g *gen) foreachSorted(s *ast.ForeachStmt) {
	arr := g.c.prog.Refs[s.Array]
	gi := g.c.global[arr]
	glob := &g.c.abi.Globals[gi]
	site := maps.ForeachSite{Global: gi, SortColumn: s.SortColumn, SortDesc: s.SortDesc}
	if s.SortAggregate != "" {
		site.SortAggregate = sema.StatOps[s.SortAggregate]
	}
	g.c.abi.Foreach = append(g.c.abi.Foreach, site)

	left := 0
	switch {
	case s.Limit != nil && s.Slice != nil:
		g.expr(s.Limit)
		left = g.pushStack()
		defer g.popStack()
		g.emit(asm.StoreMem(asm.R10, int16(left), asm.R0, asm.DWord), asm.Mov.Imm(asm.R3, -1))
	case s.Limit != nil:
		g.expr(s.Limit)
		g.emit(asm.Mov.Reg(asm.R3, asm.R0))
	default:
		g.emit(asm.Mov.Imm(asm.R3, -1))
	}
	g.emit(
		asm.LoadMapPtr(asm.R1, 0).WithReference(glob.MapName),
		asm.Mov.Imm(asm.R2, int32(len(g.c.abi.Foreach)-1)),
		asm.BuiltinFunc(maps.HelperForeachStart).Call(),
	)
	handle := g.pushStack()
	defer g.popStack()
	g.emit(asm.StoreMem(asm.R10, int16(handle), asm.R0, asm.DWord))
	keyOff := g.allocScratch(glob.KeySize())
	keyAddr := func(r asm.Register) { g.scratchPtr(r, keyOff) }

	next, end := g.newLabel("foreach"), g.newLabel("foreach_end")
	g.setLabel(next)
	g.emit(asm.LoadMem(asm.R1, asm.R10, int16(handle), asm.DWord))
	keyAddr(asm.R2)
	g.emit(
		asm.BuiltinFunc(maps.HelperForeachNext).Call(),
		asm.JEq.Imm(asm.R0, 0, end),
	)
	if s.Slice != nil {
		g.matchKey(glob, s.Slice, keyAddr, next)
	}
	if left != 0 {
		g.emit(
			asm.LoadMem(asm.R0, asm.R10, int16(left), asm.DWord),
			asm.JSLE.Imm(asm.R0, 0, end),
			asm.Add.Imm(asm.R0, -1),
			asm.StoreMem(asm.R10, int16(left), asm.R0, asm.DWord),
		)
	}
	g.foreachVars(s, glob, keyAddr, func() { g.arrayLoad(arr, keyOff) })
	g.loops = append(g.loops, loop{brk: end, cont: next})
	g.stmt(s.Body)
	g.loops = g.loops[:len(g.loops)-1]
	g.emit(asm.Ja.Label(next))
	g.setLabel(end)
}

// foreachLive iterates the live map in a kernel probe, in the map's order.
func (g *gen) foreachLive(s *ast.ForeachStmt) {
	if len(g.returns) > 0 && contains(s.Body, func(n ast.Node) bool { _, ok := n.(*ast.ReturnStmt); return ok }) {
		// The body runs in a callback, which cannot jump to the end of
		// the function that holds the loop.
		g.c.diags.Add(diag.Errorf(diag.Codegen, "C013", s.Span(), "return inside a foreach of a kernel probe is not built yet").
			WithHint("set a variable and break out of the loop, then return after it"))
		return
	}
	arr := g.c.prog.Refs[s.Array]
	glob := &g.c.abi.Globals[g.c.global[arr]]
	left := g.limitSlot(s.Limit)
	if left != 0 {
		defer g.popStack()
	}
	var keep []int
	if left != 0 {
		keep = append(keep, left)
	}
	g.forEachElem(glob.MapName, s, keep, func(cb *callback) {
		keyAddr := func(r asm.Register) { g.emit(asm.LoadMem(r, asm.R10, int16(cb.key), asm.DWord)) }
		if s.Slice != nil {
			g.matchKey(glob, s.Slice, keyAddr, cb.cont)
		}
		if left != 0 {
			g.emit(
				asm.LoadMem(asm.R0, asm.R10, int16(left), asm.DWord),
				asm.JSLE.Imm(asm.R0, 0, cb.brk),
				asm.Add.Imm(asm.R0, -1),
				asm.StoreMem(asm.R10, int16(left), asm.R0, asm.DWord),
			)
		}
		g.foreachVars(s, glob, keyAddr, func() {
			g.emit(asm.LoadMem(asm.R0, asm.R10, int16(cb.value), asm.DWord))
			if arr.Type != sema.String {
				g.emit(asm.LoadMem(asm.R0, asm.R0, 0, asm.DWord))
			}
		})
		g.loops = append(g.loops, loop{brk: cb.brk, cont: cb.cont})
		g.stmt(s.Body)
		g.loops = g.loops[:len(g.loops)-1]
	})
}

// foreachVars sets the key variables from the key keyAddr gives the
// address of, and the value variable from what value leaves in R0.
func (g *gen) foreachVars(s *ast.ForeachStmt, glob *maps.Global, keyAddr func(asm.Register), value func()) {
	offs := glob.KeyOffsets()
	for i, k := range s.Keys {
		v := g.c.prog.Refs[k]
		keyAddr(asm.R0)
		if v.Type == sema.String {
			g.emit(asm.Add.Imm(asm.R0, int32(offs[i])))
			g.widenString(glob.KeySizes[i])
		} else {
			g.emit(asm.LoadMem(asm.R0, asm.R0, int16(offs[i]), asm.DWord))
		}
		g.storeVar(v)
	}
	if s.Value != nil {
		value()
		g.storeVar(g.c.prog.Refs[s.Value])
	}
}

// matchKey jumps to miss unless the key keyAddr gives the address of has
// the slice's values in its columns that are not `*`.
func (g *gen) matchKey(glob *maps.Global, slice []ast.Expr, keyAddr func(asm.Register), miss string) {
	offs := glob.KeyOffsets()
	for i, k := range slice {
		if k == nil {
			continue
		}
		if glob.Keys[i] == maps.String {
			g.checkColumn(glob, i, k)
		}
		g.expr(k)
		keyAddr(asm.R1)
		if glob.Keys[i] != maps.String {
			g.emit(
				asm.LoadMem(asm.R1, asm.R1, int16(offs[i]), asm.DWord),
				asm.JNE.Reg(asm.R0, asm.R1, miss),
			)
			continue
		}
		// Zero padding makes equal strings equal word for word; k's
		// strings fit the column (checkColumn), so its width is enough.
		for w := 0; w < glob.KeySizes[i]; w += 8 {
			g.emit(
				asm.LoadMem(asm.R2, asm.R0, int16(w), asm.DWord),
				asm.LoadMem(asm.R3, asm.R1, int16(offs[i]+w), asm.DWord),
				asm.JNE.Reg(asm.R2, asm.R3, miss),
			)
		}
	}
}

// limitSlot evaluates a foreach's limit into a fresh stack slot and
// returns the slot, or 0 without a limit; the caller pops the slot.
func (g *gen) limitSlot(limit ast.Expr) int {
	if limit == nil {
		return 0
	}
	g.expr(limit)
	slot := g.pushStack()
	g.emit(asm.StoreMem(asm.R10, int16(slot), asm.R0, asm.DWord))
	return slot
}
