package bpf

import (
	"math"

	"github.com/cilium/ebpf/asm"

	"etap/diag"
	"etap/lang/ast"
	"etap/sema"
)

// inlined is a function whose body is being emitted at a call site.
type inlined struct {
	fn *sema.Function
	// result is the slot of the returned value: a stack offset for a long,
	// a scratch offset for a string.
	result int
	end    string
	// iters is how many loop iterators were open where the call began.
	iters int
}

// inline emits a call of a script function as its body, in place: no
// bpf-to-bpf call, no frame, and the verifier sees the actual arguments.
// Parameters and locals get fresh slots for this call.
//
// The kernel's BPF cannot recurse (the verifier refuses a cycle of
// bpf-to-bpf calls), so a recursive function is unrolled the same way: each
// call inlines another copy, MAXNESTING deep, and a call one deeper raises
// stap's "MAXNESTING exceeded" instead.
func (g *gen) inline(call *ast.CallExpr, f *sema.Function) {
	if len(g.returns) >= g.nestingOf(f) {
		// stap evaluates the arguments before it checks the depth.
		for _, a := range call.Args {
			g.expr(a)
		}
		g.raise(g.errorSite("MAXNESTING exceeded", "identifier '"+call.Name+"'", call.Span().Start))
		return
	}
	if f.Recursive && !g.inlining(f) {
		// The outermost copy of a recursive function: its size, with
		// every copy it unrolls, is what lowering its depth would save.
		start := g.raw
		if g.unrollFrom < 0 {
			g.unrollFrom = start
			defer func() { g.unrollFrom = -1 }()
		}
		defer func() { g.unrolled[f] += g.raw - start }()
	}
	n := g.c.opts.Params.StringLen
	pushed := 0
	slot := func(t sema.Type) int {
		if t == sema.String {
			return g.allocScratch(n)
		}
		pushed++
		return g.pushStack()
	}
	// Arguments are evaluated before any parameter is bound: an argument
	// may itself call the function, as in f(f(1)).
	args := make([]int, len(call.Args))
	for i, a := range call.Args {
		g.expr(a)
		args[i] = slot(f.Params[i].Type)
		g.storeSlot(f.Params[i].Type, args[i])
	}
	result := 0
	if f.Result == sema.Long || f.Result == sema.String {
		result = slot(f.Result)
	}
	saved := map[*sema.Var]int{}
	for i, v := range f.Params {
		saved[v] = g.slot[v]
		g.slot[v] = args[i]
	}
	for _, v := range f.Locals {
		saved[v] = g.slot[v]
		if v.Type != sema.String {
			pushed++
		}
		g.initLocal(v)
	}
	end := g.newLabel("return")
	g.returns = append(g.returns, inlined{fn: f, result: result, end: end, iters: len(g.iters)})
	g.stmt(f.Decl.Body)
	g.returns = g.returns[:len(g.returns)-1]
	// Falling off the end returns 0 or "".
	g.emit(asm.Mov.Imm(asm.R0, 0))
	if f.Result == sema.String {
		g.zeroScratch(result, n)
		g.scratchPtr(asm.R0, result)
	}
	if f.Result == sema.Long || f.Result == sema.String {
		g.storeSlot(f.Result, result)
	}
	g.setLabel(end)
	g.loadSlot(f.Result, result)
	for v, s := range saved {
		g.slot[v] = s
	}
	for range pushed {
		g.popStack()
	}
}

// returnStmt stores the returned value and leaves the inlined body.
func (g *gen) returnStmt(s *ast.ReturnStmt) {
	in := g.returns[len(g.returns)-1]
	if s.X != nil {
		g.expr(s.X)
		g.storeSlot(in.fn.Result, in.result)
	}
	g.destroyIters(in.iters)
	g.emit(asm.Ja.Label(in.end))
}

// storeSlot stores R0, a long or the address of a string, into a slot.
func (g *gen) storeSlot(t sema.Type, off int) {
	if t == sema.String {
		g.copyString(regScratch, off, asm.R0)
		return
	}
	g.emit(asm.StoreMem(asm.R10, int16(off), asm.R0, asm.DWord))
}

// loadSlot puts a slot's long, or its string's address, in R0; a function
// without a value gives 0.
func (g *gen) loadSlot(t sema.Type, off int) {
	switch t {
	case sema.String:
		g.scratchPtr(asm.R0, off)
	case sema.Long:
		g.emit(asm.LoadMem(asm.R0, asm.R10, int16(off), asm.DWord))
	default:
		g.emit(asm.Mov.Imm(asm.R0, 0))
	}
}

