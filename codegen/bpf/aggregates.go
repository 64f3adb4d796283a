package bpf

import (
	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"etap/lang/ast"
	"etap/maps"
	"etap/sema"
)

// Statistics live in per-CPU maps laid out as maps.Stat says: `s <<< v`
// updates the running CPU's value in place, with no atomics, and the
// extractors of user-space probes call helpers that merge every CPU.

// statGlobal makes g, the Global of v, a statistic: its own per-CPU map,
// an array for a scalar and a hash for an array.
func (c *compiler) statGlobal(v *sema.Var, g *maps.Global) {
	st := maps.Stat{}
	if v.Stat != nil {
		st = v.Stat.Stat
	}
	g.Stat = &st
	g.MapName = "s_" + v.Name
	if !v.IsArray {
		g.MaxEntries = 1
	}
}

// addStatMaps adds the statistics' maps, and the zeros their arrays' new
// elements are made from.
func (c *compiler) addStatMaps(spec *ebpf.CollectionSpec) {
	zeros := 0
	for _, g := range c.abi.Globals {
		if g.Stat == nil {
			continue
		}
		ms := &ebpf.MapSpec{
			Name: g.MapName, Type: ebpf.PerCPUArray, KeySize: 4,
			ValueSize: uint32(g.Stat.Size()), MaxEntries: uint32(g.MaxEntries),
		}
		if g.IsArray() {
			ms.Type, ms.KeySize = ebpf.PerCPUHash, uint32(g.KeySize())
			zeros = max(zeros, g.Stat.Size())
		}
		spec.Maps[g.MapName] = ms
	}
	if zeros > 0 {
		spec.Maps[maps.ZerosMap] = &ebpf.MapSpec{
			Name: maps.ZerosMap, Type: ebpf.Array, KeySize: 4, ValueSize: uint32(zeros), MaxEntries: 1,
			Flags: rdonlyProg,
		}
	}
}

// rdonlyProg is BPF_F_RDONLY_PROG: programs only read the zeros.
const rdonlyProg = 1 << 7

// statKey emits the key of the statistic e names and returns its global's
// index and a function that sets a register to the key's address: the
// packed index of an array's element, the zero word at keySlot for a
// scalar.
func (g *gen) statKey(e ast.Expr) (int, func(asm.Register)) {
	if ix, ok := unparen(e).(*ast.IndexExpr); ok {
		off := g.arrayKey(ix.Array, ix.Index)
		return g.c.global[g.c.prog.Refs[ix.Array]], func(r asm.Register) { g.scratchPtr(r, off) }
	}
	v := g.c.prog.Refs[unparen(e).(*ast.Ident)]
	return g.c.global[v], func(r asm.Register) { g.emit(asm.Mov.Reg(r, asm.R10), asm.Add.Imm(r, keySlot)) }
}

// statAdd emits `s <<< v`; R0 ends with v.
func (g *gen) statAdd(e *ast.AssignExpr) {
	gi, key := g.statKey(e.X)
	glob := &g.c.abi.Globals[gi]
	g.expr(e.Y)
	val := g.pushStack()
	defer g.popStack()
	g.emit(asm.StoreMem(asm.R10, int16(val), asm.R0, asm.DWord))

	lookup := func() {
		g.emit(asm.LoadMapPtr(asm.R1, 0).WithReference(glob.MapName))
		key(asm.R2)
		g.emit(asm.FnMapLookupElem.Call())
	}
	lookup()
	if glob.IsArray() {
		// A new element starts from zeros; if another CPU inserted it
		// first, the insert fails and the lookup finds that one.
		found := g.newLabel("stat_found")
		g.emit(asm.JNE.Imm(asm.R0, 0, found))
		g.emit(asm.LoadMapPtr(asm.R1, 0).WithReference(glob.MapName))
		key(asm.R2)
		g.emit(
			asm.LoadMapValue(asm.R3, 0, 0).WithReference(maps.ZerosMap),
			asm.Mov.Imm(asm.R4, bpfNoExist),
			asm.FnMapUpdateElem.Call(),
		)
		lookup()
		g.emit(asm.JNE.Imm(asm.R0, 0, found))
		ix := unparen(e.X).(*ast.IndexExpr)
		g.raise(g.overflowSite(g.c.prog.Refs[ix.Array], ix))
		g.setLabel(found)
	} else {
		// A per-CPU array always has its element; the verifier wants
		// the check.
		g.leaveIf(asm.JEq)
	}
	g.emit(asm.Mov.Reg(asm.R1, asm.R0), asm.LoadMem(asm.R2, asm.R10, int16(val), asm.DWord))
	g.statUpdate(glob.Stat, val)
	g.emit(asm.LoadMem(asm.R0, asm.R10, int16(val), asm.DWord))
}

