// Package vm is an eBPF interpreter. etap runs begin, end and timer probes
// in user space, over the same bytecode that codegen makes for kernel
// probes, so that sorting, formatting and loops in reporting probes have one
// lowering and one set of semantics. Helpers read and write the live maps
// through the Map interface; a few helpers that only user space provides
// (sorted iteration, see maps.HelperForeachStart) have ids outside the
// kernel's range.
//
// The interpreter trusts nothing: where the kernel's verifier would have
// rejected a program, Run returns a *Fault instead of misbehaving, so codegen
// bugs surface in tests that need no privileges.
package vm

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/cilium/ebpf/asm"

	"etap/maps"
)

// Env is what a program's maps and helpers are bound to.
type Env struct {
	// Maps are the maps by the name LoadMapPtr instructions reference
	// (insn.Reference()). maps.EventsMap, the ring buffer, needs no entry:
	// its records go to Output.
	Maps map[string]Map
	// ABI describes the script, for the foreach helpers: a
	// maps.ForeachSite's Global indexes ABI.Globals, whose MapName and
	// Keys/Value types give the map and its layout.
	ABI *maps.ABI
	// Output receives each ring-buffer record synchronously, as a copy the
	// callee may keep. A nil Output drops records.
	Output func(record []byte)
}

// DefaultBudget is the Budget New gives a program: enough for any sane
// reporting probe, small enough that an endless loop ends in seconds.
const DefaultBudget = 1 << 26

// Program is a loaded program: instructions with jumps, calls and map
// references resolved, ready to Run any number of times. Runs may overlap
// if the maps allow it; the in-memory ones do not.
type Program struct {
	// Budget is the most instructions one Run executes before it fails with
	// ErrBudgetExceeded.
	Budget uint64

	code   []insn
	insns  asm.Instructions
	maps   []progMap
	abi    *maps.ABI
	output func([]byte)
	// machines recycles run state so that a Run allocates nothing in the
	// common case.
	machines sync.Pool
}

// progMap is a map a program references.
type progMap struct {
	name  string
	index int
	// m is nil for the ring buffer.
	m Map
	// writeBack is set when Lookup returns a copy: stores through a
	// looked-up pointer are then written back with Update.
	writeBack bool
}

// ErrBudgetExceeded is wrapped by the Fault of a Run that executed more than
// Program.Budget instructions.
var ErrBudgetExceeded = errors.New("instruction budget exceeded")

// Fault is an error raised by one instruction during Run: a bad memory
// access, a bad helper argument, an unsupported helper or a spent budget.
type Fault struct {
	// Index is the instruction's index in the asm.Instructions given to New.
	Index int
	// Insn is that instruction; its Source, where codegen attached one,
	// names the script line.
	Insn asm.Instruction
	Err  error
}

// Error says which instruction faulted, where in the script it came from if
// known, and why.
func (f *Fault) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "insn %d (%v)", f.Index, f.Insn)
	if src := f.Insn.Source(); src != nil {
		fmt.Fprintf(&b, " [%s]", strings.TrimSpace(src.String()))
	}
	fmt.Fprintf(&b, ": %v", f.Err)
	return b.String()
}

// Unwrap returns the cause.
func (f *Fault) Unwrap() error { return f.Err }

