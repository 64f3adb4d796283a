// Package sema elaborates parsed stp files into a checked Program: it
// resolves probe points against what the running kernel offers, binds names
// to globals and locals, infers the type of every variable and expression,
// and reports what is wrong at the place it is wrong.
package sema

import (
	"time"

	"github.com/cilium/ebpf/btf"

	"etap/diag"
	"etap/lang/ast"
	"etap/maps"
)

// Type is the type of a value in a script.
type Type uint8

// The types of stp values. Void is the "type" of a call that yields nothing,
// such as printf.
const (
	Unknown Type = iota
	Long
	String
	Void
	// Stats is a statistic, a global that receives `<<<` and is read only
	// through extractors such as @count.
	Stats
)

func (t Type) String() string {
	switch t {
	case Long:
		return "long"
	case String:
		return "string"
	case Void:
		return "void"
	case Stats:
		return "stats"
	}
	return "unknown"
}

// ABI returns the map-level type of t.
func (t Type) ABI() maps.Type {
	if t == String {
		return maps.String
	}
	return maps.Long
}

// Var is a global or local variable.
type Var struct {
	Name   string
	Global bool
	// Type is the type of a scalar, or of an array's values.
	Type Type
	// IsArray is set for associative arrays; Keys are their column types.
	IsArray bool
	Keys    []Type
	// Decl is where the variable was declared (globals) or first used.
	Decl diag.Span
	// TypedAt is where the variable's type was first inferred.
	TypedAt diag.Span
	// KeysAt is where the array's index columns were first seen.
	KeysAt diag.Span
	// Size and Wrap come from `global a[Size]` and `global a%`.
	Size int64
	Wrap bool
	Init ast.Expr
	// Read and Written say how the script uses the variable; globals that
	// are written but never read are displayed when the run ends.
	Read, Written bool
	// Stat says what a statistic keeps besides its count, sum, min and
	// max; nil for other types.
	Stat *StatUse

	// private globals belong to the file that declares them.
	private bool
}

// Point is a probe point resolved to one thing to attach to.
type Point struct {
	// Text is the canonical probe point, as -p2 prints it.
	Text string
	Kind PointKind
	// Kernel is set when the handler runs as BPF in the kernel; otherwise
	// it runs in user space in etap's interpreter.
	Kernel bool
	// Sequence orders begin/end/error probes: begin(-1) runs before begin.
	Sequence int64
	// Period is the interval of a timer probe.
	Period time.Duration
	// Group and Event name a tracepoint.
	Group, Event string
	// Function names the kernel function of a kprobe or kretprobe, and
	// Module its module ("" for the kernel itself).
	Function, Module string
	// Binary is the file a uprobe attaches to, and Address the offset in
	// that file; Semaphore, when not 0, is the file offset of an SDT
	// probe's semaphore, which the kernel increments while it is attached.
	Binary             string
	Address, Semaphore uint64
	// Regs places the arguments and the return value in the context of
	// kprobes and uprobes, for uint_arg(n) and friends; nil elsewhere.
	Regs *Regs
	// Trampoline, when set, says that a kernel function probe can also
	// attach as fentry/fexit, whose context is the function's parameters
	// as an array of u64 and, at return, its return value after them: it
	// maps the offset of each parameter's and the return value's register
	// in struct pt_regs (a Field's Offset) to its offset in that array.
	Trampoline map[int]int
	// Guard, when set, is a context field that must be nonzero for the
	// handler to run, such as group_dead for process.end.
	Guard *Field
	// Family, when set, limits the handler in -c/-x runs to the target
	// process and its descendants, by the task_struct members it names.
	Family *TaskLinks
	// Perf is the event a perf point opens on every CPU.
	Perf *PerfEvent
	// PtRegs is set when the context starts with the registers of the
	// probed kernel code (struct pt_regs), as kprobes' and perf events'
	// do: addr() reads the instruction pointer there.
	PtRegs bool
	// Record keeps a tracepoint's record fields once the point reads its
	// typed arguments instead, for messages.
	Record map[string]Field
	// Fields are the context variables ($name) the point provides.
	Fields map[string]Field
	// Order names the Fields in the order the point declares them, for -L.
	Order []string
	// Targets says how the handler reads each context variable at this
	// point; sema fills it while it checks the handler.
	Targets map[*ast.TargetVar]*Target
	Span    diag.Span
}

// PointKind says how a probe point attaches.
type PointKind int