// nestingLimit is MAXNESTING as -D gives it, or as stap computes it: the
// deepest chain of calls the script makes without recursing, plus 10 when
// some function recurses.
func (c *compiler) nestingLimit() int {
	if c.opts.MaxNesting > 0 {
		return c.opts.MaxNesting
	}
	depth := map[*sema.Function]int{}
	var chain func(f *sema.Function, path map[*sema.Function]bool) int
	// chain is the longest chain of calls from f that enters no function
	// twice. A function outside any cycle cannot reach the path above it,
	// so its chain does not depend on the path and is computed once.
	chain = func(f *sema.Function, path map[*sema.Function]bool) int {
		if d, ok := depth[f]; ok {
			return d
		}
		path[f] = true
		deepest := 0
		for _, callee := range c.callees(f) {
			if !path[callee] {
				deepest = max(deepest, chain(callee, path))
			}
		}
		delete(path, f)
		if !f.Recursive {
			depth[f] = 1 + deepest
		}
		return 1 + deepest
	}
	deepest, recursive := 0, false
	for _, f := range c.prog.Functions {
		deepest = max(deepest, chain(f, map[*sema.Function]bool{}))
		recursive = recursive || f.Recursive
	}
	if recursive {
		return deepest + DefaultExtraNesting
	}
	return deepest
}

// DefaultExtraNesting is how many recursive calls stap allows beyond the
// deepest chain of calls without recursion, when -D MAXNESTING is not given.
const DefaultExtraNesting = 10

// callees lists the functions f calls, each once, in the order of the calls.
func (c *compiler) callees(f *sema.Function) []*sema.Function {
	var list []*sema.Function
	seen := map[*sema.Function]bool{}
	ast.Inspect(f.Decl.Body, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok {
			if g := c.prog.FuncCalls[call]; g != nil && !seen[g] {
				seen[g] = true
				list = append(list, g)
			}
		}
		return true
	})
	return list
}

// nestingOf is how deeply calls may nest for a call of f to be made.
func (g *gen) nestingOf(f *sema.Function) int {
	if d, ok := g.depth[f]; ok {
		return d
	}
	return g.c.maxNesting
}

// inlining reports whether a copy of f is being emitted.
func (g *gen) inlining(f *sema.Function) bool {
	for _, in := range g.returns {
		if in.fn == f {
			return true
		}
	}
	return false
}

// compileHandler emits p's handler. Unrolling recursive functions as deep
// as stap's default MAXNESTING can make a handler too large for BPF (a
// function that calls itself twice doubles at each level). When -D
// MAXNESTING does not set the depth, the handler is made again with the
// largest recursive function a level less deep, until it fits, and a
// warning says how deep it went.
func (c *compiler) compileHandler(p *sema.Probe) (*gen, asm.Instructions) {
	depth := map[*sema.Function]int{}
	for {
		abi, ndiags := *c.abi, len(c.diags.Items)
		g := c.newGen(p, depth)
		// Where the depth is etap's to choose, an unrolling that outgrows
		// the reach of a jump is given up at once: its conditions could
		// not jump over it.
		if c.opts.MaxNesting == 0 {
			g.unrollLimit = math.MaxInt16
		}
		insns := g.compileProbe()
		failed := g.tooLarge
		for _, d := range c.diags.Items[ndiags:] {
			failed = failed || d.Severity == diag.Error
		}
		var largest *sema.Function
		for f, n := range g.unrolled {
			if largest == nil || n > g.unrolled[largest] || n == g.unrolled[largest] && f.Decl.Name < largest.Decl.Name {
				largest = f
			}
		}
		if failed && largest != nil && c.opts.MaxNesting == 0 && g.nestingOf(largest) > 1 {
			*c.abi, c.diags.Items = abi, c.diags.Items[:ndiags]
			depth[largest] = g.nestingOf(largest) - 1
			continue
		}
		if g.tooLarge {
			c.diags.Add(diag.Errorf(diag.Codegen, "C005", p.Decl.Span(),
				"probe is too long: recursive calls unroll to more than %d instructions", g.unrollLimit).
				WithHint("%s", g.sizeHint("call fewer functions recursively")))
		}
		for f, d := range depth {
			c.diags.Add(diag.Warnf(diag.Codegen, "C007", f.Decl.Span(),
				"calls of '%s' in probe %s nest at most %d deep, not MAXNESTING's %d: deeper ones raise \"MAXNESTING exceeded\"",
				f.Decl.Name, p.Point.Text, d, c.maxNesting).
				WithHint("BPF cannot recurse, so etap unrolls recursive functions, and '%s' unrolled deeper does not fit a BPF program; set -D MAXNESTING to choose the depth", f.Decl.Name))
		}
		return g, insns
	}
}
