package vm

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/cilium/ebpf/asm"
)

// opcode is a decoded operation. The numbering is dense so that the
// interpreter's switch compiles to a jump table.
type opcode uint8

// ALU operations and conditional jumps take an operand: the src register or
// the immediate.
const (
	opAdd opcode = iota
	opSub
	opMul
	opDiv
	opSDiv
	opMod
	opSMod
	opOr
	opAnd
	opXor
	opLsh
	opRsh
	opArsh
	opMov
	opMovSX8
	opMovSX16
	opMovSX32
	opNeg
	opJEq
	opJNE
	opJGT
	opJGE
	opJLT
	opJLE
	opJSet
	opJSGT
	opJSGE
	opJSLT
	opJSLE
	// op32 added to an ALU opcode or a conditional jump gives its 32-bit
	// form (BPF_ALU, BPF_JMP32).
	op32
)

// The remaining operations.
const (
	opBSwap16 = 2*op32 + iota
	opBSwap32
	opBSwap64
	opZext16
	opZext32
	opNop
	opJa
	opCall
	opCallHelper
	opExit
	opLdImm
	opLdMapValue
	opLdxB
	opLdxH
	opLdxW
	opLdxDW
	opLdxSXB
	opLdxSXH
	opLdxSXW
	// Stores take the stored value as operand: the src register (STX) or
	// the immediate (ST).
	opStB
	opStH
	opStW
	opStDW
	opAtomicW
	opAtomicDW
)

// insn is a decoded instruction, one for each asm.Instruction.
type insn struct {
	op       opcode
	dst, src uint8
	// reg says the operand is the src register rather than imm.
	reg bool
	// off is the memory offset, or the index a jump or call goes to, or
	// the value offset of opLdMapValue.
	off int32
	// imm is the immediate, the helper id of a call, the asm.AtomicOp of
	// an atomic, or the map index of opLdMapValue.
	imm int64
}

// frame is what a bpf-to-bpf call saves for its caller. A function that
// a helper calls (bpf_loop's callback) returns to the helper: its ret is
// -1.
type frame struct {
	ret   int
	saved [4]uint64 // R6-R9
}

// poison is what R1-R5 hold after a call: the verifier forbids reading
// them, so a program that does is buggy and should fail loudly rather than
// work by accident in user space. As a pointer it is in no region.
const poison = 0xdead_beef_0bad_f00d

// machine is the state of one Run.
type machine struct {
	p       *Program
	regs    [11]uint64
	depth   int
	frames  [maxFrames]frame
	stack   [maxFrames * stackSize]byte
	regions []region
	// budget is what is left of Program.Budget in this Run.
	budget uint64
	// values holds for each map (by index in Program.maps) the region of
	// each key looked up during the Run.
	values []map[string]int
	arena  []byte
	iters  []iteration
}

func newMachine(p *Program) *machine {
	m := &machine{p: p, values: make([]map[string]int, len(p.maps))}
	m.regions = make([]region, firstDynamic, 64)
	for i := range maxFrames {
		m.regions[regionStack+i] = region{data: m.stack[i*stackSize : (i+1)*stackSize : (i+1)*stackSize], kind: kindStack}
	}
	m.regions[regionCtx] = region{kind: kindCtx, readOnly: true}
	return m
}

// Run runs the program with ctx as the context R1 points to (read-only) and
// returns R0. It never panics: bad memory accesses, bad helper arguments,
// unsupported helpers and a spent Budget return a *Fault.
func (p *Program) Run(ctx []byte) (r0 uint64, err error) {
	m, _ := p.machines.Get().(*machine)
	if m == nil {
		m = newMachine(p)
	}
	defer func() {
		// A panic is a bug in the interpreter; report it and drop the
		// machine, whose state is unknown.
		if v := recover(); v != nil {
			r0, err = 0, fmt.Errorf("vm: internal error: %v", v)
			return
		}
		m.reset()
		p.machines.Put(m)
	}()
	m.regions[regionCtx].data = ctx
	m.regs = [11]uint64{1: pointer(regionCtx, 0), 10: pointer(regionStack, stackSize)}
	clear(m.regions[regionStack].data)
	m.budget = p.Budget
	return m.run(0)
}

// reset drops what a Run made, keeping the memory for the next one.
func (m *machine) reset() {
	m.depth = 0
	m.regions[regionCtx].data = nil
	clear(m.regions[firstDynamic:])
	m.regions = m.regions[:firstDynamic]
	for _, v := range m.values {
		clear(v)
	}
	m.arena = m.arena[:0]
	clear(m.iters)
	m.iters = m.iters[:0]
}

