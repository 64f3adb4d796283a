package vm

import (
	"encoding/binary"
	"testing"

	"github.com/cilium/ebpf/asm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// funcRef loads the address of the function at label into dst.
func funcRef(dst asm.Register, label string) asm.Instruction {
	return asm.Instruction{OpCode: asm.LoadImmOp(asm.DWord), Dst: dst, Src: asm.PseudoFunc, Constant: -1}.WithReference(label)
}

// TestForEachElem sums the keys and values of a hash map in a callback
// that writes through its context into the caller's frame, deletes the odd
// keys as it goes and stops at key 7; the callback's own registers and
// stack do not disturb the caller's.
func TestForEachElem(t *testing.T) {
	m := NewHashMap(4, 8, 16)
	for k := range uint32(5) {
		require.NoError(t, m.Update(key32(k), binary.LittleEndian.AppendUint64(nil, uint64(k*10)), UpdateAny))
	}
	insns := asm.Instructions{
		asm.Mov.Imm(asm.R6, 42),
		asm.Mov.Imm(asm.R0, 0),
		asm.StoreMem(fp, -8, asm.R0, asm.DWord),
		asm.LoadMapPtr(asm.R1, 0).WithReference("m"),
		funcRef(asm.R2, "each"),
		asm.Mov.Reg(asm.R3, fp),
		asm.Add.Imm(asm.R3, -8),
		asm.Mov.Imm(asm.R4, 0),
		asm.FnForEachMapElem.Call(),
		// R0 = visited * 1000 + sum + R6 (still 42)
		asm.Mul.Imm(asm.R0, 1000),
		asm.LoadMem(asm.R1, fp, -8, asm.DWord),
		asm.Add.Reg(asm.R0, asm.R1),
		asm.Add.Reg(asm.R0, asm.R6),
		asm.Return(),

		// each(map, key, value, ctx): *ctx += key + value; delete odd keys.
		asm.Mov.Imm(asm.R6, 7).WithSymbol("each"),
		asm.StoreImm(fp, -8, 99, asm.Word),
		asm.LoadMem(asm.R5, asm.R2, 0, asm.Word),
		asm.LoadMem(asm.R0, asm.R3, 0, asm.DWord),
		asm.Add.Reg(asm.R0, asm.R5),
		asm.LoadMem(asm.R1, asm.R4, 0, asm.DWord),
		asm.Add.Reg(asm.R1, asm.R0),
		asm.StoreMem(asm.R4, 0, asm.R1, asm.DWord),
		asm.JSet.Imm(asm.R5, 1, "odd"),
		asm.Mov.Imm(asm.R0, 0),
		asm.Return(),
		asm.Mov.Reg(asm.R6, asm.R2).WithSymbol("odd"),
		asm.LoadMapPtr(asm.R1, 0).WithReference("m"),
		asm.Mov.Reg(asm.R2, asm.R6),
		asm.FnMapDeleteElem.Call(),
		asm.Mov.Imm(asm.R0, 0),
		asm.Return(),
	}
	p, err := New(insns, &Env{Maps: map[string]Map{"m": m}})
	require.NoError(t, err)
	r0, err := p.Run(nil)
	require.NoError(t, err)
	// keys 0..4 and values 0..40: 110, five visits, 42 kept in R6.
	assert.Equal(t, uint64(5*1000+110+42), r0)
	n := 0
	require.NoError(t, m.Iterate(func(k, _ []byte) bool {
		n++
		assert.Zero(t, binary.LittleEndian.Uint32(k)%2, "odd key left")
		return true
	}))
	assert.Equal(t, 3, n)
}

// loopProgram calls bpf_loop(nr, body, fp-8) with a body that adds its
// index plus one to the word at ctx and stops (returns 1) once the word
// exceeds stopAbove. It returns bpf_loop's result in the high half of R0
// and the word in the low half. The body clobbers R6, which must survive.
func loopProgram(nr int32, stopAbove int32) []asm.Instruction {
	return []asm.Instruction{
		asm.StoreImm(fp, -8, 0, asm.Word),
		asm.StoreImm(fp, -4, 0, asm.Word),
		asm.Mov.Imm(asm.R6, 7),
		asm.Mov.Imm(asm.R1, nr),
		funcRef(asm.R2, "body"),
		asm.Mov.Reg(asm.R3, fp),
		asm.Add.Imm(asm.R3, -8),
		asm.Mov.Imm(asm.R4, 0),
		asm.FnLoop.Call(),
		// R6 survives the calls.
		asm.Add.Reg(asm.R0, asm.R6),
		asm.Add.Imm(asm.R0, -7),
		asm.LSh.Imm(asm.R0, 32),
		asm.LoadMem(asm.R1, fp, -8, asm.DWord),
		asm.Or.Reg(asm.R0, asm.R1),
		asm.Return(),

		// body(index, ctx); it clobbers R6, which its caller keeps.
		asm.Mov.Imm(asm.R6, 99).WithSymbol("body"),
		asm.LoadMem(asm.R3, asm.R2, 0, asm.DWord),
		asm.Add.Reg(asm.R3, asm.R1),
		asm.Add.Imm(asm.R3, 1),
		asm.StoreMem(asm.R2, 0, asm.R3, asm.DWord),
		asm.Mov.Imm(asm.R0, 0),
		asm.JLE.Imm(asm.R3, stopAbove, "body_end"),
		asm.Mov.Imm(asm.R0, 1),
		asm.Return().WithSymbol("body_end"),
	}
}

// TestBPFLoop runs bpf_loop to its end, until the body stops it, for no
// rounds, and refuses too many rounds as the kernel does.
func TestBPFLoop(t *testing.T) {
	tests := []struct {
		name            string
		nr, stopAbove   int32
		rounds, counted uint64
	}{
		{"all rounds", 4, 100, 4, 1 + 2 + 3 + 4},
		{"stopped by the body", 10, 5, 3, 1 + 2 + 3},
		{"no rounds", 0, 100, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r0, err := run(t, nil, loopProgram(tt.nr, tt.stopAbove)...)
			require.NoError(t, err)
			assert.Equal(t, tt.rounds, r0>>32)
			assert.Equal(t, tt.counted, r0&0xffffffff)
		})
	}
	t.Run("too many rounds", func(t *testing.T) {
		r0, err := run(t, nil, loopProgram(1<<24, 100)...)
		require.NoError(t, err)
		assert.Equal(t, uint64(negErrno(unix.E2BIG))<<32, r0&^0xffffffff)
	})
}

