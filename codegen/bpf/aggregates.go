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
			if g.Wrap {
				ms.Type = ebpf.LRUCPUHash
			}
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
	gi, off := g.statKeyOffset(e)
	if off >= 0 {
		return gi, func(r asm.Register) { g.scratchPtr(r, off) }
	}
	return gi, func(r asm.Register) { g.emit(asm.Mov.Reg(r, asm.R10), asm.Add.Imm(r, keySlot)) }
}

// statKeyOffset emits the key of the statistic e names and returns its
// global's index and the scratch offset of the packed key, or -1 for a
// scalar, whose key is the zero word at keySlot.
func (g *gen) statKeyOffset(e ast.Expr) (int, int) {
	if ix, ok := unparen(e).(*ast.IndexExpr); ok {
		return g.c.global[g.c.prog.Refs[ix.Array]], g.arrayKey(ix.Array, ix.Index)
	}
	return g.c.global[g.c.prog.Refs[unparen(e).(*ast.Ident)]], -1
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
	if g.probe.Point.Kernel {
		gi, off := g.statKeyOffset(e.X)
		g.statExtractLive(e, op, g.c.abi.Globals[gi].MapName, off)
		return
	}
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

// statExtractLive emits an extractor of a kernel probe: it merges the
// CPUs' values itself, reading each with bpf_map_lookup_percpu_elem,
// which gives nothing past the last CPU. The CPUs are visited by a
// bpf_loop callback: a plain loop would have the verifier walk every
// possible CPU count. The callback adds each CPU's count and sum, and
// keeps the extreme, in slots of the caller's frame, its context.
func (g *gen) statExtractLive(e *ast.AggregateExpr, op maps.StatOp, mapName string, keyOff int) {
	count, sum, extreme := g.pushStack(), g.pushStack(), g.pushStack()
	defer func() {
		for range 3 {
			g.popStack()
		}
	}()
	for _, s := range []int{count, sum, extreme} {
		g.emit(storeDW(asm.R10, int16(s), 0))
	}
	name := g.newLabel("cpus")
	g.subprogram(name, e.Span().Start, loopBody, func() {
		// R6 keeps the CPU, R9 the caller's frame: a callee may use
		// R6-R9 as it likes.
		g.emit(asm.Mov.Reg(asm.R6, asm.R1), asm.Mov.Reg(asm.R9, asm.R2))
		if keyOff < 0 {
			g.emit(storeDW(asm.R10, keySlot, 0), asm.Mov.Reg(asm.R2, asm.R10), asm.Add.Imm(asm.R2, keySlot))
		} else {
			g.emit(
				storeDW(asm.R10, keySlot, 0),
				asm.LoadMapPtr(asm.R1, 0).WithReference(maps.ScratchMap),
				asm.Mov.Reg(asm.R2, asm.R10),
				asm.Add.Imm(asm.R2, keySlot),
				asm.FnMapLookupElem.Call(),
				asm.JEq.Imm(asm.R0, 0, name+"_stop"),
				asm.Mov.Reg(asm.R2, asm.R0),
				asm.Add.Imm(asm.R2, int32(keyOff)),
			)
		}
		slot := func(s int) int16 { return int16(s - keySlot) }
		g.emit(
			asm.LoadMapPtr(asm.R1, 0).WithReference(mapName),
			asm.Mov.Reg(asm.R3, asm.R6),
			asm.FnMapLookupPercpuElem.Call(),
			asm.JEq.Imm(asm.R0, 0, name+"_stop"),
			asm.LoadMem(asm.R1, asm.R0, maps.StatCount, asm.DWord),
			asm.JEq.Imm(asm.R1, 0, name+"_next"),
		)
		if op == maps.OpMin || op == maps.OpMax {
			field, keep := int16(maps.StatMin), asm.JSLE
			if op == maps.OpMax {
				field, keep = maps.StatMax, asm.JSGE
			}
			g.emit(
				asm.LoadMem(asm.R2, asm.R0, field, asm.DWord),
				asm.LoadMem(asm.R3, asm.R9, slot(count), asm.DWord),
				asm.JEq.Imm(asm.R3, 0, name+"_take"),
				asm.LoadMem(asm.R3, asm.R9, slot(extreme), asm.DWord),
				keep.Reg(asm.R3, asm.R2, name+"_kept"),
			)
			g.setLabel(name + "_take")
			g.emit(asm.StoreMem(asm.R9, slot(extreme), asm.R2, asm.DWord))
			g.setLabel(name + "_kept")
		}
		g.emit(
			asm.LoadMem(asm.R2, asm.R9, slot(count), asm.DWord),
			asm.Add.Reg(asm.R2, asm.R1),
			asm.StoreMem(asm.R9, slot(count), asm.R2, asm.DWord),
			asm.LoadMem(asm.R1, asm.R0, maps.StatSum, asm.DWord),
			asm.LoadMem(asm.R2, asm.R9, slot(sum), asm.DWord),
			asm.Add.Reg(asm.R2, asm.R1),
			asm.StoreMem(asm.R9, slot(sum), asm.R2, asm.DWord),
		)
		g.setLabel(name + "_next")
		g.emit(asm.Mov.Imm(asm.R0, 0), asm.Return())
		g.setLabel(name + "_stop")
		g.emit(asm.Mov.Imm(asm.R0, 1), asm.Return())
	})
	g.callLoop(maxCPUs, name, keySlot)
	if op.NeedsData() {
		some := g.newLabel("cpus_some")
		g.emit(
			asm.Mov.Imm(asm.R0, 0),
			asm.LoadMem(asm.R1, asm.R10, int16(count), asm.DWord),
			asm.JNE.Imm(asm.R1, 0, some),
			asm.Mov.Imm(asm.R0, 1),
		)
		g.setLabel(some)
		g.raiseIfEmpty(e)
	}
	switch op {
	case maps.OpCount:
		g.emit(asm.LoadMem(asm.R0, asm.R10, int16(count), asm.DWord))
	case maps.OpSum:
		g.emit(asm.LoadMem(asm.R0, asm.R10, int16(sum), asm.DWord))
	case maps.OpAvg:
		g.emit(
			asm.LoadMem(asm.R0, asm.R10, int16(sum), asm.DWord),
			asm.LoadMem(asm.R1, asm.R10, int16(count), asm.DWord),
			asm.SDiv.Reg(asm.R0, asm.R1),
		)
	default:
		g.emit(asm.LoadMem(asm.R0, asm.R10, int16(extreme), asm.DWord))
	}
}

// maxCPUs bounds the CPUs a kernel probe merges, the kernel's largest
// NR_CPUS; the loop ends at the last CPU there is.
const maxCPUs = 8192

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

// statReset emits `delete s` of a whole scalar statistic. In user space,
// deleting from a per-CPU array zeroes the element on every CPU; the
// kernel refuses deletes from arrays, so a kernel probe zeroes each CPU's
// value itself, in a bpf_loop callback over the CPUs.
func (g *gen) statReset(s *ast.Ident) {
	gi, key := g.statKey(s)
	glob := &g.c.abi.Globals[gi]
	if !g.probe.Point.Kernel {
		g.emit(asm.LoadMapPtr(asm.R1, 0).WithReference(glob.MapName))
		key(asm.R2)
		g.emit(asm.FnMapDeleteElem.Call())
		return
	}
	name := g.newLabel("zero_cpus")
	g.subprogram(name, s.Span().Start, loopBody, func() {
		g.emit(
			asm.Mov.Reg(asm.R3, asm.R1),
			storeDW(asm.R10, keySlot, 0),
			asm.LoadMapPtr(asm.R1, 0).WithReference(glob.MapName),
			asm.Mov.Reg(asm.R2, asm.R10),
			asm.Add.Imm(asm.R2, keySlot),
			asm.FnMapLookupPercpuElem.Call(),
			asm.JEq.Imm(asm.R0, 0, name+"_stop"),
		)
		for off := 0; off < glob.Stat.Size(); off += 8 {
			g.emit(storeDW(asm.R0, int16(off), 0))
		}
		g.emit(asm.Mov.Imm(asm.R0, 0), asm.Return())
		g.setLabel(name + "_stop")
		g.emit(asm.Mov.Imm(asm.R0, 1), asm.Return())
	})
	g.callLoop(maxCPUs, name, 0)
}

// histIndex emits `@hist_log(s)[b]`, in user-space probes: the count in
// bucket b. A bucket number outside the histogram is an error, and so is
// indexing an empty statistic, as in stap.
func (g *gen) histIndex(e *ast.HistIndexExpr) {
	gi, key := g.statKey(e.Hist.X)
	glob := &g.c.abi.Globals[gi]
	g.c.abi.Stats = append(g.c.abi.Stats, maps.StatSite{Global: gi, Op: maps.OpBucket})
	site := len(g.c.abi.Stats) - 1
	out := g.pushStack()
	defer g.popStack()
	g.expr(e.Index[0])
	g.emit(asm.StoreMem(asm.R10, int16(out), asm.R0, asm.DWord))
	g.checkBucket(glob.Stat, e.Index[0])
	g.emit(asm.LoadMapPtr(asm.R1, 0).WithReference(glob.MapName))
	key(asm.R2)
	g.emit(
		asm.Mov.Imm(asm.R3, int32(site)),
		asm.Mov.Reg(asm.R4, asm.R10),
		asm.Add.Imm(asm.R4, int32(out)),
		asm.BuiltinFunc(maps.HelperStatExtract).Call(),
	)
	g.raiseIfEmpty(e.Hist)
	g.emit(asm.LoadMem(asm.R0, asm.R10, int16(out), asm.DWord))
}

// checkBucket raises stap's error unless the bucket number in R0 is one
// of st's.
func (g *gen) checkBucket(st *maps.Stat, index ast.Expr) {
	bad, ok := g.newLabel("bucket_bad"), g.newLabel("bucket_ok")
	g.emit(
		asm.JSLT.Imm(asm.R0, 0, bad),
		asm.JSLT.Imm(asm.R0, int32(st.Buckets()), ok),
	)
	g.setLabel(bad)
	g.raise(g.errorSite("histogram index out of range", "index", index.Span().Start))
	g.setLabel(ok)
}

// histIn emits `b in @hist_log(s)`: whether b is one of its bucket
// numbers.
func (g *gen) histIn(e *ast.HistInExpr) {
	n := g.c.abi.Globals[g.c.global[g.statVar(e.Hist.X)]].Stat.Buckets()
	g.expr(e.Keys[0])
	no, end := g.newLabel("hist_in_no"), g.newLabel("hist_in_end")
	g.emit(
		asm.JSLT.Imm(asm.R0, 0, no),
		asm.JSGE.Imm(asm.R0, int32(n), no),
		asm.Mov.Imm(asm.R0, 1),
		asm.Ja.Label(end),
	)
	g.setLabel(no)
	g.emit(asm.Mov.Imm(asm.R0, 0))
	g.setLabel(end)
}

// statVar returns the statistic e names.
func (g *gen) statVar(e ast.Expr) *sema.Var {
	if ix, ok := unparen(e).(*ast.IndexExpr); ok {
		return g.c.prog.Refs[ix.Array]
	}
	return g.c.prog.Refs[unparen(e).(*ast.Ident)]
}

// histForeach emits `foreach (b in @hist_log(s) limit n) body`: b takes
// each bucket number in order.
func (g *gen) histForeach(s *ast.HistForeachStmt) {
	n := g.c.abi.Globals[g.c.global[g.statVar(s.Hist.X)]].Stat.Buckets()
	bucket := g.pushStack()
	defer g.popStack()
	g.emit(storeDW(asm.R10, int16(bucket), 0))
	last := n
	left := g.limitSlot(s.Limit)
	if left != 0 {
		defer g.popStack()
	}
	head, next, end := g.newLabel("hist_each"), g.newLabel("hist_next"), g.newLabel("hist_end")
	g.setLabel(head)
	g.emit(
		asm.LoadMem(asm.R0, asm.R10, int16(bucket), asm.DWord),
		asm.JSGE.Imm(asm.R0, int32(last), end),
	)
	if left != 0 {
		g.emit(
			asm.LoadMem(asm.R1, asm.R10, int16(left), asm.DWord),
			asm.JSLE.Imm(asm.R1, 0, end),
			asm.Add.Imm(asm.R1, -1),
			asm.StoreMem(asm.R10, int16(left), asm.R1, asm.DWord),
		)
	}
	g.storeVar(g.c.prog.Refs[s.Keys[0]])
	g.loops = append(g.loops, loop{brk: end, cont: next})
	g.stmt(s.Body)
	g.loops = g.loops[:len(g.loops)-1]
	g.setLabel(next)
	g.emit(
		asm.LoadMem(asm.R0, asm.R10, int16(bucket), asm.DWord),
		asm.Add.Imm(asm.R0, 1),
		asm.StoreMem(asm.R10, int16(bucket), asm.R0, asm.DWord),
		asm.Ja.Label(head),
	)
	g.setLabel(end)
}
