package bpf

import (
	"github.com/cilium/ebpf/asm"

	"etap/diag"
	"etap/lang/ast"
	"etap/maps"
	"etap/sema"
)

// stmt emits one statement. Scratch that the statement's expressions used
// is free again once it is done: no value outlives its statement there.
func (g *gen) stmt(s ast.Stmt) {
	if s == nil {
		return
	}
	mark := g.scratchUsed
	defer func() { g.scratchUsed = mark }()
	if _, ok := s.(*ast.BlockStmt); !ok {
		g.setSource(s.Span().Start)
	}
	switch s := s.(type) {
	case *ast.BlockStmt:
		for _, st := range s.Stmts {
			g.stmt(st)
		}
	case *ast.EmptyStmt:
	case *ast.ExprStmt:
		g.exprStmt(s.X)
	case *ast.IfStmt:
		g.ifElse(s.Cond, func() { g.stmt(s.Then) }, func() { g.stmt(s.Else) })
	case *ast.NextStmt:
		g.leave()
	case *ast.BreakStmt:
		g.emit(asm.Ja.Label(g.loops[len(g.loops)-1].brk))
	case *ast.ContinueStmt:
		g.emit(asm.Ja.Label(g.loops[len(g.loops)-1].cont))
	case *ast.ForeachStmt:
		g.foreach(s)
	case *ast.ReturnStmt:
		g.returnStmt(s)
	case *ast.WhileStmt:
		g.loop(s, nil, s.Cond, nil, s.Body)
	case *ast.ForStmt:
		g.loop(s, s.Init, s.Cond, s.Post, s.Body)
	case *ast.DeleteStmt:
		g.delete(s)
	default:
		g.c.diags.Add(diag.Errorf(diag.Codegen, "C002", s.Span(), "internal error: no code for this statement"))
	}
}

// exprStmt emits an expression whose value is not used. Increments of
// globals become atomic adds: many CPUs count at once.
func (g *gen) exprStmt(e ast.Expr) {
	switch x := e.(type) {
	case *ast.IncDecExpr:
		delta := int64(1)
		if x.Op == "--" {
			delta = -1
		}
		if g.atomicAdd(x.X, func() { g.emit(asm.LoadImm(asm.R0, delta, asm.DWord)) }) {
			return
		}
	case *ast.AssignExpr:
		if x.Op == "+=" && g.atomicAdd(x.X, func() { g.expr(x.Y) }) {
			return
		}
	}
	g.expr(e)
}

// atomicAdd emits target += value atomically when target is a global; it
// reports false, emitting nothing, for locals.
func (g *gen) atomicAdd(target ast.Expr, value func()) bool {
	switch t := target.(type) {
	case *ast.Ident:
		v := g.c.prog.Refs[t]
		if !v.Global {
			return false
		}
		value()
		g.emit(asm.AddAtomic.Mem(regGlobals, asm.R0, asm.DWord, g.globalOffset(v)))
		return true
	case *ast.IndexExpr:
		g.arrayAdd(t, value)
		return true
	}
	return false
}

// foreach emits a sorted iteration through the user-space helpers:
//
//	foreach (k in c- limit 5) body
//
// asks the interpreter to collect and sort c's keys, then fetches them one
// by one into the key variables.
func (g *gen) foreach(s *ast.ForeachStmt) {
	arr := g.c.prog.Refs[s.Array]
	gi := g.c.global[arr]
	glob := &g.c.abi.Globals[gi]
	g.c.abi.Foreach = append(g.c.abi.Foreach, maps.ForeachSite{Global: gi, SortColumn: s.SortColumn, SortDesc: s.SortDesc})
	site := len(g.c.abi.Foreach) - 1

	if s.Limit != nil {
		g.expr(s.Limit)
		g.emit(asm.Mov.Reg(asm.R3, asm.R0))
	} else {
		g.emit(asm.Mov.Imm(asm.R3, -1))
	}
	g.emit(
		asm.LoadMapPtr(asm.R1, 0).WithReference(glob.MapName),
		asm.Mov.Imm(asm.R2, int32(site)),
		asm.BuiltinFunc(maps.HelperForeachStart).Call(),
	)
	handle := g.pushStack()
	defer g.popStack()
	g.emit(asm.StoreMem(asm.R10, int16(handle), asm.R0, asm.DWord))
	keyOff := g.allocScratch(glob.KeySize())

	next, end := g.newLabel("foreach"), g.newLabel("foreach_end")
	g.setLabel(next)
	g.emit(asm.LoadMem(asm.R1, asm.R10, int16(handle), asm.DWord))
	g.scratchPtr(asm.R2, keyOff)
	g.emit(
		asm.BuiltinFunc(maps.HelperForeachNext).Call(),
		asm.JEq.Imm(asm.R0, 0, end),
	)
	offs := glob.KeyOffsets()
	for i, k := range s.Keys {
		v := g.c.prog.Refs[k]
		if v.Type == sema.String {
			g.widenString(keyOff+offs[i], glob.KeySizes[i])
			g.storeVar(v)
			continue
		}
		g.emit(asm.LoadMem(asm.R0, regScratch, int16(keyOff+offs[i]), asm.DWord))
		g.storeVar(v)
	}
	g.loops = append(g.loops, loop{brk: end, cont: next})
	g.stmt(s.Body)
	g.loops = g.loops[:len(g.loops)-1]
	g.emit(asm.Ja.Label(next))
	g.setLabel(end)
}

