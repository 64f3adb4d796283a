package bpf

import (
	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"etap/lang/ast"
	"etap/sema"
)

// perCPUCounters returns the arrays that become per-CPU hash maps
// (maps.Global.PerCPU): arrays of longs that kernel probes touch, and touch
// only as the target of an increment statement.
//
//	global c
//	probe kernel.trace("raw_syscalls:sys_enter") { c[execname()]++ }
//	probe end { foreach (n in c- limit 5) printf("%s %d\n", n, c[n]) }
//
// A shared hash element takes an atomic add, and the cache line holding it
// bounces between the CPUs that count into it: on a busy syscall
// tracepoint that is most of an event's cost. With one value per CPU, a
// kernel probe adds to its own CPU's value with a plain load and store
// (BPF programs do not migrate while they run, and per-CPU statistics rely
// on the same). Only user space can then see the element's value, the sum
// over every CPU: so a kernel probe that reads the array, tests it with
// `in`, deletes from it, iterates it or assigns it otherwise keeps it a
// plain hash. User-space probes may do anything: the loader gives them the
// summed view (vm.NewSummed).
func (c *compiler) perCPUCounters() map[*sema.Var]bool {
	// counts are the array identifiers that are the target of an
	// increment statement, which exprStmt lowers to arrayAdd.
	counts := map[*ast.Ident]bool{}
	used := map[*sema.Var]bool{}
	other := map[*sema.Var]bool{}
	visit := func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ExprStmt:
			if ix := countTarget(n.X); ix != nil {
				counts[ix.Array] = true
			}
		case *ast.Ident:
			if v := c.prog.Refs[n]; v != nil && v.IsArray {
				used[v] = true
				other[v] = other[v] || !counts[n]
			}
		}
		return true
	}
	seen := map[*sema.Function]bool{}
	var walk func(root ast.Node)
	walk = func(root ast.Node) {
		ast.Inspect(root, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				if f := c.prog.FuncCalls[call]; f != nil && !seen[f] {
					seen[f] = true
					walk(f.Decl.Body)
				}
			}
			return visit(n)
		})
	}
	for _, p := range c.prog.Probes {
		if p.Point.Kernel {
			walk(p.Decl)
		}
	}
	out := map[*sema.Var]bool{}
	for v := range used {
		if !other[v] && v.Type == sema.Long {
			out[v] = true
		}
	}
	return out
}

// countTarget returns the array element an increment statement adds to:
// `a[k]++`, `a[k]--`, `a[k] += x`, `a[k] -= x`; nil for anything else.
func countTarget(e ast.Expr) *ast.IndexExpr {
	var target ast.Expr
	switch x := e.(type) {
	case *ast.IncDecExpr:
		target = x.X
	case *ast.AssignExpr:
		if x.Op == "+=" || x.Op == "-=" {
			target = x.X
		}
	}
	ix, _ := target.(*ast.IndexExpr)
	return ix
}

// arrayMapType is the kind of hash map that holds an array.
func arrayMapType(wrap, perCPU bool) ebpf.MapType {
	switch {
	case perCPU && wrap:
		return ebpf.LRUCPUHash
	case perCPU:
		return ebpf.PerCPUHash
	case wrap:
		return ebpf.LRUHash
	}
	return ebpf.Hash
}

// addTo emits *(R0) += *(scratch+val): atomically in a shared element, with
// a plain load and store in a per-CPU one, which only its CPU writes.
func (g *gen) addTo(perCPU bool, val int) {
	g.emit(asm.LoadMem(asm.R1, regScratch, int16(val), asm.DWord))
	if !perCPU {
		g.emit(asm.AddAtomic.Mem(asm.R0, asm.R1, asm.DWord, 0))
		return
	}
	g.emit(
		asm.LoadMem(asm.R2, asm.R0, 0, asm.DWord),
		asm.Add.Reg(asm.R2, asm.R1),
		asm.StoreMem(asm.R0, 0, asm.R2, asm.DWord),
	)
}