// New resolves insns against env: labels of jumps and bpf-to-bpf calls,
// raw jump offsets and the maps LoadMapPtr names. It rejects unknown maps,
// jumps that leave the program or land inside a LoadImm64, opcodes the
// interpreter does not know and writes to R10. Helper ids are checked by
// Run, when a call is reached, because reporting probes share code with
// kernel probes whose helpers user space need not provide.
func New(insns asm.Instructions, env *Env) (*Program, error) {
	if env == nil {
		env = &Env{}
	}
	if len(insns) == 0 {
		return nil, errors.New("vm: empty program")
	}
	p := &Program{Budget: DefaultBudget, insns: slices.Clone(insns), abi: env.ABI, output: env.Output}
	l := loader{p: p, env: env, mapIndex: make(map[string]int)}
	if err := l.layout(); err != nil {
		return nil, err
	}
	p.code = make([]insn, len(insns))
	for i := range p.insns {
		in, err := l.decode(i, &p.insns[i])
		if err != nil {
			return nil, fmt.Errorf("vm: insn %d (%v): %w", i, p.insns[i], err)
		}
		p.code[i] = in
	}
	// Falling off the end must be impossible, so that the interpreter loop
	// needs no check for it: the verifier demands the same.
	if last := p.code[len(p.code)-1].op; last != opExit && last != opJa {
		return nil, errors.New("vm: program does not end with exit or ja")
	}
	return p, nil
}

// loader holds what New needs while it decodes.
type loader struct {
	p        *Program
	env      *Env
	mapIndex map[string]int
	// raw is each instruction's offset in 8-byte slots; index maps a slot
	// back to its instruction, -1 for the second half of a LoadImm64.
	raw     []int
	index   []int
	symbols map[string]int
}

func (l *loader) layout() error {
	insns := l.p.insns
	l.raw = make([]int, len(insns))
	iter := insns.Iterate()
	for iter.Next() {
		l.raw[iter.Index] = int(iter.Offset)
		for range iter.Ins.Width() {
			l.index = append(l.index, -1)
		}
		l.index[iter.Offset] = iter.Index
	}
	var err error
	l.symbols, err = insns.SymbolOffsets()
	if err != nil {
		return fmt.Errorf("vm: %w", err)
	}
	return nil
}

// target resolves the destination of the jump or call at i: its label if
// it has one, else rel slots after the next instruction, as encoded.
func (l *loader) target(i int, ins *asm.Instruction, rel int64) (int32, error) {
	if ref := ins.Reference(); ref != "" {
		t, ok := l.symbols[ref]
		if !ok {
			return 0, fmt.Errorf("unknown label %q", ref)
		}
		return int32(t), nil
	}
	slot := int64(l.raw[i]) + 1 + rel
	if slot < 0 || slot >= int64(len(l.index)) || l.index[slot] < 0 {
		return 0, fmt.Errorf("jump to slot %d outside the program or inside an instruction", slot)
	}
	return int32(l.index[slot]), nil
}

// mapRef returns the index in p.maps of the map ins references.
func (l *loader) mapRef(ins *asm.Instruction) (int, error) {
	name := ins.Reference()
	if name == "" {
		return 0, errors.New("map load without a map name (Reference)")
	}
	if i, ok := l.mapIndex[name]; ok {
		return i, nil
	}
	m, ok := l.env.Maps[name]
	if !ok && name != maps.EventsMap {
		return 0, fmt.Errorf("unknown map %q", name)
	}
	pm := progMap{name: name, index: len(l.p.maps), m: m}
	if m != nil {
		_, shared := m.(sharedValues)
		pm.writeBack = !shared
	}
	l.p.maps = append(l.p.maps, pm)
	l.mapIndex[name] = len(l.p.maps) - 1
	return len(l.p.maps) - 1, nil
}

// aluOps gives the ALU64 opcode of each asm.ALUOp; the ALU32 one follows
// at a fixed distance.
var aluOps = map[asm.ALUOp]opcode{
	asm.Add: opAdd, asm.Sub: opSub, asm.Mul: opMul, asm.Div: opDiv, asm.SDiv: opSDiv,
	asm.Mod: opMod, asm.SMod: opSMod, asm.Or: opOr, asm.And: opAnd, asm.Xor: opXor,
	asm.LSh: opLsh, asm.RSh: opRsh, asm.ArSh: opArsh, asm.Mov: opMov,
	asm.MovSX8: opMovSX8, asm.MovSX16: opMovSX16, asm.MovSX32: opMovSX32, asm.Neg: opNeg,
}

