package bpf

import (
	"github.com/cilium/ebpf/asm"

	"etap/diag"
	"etap/lang/ast"
	"etap/maps"
	"etap/sema"
)

// Runtime errors. Everything that can fail at run time (a division by 0, a
// full array, a string copy fault, MAXACTION, MAXNESTING, error()) raises
// through raise, which does what stap does:
//
//   - inside a try block, the error jumps to its catch, giving the message
//     to catch (msg); functions are inlined, so an error in a called
//     function reaches the caller's catch the same way;
//   - with --suppress-handler-errors, the handler quietly ends;
//   - otherwise the handler ends with an error record, which user space
//     reports as "ERROR: msg near what at file:line:col". The error past
//     MAXERRORS (the first, by default) also ends the run: kernel probes
//     stop at once, and the error probes run instead of the end probes.

// tryBlock is a try statement whose body is being emitted.
type tryBlock struct {
	catch string
	// msg is catch (msg)'s variable, or nil.
	msg *sema.Var
	// iters is how many loop iterators were open where the try began:
	// an error in a loop inside it ends the loops it jumps out of.
	iters int
}

// errorSite registers a runtime error raised at pos and returns its id.
// near says what raised it, in stap's words: "operator '/'".
func (g *gen) errorSite(msg, near string, pos diag.Pos) int {
	site := maps.ErrorSite{Message: msg, Near: near}
	if pos.IsValid() {
		site.Where = pos.String()
	}
	g.c.abi.Errors = append(g.c.abi.Errors, site)
	return len(g.c.abi.Errors) - 1
}

// raise raises the error of site, whose message is fixed.
func (g *gen) raise(site int) { g.raiseError(site, false) }

// raiseError raises the error of site. With dynamic set, R0 holds the
// address of the message, as error(msg) makes it.
func (g *gen) raiseError(site int, dynamic bool) {
	if len(g.tries) > 0 {
		t := g.tries[len(g.tries)-1]
		if t.msg != nil {
			if !dynamic {
				g.stringLit(g.c.abi.Errors[site].Message)
			}
			g.storeVar(t.msg)
		}
		g.destroyIters(t.iters)
		g.emit(asm.Ja.Label(t.catch))
		return
	}
	if g.c.opts.SuppressErrors {
		g.leave()
		return
	}
	size := maps.HeaderSize
	rec := recordSlot
	if dynamic {
		size += g.c.opts.Params.StringLen
		rec = g.allocScratch(size)
		g.copyString(regScratch, rec+maps.HeaderSize, asm.R0)
	}
	g.emit(
		asm.StoreImm(regScratch, int16(rec), int64(maps.KindError), asm.Word),
		asm.StoreImm(regScratch, int16(rec+4), int64(site), asm.Word),
	)
	g.countError()
	g.output(rec, size, rbForceWakeup)
	g.leave()
}

// countError ends the run when this error is one past MAXERRORS.
func (g *gen) countError() {
	limit := g.c.opts.MaxErrors
	if limit == 0 {
		g.setExiting()
		return
	}
	// Not a fetching add: cilium/ebpf v0.22 encodes asm.FetchAdd without
	// its fetch bit. Two CPUs that both read a count past the limit both
	// end the run, which is no harm.
	below := g.newLabel("errors_below_max")
	off := int16(g.c.abi.Hidden.Errors)
	g.emit(
		asm.Mov.Imm(asm.R1, 1),
		asm.AddAtomic.Mem(regGlobals, asm.R1, asm.DWord, off),
		asm.LoadMem(asm.R1, regGlobals, off, asm.DWord),
		asm.JLE.Imm(asm.R1, int32(limit), below),
	)
	g.setExiting()
	g.setLabel(below)
}

// setExiting stops kernel probes from running again: the run is ending.
func (g *gen) setExiting() {
	g.emit(
		asm.Mov.Imm(asm.R1, 1),
		asm.StoreMem(regGlobals, int16(g.c.abi.Hidden.Exiting), asm.R1, asm.DWord),
	)
}

// try emits `try { body } catch (msg) { handler }`.
func (g *gen) try(s *ast.TryStmt) {
	catch, end := g.newLabel("catch"), g.newLabel("try_end")
	t := tryBlock{catch: catch, iters: len(g.iters)}
	if s.Var != nil {
		t.msg = g.c.prog.Refs[s.Var]
	}
	g.tries = append(g.tries, t)
	g.stmt(s.Body)
	g.tries = g.tries[:len(g.tries)-1]
	g.emit(asm.Ja.Label(end))
	g.setLabel(catch)
	g.stmt(s.Catch)
	g.setLabel(end)
}

// emitError is error(msg): a runtime error with the script's message,
// which try/catch can catch.
func emitError(g *gen, call *ast.CallExpr) {
	g.expr(call.Args[0])
	g.raiseError(g.errorSite("", "", diag.Pos{}), true)
}

// emitWarn is warn(msg): "WARNING: msg" on stderr; the handler goes on.
func emitWarn(g *gen, call *ast.CallExpr) {
	size := maps.HeaderSize + g.c.opts.Params.StringLen
	rec := g.allocScratch(size)
	g.expr(call.Args[0])
	g.copyString(regScratch, rec+maps.HeaderSize, asm.R0)
	g.emit(
		asm.StoreImm(regScratch, int16(rec), int64(maps.KindWarning), asm.Word),
		asm.StoreImm(regScratch, int16(rec+4), 0, asm.Word),
	)
	g.output(rec, size, rbNoWakeup)
}

// emitExit asks user space to end the run, and stops kernel probes from
// running again meanwhile: the rest of this handler still runs, as in stap.
func emitExit(g *gen, _ *ast.CallExpr) {
	g.setExiting()
	g.sendRecord(maps.KindExit, 0)
}

// emitAbort is abort(): exit() that also ends this handler at once. It is
// not an error: try/catch does not catch it, and the end probes run, as
// stap's tapset defines it.
func emitAbort(g *gen, call *ast.CallExpr) {
	emitExit(g, call)
	g.leave()
}

// errorBuiltins are error, warn, exit and abort.
func errorBuiltins() []*builtin {
	msg := []sema.Type{sema.String}
	return []*builtin{
		{Builtin: sema.Builtin{Name: "error", Params: msg, Result: sema.Void}, emit: emitError},
		{Builtin: sema.Builtin{Name: "warn", Params: msg, Result: sema.Void}, emit: emitWarn},
		{Builtin: sema.Builtin{Name: "exit", Result: sema.Void}, emit: emitExit},
		{Builtin: sema.Builtin{Name: "abort", Result: sema.Void}, emit: emitAbort},
	}
}
