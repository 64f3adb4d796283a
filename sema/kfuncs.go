package sema

import "etap/lang/ast"

// IterKfuncs are the kfuncs of open-coded numeric iterators (Linux 6.4).
// A kernel probe's loop built on them is checked by the verifier until its
// state stops changing, a round or two, instead of round by round.
var IterKfuncs = []string{"bpf_iter_num_new", "bpf_iter_num_next", "bpf_iter_num_destroy"}

// resolveKfuncs fills Program.Kfuncs with the iterator kfuncs when a
// kernel probe may loop and the kernel has them all; codegen falls back to
// loops the verifier walks round by round otherwise.
func (r *resolver) resolveKfuncs() {
	if !r.kernelLoops() {
		return
	}
	ids := map[string]uint32{}
	for _, name := range IterKfuncs {
		id, err := r.kernel.KfuncID(name)
		if err != nil || id == 0 {
			return
		}
		ids[name] = id
	}
	r.prog.Kfuncs = ids
}

// kernelLoops says whether a kernel probe may loop.
func (r *resolver) kernelLoops() bool {
	for _, p := range r.prog.Probes {
		if p.Point.Kernel && r.prog.HasLoops(p.Decl.Body) {
			return true
		}
	}
	return false
}

// HasLoops reports whether s, or a function it calls, holds a while or
// for loop.
func (p *Program) HasLoops(s ast.Stmt) bool {
	return p.loopsIn(s, map[*Function]bool{})
}

// loopsIn is HasLoops, looking into each function once: they may recurse.
func (p *Program) loopsIn(s ast.Stmt, seen map[*Function]bool) bool {
	found := false
	ast.Inspect(s, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.WhileStmt, *ast.ForStmt:
			found = true
		case *ast.CallExpr:
			if f := p.FuncCalls[n]; f != nil && !seen[f] {
				seen[f] = true
				found = p.loopsIn(f.Decl.Body, seen)
			}
		}
		return !found
	})
	return found
}