// jumpOps gives the 64-bit opcode of each conditional asm.JumpOp; the
// 32-bit one follows at a fixed distance.
var jumpOps = map[asm.JumpOp]opcode{
	asm.JEq: opJEq, asm.JNE: opJNE, asm.JGT: opJGT, asm.JGE: opJGE, asm.JLT: opJLT,
	asm.JLE: opJLE, asm.JSet: opJSet, asm.JSGT: opJSGT, asm.JSGE: opJSGE,
	asm.JSLT: opJSLT, asm.JSLE: opJSLE,
}

var (
	ldxOps   = map[asm.Size]opcode{asm.Byte: opLdxB, asm.Half: opLdxH, asm.Word: opLdxW, asm.DWord: opLdxDW}
	ldxSXOps = map[asm.Size]opcode{asm.Byte: opLdxSXB, asm.Half: opLdxSXH, asm.Word: opLdxSXW}
	// ST and STX share opcodes: the operand is the immediate or src.
	stOps = map[asm.Size]opcode{asm.Byte: opStB, asm.Half: opStH, asm.Word: opStW, asm.DWord: opStDW}
)

var errUnsupported = errors.New("unsupported instruction")

func (l *loader) decode(i int, ins *asm.Instruction) (insn, error) {
	op := ins.OpCode
	// Immediates are 32 bits wide on the wire, except LoadImm64's; cut
	// them as Marshal does, so that the interpreter runs what the kernel
	// would.
	in := insn{dst: uint8(ins.Dst), src: uint8(ins.Src), imm: int64(int32(ins.Constant))}
	if ins.Dst > asm.R10 || ins.Src > asm.R10 {
		return in, errors.New("bad register")
	}
	writesDst := true
	switch cls := op.Class(); cls {
	case asm.ALUClass, asm.ALU64Class:
		// Signed division and sign-extending moves are ALUOps of their
		// own (asm.SDiv, asm.MovSX8...), as asm.Unmarshal makes them; a
		// Div with Offset 1 is unsigned, as Marshal would send it.
		alu := op.ALUOp()
		if alu == asm.Swap {
			return in, l.decodeSwap(&in, cls, op.Endianness(), ins.Constant)
		}
		base, ok := aluOps[alu]
		if !ok || (cls == asm.ALUClass && alu == asm.MovSX32) {
			return in, errUnsupported
		}
		in.op = base
		if cls == asm.ALUClass {
			in.op += op32
			in.imm = int64(uint32(in.imm))
		}
		in.reg = op.Source() == asm.RegSource
	case asm.JumpClass, asm.Jump32Class:
		writesDst = false
		jop := op.JumpOp()
		switch jop {
		case asm.Exit:
			in.op = opExit
		case asm.Call:
			return in, l.decodeCall(i, ins, &in)
		case asm.Ja:
			rel := int64(ins.Offset)
			if cls == asm.Jump32Class {
				// LongJump keeps its offset in the immediate.
				rel = in.imm
			}
			t, err := l.target(i, ins, rel)
			if err != nil {
				return in, err
			}
			in.op, in.off = opJa, t
		default:
			base, ok := jumpOps[jop]
			if !ok {
				return in, errUnsupported
			}
			t, err := l.target(i, ins, int64(ins.Offset))
			if err != nil {
				return in, err
			}
			in.op, in.off, in.reg = base, t, op.Source() == asm.RegSource
			if cls == asm.Jump32Class {
				in.op += op32
				in.imm = int64(uint32(in.imm))
			}
		}
	case asm.LdClass:
		if op != asm.LoadImmOp(asm.DWord) {
			return in, errUnsupported
		}
		if err := l.decodeLoadImm64(i, ins, &in); err != nil {
			return in, err
		}
	case asm.LdXClass:
		in.off = int32(ins.Offset)
		var ok bool
		switch op.Mode() {
		case asm.MemMode:
			in.op, ok = ldxOps[op.Size()]
		case asm.MemSXMode:
			in.op, ok = ldxSXOps[op.Size()]
		}
		if !ok {
			return in, errUnsupported
		}
	case asm.StClass, asm.StXClass:
		writesDst = false
		in.off = int32(ins.Offset)
		var ok bool
		switch {
		case op.Mode() == asm.MemMode:
			in.op, ok = stOps[op.Size()]
			in.reg = cls == asm.StXClass
		case op.Mode() == asm.AtomicMode:
			return in, decodeAtomic(op, &in)
		}
		if !ok {
			return in, errUnsupported
		}
	default:
		return in, errUnsupported
	}
	if writesDst && ins.Dst == asm.R10 {
		return in, errors.New("R10 is read-only")
	}
	return in, nil
}

