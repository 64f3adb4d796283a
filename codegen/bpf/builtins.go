package bpf

import (
	"sort"

	"github.com/cilium/ebpf/asm"

	"etap/lang/ast"
	"etap/sema"
)

// builtin is one compiler-provided function: the signature sema checks
// calls against, and the code that computes it into R0.
type builtin struct {
	sema.Builtin
	emit func(g *gen, call *ast.CallExpr)
	// later is set for builtins whose string user space makes when it
	// prints the record (symname); see symbols.go.
	later *printedLater
	// into, when set, writes the string a call gives straight into the
	// size-byte slot at scratch offset off, NUL-padded to its end when
	// padded is set (keys are compared whole; records are read up to the
	// NUL): a map key or ring-buffer record, with no temporary to copy.
	into func(g *gen, call *ast.CallExpr, off, size int, padded bool)
	// maxLen, when set, bounds the length of the string a call gives
	// (see compiler.maxLen), -1 where it cannot.
	maxLen func(c *compiler, call *ast.CallExpr) int
}

// builtins is filled by init: the emitters refer back to it through expr.
var builtins map[string]*builtin

func init() {
	list := []*builtin{
		helperLong("pid", asm.FnGetCurrentPidTgid, high32),
		helperLong("tid", asm.FnGetCurrentPidTgid, low32),
		helperLong("uid", asm.FnGetCurrentUidGid, low32),
		helperLong("gid", asm.FnGetCurrentUidGid, high32),
		helperLong("cpu", asm.FnGetSmpProcessorId, nil),
		kernelOnly(helperLong("task_current", asm.FnGetCurrentTask, nil)),
		{Builtin: sema.Builtin{Name: "execname", Result: sema.String}, emit: emitExecname, into: execnameInto, maxLen: execnameLen},
		wallClock("gettimeofday_ns", 1),
		wallClock("gettimeofday_us", 1e3),
		wallClock("gettimeofday_ms", 1e6),
		wallClock("gettimeofday_s", 1e9),
		{Builtin: sema.Builtin{Name: "target", Result: sema.Long}, emit: func(g *gen, _ *ast.CallExpr) {
			g.emit(asm.LoadMem(asm.R0, regGlobals, int16(g.c.abi.Hidden.Target), asm.DWord))
		}},
		{Builtin: sema.Builtin{Name: "strlen", Params: []sema.Type{sema.String}, Result: sema.Long}, emit: emitStrlen},
		{Builtin: sema.Builtin{Name: "substr", Params: []sema.Type{sema.String, sema.Long, sema.Long}, Result: sema.String}, emit: emitSubstr},
		stringCopy("user_string", "user", asm.FnProbeReadUserStr, false, optionalMessage),
		stringCopy("user_string2", "user", asm.FnProbeReadUserStr, false, requiredMessage),
		stringCopy("user_string_n", "user", asm.FnProbeReadUserStr, true, optionalMessage),
		stringCopy("user_string_n2", "user", asm.FnProbeReadUserStr, true, requiredMessage),
		stringCopy("kernel_string", "kernel", asm.FnProbeReadKernelStr, false, optionalMessage),
		stringCopy("kernel_string2", "kernel", asm.FnProbeReadKernelStr, false, requiredMessage),
		stringCopy("kernel_string_n", "kernel", asm.FnProbeReadKernelStr, true, optionalMessage),
		quotedCopy("user_string_quoted", asm.FnProbeReadUserStr, false),
		quotedCopy("user_string_n_quoted", asm.FnProbeReadUserStr, true),
		quotedCopy("kernel_string_quoted", asm.FnProbeReadKernelStr, false),
		tableBuiltin("syscall_name", syscallTable),
		tableBuiltin("errno_str", errnoTable),
		printfBuiltin(),
		printBuiltin("print", ""),
		printBuiltin("println", "\n"),
		printdBuiltin("printd", ""),
		printdBuiltin("printdln", "\n"),
		logBuiltin(),
		sprintfBuiltin(),
		sprintBuiltin("sprint", ""),
		sprintBuiltin("sprintln", "\n"),
	}
	list = append(list, argBuiltins()...)
	list = append(list, usymBuiltins()...)
	list = append(list, errorBuiltins()...)
	list = append(list, symbolBuiltins()...)
	list = append(list, userNumberBuiltins()...)
	list = append(list, stringFuncs()...)
	builtins = map[string]*builtin{}
	for _, b := range list {
		builtins[b.Name] = b
	}
}

// Library returns the builtins for sema to check calls against.
func Library() sema.Library { return library{} }

type library struct{}

func (library) Lookup(name string) (*sema.Builtin, bool) {
	b, ok := builtins[name]
	if !ok {
		return nil, false
	}
	return &b.Builtin, true
}

func (library) Names() []string {
	names := make([]string, 0, len(builtins))
	for n := range builtins {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func high32(g *gen) { g.emit(asm.RSh.Imm(asm.R0, 32)) }

// low32 keeps the low half: a 32-bit move zero-extends.
func low32(g *gen) { g.emit(asm.Mov.Reg32(asm.R0, asm.R0)) }

// helperLong is a builtin that calls one helper and keeps part of its result.
func helperLong(name string, fn asm.BuiltinFunc, part func(g *gen)) *builtin {
	return &builtin{
		Builtin: sema.Builtin{Name: name, Result: sema.Long},
		emit: func(g *gen, _ *ast.CallExpr) {
			g.emit(fn.Call())
			if part != nil {
				part(g)
			}
		},
	}
}

// kernelOnly marks b as needing a kernel probe.
func kernelOnly(b *builtin) *builtin {
	b.KernelOnly = true
	return b
}

// commLen is the size of a task's comm, TASK_COMM_LEN.
const commLen = 16

// emitExecname copies the current task's name into a string slot.
func emitExecname(g *gen, call *ast.CallExpr) {
	n := g.c.opts.Params.StringLen
	off := g.allocScratch(n)
	execnameInto(g, call, off, n, true)
	g.scratchPtr(asm.R0, off)
}

// execnameLen bounds execname(): a task's name is at most commLen-1 bytes.
func execnameLen(*compiler, *ast.CallExpr) int { return commLen - 1 }

// execnameInto writes the task's name into a slot of size bytes: the
// helper writes commLen bytes, or fewer when MAXSTRINGLEN is smaller,
// the name cut to fit and NUL-padded. With padded, the rest of the slot
// is zeroed too.
func execnameInto(g *gen, _ *ast.CallExpr, off, size int, padded bool) {
	n := min(commLen, g.c.opts.Params.Longest()+1, size)
	if from := n &^ 7; padded && size > from {
		// Zeroed first, in whole words: the helper overwrites the start.
		g.zeroScratch(off+from, size-from)
	}
	g.scratchPtr(asm.R1, off)
	g.emit(asm.Mov.Imm(asm.R2, int32(n)), asm.FnGetCurrentComm.Call())
}

// wallClock is gettimeofday_*: the boot clock plus the offset to the
// wall clock that etap stores at start, since BPF has no wall-clock helper.
func wallClock(name string, unit int32) *builtin {
	return &builtin{
		Builtin: sema.Builtin{Name: name, Result: sema.Long},
		emit: func(g *gen, _ *ast.CallExpr) {
			g.emit(
				asm.FnKtimeGetBootNs.Call(),
				asm.LoadMem(asm.R1, regGlobals, int16(g.c.abi.Hidden.RealtimeOffset), asm.DWord),
				asm.Add.Reg(asm.R0, asm.R1),
			)
			if unit != 1 {
				g.emit(asm.Div.Imm(asm.R0, unit))
			}
		},
	}
}
