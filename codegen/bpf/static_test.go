package bpf_test

import (
	"bytes"
	"encoding/binary"
	"regexp"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/codegen/bpf"
	"etap/diag"
	"etap/maps"
)

// kernelScripts is every script of these tests that has kernel probes:
// the kernel variants of the run cases and the kernel tests' own.
func kernelScripts() map[string]string {
	scripts := map[string]string{
		"fields": kernelFieldsScript,
		"events": kernelEventsScript,
		"error":  kernelErrorScript,
	}
	for _, cases := range [][]runCase{integerCases, stringCases, arrayCases, foreachCases, controlCases, printCases, errorCases} {
		for _, tc := range cases {
			if tc.kernel {
				scripts[tc.name] = kernelVariant(tc.src)
			}
		}
	}
	return scripts
}

// programNamePattern is what the kernel accepts as a program name.
var programNamePattern = regexp.MustCompile(`^[A-Za-z0-9_]{1,15}$`)

// TestKernelProgramsStatic checks what can be checked of a kernel program
// without a kernel: cilium/ebpf encodes it, every jump lands on the
// instruction its label names, it cannot fall off its end, it names only
// maps that exist and helpers that the kernel has, and it stays in its
// stack frame.
func TestKernelProgramsStatic(t *testing.T) {
	for name, src := range kernelScripts() {
		t.Run(name, func(t *testing.T) {
			out := compile(t, src)
			require.NotEmpty(t, out.Kernel)
			for _, k := range out.Kernel {
				spec := out.Spec.Programs[k.Name]
				require.NotNil(t, spec, "program %s", k.Name)
				assert.Equal(t, k.Name, spec.Name)
				assert.Regexp(t, programNamePattern, spec.Name)
				assert.Equal(t, ebpf.TracePoint, spec.Type)
				assert.Equal(t, "GPL", spec.License)
				checkProgram(t, out, spec.Instructions)
				checkLines(t, k, spec.Instructions)
			}
		})
	}
}

// checkProgram checks one kernel program of out as the test above says.
func checkProgram(t *testing.T, out *bpf.Output, insns asm.Instructions) {
	t.Helper()
	// symbols gives the index of the instruction each label names.
	symbols, err := insns.SymbolOffsets()
	require.NoError(t, err)
	// Marshal resolves the labels into offsets, failing on a label that no
	// instruction carries; decoding what it wrote gives what the kernel
	// would see.
	var buf bytes.Buffer
	require.NoError(t, insns.Marshal(&buf, binary.LittleEndian))
	var wire asm.Instructions
	for buf.Len() > 0 {
		var ins asm.Instruction
		require.NoError(t, ins.Unmarshal(&buf, binary.LittleEndian, "linux"))
		wire = append(wire, ins)
	}
	require.Len(t, wire, len(insns))

	// rawAt is each instruction's offset in 8-byte slots, the unit of jump
	// offsets; starts is its inverse.
	rawAt := make([]int, len(wire))
	starts := map[int]bool{}
	offset := 0
	for i, ins := range wire {
		rawAt[i] = offset
		starts[offset] = true
		offset += int(ins.Size() / asm.InstructionSize)
	}
	for i, ins := range wire {
		at := rawAt[i]
		orig := insns[i]
		op := ins.OpCode
		switch {
		case op.Class().IsJump() && op.JumpOp() == asm.Call:
			if orig.IsBuiltinCall() {
				assert.Less(t, orig.Constant, int64(maps.HelperForeachStart), "insn %d (%v) calls a helper only user space has", i, orig)
			}
		case op.Class().IsJump() && op.JumpOp() != asm.Exit:
			rel := int(ins.Offset)
			if op.Class() == asm.Jump32Class && op.JumpOp() == asm.Ja {
				rel = int(ins.Constant)
			}
			target := at + 1 + rel
			assert.True(t, starts[target], "insn %d (%v) jumps to raw offset %d, which starts no instruction", i, orig, target)
			if ref := orig.Reference(); ref != "" {
				assert.Equal(t, rawAt[symbols[ref]], target, "insn %d (%v) misses its label %s", i, orig, ref)
			}
		case ins.IsLoadFromMap():
			assert.Contains(t, out.Spec.Maps, orig.Reference(), "insn %d (%v) loads an unknown map", i, orig)
		}
		checkStack(t, i, ins)
	}
	last := wire[len(wire)-1].OpCode
	assert.True(t, last.JumpOp() == asm.Exit || last.JumpOp() == asm.Ja, "the program ends with %v, not exit or ja", last)
}

// checkStack checks that ins neither writes R10 nor reaches outside the
// 512-byte frame below it.
func checkStack(t *testing.T, i int, ins asm.Instruction) {
	t.Helper()
	op := ins.OpCode
	var base asm.Register
	switch op.Class() {
	case asm.ALUClass, asm.ALU64Class, asm.LdClass, asm.LdXClass:
		assert.NotEqual(t, asm.R10, ins.Dst, "insn %d (%v) writes R10", i, ins)
		base = ins.Src
	case asm.StClass, asm.StXClass:
		base = ins.Dst
	}
	if base != asm.R10 || (op.Class() != asm.LdXClass && op.Class() != asm.StClass && op.Class() != asm.StXClass) {
		return
	}
	off, size := int(ins.Offset), op.Size().Sizeof()
	assert.True(t, off >= -512 && off+size <= 0, "insn %d (%v) reaches outside the stack frame", i, ins)
}

// checkLines checks the map from instructions to script lines that places
// verifier errors: in order, inside the program, at real positions.
func checkLines(t *testing.T, k *bpf.KernelProgram, insns asm.Instructions) {
	t.Helper()
	require.NotEmpty(t, k.Lines)
	size := 0
	for _, ins := range insns {
		size += int(ins.Size() / asm.InstructionSize)
	}
	// The instructions carry the same positions as BTF lines, which the
	// verifier's log shows.
	var starts []bpf.LinePos
	iter := insns.Iterate()
	for iter.Next() {
		if src := iter.Ins.Source(); src != nil {
			line, ok := src.(*btf.Line)
			require.True(t, ok, "insn %d has source %T, not a BTF line", iter.Index, src)
			starts = append(starts, bpf.LinePos{Offset: int(iter.Offset), Pos: diag.Pos{
				File: line.FileName(), Line: int(line.LineNumber()), Col: int(line.LineColumn()),
			}})
		}
	}
	require.Len(t, starts, len(k.Lines))
	for i, l := range k.Lines {
		l.Pos.Offset = 0 // a BTF line has no byte offset
		assert.Equal(t, l, starts[i])
	}
	prev := 0
	for _, l := range k.Lines {
		assert.GreaterOrEqual(t, l.Offset, prev)
		assert.Less(t, l.Offset, size)
		assert.True(t, l.Pos.IsValid(), "line %+v", l)
		prev = l.Offset
	}
}