// TestCallbackNotAFunction refuses a callback argument that is no
// function's address.
func TestCallbackNotAFunction(t *testing.T) {
	insns := asm.Instructions{
		asm.Mov.Imm(asm.R1, 1),
		asm.Mov.Imm(asm.R2, 1234),
		asm.Mov.Imm(asm.R3, 0),
		asm.Mov.Imm(asm.R4, 0),
		asm.FnLoop.Call(),
		asm.Return(),
	}
	p, err := New(insns, nil)
	require.NoError(t, err)
	_, err = p.Run(nil)
	assert.ErrorContains(t, err, "is not a callback")
}

// TestCallbackAddressNotAPointer faults on a load through a callback's
// address, which names code, not memory.
func TestCallbackAddressNotAPointer(t *testing.T) {
	insns := asm.Instructions{
		funcRef(asm.R1, "body"),
		asm.LoadMem(asm.R0, asm.R1, 0, asm.DWord),
		asm.Return(),
		asm.Mov.Imm(asm.R0, 0).WithSymbol("body"),
		asm.Return(),
	}
	p, err := New(insns, nil)
	require.NoError(t, err)
	_, err = p.Run(nil)
	assert.ErrorContains(t, err, "read of 8 bytes through a callback's address")
}

// TestLookupPercpu reads each CPU's value, and nothing past the last CPU
// or for a missing key.
func TestLookupPercpu(t *testing.T) {
	pm := NewPerCPUHashMap(4, 8, 4, 2)
	require.NoError(t, pm.View(0).Update(key32(1), binary.LittleEndian.AppendUint64(nil, 5), UpdateAny))
	require.NoError(t, pm.View(1).Update(key32(1), binary.LittleEndian.AppendUint64(nil, 7), UpdateAny))
	lookup := func(key uint32, cpu int32) asm.Instructions {
		return asm.Instructions{
			asm.StoreImm(fp, -4, int64(key), asm.Word),
			asm.LoadMapPtr(asm.R1, 0).WithReference("m"),
			asm.Mov.Reg(asm.R2, fp),
			asm.Add.Imm(asm.R2, -4),
			asm.Mov.Imm(asm.R3, cpu),
			asm.FnMapLookupPercpuElem.Call(),
		}
	}
	for _, tc := range []struct {
		key  uint32
		cpu  int32
		want uint64
	}{{1, 0, 5}, {1, 1, 7}, {1, 2, 1000}, {2, 0, 1000}} {
		insns := program(lookup(tc.key, tc.cpu), asm.Instructions{
			asm.JNE.Imm(asm.R0, 0, "found"),
			asm.Mov.Imm(asm.R0, 1000),
			asm.Return(),
			asm.LoadMem(asm.R0, asm.R0, 0, asm.DWord).WithSymbol("found"),
		})
		p, err := New(insns, &Env{Maps: map[string]Map{"m": pm.View(0)}})
		require.NoError(t, err)
		r0, err := p.Run(nil)
		require.NoError(t, err)
		assert.Equal(t, tc.want, r0, "key %d cpu %d", tc.key, tc.cpu)
	}
}

// TestLRUHashMap evicts the least recently used key when full.
func TestLRUHashMap(t *testing.T) {
	m := NewLRUHashMap(4, 8, 2)
	val := make([]byte, 8)
	require.NoError(t, m.Update(key32(1), val, UpdateAny))
	require.NoError(t, m.Update(key32(2), val, UpdateAny))
	_, ok, err := m.Lookup(key32(1))
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, m.Update(key32(3), val, UpdateAny))
	for k, want := range map[uint32]bool{1: true, 2: false, 3: true} {
		_, ok, err := m.Lookup(key32(k))
		require.NoError(t, err)
		assert.Equal(t, want, ok, "key %d", k)
	}
	require.NoError(t, m.Delete(key32(1)))
	require.NoError(t, m.Update(key32(4), val, UpdateAny))
	_, ok, _ = m.Lookup(key32(3))
	assert.True(t, ok, "a free slot is used before evicting")
}