func (m *machine) fault(pc int, err error) *Fault {
	return &Fault{Index: pc, Insn: m.p.insns[pc], Err: err}
}

func (m *machine) memFault(pc int, addr, n uint64, write bool) *Fault {
	return m.fault(pc, m.accessError(addr, n, write))
}

// run executes from pc until the program returns, or the function a
// helper called does.
func (m *machine) run(pc int) (uint64, error) {
	code := m.p.code
	r := &m.regs
	le := binary.LittleEndian
	for {
		if m.budget == 0 {
			return 0, m.fault(pc, fmt.Errorf("%w: %d instructions (endless loop?)", ErrBudgetExceeded, m.p.Budget))
		}
		m.budget--
		in := &code[pc]
		at := pc
		pc++
		b := uint64(in.imm)
		if in.reg {
			b = r[in.src]
		}
		switch in.op {
		case opAdd:
			r[in.dst] += b
		case opSub:
			r[in.dst] -= b
		case opMul:
			r[in.dst] *= b
		case opDiv:
			// Division by zero gives 0 and modulo by zero leaves the
			// dividend, as the kernel defines them.
			if b == 0 {
				r[in.dst] = 0
			} else {
				r[in.dst] /= b
			}
		case opSDiv:
			if b == 0 {
				r[in.dst] = 0
			} else {
				r[in.dst] = uint64(int64(r[in.dst]) / int64(b))
			}
		case opMod:
			if b != 0 {
				r[in.dst] %= b
			}
		case opSMod:
			if b != 0 {
				r[in.dst] = uint64(int64(r[in.dst]) % int64(b))
			}
		case opOr:
			r[in.dst] |= b
		case opAnd:
			r[in.dst] &= b
		case opXor:
			r[in.dst] ^= b
		case opLsh:
			r[in.dst] <<= b & 63
		case opRsh:
			r[in.dst] >>= b & 63
		case opArsh:
			r[in.dst] = uint64(int64(r[in.dst]) >> (b & 63))
		case opMov:
			r[in.dst] = b
		case opMovSX8:
			r[in.dst] = uint64(int8(b))
		case opMovSX16:
			r[in.dst] = uint64(int16(b))
		case opMovSX32:
			r[in.dst] = uint64(int32(b))
		case opNeg:
			r[in.dst] = -r[in.dst]

		// 32-bit ALU operations zero-extend their result.
		case opAdd + op32:
			r[in.dst] = uint64(uint32(r[in.dst]) + uint32(b))
		case opSub + op32:
			r[in.dst] = uint64(uint32(r[in.dst]) - uint32(b))
		case opMul + op32:
			r[in.dst] = uint64(uint32(r[in.dst]) * uint32(b))
		case opDiv + op32:
			if uint32(b) == 0 {
				r[in.dst] = 0
			} else {
				r[in.dst] = uint64(uint32(r[in.dst]) / uint32(b))
			}
		case opSDiv + op32:
			if uint32(b) == 0 {
				r[in.dst] = 0
			} else {
				r[in.dst] = uint64(uint32(int32(r[in.dst]) / int32(b)))
			}
		case opMod + op32:
			if uint32(b) == 0 {
				r[in.dst] = uint64(uint32(r[in.dst]))
			} else {
				r[in.dst] = uint64(uint32(r[in.dst]) % uint32(b))
			}
		case opSMod + op32:
			if uint32(b) == 0 {
				r[in.dst] = uint64(uint32(r[in.dst]))
			} else {
				r[in.dst] = uint64(uint32(int32(r[in.dst]) % int32(b)))
			}
		case opOr + op32:
			r[in.dst] = uint64(uint32(r[in.dst]) | uint32(b))
		case opAnd + op32:
			r[in.dst] = uint64(uint32(r[in.dst]) & uint32(b))
		case opXor + op32:
			r[in.dst] = uint64(uint32(r[in.dst]) ^ uint32(b))
		case opLsh + op32:
			r[in.dst] = uint64(uint32(r[in.dst]) << (b & 31))
		case opRsh + op32:
			r[in.dst] = uint64(uint32(r[in.dst]) >> (b & 31))
		case opArsh + op32:
			r[in.dst] = uint64(uint32(int32(r[in.dst]) >> (b & 31)))
		case opMov + op32:
			r[in.dst] = uint64(uint32(b))
		case opMovSX8 + op32:
			r[in.dst] = uint64(uint32(int8(b)))
		case opMovSX16 + op32:
			r[in.dst] = uint64(uint32(int16(b)))
		case opNeg + op32:
			r[in.dst] = uint64(-uint32(r[in.dst]))

		case opBSwap16:
			r[in.dst] = uint64(bits.ReverseBytes16(uint16(r[in.dst])))
		case opBSwap32:
			r[in.dst] = uint64(bits.ReverseBytes32(uint32(r[in.dst])))
		case opBSwap64:
			r[in.dst] = bits.ReverseBytes64(r[in.dst])
		case opZext16:
			r[in.dst] = uint64(uint16(r[in.dst]))
		case opZext32:
			r[in.dst] = uint64(uint32(r[in.dst]))
		case opNop:

		case opJa:
			pc = int(in.off)
		case opJEq:
			if r[in.dst] == b {
				pc = int(in.off)
			}
		case opJNE:
			if r[in.dst] != b {
				pc = int(in.off)
			}
		case opJGT:
			if r[in.dst] > b {
				pc = int(in.off)
			}
		case opJGE:
			if r[in.dst] >= b {
				pc = int(in.off)
			}
		case opJLT:
			if r[in.dst] < b {
				pc = int(in.off)
			}
		case opJLE:
			if r[in.dst] <= b {
				pc = int(in.off)
			}
		case opJSet:
			if r[in.dst]&b != 0 {
				pc = int(in.off)
			}
		case opJSGT:
			if int64(r[in.dst]) > int64(b) {
				pc = int(in.off)
			}
		case opJSGE:
			if int64(r[in.dst]) >= int64(b) {
				pc = int(in.off)
			}
		case opJSLT:
			if int64(r[in.dst]) < int64(b) {
				pc = int(in.off)
			}
		case opJSLE:
			if int64(r[in.dst]) <= int64(b) {
				pc = int(in.off)
			}
		case opJEq + op32:
			if uint32(r[in.dst]) == uint32(b) {
				pc = int(in.off)
			}
		case opJNE + op32:
			if uint32(r[in.dst]) != uint32(b) {
				pc = int(in.off)
			}
		case opJGT + op32:
			if uint32(r[in.dst]) > uint32(b) {
				pc = int(in.off)
			}
		case opJGE + op32:
			if uint32(r[in.dst]) >= uint32(b) {
				pc = int(in.off)
			}
		case opJLT + op32:
			if uint32(r[in.dst]) < uint32(b) {
				pc = int(in.off)
			}
		case opJLE + op32:
			if uint32(r[in.dst]) <= uint32(b) {
				pc = int(in.off)
			}
		case opJSet + op32:
			if uint32(r[in.dst])&uint32(b) != 0 {
				pc = int(in.off)
			}
		case opJSGT + op32:
			if int32(r[in.dst]) > int32(b) {
				pc = int(in.off)
			}
		case opJSGE + op32:
			if int32(r[in.dst]) >= int32(b) {
				pc = int(in.off)
			}
		case opJSLT + op32:
			if int32(r[in.dst]) < int32(b) {
				pc = int(in.off)
			}
		case opJSLE + op32:
			if int32(r[in.dst]) <= int32(b) {
				pc = int(in.off)
			}

		case opCall:
			if m.depth+1 == maxFrames {
				return 0, m.fault(at, fmt.Errorf("call nests deeper than %d frames", maxFrames))
			}
			m.frames[m.depth] = frame{ret: pc, saved: [4]uint64{r[6], r[7], r[8], r[9]}}
			m.depth++
			clear(m.regions[regionStack+m.depth].data)
			r[10] = pointer(regionStack+m.depth, stackSize)
			pc = int(in.off)
		case opExit:
			if m.depth == 0 {
				return r[0], nil
			}
			m.depth--
			f := &m.frames[m.depth]
			r[6], r[7], r[8], r[9] = f.saved[0], f.saved[1], f.saved[2], f.saved[3]
			r[10] = pointer(regionStack+m.depth, stackSize)
			r[1], r[2], r[3], r[4], r[5] = poison, poison, poison, poison, poison
			if f.ret < 0 {
				return r[0], nil
			}
			pc = f.ret
		case opCallHelper:
			v, err := m.call(asm.BuiltinFunc(in.imm))
			if err != nil {
				return 0, m.fault(at, err)
			}
			r[0] = v
			r[1], r[2], r[3], r[4], r[5] = poison, poison, poison, poison, poison

		case opLdImm:
			r[in.dst] = uint64(in.imm)
		case opLdMapValue:
			v, err := m.directValue(int(in.imm), uint32(in.off))
			if err != nil {
				return 0, m.fault(at, err)
			}
			r[in.dst] = v

		case opLdxB, opLdxSXB:
			addr := r[in.src] + uint64(int64(in.off))
			v := m.load(addr, 1)
			if v == nil {
				return 0, m.memFault(at, addr, 1, false)
			}
			if in.op == opLdxB {
				r[in.dst] = uint64(v[0])
			} else {
				r[in.dst] = uint64(int8(v[0]))
			}
		case opLdxH, opLdxSXH:
			addr := r[in.src] + uint64(int64(in.off))
			v := m.load(addr, 2)
			if v == nil {
				return 0, m.memFault(at, addr, 2, false)
			}
			if in.op == opLdxH {
				r[in.dst] = uint64(le.Uint16(v))
			} else {
				r[in.dst] = uint64(int16(le.Uint16(v)))
			}
		case opLdxW, opLdxSXW:
			addr := r[in.src] + uint64(int64(in.off))
			v := m.load(addr, 4)
			if v == nil {
				return 0, m.memFault(at, addr, 4, false)
			}
			if in.op == opLdxW {
				r[in.dst] = uint64(le.Uint32(v))
			} else {
				r[in.dst] = uint64(int32(le.Uint32(v)))
			}
		case opLdxDW:
			addr := r[in.src] + uint64(int64(in.off))
			v := m.load(addr, 8)
			if v == nil {
				return 0, m.memFault(at, addr, 8, false)
			}
			r[in.dst] = le.Uint64(v)

		case opStB, opStH, opStW, opStDW:
			addr := r[in.dst] + uint64(int64(in.off))
			n := uint64(1) << (in.op - opStB)
			v, rg := m.store(addr, n)
			if v == nil {
				return 0, m.memFault(at, addr, n, true)
			}
			switch n {
			case 1:
				v[0] = byte(b)
			case 2:
				le.PutUint16(v, uint16(b))
			case 4:
				le.PutUint32(v, uint32(b))
			default:
				le.PutUint64(v, b)
			}
			if rg.writeBack {
				if err := m.written(rg); err != nil {
					return 0, m.fault(at, err)
				}
			}
		case opAtomicW, opAtomicDW:
			if err := m.atomic(in, at); err != nil {
				return 0, err
			}

		default:
			return 0, m.fault(at, fmt.Errorf("internal error: opcode %d", in.op))
		}
	}
}