func (l *loader) decodeSwap(in *insn, cls asm.Class, end asm.Endianness, bits int64) error {
	if in.dst == uint8(asm.R10) {
		return errors.New("R10 is read-only")
	}
	swap := cls == asm.ALU64Class || end == asm.BE
	switch {
	case bits == 16 && swap:
		in.op = opBSwap16
	case bits == 32 && swap:
		in.op = opBSwap32
	case bits == 64 && swap:
		in.op = opBSwap64
	// Converting to little endian on a little-endian host only truncates.
	case bits == 16:
		in.op = opZext16
	case bits == 32:
		in.op = opZext32
	case bits == 64:
		in.op = opNop
	default:
		return fmt.Errorf("byte swap of %d bits", bits)
	}
	return nil
}

func (l *loader) decodeCall(i int, ins *asm.Instruction, in *insn) error {
	switch {
	case ins.IsBuiltinCall():
		in.op = opCallHelper
		return nil
	case ins.IsFunctionCall():
		t, err := l.target(i, ins, in.imm)
		if err != nil {
			return err
		}
		in.op, in.off = opCall, t
		return nil
	}
	return errUnsupported
}

func (l *loader) decodeLoadImm64(i int, ins *asm.Instruction, in *insn) error {
	switch ins.Src {
	case 0:
		in.op, in.imm = opLdImm, ins.Constant
	case asm.PseudoMapFD:
		idx, err := l.mapRef(ins)
		if err != nil {
			return err
		}
		// A map handle is a constant, so loading it is a plain load.
		in.op, in.imm = opLdImm, int64(mapHandle(idx))
	case asm.PseudoFunc:
		// A callback's address, for bpf_for_each_map_elem: a constant
		// that names the instruction it starts at.
		// The offset is the low word of the 64-bit immediate.
		t, err := l.target(i, ins, int64(int32(ins.Constant)))
		if err != nil {
			return err
		}
		in.op, in.imm = opLdImm, int64(funcPointer(int(t)))
	case asm.PseudoMapValue:
		idx, err := l.mapRef(ins)
		if err != nil {
			return err
		}
		if l.p.maps[idx].m == nil {
			return fmt.Errorf("map %q has no values", l.p.maps[idx].name)
		}
		in.op, in.imm, in.off = opLdMapValue, int64(idx), int32(uint32(uint64(ins.Constant)>>32))
	default:
		return errUnsupported
	}
	return nil
}

func decodeAtomic(op asm.OpCode, in *insn) error {
	switch op.Size() {
	case asm.Word:
		in.op = opAtomicW
	case asm.DWord:
		in.op = opAtomicDW
	default:
		return errUnsupported
	}
	a := op.AtomicOp()
	switch a {
	case asm.AddAtomic, asm.AndAtomic, asm.OrAtomic, asm.XorAtomic:
	case asm.FetchAdd, asm.FetchAnd, asm.FetchOr, asm.FetchXor, asm.Xchg:
		if in.src == uint8(asm.R10) {
			return errors.New("R10 is read-only")
		}
	case asm.CmpXchg:
	default:
		return errUnsupported
	}
	in.imm = int64(a)
	return nil
}