// statUpdate adds the value in R2, also in stack slot val, to the
// statistic R1 points to, as stap's __stp_stat_add does. It clobbers
// R0-R5.
func (g *gen) statUpdate(st *maps.Stat, val int) {
	first, counted := g.newLabel("stat_first"), g.newLabel("stat_counted")
	g.emit(
		asm.LoadMem(asm.R3, asm.R1, maps.StatCount, asm.DWord),
		asm.Add.Imm(asm.R3, 1),
		asm.StoreMem(asm.R1, maps.StatCount, asm.R3, asm.DWord),
		asm.JEq.Imm(asm.R3, 1, first),
		asm.LoadMem(asm.R4, asm.R1, maps.StatSum, asm.DWord),
		asm.Add.Reg(asm.R4, asm.R2),
		asm.StoreMem(asm.R1, maps.StatSum, asm.R4, asm.DWord),
	)
	for _, bound := range []struct {
		off  int16
		keep asm.JumpOp
	}{{maps.StatMax, asm.JSGE}, {maps.StatMin, asm.JSLE}} {
		kept := g.newLabel("stat_kept")
		g.emit(
			asm.LoadMem(asm.R4, asm.R1, bound.off, asm.DWord),
			bound.keep.Reg(asm.R4, asm.R2, kept),
			asm.StoreMem(asm.R1, bound.off, asm.R2, asm.DWord),
		)
		g.setLabel(kept)
	}
	if st.Variance {
		g.welford(st.Shift, val)
	}
	g.emit(asm.Ja.Label(counted))

	g.setLabel(first)
	g.emit(
		asm.StoreMem(asm.R1, maps.StatSum, asm.R2, asm.DWord),
		asm.StoreMem(asm.R1, maps.StatMin, asm.R2, asm.DWord),
		asm.StoreMem(asm.R1, maps.StatMax, asm.R2, asm.DWord),
	)
	if st.Variance {
		g.emit(asm.Mov.Reg(asm.R4, asm.R2))
		g.shiftLeft(asm.R4, st.Shift)
		g.emit(
			asm.StoreMem(asm.R1, maps.StatAvgS, asm.R4, asm.DWord),
			storeDW(asm.R1, maps.StatM2, 0),
		)
	}
	g.setLabel(counted)

	switch st.Hist {
	case maps.HistLog:
		g.logBucket()
	case maps.HistLinear:
		g.linearBucket(st)
	default:
		return
	}
	g.emit(
		asm.LSh.Imm(asm.R3, 3),
		asm.Add.Reg(asm.R1, asm.R3),
		asm.LoadMem(asm.R4, asm.R1, maps.StatBuckets, asm.DWord),
		asm.Add.Imm(asm.R4, 1),
		asm.StoreMem(asm.R1, maps.StatBuckets, asm.R4, asm.DWord),
	)
}

