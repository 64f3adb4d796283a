package bpf

import (
	"github.com/cilium/ebpf/asm"

	"etap/lang/ast"
	"etap/maps"
	"etap/sema"
)

// BPF map update flags.
const (
	bpfAny     = 0
	bpfNoExist = 1
)

func (g *gen) mapName(arr *sema.Var) string {
	return g.c.abi.Globals[g.c.global[arr]].MapName
}

// arrayKey packs the index columns of an array access into scratch, as
// maps.Global.PackKey lays them out, and returns the key's offset.
func (g *gen) arrayKey(array *ast.Ident, index []ast.Expr) int {
	arr := g.c.prog.Refs[array]
	glob := g.c.abi.Globals[g.c.global[arr]]
	keyOff := g.allocScratch(glob.KeySize())
	offs := glob.KeyOffsets()
	for i, k := range index {
		if glob.Keys[i] == maps.String {
			g.checkColumn(&glob, i, k)
			g.stringInto(k, keyOff+offs[i], glob.KeySizes[i], true)
			continue
		}
		g.expr(k)
		g.emit(asm.StoreMem(regScratch, int16(keyOff+offs[i]), asm.R0, asm.DWord))
	}
	return keyOff
}

// lookup leaves the address of arr's value under the key at keyOff in R0,
// or 0 when there is none.
func (g *gen) lookup(arr *sema.Var, keyOff int) {
	g.emit(asm.LoadMapPtr(asm.R1, 0).WithReference(g.mapName(arr)))
	g.scratchPtr(asm.R2, keyOff)
	g.emit(asm.FnMapLookupElem.Call())
}

// arrayLoad reads arr[key]: a missing element reads as 0 or "" and is not
// created.
func (g *gen) arrayLoad(arr *sema.Var, keyOff int) {
	g.lookup(arr, keyOff)
	done := g.newLabel("elem")
	if arr.Type == sema.String {
		empty := g.allocScratch(g.c.opts.Params.StringLen)
		g.emit(asm.JNE.Imm(asm.R0, 0, done))
		g.zeroScratch(empty, g.c.opts.Params.StringLen)
		g.scratchPtr(asm.R0, empty)
		g.setLabel(done)
		return
	}
	// A missing element's null address is already the 0 it reads as.
	g.emit(asm.JEq.Imm(asm.R0, 0, done), asm.LoadMem(asm.R0, asm.R0, 0, asm.DWord))
	g.setLabel(done)
}

// arrayAssign emits arr[k] = y; R0 ends with y's value.
func (g *gen) arrayAssign(ix *ast.IndexExpr, y ast.Expr) {
	arr := g.c.prog.Refs[ix.Array]
	keyOff := g.arrayKey(ix.Array, ix.Index)
	g.expr(y)
	if arr.Type == sema.String {
		saved := g.pushStack()
		defer g.popStack()
		g.emit(asm.StoreMem(asm.R10, int16(saved), asm.R0, asm.DWord))
		g.update(arr, ix, keyOff, func() { g.emit(asm.Mov.Reg(asm.R3, asm.R0)) })
		g.emit(asm.LoadMem(asm.R0, asm.R10, int16(saved), asm.DWord))
		return
	}
	g.arrayStoreLong(arr, ix, keyOff)
}

// arrayStoreLong stores the long in R0 as arr[key]; R0 is kept.
func (g *gen) arrayStoreLong(arr *sema.Var, ix *ast.IndexExpr, keyOff int) {
	val := g.allocScratch(8)
	g.emit(asm.StoreMem(regScratch, int16(val), asm.R0, asm.DWord))
	g.update(arr, ix, keyOff, func() { g.scratchPtr(asm.R3, val) })
	g.emit(asm.LoadMem(asm.R0, regScratch, int16(val), asm.DWord))
}

// update calls map_update_elem with the value address that setValue puts in
// R3 (it runs before R1 and R2 are set), raising stap's overflow error when
// the map is full.
func (g *gen) update(arr *sema.Var, ix *ast.IndexExpr, keyOff int, setValue func()) {
	setValue()
	g.emit(asm.LoadMapPtr(asm.R1, 0).WithReference(g.mapName(arr)))
	g.scratchPtr(asm.R2, keyOff)
	g.emit(asm.Mov.Imm(asm.R4, bpfAny), asm.FnMapUpdateElem.Call())
	ok := g.newLabel("stored")
	g.emit(asm.JSGE.Imm(asm.R0, 0, ok))
	g.raise(g.overflowSite(arr, ix))
	g.setLabel(ok)
}

func (g *gen) overflowSite(arr *sema.Var, ix *ast.IndexExpr) int {
	return g.errorSite("Array overflow, check MAXMAPENTRIES", "identifier '"+arr.Name+"'", ix.Span().Start)
}