func (g *gen) delete(s *ast.DeleteStmt) {
	switch x := s.X.(type) {
	case *ast.IndexExpr:
		arr := g.c.prog.Refs[x.Array]
		keyOff := g.arrayKey(x.Array, x.Index)
		g.emit(asm.LoadMapPtr(asm.R1, 0).WithReference(g.mapName(arr)))
		g.scratchPtr(asm.R2, keyOff)
		g.emit(asm.FnMapDeleteElem.Call())
	case *ast.Ident:
		v := g.c.prog.Refs[x]
		if v.Type == sema.Stats {
			g.statReset(x)
			return
		}
		if v.Type == sema.String {
			g.zeroString(v)
			return
		}
		g.emit(asm.Mov.Imm(asm.R0, 0))
		g.storeVar(v)
	}
}

// zeroString empties a string variable.
func (g *gen) zeroString(v *sema.Var) {
	if v.Global {
		for i := 0; i < g.c.opts.Params.StringLen; i += 8 {
			g.emit(storeDW(regGlobals, g.globalOffset(v)+int16(i), 0))
		}
		return
	}
	g.zeroScratch(g.slot[v], g.c.opts.Params.StringLen)
}

// loop emits while and for loops. Each round adds the statements it runs
// to the handler's action count and fails with stap's "MAXACTION exceeded"
// past the limit: that also bounds the loop for the kernel's verifier.
func (g *gen) loop(s ast.Stmt, init, cond, post ast.Expr, body ast.Stmt) {
	if init != nil {
		g.exprStmt(init)
	}
	head, next, end := g.newLabel("loop"), g.newLabel("loop_next"), g.newLabel("loop_end")
	g.setLabel(head)
	if cond != nil {
		g.expr(cond)
		g.emit(asm.JEq.Imm(asm.R0, 0, end))
	}
	g.loops = append(g.loops, loop{brk: end, cont: next})
	g.stmt(body)
	g.loops = g.loops[:len(g.loops)-1]
	g.setLabel(next)
	if post != nil {
		g.exprStmt(post)
	}
	g.countActions(s, body)
	g.emit(asm.Ja.Label(head))
	g.setLabel(end)
}

// countActions adds the statements of one round of body (and one for the
// loop itself) to the action count, raising the MAXACTION error at loop
// past the handler's limit.
func (g *gen) countActions(loop, body ast.Stmt) {
	n := int32(1)
	ast.Inspect(body, func(node ast.Node) bool {
		if _, ok := node.(ast.Stmt); ok {
			if _, block := node.(*ast.BlockStmt); !block {
				n++
			}
		}
		return true
	})
	ok := g.newLabel("actions_ok")
	g.emit(
		asm.LoadMem(asm.R1, asm.R10, int16(g.actions), asm.DWord),
		asm.Add.Imm(asm.R1, n),
		asm.StoreMem(asm.R10, int16(g.actions), asm.R1, asm.DWord),
		asm.JLE.Imm(asm.R1, int32(g.maxActions()), ok),
	)
	g.raise(g.errorSite("MAXACTION exceeded", "a loop", loop.Span().Start))
	g.setLabel(ok)
}

// maxActions is the action limit of this handler: ten times MAXACTION for
// begin and end probes, which stap lets run longer.
func (g *gen) maxActions() int {
	n := g.c.opts.MaxAction
	if n == 0 {
		n = DefaultMaxAction
	}
	switch g.probe.Point.Kind {
	case sema.PointBegin, sema.PointEnd, sema.PointError:
		return 10 * n
	}
	return n
}
