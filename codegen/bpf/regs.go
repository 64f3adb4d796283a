package bpf

import (
	"github.com/cilium/ebpf/asm"

	"etap/diag"
	"etap/lang/ast"
	"etap/sema"
)

// registerArg is one of stap's dwarfless argument functions, such as
// uint_arg(n): the nth argument register of a function probe's context,
// cut to size bytes and sign-extended when signed.
func registerArg(name string, size int, signed bool) *builtin {
	return &builtin{
		Builtin: sema.Builtin{Name: name, Params: []sema.Type{sema.Long}, Result: sema.Long},
		emit: func(g *gen, call *ast.CallExpr) {
			rg := g.probeRegs(call)
			if rg == nil {
				return
			}
			lit, ok := call.Args[0].(*ast.IntLit)
			if !ok || lit.Value < 1 || lit.Value > int64(len(rg.Args)) {
				g.c.diags.Add(diag.Errorf(diag.Codegen, "C010", call.Args[0].Span(),
					"%s needs an argument number from 1 to %d written as a number", name, len(rg.Args)))
				g.emit(asm.Mov.Imm(asm.R0, 0))
				return
			}
			g.emit(asm.LoadMem(asm.R0, regCtx, int16(rg.Args[lit.Value-1]), sizes[size]))
			g.signExtend(size, signed)
		},
	}
}

// returnval is stap's returnval(): the return register of a .return
// probe.
func returnval() *builtin {
	return &builtin{
		Builtin: sema.Builtin{Name: "returnval", Result: sema.Long},
		emit: func(g *gen, call *ast.CallExpr) {
			rg := g.probeRegs(call)
			if rg == nil {
				return
			}
			if k := g.probe.Point.Kind; k != sema.PointKretprobe && k != sema.PointUretprobe {
				g.c.diags.Add(diag.Errorf(diag.Codegen, "C010", call.Span(), "returnval() in %s, which is not a .return probe", g.probe.Point.Text))
			}
			g.emit(asm.LoadMem(asm.R0, regCtx, int16(rg.Ret), asm.DWord))
		},
	}
}

// probeRegs returns where the registers of the probe's context are, or
// reports a call in a probe whose context is not the registers.
func (g *gen) probeRegs(call *ast.CallExpr) *sema.Regs {
	rg := g.probe.Point.Regs
	if rg == nil {
		g.c.diags.Add(diag.Errorf(diag.Codegen, "C010", call.Span(),
			"%s() reads registers, which %s does not have", call.Name, g.probe.Point.Text).
			WithHint("use it in kernel.function, process(...).function or process(...).statement probes"))
		g.emit(asm.Mov.Imm(asm.R0, 0))
	}
	g.usesRegs = true
	return rg
}

// argBuiltins are stap's argument functions for probes without DWARF.
func argBuiltins() []*builtin {
	return []*builtin{
		registerArg("int_arg", 4, true),
		registerArg("uint_arg", 4, false),
		registerArg("s32_arg", 4, true),
		registerArg("u32_arg", 4, false),
		registerArg("long_arg", 8, true),
		registerArg("ulong_arg", 8, false),
		registerArg("s64_arg", 8, true),
		registerArg("u64_arg", 8, false),
		registerArg("pointer_arg", 8, false),
		returnval(),
	}
}

// familyDepth is how many generations up the filter of process.begin and
// process.end looks for the target process.
const familyDepth = 8

// pointFilters leaves the handler when the point's guard field is zero
// (process.end of a thread that is not the process's last) and, in a -c
// or -x run, when the current task is not the target process or one of
// its descendants up to familyDepth generations down.
func (g *gen) pointFilters() {
	p := g.probe.Point
	if p.Guard != nil {
		g.emit(asm.LoadMem(asm.R0, regCtx, int16(p.Guard.Offset), sizes[p.Guard.Size]))
		g.leaveIf(asm.JEq)
	}
	if p.Family == nil {
		return
	}
	run := g.newLabel("family")
	target := int16(g.c.abi.Hidden.Target)
	g.emit(
		asm.LoadMem(asm.R0, regGlobals, target, asm.DWord),
		asm.JEq.Imm(asm.R0, 0, run),
	)
	task := int16(g.pushStack())
	defer g.popStack()
	g.emit(asm.FnGetCurrentTask.Call(), asm.StoreMem(asm.R10, task, asm.R0, asm.DWord))
	for range familyDepth {
		g.emit(asm.LoadMem(asm.R0, asm.R10, task, asm.DWord))
		g.readKernel(sema.Read{Offset: p.Family.Tgid, Size: 4, Signed: true})
		g.emit(
			asm.LoadMem(asm.R1, regGlobals, target, asm.DWord),
			asm.JEq.Reg(asm.R0, asm.R1, run),
			asm.LoadMem(asm.R0, asm.R10, task, asm.DWord),
		)
		g.readKernel(sema.Read{Offset: p.Family.RealParent, Size: 8})
		g.emit(asm.StoreMem(asm.R10, task, asm.R0, asm.DWord))
	}
	g.leave()
	g.setLabel(run)
}

// sanitize makes a name fit a BPF program name: [A-Za-z0-9_].
func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}
