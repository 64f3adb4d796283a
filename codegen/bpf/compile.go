// Package bpf lowers a checked stp Program to eBPF: one program per probe
// handler, the maps that hold the script's globals, and the maps.ABI that
// tells user space how to read them. It is deterministic and touches nothing
// in the running kernel: the loader loads what it makes.
package bpf

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"etap/diag"
	"etap/lang/ast"
	"etap/maps"
	"etap/sema"
)

// Options are the settings of one compile.
type Options struct {
	Params maps.Params
	// MaxAction is MAXACTION: how many statements one probe hit may run
	// in loops before it fails; begin and end probes get ten times as many,
	// as in stap. 0 means DefaultMaxAction.
	MaxAction int
	// MaxErrors is MAXERRORS: the run ends at the first runtime error past
	// this many.
	MaxErrors int
	// MaxNesting is MAXNESTING, the deepest nesting of function calls;
	// 0 means as stap computes it (see maxNesting).
	MaxNesting int
	// SuppressErrors is --suppress-handler-errors: a runtime error quietly
	// ends its handler, as if each were wrapped in try { } catch { next }.
	SuppressErrors bool
	// Sources gives the script text, for source lines in listings.
	Sources diag.Sources
}

// KernelProgram is a handler that runs as BPF in the kernel.
type KernelProgram struct {
	// Name is the program's key in Output.Spec.Programs.
	Name string
	// Point is what it attaches to, and Attach how.
	Point  *sema.Point
	Attach Attach
	// Lines maps raw instruction offsets to script positions, so that a
	// verifier rejection can be reported at the script line.
	Lines []LinePos
	// Trampoline, when set, is the fentry/fexit variant of a kprobe or
	// kretprobe program, with the same Lines, for the loader to try first.
	// It is not in Output.Spec: a kernel that refuses it must not fail
	// the load of the rest.
	Trampoline *ebpf.ProgramSpec
}

// LinePos says that the instructions from raw offset Offset on come from
// the script at Pos.
type LinePos struct {
	Offset int
	Pos    diag.Pos
}

// UserKind says when a user-space handler runs.
type UserKind int

// The kinds of user-space handlers.
const (
	UserBegin UserKind = iota + 1
	UserEnd
	UserError
	UserTimer
)

var userKinds = map[sema.PointKind]UserKind{
	sema.PointBegin: UserBegin, sema.PointEnd: UserEnd, sema.PointError: UserError, sema.PointTimer: UserTimer,
}

// UserProgram is a handler that runs in etap's user-space interpreter:
// begin, end, error and timer probes.
type UserProgram struct {
	Name         string
	Kind         UserKind
	Sequence     int64
	Period       time.Duration
	Text         string
	Instructions asm.Instructions
}

// Output is everything a compile produces.
type Output struct {
	// Spec holds every map and the kernel programs.
	Spec   *ebpf.CollectionSpec
	Kernel []*KernelProgram
	// User programs, begin and end sorted by sequence.
	User []*UserProgram
	ABI  *maps.ABI
}

// DefaultMaxAction is stap's MAXACTION.
const DefaultMaxAction = 1000

// ringBufSize is the size of the events ring buffer. At a 10 ms drain
// interval it holds tens of thousands of records.
const ringBufSize = 1 << 20

// idleRingBufSize is the events ring buffer of a script without kernel
// probes, which nothing writes to: the smallest the kernel allows, one
// page. Reading a ring buffer maps its data twice, so 1 MiB would add
// 2 MiB to etap's memory for nothing.
const idleRingBufSize = 4096

// Compile lowers prog.
func Compile(prog *sema.Program, opts Options) (*Output, *diag.List) {
	c := newCompiler(prog, opts)
	out := &Output{
		Spec: &ebpf.CollectionSpec{Maps: map[string]*ebpf.MapSpec{}, Programs: map[string]*ebpf.ProgramSpec{}},
		ABI:  c.abi,
	}
	maxScratch := 8
	for i, p := range prog.Probes {
		g, insns := c.compileHandler(p)
		maxScratch = max(maxScratch, g.maxScratch)
		name := programName(i, p.Point)
		if p.Point.Kernel {
			if err := btfLines(insns); err != nil {
				c.diags.Add(diag.Errorf(diag.Codegen, "C008", p.Decl.Span(), "internal error: %v", err))
			}
			typ, attach := attachOf(p.Point)
			spec := &ebpf.ProgramSpec{
				Name:         name,
				Type:         typ,
				License:      "GPL",
				Instructions: insns,
			}
			if attach == AttachRawTracepoint {
				// The loader finds btf_trace_EVENT in the kernel's BTF.
				spec.AttachType, spec.AttachTo = ebpf.AttachTraceRawTp, p.Point.Event
			}
			out.Spec.Programs[name] = spec
			out.Kernel = append(out.Kernel, &KernelProgram{
				Name: name, Point: p.Point, Attach: attach, Lines: g.lines,
				Trampoline: trampolineVariant(name, p.Point, g, insns),
			})
			continue
		}
		if p.Point.Kind == sema.PointNever {
			continue
		}
		out.User = append(out.User, &UserProgram{
			Name: name, Kind: userKinds[p.Point.Kind], Sequence: p.Point.Sequence,
			Period: p.Point.Period, Text: p.Point.Text, Instructions: insns,
		})
	}
	sort.SliceStable(out.User, func(i, j int) bool { return out.User[i].Sequence < out.User[j].Sequence })
	ring := ringBufSize
	if len(out.Kernel) == 0 {
		ring = idleRingBufSize
	}
	c.addMaps(out.Spec, maxScratch, ring)
	if c.diags.HasErrors() {
		return nil, c.diags
	}
	return out, c.diags
}