// The kinds of probe points etap can attach.
const (
	PointBegin PointKind = iota + 1
	PointEnd
	PointError
	PointNever
	PointTimer
	PointTracepoint
	// PointKprobe and PointKretprobe fire when a kernel function is
	// entered and when it returns; their context is the registers
	// (struct pt_regs).
	PointKprobe
	PointKretprobe
	// PointUprobe and PointUretprobe fire when a user-space function is
	// entered and when it returns, or, for PointUprobe, when an
	// instruction (an SDT probe's nop) runs; their context is the
	// registers.
	PointUprobe
	PointUretprobe
	// PointRawTracepoint is a tracepoint attached as tp_btf: its context
	// is the tracepoint's typed arguments ($prev, $next), not its record.
	PointRawTracepoint
	// PointPerf fires on a perf event's samples on every CPU; its
	// context is struct bpf_perf_event_data, which starts with pt_regs.
	PointPerf
)

// TaskLinks are the offsets in struct task_struct of what ties a task to
// its process and its parent: enough to tell whether the current task
// descends from a given process.
type TaskLinks struct {
	RealParent, Tgid int
}

// Field is a context variable read from the probe's context: a tracepoint
// record's field, or the register that holds a function's parameter.
type Field struct {
	Name   string
	CType  string
	Offset int
	Size   int
	Signed bool
	Type   Type
	// BTF is the field's type, for member accesses ($file->f_path); nil
	// for tracepoint fields.
	BTF btf.Type
	// Address says that the field is a character array in the record,
	// such as sched_switch's `char prev_comm[16]`: a string read from the
	// field's own address. DataLoc says that it is a `__data_loc char[]`:
	// a 32-bit word whose low half is the offset of a string in the
	// record, such as sched_process_exec's filename.
	Address, DataLoc bool
	// Unsupported, when set, says what kind of field etap cannot read
	// yet, such as "array fields".
	Unsupported string
	// Constant fields have Value (a long) or Text (a string) and read
	// nothing, as an SDT argument that the compiler knew ("4@$5") or a
	// mark's $$name.
	Constant bool
	Value    int64
	Text     string
	// Deref, when set, reads the value from user memory at an offset from
	// the register the field names, as an SDT argument on the stack
	// ("8@-16(%rbp)").
	Deref *Read
}

// Probe is one probe handler bound to one resolved point. A declaration with
// several points gives several Probes, each with its own copy of the body,
// elaborated and folded for its point (as stap derives a probe per point),
// and its own locals.
type Probe struct {
	// Decl holds the body to compile: the user's handler, folded, between
	// the statements of the aliases it came through.
	Decl  *ast.ProbeDecl
	Point *Point
	// Locals are the handler's local variables.
	Locals []*Var
}

// Program is a checked script, ready for code generation.
type Program struct {
	// Globals are every global variable the script uses, in declaration order.
	Globals []*Var
	Probes  []*Probe
	// Types holds the type of every expression.
	Types map[ast.Expr]Type
	// Refs binds identifiers (*ast.Ident) to their variables.
	Refs map[*ast.Ident]*Var
	// Calls binds calls to the builtins they name.
	Calls map[*ast.CallExpr]*Builtin
	// Functions are the script functions probes call; FuncCalls binds
	// calls to them.
	Functions []*Function
	FuncCalls map[*ast.CallExpr]*Function
	// Kfuncs are the BTF ids of the IterKfuncs, when a kernel probe may
	// loop and the kernel has them.
	Kfuncs map[string]uint32
	// Casts says how each @cast(...)->member chain reads kernel memory
	// from the pointer its @cast gives; Field is unused.
	Casts map[*ast.TargetExpr]*Target
}

// Builtin is the signature of a compiler-provided function. The code
// generator defines the builtins together with their emission and hands them
// to sema as a Library.
type Builtin struct {
	Name   string
	Params []Type
	// Variadic allows more arguments, of the types ArgTypes gives.
	Variadic bool
	Result   Type
	// UserOnly marks builtins that only etap's user-space interpreter can
	// run, such as sorted iteration helpers.
	UserOnly bool
	// KernelOnly marks builtins that need a kernel context, such as
	// task_current: a begin or end probe has no current task.
	KernelOnly bool
	// ArgTypes, when set, gives the types the arguments of one call must
	// have, for builtins whose parameters depend on the call (printf's on its
	// format). It reports a bad call as a diagnostic.
	ArgTypes func(call *ast.CallExpr) ([]Type, *diag.Diagnostic)
}

// Library is the set of builtins sema checks calls against.
type Library interface {
	// Lookup finds a builtin by name.
	Lookup(name string) (*Builtin, bool)
	// Names lists every builtin, for "did you mean" hints.
	Names() []string
}