// arrayAdd emits arr[k] += value: the common `c[execname()]++` of a kernel
// probe, hit on many CPUs at once, atomically, or in the running CPU's value
// of a per-CPU counter (see perCPUCounters). A missing element is inserted;
// if another CPU inserted it first, the add goes to its element (its own
// value of it, for a per-CPU counter: the kernel zeroes the other CPUs'
// values of an element a program inserts).
func (g *gen) arrayAdd(ix *ast.IndexExpr, value func()) {
	arr := g.c.prog.Refs[ix.Array]
	perCPU := g.c.abi.Globals[g.c.global[arr]].PerCPU
	keyOff := g.arrayKey(ix.Array, ix.Index)
	value()
	val := g.allocScratch(8)
	g.emit(asm.StoreMem(regScratch, int16(val), asm.R0, asm.DWord))

	insert, retry, done := g.newLabel("insert"), g.newLabel("retry"), g.newLabel("added")
	add := func() {
		g.addTo(perCPU, val)
		g.emit(asm.Ja.Label(done))
	}
	g.lookup(arr, keyOff)
	g.emit(asm.JEq.Imm(asm.R0, 0, insert))
	add()
	g.setLabel(insert)
	g.emit(asm.LoadMapPtr(asm.R1, 0).WithReference(g.mapName(arr)))
	g.scratchPtr(asm.R2, keyOff)
	g.scratchPtr(asm.R3, val)
	g.emit(asm.Mov.Imm(asm.R4, bpfNoExist), asm.FnMapUpdateElem.Call(), asm.JSLT.Imm(asm.R0, 0, retry), asm.Ja.Label(done))
	g.setLabel(retry)
	g.lookup(arr, keyOff)
	overflow := g.newLabel("overflow")
	g.emit(asm.JEq.Imm(asm.R0, 0, overflow))
	add()
	g.setLabel(overflow)
	g.raise(g.overflowSite(arr, ix))
	g.setLabel(done)
}

// delete emits `delete x`: an element, every element a slice matches, a
// whole array, a scalar (back to 0 or "") or a statistic.
func (g *gen) delete(s *ast.DeleteStmt) {
	switch x := s.X.(type) {
	case *ast.IndexExpr:
		arr := g.c.prog.Refs[x.Array]
		if hasWildcard(x.Index) {
			g.deleteElems(arr, x.Index, s)
			return
		}
		keyOff := g.arrayKey(x.Array, x.Index)
		g.emit(asm.LoadMapPtr(asm.R1, 0).WithReference(g.mapName(arr)))
		g.scratchPtr(asm.R2, keyOff)
		g.emit(asm.FnMapDeleteElem.Call())
	case *ast.Ident:
		v := g.c.prog.Refs[x]
		switch {
		case v.IsArray:
			g.deleteElems(v, nil, s)
		case v.Type == sema.Stats:
			g.statReset(x)
		case v.Type == sema.String:
			g.zeroString(v)
		default:
			g.emit(asm.Mov.Imm(asm.R0, 0))
			g.storeVar(v)
		}
	}
}

// hasWildcard reports whether an index list has a `*`.
func hasWildcard(index []ast.Expr) bool {
	for _, k := range index {
		if k == nil {
			return true
		}
	}
	return false
}

// deleteElems deletes the elements of arr that slice matches, all of them
// when slice is nil.
func (g *gen) deleteElems(arr *sema.Var, slice []ast.Expr, pos ast.Node) {
	glob := &g.c.abi.Globals[g.c.global[arr]]
	g.forEachElem(glob.MapName, pos, nil, func(cb *callback) {
		keyAddr := func(r asm.Register) { g.emit(asm.LoadMem(r, asm.R10, int16(cb.key), asm.DWord)) }
		if slice != nil {
			g.matchKey(glob, slice, keyAddr, cb.cont)
		}
		g.emit(asm.LoadMapPtr(asm.R1, 0).WithReference(glob.MapName))
		keyAddr(asm.R2)
		g.emit(asm.FnMapDeleteElem.Call())
	})
}

// inSlice emits `[k, *] in a`: 1 when some element matches.
func (g *gen) inSlice(e *ast.InExpr) {
	arr := g.c.prog.Refs[e.Array]
	glob := &g.c.abi.Globals[g.c.global[arr]]
	found := g.pushStack()
	defer g.popStack()
	g.emit(storeDW(asm.R10, int16(found), 0))
	g.forEachElem(glob.MapName, e, []int{found}, func(cb *callback) {
		keyAddr := func(r asm.Register) { g.emit(asm.LoadMem(r, asm.R10, int16(cb.key), asm.DWord)) }
		g.matchKey(glob, e.Keys, keyAddr, cb.cont)
		g.emit(storeDW(asm.R10, int16(found), 1), asm.Ja.Label(cb.brk))
	})
	g.emit(asm.LoadMem(asm.R0, asm.R10, int16(found), asm.DWord))
}
