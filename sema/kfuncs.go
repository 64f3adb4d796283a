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

// kernelLoops says whether a kernel probe or any function has a loop; a
// function may be called from a kernel probe.
func (r *resolver) kernelLoops() bool {
	var bodies []ast.Node
	kernel := false
	for _, p := range r.prog.Probes {
		kernel = kernel || p.Point.Kernel
		if p.Point.Kernel {
			bodies = append(bodies, p.Decl.Body)
		}
	}
	if !kernel {
		return false
	}
	for _, f := range r.prog.Functions {
		bodies = append(bodies, f.Decl.Body)
	}
	for _, b := range bodies {
		found := false
		ast.Inspect(b, func(n ast.Node) bool {
			switch n.(type) {
			case *ast.WhileStmt, *ast.ForStmt:
				found = true
			}
			return !found
		})
		if found {
			return true
		}
	}
	return false
}
