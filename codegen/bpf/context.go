package bpf

import (
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"etap/diag"
	"etap/lang/ast"
	"etap/sema"
)

// Attach says how the loader attaches a kernel program.
type Attach int

// The ways kernel programs attach.
const (
	AttachTracepoint Attach = iota + 1
	// AttachKprobe and AttachKretprobe attach to KernelProgram.Point's
	// Function, on its entry and its return.
	AttachKprobe
	AttachKretprobe
	// AttachUprobe and AttachUretprobe attach at KernelProgram.Point's
	// Address in its Binary, with its Semaphore for an SDT probe.
	AttachUprobe
	AttachUretprobe
	// AttachRawTracepoint attaches a tp_btf program to the tracepoint
	// KernelProgram.Point's Event.
	AttachRawTracepoint
	// AttachPerfEvent opens KernelProgram.Point's Perf event on every
	// online CPU and attaches the program to each.
	AttachPerfEvent
)

// attachOf returns the program type and the attachment of a kernel point.
//
// Kernel functions attach as kprobes, whose context (struct pt_regs, which
// sema lays out from BTF) every kernel with kprobes gives. Where the
// handler reads only parameters, KernelProgram.Trampoline holds an
// fentry/fexit variant too, cheaper per event, which the loader prefers
// where the kernel allows BPF trampolines (this machine's refuses them).
func attachOf(p *sema.Point) (ebpf.ProgramType, Attach) {
	switch p.Kind {
	case sema.PointKprobe:
		return ebpf.Kprobe, AttachKprobe
	case sema.PointKretprobe:
		return ebpf.Kprobe, AttachKretprobe
	case sema.PointUprobe:
		return ebpf.Kprobe, AttachUprobe
	case sema.PointUretprobe:
		return ebpf.Kprobe, AttachUretprobe
	case sema.PointPerf:
		return ebpf.PerfEvent, AttachPerfEvent
	case sema.PointRawTracepoint:
		return ebpf.Tracing, AttachRawTracepoint
	}
	return ebpf.TracePoint, AttachTracepoint
}

// attachText says what k attaches to, for listings: "tracepoint
// sched:sched_switch", "kretprobe vfs_read".
func (k *KernelProgram) attachText() string {
	switch k.Attach {
	case AttachKprobe, AttachKretprobe:
		if k.Trampoline != nil {
			return k.TrampolineKind() + " or " + k.KprobeKind() + " " + k.Point.Function
		}
		return k.KprobeKind() + " " + k.Point.Function
	case AttachUprobe, AttachUretprobe:
		kind := map[Attach]string{AttachUprobe: "uprobe", AttachUretprobe: "uretprobe"}[k.Attach]
		s := fmt.Sprintf("%s %s+%#x", kind, k.Point.Binary, k.Point.Address)
		if k.Point.Semaphore != 0 {
			s += fmt.Sprintf(" semaphore %#x", k.Point.Semaphore)
		}
		return s
	case AttachRawTracepoint:
		return "tp_btf " + k.Point.Event
	case AttachPerfEvent:
		return fmt.Sprintf("perf event type %d config %d on every CPU", k.Point.Perf.Type, k.Point.Perf.Config)
	}
	return "tracepoint " + k.Point.Group + ":" + k.Point.Event
}

// KprobeKind names how a kernel function probe attaches as a kprobe:
// "kprobe", or "kretprobe" for a .return.
func (k *KernelProgram) KprobeKind() string {
	if k.Attach == AttachKretprobe {
		return "kretprobe"
	}
	return "kprobe"
}

// TrampolineKind names how a kernel function probe attaches by its
// Trampoline variant: "fentry", or "fexit" for a .return.
func (k *KernelProgram) TrampolineKind() string {
	if k.Attach == AttachKretprobe {
		return "fexit"
	}
	return "fentry"
}

// sizes are the load sizes of 1-, 2-, 4- and 8-byte values.
var sizes = map[int]asm.Size{1: asm.Byte, 2: asm.Half, 4: asm.Word, 8: asm.DWord}

// field emits a context variable into R0: a tracepoint field or a
// parameter's register read from the context (or, for a string in a
// tracepoint's record, its address there), then for a member chain
// ($file->f_path->dentry) the reads through kernel memory, then, for a
// string, a copy of it into a string slot.
//
// A read from a bad address gives 0 (and a string nothing), as the helpers
// leave it, rather than stap's error that ends the run: a NULL member
// on the way is common, and a probe on a hot function should not end a
// run for it.
func (g *gen) field(e *ast.TargetVar) {
	t := g.probe.Point.Targets[e]
	if t.Parts != nil {
		g.notPrinted(e)
		return
	}
	f := t.Field
	switch {
	case f.Constant && t.Type == sema.String:
		g.stringLit(f.Text)
		return
	case f.Constant:
		g.emit(asm.LoadImm(asm.R0, f.Value, asm.DWord))
		return
	case f.Address:
		g.emit(asm.Mov.Reg(asm.R0, regCtx), asm.Add.Imm(asm.R0, int32(f.Offset)))
	case f.DataLoc:
		g.emit(
			asm.LoadMem(asm.R0, regCtx, int16(f.Offset), asm.Word),
			asm.And.Imm(asm.R0, 0xffff),
			asm.Add.Reg(asm.R0, regCtx),
		)
	case g.probe.Point.Kind == sema.PointTracepoint && f.Offset < tracepointHeader:
		g.commonField(e)
		return
	default:
		load := asm.LoadMem(asm.R0, regCtx, int16(f.Offset), sizes[f.Size])
		if slot, ok := g.probe.Point.Trampoline[f.Offset]; ok {
			load.Metadata.Set(trampolineSlot{}, slot)
		}
		g.emit(load)
		g.signExtend(f.Size, f.Signed)
	}
	g.follow(t)
}

