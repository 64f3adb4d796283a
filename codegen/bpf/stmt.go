package bpf

import (
	"github.com/cilium/ebpf/asm"

	"etap/diag"
	"etap/lang/ast"
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
	case *ast.HistForeachStmt:
		g.histForeach(s)
	case *ast.ReturnStmt:
		g.returnStmt(s)
	case *ast.WhileStmt:
		g.loop(s, nil, s.Cond, nil, s.Body)
	case *ast.ForStmt:
		g.loop(s, s.Init, s.Cond, s.Post, s.Body)
	case *ast.DeleteStmt:
		g.delete(s)
	case *ast.TryStmt:
		g.try(s)
	default:
		g.c.diags.Add(diag.Errorf(diag.Codegen, "C002", s.Span(), "internal error: no code for this statement"))
	}
}

// exprStmt emits an expression whose value is not used. Increments of
// globals (`n++`, `a[k] += x`, `--`, `-=`) become adds in place, atomic
// ones since many CPUs count at once, or the running CPU's own for a
// per-CPU counter: countTarget, which decides those, knows these shapes.
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
		switch x.Op {
		case "+=":
			if g.atomicAdd(x.X, func() { g.expr(x.Y) }) {
				return
			}
		case "-=":
			if g.atomicAdd(x.X, func() { g.expr(x.Y); g.emit(asm.Neg.Imm(asm.R0, 0)) }) {
				return
			}
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
// past the limit. In the kernel a loop must also be bounded for the
// verifier: with an iterator (see iterLoop) where the kernel has them,
// else by the action count itself, which the verifier then follows round
// by round.
func (g *gen) loop(s ast.Stmt, init, cond, post ast.Expr, body ast.Stmt) {
	if init != nil {
		g.exprStmt(init)
	}
	head, next, end := g.newLabel("loop"), g.newLabel("loop_next"), g.newLabel("loop_end")
	iter := g.iterLoops()
	if iter {
		g.iterStart()
	}
	g.setLabel(head)
	if iter {
		g.iterNext(s)
	}
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
	if iter {
		g.forgetLocals()
	}
	g.emit(asm.Ja.Label(head))
	g.setLabel(end)
	if iter {
		g.iterEnd()
	}
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
		asm.LoadMem(asm.R1, g.actionsBase, int16(g.actions), asm.DWord),
		asm.Add.Imm(asm.R1, n),
		asm.StoreMem(g.actionsBase, int16(g.actions), asm.R1, asm.DWord),
		asm.JLE.Imm(asm.R1, int32(g.maxActions()), ok),
	)
	g.maxActionExceeded(loop)
	g.setLabel(ok)
}

// maxActionExceeded raises stap's error for a loop that ran too long.
func (g *gen) maxActionExceeded(loop ast.Stmt) {
	// stap names a keyword token by its kind alone: "near keyword at".
	g.raise(g.errorSite("MAXACTION exceeded", "keyword", loop.Span().Start))
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