// atomic runs an atomic read-modify-write. The interpreter runs one program
// at a time on a value, so plain operations are atomic enough; kernel probes
// may race with it on a kernel map, as they may race with each other.
func (m *machine) atomic(in *insn, at int) error {
	r := &m.regs
	le := binary.LittleEndian
	n := uint64(8)
	if in.op == opAtomicW {
		n = 4
	}
	addr := r[in.dst] + uint64(int64(in.off))
	v, rg := m.store(addr, n)
	if v == nil {
		return m.memFault(at, addr, n, true)
	}
	var old uint64
	if n == 4 {
		old = uint64(le.Uint32(v))
	} else {
		old = le.Uint64(v)
	}
	src := r[in.src]
	val := old
	switch op := asm.AtomicOp(in.imm); op {
	case asm.AddAtomic, asm.FetchAdd:
		val = old + src
	case asm.AndAtomic, asm.FetchAnd:
		val = old & src
	case asm.OrAtomic, asm.FetchOr:
		val = old | src
	case asm.XorAtomic, asm.FetchXor:
		val = old ^ src
	case asm.Xchg:
		val = src
	case asm.CmpXchg:
		if cmp := r[0]; (n == 4 && uint32(cmp) == uint32(old)) || (n == 8 && cmp == old) {
			val = src
		}
	}
	if n == 4 {
		le.PutUint32(v, uint32(val))
	} else {
		le.PutUint64(v, val)
	}
	switch op := asm.AtomicOp(in.imm); op {
	case asm.CmpXchg:
		r[0] = old
	case asm.FetchAdd, asm.FetchAnd, asm.FetchOr, asm.FetchXor, asm.Xchg:
		r[in.src] = old
	}
	if rg.writeBack {
		if err := m.written(rg); err != nil {
			return m.fault(at, err)
		}
	}
	return nil
}