// trampolineSlot is the metadata key of a load of a kernel function's
// parameter or return value from its registers: the value is the offset
// the load has in the function's fentry/fexit context instead.
type trampolineSlot struct{}

// trampolineVariant returns the fentry (or, for a .return, fexit) variant
// of a kernel function probe's program insns, or nil where there is none:
// the same code with each parameter loaded from the trampoline's context.
func trampolineVariant(name string, p *sema.Point, g *gen, insns asm.Instructions) *ebpf.ProgramSpec {
	if p.Trampoline == nil || g.usesRegs {
		return nil
	}
	attach := ebpf.AttachTraceFEntry
	if p.Kind == sema.PointKretprobe {
		attach = ebpf.AttachTraceFExit
	}
	variant := make(asm.Instructions, len(insns))
	for i, ins := range insns {
		if slot, ok := ins.Metadata.Get(trampolineSlot{}).(int); ok {
			ins.Offset = int16(slot)
		}
		variant[i] = ins
	}
	return &ebpf.ProgramSpec{
		Name: name, Type: ebpf.Tracing, AttachType: attach, AttachTo: p.Function,
		License: "GPL", Instructions: variant,
	}
}

// cast emits @cast(p, "type")->member...: the pointer p, then the reads
// of the member chain, as for a context variable.
func (g *gen) cast(e *ast.TargetExpr) {
	g.expr(e.X.(*ast.CastExpr).X)
	g.follow(g.c.prog.Casts[e])
}

// follow replaces the base value in R0 by what t reads from it: from user
// memory for the arguments of user-space probes.
func (g *gen) follow(t *sema.Target) {
	read := asm.FnProbeReadKernel
	if t.User {
		read = asm.FnProbeReadUser
	}
	for _, rd := range t.Reads {
		g.readMemory(rd, read)
	}
	if t.Type == sema.String {
		g.readKernelString(t.StringOffset, t.StringMax)
	}
}

// tracepointHeader is the size of the common fields at the start of a
// tracepoint's record. Before the kernel runs a BPF program on a record it
// stores a pointer over them, and the verifier refuses to load them.
const tracepointHeader = 8

// commonField emits $common_pid, which is the current thread, into R0;
// the other common fields are gone.
func (g *gen) commonField(e *ast.TargetVar) {
	if e.Name != "common_pid" {
		g.c.diags.Add(diag.Errorf(diag.Codegen, "C016", e.Span(),
			"the kernel hides $%s from BPF programs: it writes over a tracepoint record's common fields before it runs them", e.Name).
			WithHint("$common_pid is there: it is the current thread, tid()"))
		return
	}
	g.emit(asm.FnGetCurrentPidTgid.Call(), asm.Mov.Reg32(asm.R0, asm.R0))
}

// signExtend sign-extends the size-byte value in R0 when it is signed.
func (g *gen) signExtend(size int, signed bool) {
	if signed && size < 8 {
		shift := int32(64 - 8*size)
		g.emit(asm.LSh.Imm(asm.R0, shift), asm.ArSh.Imm(asm.R0, shift))
	}
}

// readKernel replaces the address in R0 by the value rd reads from kernel
// memory at an offset from it, through a stack slot.
func (g *gen) readKernel(rd sema.Read) { g.readMemory(rd, asm.FnProbeReadKernel) }

// readMemory replaces the address in R0 by the value rd reads with the
// helper read, bpf_probe_read_kernel or bpf_probe_read_user.
func (g *gen) readMemory(rd sema.Read, read asm.BuiltinFunc) {
	slot := g.pushStack()
	defer g.popStack()
	g.emit(
		asm.Mov.Reg(asm.R3, asm.R0),
		asm.Add.Imm(asm.R3, int32(rd.Offset)),
		asm.Mov.Reg(asm.R1, asm.R10),
		asm.Add.Imm(asm.R1, int32(slot)),
		asm.Mov.Imm(asm.R2, int32(rd.Size)),
		read.Call(),
		asm.LoadMem(asm.R0, asm.R10, int16(slot), sizes[rd.Size]),
	)
	g.signExtend(rd.Size, rd.Signed)
}

// readKernelString copies the string at offset off from the address in R0
// into a fresh string slot, at most limit bytes of it (0: as many as a slot
// holds), and leaves the slot's address in R0. The slot is zeroed first:
// the helper writes only the string and its terminator, and slots are
// compared and hashed whole.
func (g *gen) readKernelString(off, limit int) {
	n := g.c.opts.Params.Longest() + 1
	if limit > 0 && limit < n {
		n = limit
	}
	slot := g.allocScratch(g.c.opts.Params.StringLen)
	g.zeroScratch(slot, g.c.opts.Params.StringLen)
	g.emit(
		asm.Mov.Reg(asm.R3, asm.R0),
		asm.Add.Imm(asm.R3, int32(off)),
		asm.Mov.Imm(asm.R2, int32(n)),
	)
	g.scratchPtr(asm.R1, slot)
	g.emit(asm.FnProbeReadKernelStr.Call())
	g.scratchPtr(asm.R0, slot)
}