// welford updates the running mean and squared deviations that @variance
// merges, for the value in R2 and the new count in R3, as stap does:
//
//	delta = (int)((v << shift) - avg_s)
//	avg_s += delta / count
//	m2 += delta * ((v << shift) - avg_s)
//
// delta is an int in stap's runtime, so it is cut to 32 bits here too.
func (g *gen) welford(shift, val int) {
	g.emit(asm.Mov.Reg(asm.R4, asm.R2))
	g.shiftLeft(asm.R4, shift)
	g.emit(
		asm.LoadMem(asm.R5, asm.R1, maps.StatAvgS, asm.DWord),
		asm.Mov.Reg(asm.R0, asm.R4),
		asm.Sub.Reg(asm.R0, asm.R5),
		asm.LSh.Imm(asm.R0, 32),
		asm.ArSh.Imm(asm.R0, 32),
		asm.Mov.Reg(asm.R2, asm.R0),
		asm.SDiv.Reg(asm.R2, asm.R3),
		asm.Add.Reg(asm.R5, asm.R2),
		asm.StoreMem(asm.R1, maps.StatAvgS, asm.R5, asm.DWord),
		asm.Sub.Reg(asm.R4, asm.R5),
		asm.Mul.Reg(asm.R0, asm.R4),
		asm.LoadMem(asm.R2, asm.R1, maps.StatM2, asm.DWord),
		asm.Add.Reg(asm.R2, asm.R0),
		asm.StoreMem(asm.R1, maps.StatM2, asm.R2, asm.DWord),
		// The histogram wants the value again.
		asm.LoadMem(asm.R2, asm.R10, int16(val), asm.DWord),
	)
}

func (g *gen) shiftLeft(r asm.Register, shift int) {
	if shift != 0 {
		g.emit(asm.LSh.Imm(r, int32(shift)))
	}
}

// logBucket sets R3 to the log histogram bucket of the value in R2, as
// stap's _stp_val_to_bucket: 0 goes to bucket 64, a positive value to 64
// plus its bit length, a negative one to 64 minus the bit length of its
// magnitude. The bit length is a binary search, without loops.
func (g *gen) logBucket() {
	done, positive := g.newLabel("bucket"), g.newLabel("bucket_pos")
	g.emit(
		asm.Mov.Imm(asm.R3, maps.HistLogZero),
		asm.JEq.Imm(asm.R2, 0, done),
		asm.Mov.Reg(asm.R4, asm.R2),
		asm.JSGE.Imm(asm.R2, 0, positive),
		asm.Neg.Imm(asm.R4, 0),
	)
	g.setLabel(positive)
	g.emit(asm.Mov.Imm(asm.R5, 1))
	for _, bits := range []int32{32, 16, 8, 4, 2, 1} {
		skip := g.newLabel("bucket_bits")
		g.emit(
			asm.Mov.Reg(asm.R0, asm.R4),
			asm.RSh.Imm(asm.R0, bits),
			asm.JEq.Imm(asm.R0, 0, skip),
			asm.Mov.Reg(asm.R4, asm.R0),
			asm.Add.Imm(asm.R5, bits),
		)
		g.setLabel(skip)
	}
	above := g.newLabel("bucket_above")
	g.emit(
		asm.JSGE.Imm(asm.R2, 0, above),
		asm.Sub.Reg(asm.R3, asm.R5),
		asm.Ja.Label(done),
	)
	g.setLabel(above)
	g.emit(asm.Add.Reg(asm.R3, asm.R5))
	g.setLabel(done)
	// A no-op on every path, but it tells the verifier the bucket is in
	// range without following each path's constant.
	g.emit(asm.And.Imm(asm.R3, maps.HistLogBuckets-1))
}