// programName makes a kernel-acceptable name: at most 15 characters of
// [A-Za-z0-9_], unique by its index.
func programName(i int, p *sema.Point) string {
	base := p.Event
	if p.Function != "" {
		base = p.Function
	}
	if base == "" {
		base = p.Text
	}
	name := fmt.Sprintf("p%d_%s", i, sanitize(base))
	if len(name) > 15 {
		name = name[:15]
	}
	return name
}

// compiler holds what all handlers of a compile share.
type compiler struct {
	prog   *sema.Program
	opts   Options
	abi    *maps.ABI
	diags  *diag.List
	global map[*sema.Var]int // index in abi.Globals
	labels int
	// maxNesting is the deepest nesting of inlined calls.
	maxNesting int
	// tables are the name tables the probes look numbers up in.
	tables map[*table]bool
	// varLen bounds the length of string locals (see keySizes).
	varLen map[*sema.Var]int
}

func newCompiler(prog *sema.Program, opts Options) *compiler {
	c := &compiler{
		prog:   prog,
		opts:   opts,
		abi:    &maps.ABI{Params: opts.Params, MaxErrors: opts.MaxErrors},
		diags:  &diag.List{},
		global: map[*sema.Var]int{},
		tables: map[*table]bool{},
	}
	c.maxNesting = c.nestingLimit()
	off := 0
	keySizes := c.keySizes()
	counters := c.perCPUCounters()
	for _, v := range prog.Globals {
		g := maps.Global{Name: v.Name, Value: v.Type.ABI(), Display: v.Written && !v.Read}
		switch {
		case v.IsArray:
			for _, k := range v.Keys {
				g.Keys = append(g.Keys, k.ABI())
			}
			g.KeySizes = keySizes[v]
			g.MapName = "a_" + v.Name
			g.PerCPU = counters[v]
			g.MaxEntries = opts.Params.MaxMapEntries
			if v.Size > 0 {
				g.MaxEntries = int(v.Size)
			}
		case v.Type != sema.Stats:
			g.Offset = off
			off += opts.Params.SizeOf(g.Value)
			g.Init = initValue(v)
		}
		if v.Type == sema.Stats {
			c.statGlobal(v, &g)
		}
		g.Wrap = v.Wrap && v.IsArray
		c.global[v] = len(c.abi.Globals)
		c.abi.Globals = append(c.abi.Globals, g)
	}
	if off+maps.HiddenSize > math.MaxInt16 {
		c.diags.Add(diag.Errorf(diag.Codegen, "C006", prog.Globals[0].Decl,
			"the scalar globals need %d bytes, more than the %d a probe can address", off+maps.HiddenSize, math.MaxInt16).
			WithHint("use fewer string globals or a smaller MAXSTRINGLEN"))
	}
	c.abi.Hidden = maps.Hidden{Target: off, RealtimeOffset: off + 8, Lost: off + 16, Exiting: off + 24, Errors: off + 32}
	c.abi.ScalarsSize = off + maps.HiddenSize
	return c
}

func initValue(v *sema.Var) *maps.Value {
	switch lit := v.Init.(type) {
	case *ast.IntLit:
		val := maps.LongValue(lit.Value)
		return &val
	case *ast.StringLit:
		val := maps.StringValue(lit.Value)
		return &val
	}
	return nil
}

// addMaps adds the map specs every compile has (the events ring buffer
// ringSize bytes), and one hash map per array.
func (c *compiler) addMaps(spec *ebpf.CollectionSpec, scratchSize, ringSize int) {
	spec.Maps[maps.ScalarsMap] = &ebpf.MapSpec{
		Name: maps.ScalarsMap, Type: ebpf.Array, KeySize: 4,
		ValueSize: uint32(c.abi.ScalarsSize), MaxEntries: 1,
		// Mappable, so that user-space probes read and write the live values.
		Flags: mmapable,
	}
	spec.Maps[maps.ScratchMap] = &ebpf.MapSpec{
		Name: maps.ScratchMap, Type: ebpf.PerCPUArray, KeySize: 4,
		ValueSize: uint32(roundUp8(scratchSize)), MaxEntries: 1,
	}
	spec.Maps[maps.EventsMap] = &ebpf.MapSpec{Name: maps.EventsMap, Type: ebpf.RingBuf, MaxEntries: uint32(ringSize)}
	c.addStatMaps(spec)
	c.addTableMaps(spec)
	for _, g := range c.abi.Globals {
		if !g.IsArray() || g.Stat != nil {
			continue
		}
		spec.Maps[g.MapName] = &ebpf.MapSpec{
			Name: g.MapName, Type: arrayMapType(g.Wrap, g.PerCPU),
			KeySize:    uint32(g.KeySize()),
			ValueSize:  uint32(c.opts.Params.SizeOf(g.Value)),
			MaxEntries: uint32(g.MaxEntries),
		}
	}
}

// mmapable is BPF_F_MMAPABLE.
const mmapable = 1 << 10

func roundUp8(n int) int { return (n + 7) &^ 7 }