// linearBucket sets R3 to the linear histogram bucket of the value in R2,
// as stap's __stp_stat_add: 0 below Lo, the last bucket from the end of the
// range on, one per Width between.
func (g *gen) linearBucket(st *maps.Stat) {
	last := int32(st.Buckets() - 1)
	done, inRange := g.newLabel("bucket"), g.newLabel("bucket_in")
	g.loadConst(asm.R4, st.Lo)
	g.emit(
		asm.Mov.Reg(asm.R3, asm.R2),
		asm.Sub.Reg(asm.R3, asm.R4),
		asm.JSGE.Imm(asm.R3, 0, inRange),
		asm.Mov.Imm(asm.R3, 0),
		asm.Ja.Label(done),
	)
	g.setLabel(inRange)
	g.loadConst(asm.R4, st.Width)
	g.emit(
		asm.Div.Reg(asm.R3, asm.R4),
		asm.Add.Imm(asm.R3, 1),
		asm.JLE.Imm(asm.R3, last, done),
		asm.Mov.Imm(asm.R3, last),
	)
	g.setLabel(done)
}

// statExtract emits an extractor of a user-space probe: the helper merges
// every CPU's value. Reading @min, @max, @avg or @variance of an empty
// statistic is stap's "empty aggregate" error.
func (g *gen) statExtract(e *ast.AggregateExpr) {
	op, _ := sema.StatOp(e)
	gi, key := g.statKey(e.X)
	g.c.abi.Stats = append(g.c.abi.Stats, maps.StatSite{Global: gi, Op: op})
	site := len(g.c.abi.Stats) - 1
	out := g.pushStack()
	defer g.popStack()
	g.emit(asm.LoadMapPtr(asm.R1, 0).WithReference(g.c.abi.Globals[gi].MapName))
	key(asm.R2)
	g.emit(
		asm.Mov.Imm(asm.R3, int32(site)),
		asm.Mov.Reg(asm.R4, asm.R10),
		asm.Add.Imm(asm.R4, int32(out)),
		asm.BuiltinFunc(maps.HelperStatExtract).Call(),
	)
	if op.NeedsData() {
		g.raiseIfEmpty(e)
	}
	g.emit(asm.LoadMem(asm.R0, asm.R10, int16(out), asm.DWord))
}

// raiseIfEmpty raises stap's error when a statistics helper returned 1.
func (g *gen) raiseIfEmpty(e *ast.AggregateExpr) {
	ok := g.newLabel("stat_ok")
	g.emit(asm.JEq.Imm(asm.R0, 0, ok))
	g.raise(g.errorSite("empty aggregate", "operator '@"+e.Op+"'", e.Span().Start))
	g.setLabel(ok)
}

// histArg returns the histogram a print or println prints, if its
// argument is one; the parser allows a histogram there only alone.
func histArg(call *ast.CallExpr) (*ast.AggregateExpr, bool) {
	if len(call.Args) != 1 {
		return nil, false
	}
	h, ok := call.Args[0].(*ast.AggregateExpr)
	if !ok {
		return nil, false
	}
	_, stat := sema.StatOp(h)
	return h, !stat
}

// histPrint emits print(@hist_log(s)): the helper sends the merged
// histogram as a record that output draws.
func (g *gen) histPrint(e *ast.AggregateExpr) {
	gi, key := g.statKey(e.X)
	g.emit(asm.LoadMapPtr(asm.R1, 0).WithReference(g.c.abi.Globals[gi].MapName))
	key(asm.R2)
	g.emit(
		asm.Mov.Imm(asm.R3, int32(gi)),
		asm.BuiltinFunc(maps.HelperHistPrint).Call(),
	)
	g.raiseIfEmpty(e)
}

// statReset emits `delete s` of a whole scalar statistic: deleting from a
// per-CPU array zeroes the element on every CPU in user space, where sema
// keeps it.
func (g *gen) statReset(s *ast.Ident) {
	gi, key := g.statKey(s)
	g.emit(asm.LoadMapPtr(asm.R1, 0).WithReference(g.c.abi.Globals[gi].MapName))
	key(asm.R2)
	g.emit(asm.FnMapDeleteElem.Call())
}
