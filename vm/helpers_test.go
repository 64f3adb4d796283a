package vm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"testing"

	"github.com/cilium/ebpf/asm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"etap/maps"
)

const fp = asm.RFP

// copyMap behaves like the loader's adapter of a kernel map: Lookup returns
// a copy, so stores through a looked-up pointer reach the map only if the
// interpreter writes them back.
type copyMap struct {
	Map
	updateFlags []uint64
}

func (c *copyMap) Lookup(key []byte) ([]byte, bool, error) {
	v, ok, err := c.Map.Lookup(key)
	return bytes.Clone(v), ok, err
}

func (c *copyMap) Update(key, value []byte, flags uint64) error {
	c.updateFlags = append(c.updateFlags, flags)
	return c.Map.Update(key, value, flags)
}

// failingMap fails every operation with an error that carries no errno.
type failingMap struct{ Map }

var errBroken = errors.New("map is broken")

func (failingMap) Update(key, value []byte, flags uint64) error { return errBroken }

// mapCall calls fn on map "m" with a 4-byte key at fp-4 and an 8-byte value
// at fp-16.
func mapCall(fn asm.BuiltinFunc, key uint32, value uint64, flags int32) asm.Instructions {
	return asm.Instructions{
		asm.StoreImm(fp, -4, int64(key), asm.Word),
		asm.LoadImm(asm.R1, int64(value), asm.DWord),
		asm.StoreMem(fp, -16, asm.R1, asm.DWord),
		asm.LoadMapPtr(asm.R1, 0).WithReference("m"),
		asm.Mov.Reg(asm.R2, fp),
		asm.Add.Imm(asm.R2, -4),
		asm.Mov.Reg(asm.R3, fp),
		asm.Add.Imm(asm.R3, -16),
		asm.Mov.Imm(asm.R4, flags),
		fn.Call(),
	}
}

func program(parts ...asm.Instructions) asm.Instructions {
	var insns asm.Instructions
	for _, p := range parts {
		insns = append(insns, p...)
	}
	return append(insns, asm.Return())
}

func key32(k uint32) []byte { return binary.LittleEndian.AppendUint32(nil, k) }

func TestMapStoresThroughPointer(t *testing.T) {
	// Update key 1 to 100, look it up, add 5 with ldx/stx and 10 with an
	// atomic add through the pointer, then look it up again.
	insns := program(
		mapCall(asm.FnMapUpdateElem, 1, 100, 0),
		mapCall(asm.FnMapLookupElem, 1, 0, 0),
		asm.Instructions{
			asm.JEq.Imm(asm.R0, 0, "fail"),
			asm.LoadMem(asm.R1, asm.R0, 0, asm.DWord),
			asm.Add.Imm(asm.R1, 5),
			asm.StoreMem(asm.R0, 0, asm.R1, asm.DWord),
			asm.Mov.Imm(asm.R1, 10),
			asm.StoreXAdd(asm.R0, asm.R1, asm.DWord),
		},
		mapCall(asm.FnMapLookupElem, 1, 0, 0),
		asm.Instructions{
			asm.JEq.Imm(asm.R0, 0, "fail"),
			asm.LoadMem(asm.R0, asm.R0, 0, asm.DWord),
			asm.Return(),
			asm.Mov.Imm(asm.R0, -1).WithSymbol("fail"),
		},
	)
	tests := []struct {
		name string
		m    Map
	}{
		{"hash", NewHashMap(4, 8, 16)},
		{"array", NewArrayMap(8, 4)},
		{"copying hash", &copyMap{Map: NewHashMap(4, 8, 16)}},
		{"copying array", &copyMap{Map: NewArrayMap(8, 4)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := run(t, &Env{Maps: map[string]Map{"m": tt.m}}, insns...)
			require.NoError(t, err)
			assert.Equal(t, uint64(115), got)

			v, ok, err := tt.m.Lookup(key32(1))
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, uint64(115), binary.LittleEndian.Uint64(v))
			if c, ok := tt.m.(*copyMap); ok {
				assert.Equal(t, []uint64{UpdateAny, UpdateExist, UpdateExist}, c.updateFlags,
					"one write-back per store into the value")
			}
		})
	}
}

func TestMapHelperResults(t *testing.T) {
	errno := func(e unix.Errno) uint64 { return negErrno(e) }
	tests := []struct {
		name  string
		m     func() Map
		steps []asm.Instructions // R0 of the last is the result
		want  uint64
	}{
		{"hash update", func() Map { return NewHashMap(4, 8, 2) }, []asm.Instructions{
			mapCall(asm.FnMapUpdateElem, 1, 5, 0),
		}, 0},
		{"hash full", func() Map { return NewHashMap(4, 8, 1) }, []asm.Instructions{
			mapCall(asm.FnMapUpdateElem, 1, 5, 0),
			mapCall(asm.FnMapUpdateElem, 2, 5, 0),
		}, errno(unix.E2BIG)},
		{"hash full, existing key", func() Map { return NewHashMap(4, 8, 1) }, []asm.Instructions{
			mapCall(asm.FnMapUpdateElem, 1, 5, 0),
			mapCall(asm.FnMapUpdateElem, 1, 6, 0),
		}, 0},
		{"hash noexist on existing", func() Map { return NewHashMap(4, 8, 2) }, []asm.Instructions{
			mapCall(asm.FnMapUpdateElem, 1, 5, 0),
			mapCall(asm.FnMapUpdateElem, 1, 5, int32(UpdateNoExist)),
		}, errno(unix.EEXIST)},
		{"hash exist on missing", func() Map { return NewHashMap(4, 8, 2) }, []asm.Instructions{
			mapCall(asm.FnMapUpdateElem, 1, 5, int32(UpdateExist)),
		}, errno(unix.ENOENT)},
		{"hash bad flags", func() Map { return NewHashMap(4, 8, 2) }, []asm.Instructions{
			mapCall(asm.FnMapUpdateElem, 1, 5, 7),
		}, errno(unix.EINVAL)},
		{"hash delete", func() Map { return NewHashMap(4, 8, 2) }, []asm.Instructions{
			mapCall(asm.FnMapUpdateElem, 1, 5, 0),
			mapCall(asm.FnMapDeleteElem, 1, 0, 0),
		}, 0},
		{"hash delete missing", func() Map { return NewHashMap(4, 8, 2) }, []asm.Instructions{
			mapCall(asm.FnMapUpdateElem, 1, 5, 0),
			mapCall(asm.FnMapDeleteElem, 1, 0, 0),
			mapCall(asm.FnMapDeleteElem, 1, 0, 0),
		}, errno(unix.ENOENT)},
		{"hash lookup deleted", func() Map { return NewHashMap(4, 8, 2) }, []asm.Instructions{
			mapCall(asm.FnMapUpdateElem, 1, 5, 0),
			mapCall(asm.FnMapDeleteElem, 1, 0, 0),
			mapCall(asm.FnMapLookupElem, 1, 0, 0),
		}, 0},
		{"array update out of range", func() Map { return NewArrayMap(8, 2) }, []asm.Instructions{
			mapCall(asm.FnMapUpdateElem, 2, 5, 0),
		}, errno(unix.E2BIG)},
		{"array noexist", func() Map { return NewArrayMap(8, 2) }, []asm.Instructions{
			mapCall(asm.FnMapUpdateElem, 1, 5, int32(UpdateNoExist)),
		}, errno(unix.EEXIST)},
		{"array delete", func() Map { return NewArrayMap(8, 2) }, []asm.Instructions{
			mapCall(asm.FnMapDeleteElem, 1, 0, 0),
		}, errno(unix.EINVAL)},
		{"array lookup out of range", func() Map { return NewArrayMap(8, 2) }, []asm.Instructions{
			mapCall(asm.FnMapLookupElem, 2, 0, 0),
		}, 0},
		{"array values start zeroed", func() Map { return NewArrayMap(8, 2) }, []asm.Instructions{
			mapCall(asm.FnMapLookupElem, 1, 0, 0),
			{asm.LoadMem(asm.R0, asm.R0, 0, asm.DWord)},
		}, 0},
		{"store after delete is lost", func() Map { return &copyMap{Map: NewHashMap(4, 8, 2)} }, []asm.Instructions{
			mapCall(asm.FnMapUpdateElem, 1, 5, 0),
			mapCall(asm.FnMapLookupElem, 1, 0, 0),
			{asm.Mov.Reg(asm.R6, asm.R0)},
			mapCall(asm.FnMapDeleteElem, 1, 0, 0),
			{asm.StoreImm(asm.R6, 0, 9, asm.Word)},
			mapCall(asm.FnMapLookupElem, 1, 0, 0),
		}, 0},
		{"copy: same key, same pointer, current value", func() Map { return &copyMap{Map: NewHashMap(4, 8, 2)} }, []asm.Instructions{
			mapCall(asm.FnMapUpdateElem, 1, 5, 0),
			mapCall(asm.FnMapLookupElem, 1, 0, 0),
			{asm.Mov.Reg(asm.R6, asm.R0)},
			mapCall(asm.FnMapUpdateElem, 1, 9, 0),
			mapCall(asm.FnMapLookupElem, 1, 0, 0),
			{
				asm.JNE.Reg(asm.R0, asm.R6, "differ"),
				asm.LoadMem(asm.R0, asm.R6, 0, asm.DWord),
				asm.Return(),
				asm.Mov.Imm(asm.R0, -1).WithSymbol("differ"),
			},
		}, 9},
		{"same element, same pointer", func() Map { return NewHashMap(4, 8, 2) }, []asm.Instructions{
			mapCall(asm.FnMapUpdateElem, 1, 5, 0),
			mapCall(asm.FnMapLookupElem, 1, 0, 0),
			{asm.Mov.Reg(asm.R6, asm.R0)},
			mapCall(asm.FnMapLookupElem, 1, 0, 0),
			{asm.Sub.Reg(asm.R0, asm.R6)},
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := run(t, &Env{Maps: map[string]Map{"m": tt.m()}}, program(tt.steps...)...)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got, "got %d", int64(got))
		})
	}
}

// TestManyLookups checks that looking keys up in a loop costs no memory
// per iteration: more lookups than a Run may have regions.
func TestManyLookups(t *testing.T) {
	m := &copyMap{Map: NewArrayMap(8, 2)}
	lookup := mapCall(asm.FnMapLookupElem, 1, 0, 0)
	lookup[0] = lookup[0].WithSymbol("loop")
	got, err := run(t, &Env{Maps: map[string]Map{"m": m}}, program(
		asm.Instructions{asm.LoadImm(asm.R7, maxRegions+10, asm.DWord)},
		lookup,
		asm.Instructions{
			asm.JEq.Imm(asm.R0, 0, "fail"),
			asm.Mov.Imm(asm.R1, 1),
			asm.StoreXAdd(asm.R0, asm.R1, asm.DWord),
			asm.Sub.Imm(asm.R7, 1),
			asm.JNE.Imm(asm.R7, 0, "loop"),
			asm.LoadMem(asm.R0, asm.R0, 0, asm.DWord),
			asm.Return(),
			asm.Mov.Imm(asm.R0, -1).WithSymbol("fail"),
		},
	)...)
	require.NoError(t, err)
	assert.Equal(t, uint64(maxRegions+10), got)
}

func TestMapHelperFaults(t *testing.T) {
	tests := []struct {
		name  string
		m     Map
		insns asm.Instructions
		msg   string
	}{
		{"error without errno", failingMap{NewHashMap(4, 8, 2)}, program(
			mapCall(asm.FnMapUpdateElem, 1, 5, 0),
		), "map is broken"},
		{"failing write-back", &copyMap{Map: failingMap{NewArrayMap(8, 2)}}, program(
			mapCall(asm.FnMapLookupElem, 0, 0, 0),
			asm.Instructions{asm.StoreImm(asm.R0, 0, 1, asm.Word)},
		), `write back to map "m": map is broken`},
		{"read past a value", NewArrayMap(8, 2), program(
			mapCall(asm.FnMapLookupElem, 0, 0, 0),
			asm.Instructions{asm.LoadMem(asm.R0, asm.R0, 4, asm.DWord)},
		), `offset 4 of the value in map "m" (8 bytes)`},
		{"map handle as pointer", NewArrayMap(8, 2), program(
			asm.Instructions{
				asm.LoadMapPtr(asm.R1, 0).WithReference("m"),
				asm.LoadMem(asm.R0, asm.R1, 0, asm.DWord),
			},
		), "map handle"},
		{"scalar as map", NewArrayMap(8, 2), program(
			asm.Instructions{
				asm.Mov.Imm(asm.R1, 1),
				asm.FnMapLookupElem.Call(),
			},
		), "not a map"},
		{"key out of bounds", NewHashMap(16, 8, 2), program(
			asm.Instructions{
				asm.LoadMapPtr(asm.R1, 0).WithReference("m"),
				asm.Mov.Reg(asm.R2, fp),
				asm.Add.Imm(asm.R2, -8),
				asm.FnMapLookupElem.Call(),
			},
		), "key: read of 16 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := run(t, &Env{Maps: map[string]Map{"m": tt.m}}, tt.insns...)
			var f *Fault
			require.ErrorAs(t, err, &f)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

// recorder is an Env.Output that keeps the records.
type recorder struct{ records [][]byte }

func (r *recorder) output(rec []byte) { r.records = append(r.records, rec) }

// outputStack sends the size bytes at fp+off as a ring-buffer record.
func outputStack(off int32, size int32) asm.Instructions {
	return asm.Instructions{
		asm.LoadMapPtr(asm.R1, 0).WithReference(maps.EventsMap),
		asm.Mov.Reg(asm.R2, fp),
		asm.Add.Imm(asm.R2, off),
		asm.Mov.Imm(asm.R3, size),
		asm.Mov.Imm(asm.R4, 0),
		asm.FnRingbufOutput.Call(),
	}
}

func TestRingbufOutput(t *testing.T) {
	var rec recorder
	// The record is {kind u32, id u32, ctx's long}.
	p := load(t, &Env{Output: rec.output}, program(
		asm.Instructions{
			asm.StoreImm(fp, -16, int64(maps.KindPrint), asm.Word),
			asm.StoreImm(fp, -12, 3, asm.Word),
			asm.LoadMem(asm.R1, asm.R1, 0, asm.DWord),
			asm.StoreMem(fp, -8, asm.R1, asm.DWord),
		},
		outputStack(-16, 16),
	)...)
	for _, v := range []byte{7, 9} {
		got, err := p.Run([]byte{v, 0, 0, 0, 0, 0, 0, 0})
		require.NoError(t, err)
		assert.Equal(t, uint64(0), got)
	}
	// Two distinct records: Output got copies, not the stack itself.
	assert.Equal(t, [][]byte{
		{1, 0, 0, 0, 3, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0},
		{1, 0, 0, 0, 3, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0},
	}, rec.records)

	// Without Output the record is dropped.
	got, err := run(t, nil, program(outputStack(-8, 8))...)
	require.NoError(t, err)
	assert.Equal(t, uint64(0), got)
}

func TestDirectMapValue(t *testing.T) {
	globals := NewArrayMap(16, 1)
	got, err := run(t, &Env{Maps: map[string]Map{maps.ScalarsMap: globals}}, program(asm.Instructions{
		asm.LoadMapValue(asm.R1, 0, 8).WithReference(maps.ScalarsMap),
		asm.StoreImm(asm.R1, 0, 42, asm.Word),
		asm.LoadMapValue(asm.R2, 0, 0).WithReference(maps.ScalarsMap),
		asm.LoadMem(asm.R0, asm.R2, 8, asm.Word),
	})...)
	require.NoError(t, err)
	assert.Equal(t, uint64(42), got)
	v, _, err := globals.Lookup(key32(0))
	require.NoError(t, err)
	assert.Equal(t, byte(42), v[8])
}

func TestSimpleHelpers(t *testing.T) {
	call := func(t *testing.T, fn asm.BuiltinFunc) uint64 {
		t.Helper()
		got, err := run(t, nil, fn.Call(), asm.Return())
		require.NoError(t, err)
		return got
	}
	clock := func(id int32) uint64 {
		var ts unix.Timespec
		require.NoError(t, unix.ClockGettime(id, &ts))
		return uint64(ts.Nano())
	}
	t.Run("ktime_get_ns", func(t *testing.T) {
		before := clock(unix.CLOCK_MONOTONIC)
		got := call(t, asm.FnKtimeGetNs)
		assert.GreaterOrEqual(t, got, before)
		assert.LessOrEqual(t, got, clock(unix.CLOCK_MONOTONIC))
	})
	t.Run("ktime_get_boot_ns", func(t *testing.T) {
		before := clock(unix.CLOCK_BOOTTIME)
		got := call(t, asm.FnKtimeGetBootNs)
		assert.GreaterOrEqual(t, got, before)
		assert.LessOrEqual(t, got, clock(unix.CLOCK_BOOTTIME))
	})
	t.Run("get_current_pid_tgid", func(t *testing.T) {
		got := call(t, asm.FnGetCurrentPidTgid)
		assert.Equal(t, uint64(os.Getpid()), got>>32)
		assert.NotZero(t, uint32(got))
	})
	t.Run("get_current_uid_gid", func(t *testing.T) {
		assert.Equal(t, uint64(os.Getgid())<<32|uint64(os.Getuid()), call(t, asm.FnGetCurrentUidGid))
	})
	t.Run("get_smp_processor_id", func(t *testing.T) {
		// Approximate, as the thread may move: it is one this process
		// may run on.
		var set unix.CPUSet
		require.NoError(t, unix.SchedGetaffinity(0, &set))
		assert.True(t, set.IsSet(int(call(t, asm.FnGetSmpProcessorId))))
	})
	t.Run("get_prandom_u32", func(t *testing.T) {
		seen := map[uint64]bool{}
		for range 8 {
			v := call(t, asm.FnGetPrandomU32)
			assert.LessOrEqual(t, v, uint64(0xffff_ffff))
			seen[v] = true
		}
		assert.Greater(t, len(seen), 1)
	})
}

func TestGetCurrentComm(t *testing.T) {
	want, err := os.ReadFile("/proc/self/comm")
	require.NoError(t, err)
	want = bytes.TrimSuffix(want, []byte("\n"))

	for _, size := range []int32{16, 4} {
		var rec recorder
		got, err := run(t, &Env{Output: rec.output}, program(
			asm.Instructions{
				asm.LoadImm(asm.R1, -1, asm.DWord),
				asm.StoreMem(fp, -16, asm.R1, asm.DWord),
				asm.StoreMem(fp, -8, asm.R1, asm.DWord),
				asm.Mov.Reg(asm.R1, fp),
				asm.Add.Imm(asm.R1, -16),
				asm.Mov.Imm(asm.R2, size),
				asm.FnGetCurrentComm.Call(),
				asm.Mov.Reg(asm.R6, asm.R0),
			},
			outputStack(-16, 16),
			asm.Instructions{asm.Mov.Reg(asm.R0, asm.R6)},
		)...)
		require.NoError(t, err)
		assert.Equal(t, uint64(0), got)
		require.Len(t, rec.records, 1)
		// NUL-padded to size; the bytes after size untouched.
		expect := make([]byte, 16)
		copy(expect, want[:min(len(want), int(size)-1)])
		for i := size; i < 16; i++ {
			expect[i] = 0xff
		}
		assert.Equal(t, expect, rec.records[0], "size %d", size)
	}
}

func TestProbeRead(t *testing.T) {
	ctx := []byte("hi\x00xyzhello")
	bad := asm.Instructions{asm.Mov.Imm(asm.R3, 0x1234)}
	ctxAt := func(off int32) asm.Instructions {
		return asm.Instructions{asm.Mov.Reg(asm.R3, asm.R1), asm.Add.Imm(asm.R3, off)}
	}
	tests := []struct {
		name string
		fn   asm.BuiltinFunc
		size int32
		src  asm.Instructions // sets R3
		ret  uint64
		dst  string // the 8-byte buffer after the call; it starts as '#'s
	}{
		{"probe_read", asm.FnProbeRead, 4, ctxAt(3), 0, "xyzh####"},
		{"probe_read_kernel", asm.FnProbeReadKernel, 8, ctxAt(0), 0, "hi\x00xyzhe"},
		{"probe_read_user", asm.FnProbeReadUser, 2, ctxAt(1), 0, "i\x00######"},
		{"probe_read bad address", asm.FnProbeReadKernel, 4, bad, negErrno(unix.EFAULT), "\x00\x00\x00\x00####"},
		{"probe_read past the region", asm.FnProbeReadKernel, 8, ctxAt(6), negErrno(unix.EFAULT), "\x00\x00\x00\x00\x00\x00\x00\x00"},
		{"probe_read of zero bytes", asm.FnProbeReadKernel, 0, ctxAt(0), 0, "########"},
		{"str up to the NUL", asm.FnProbeReadKernelStr, 8, ctxAt(0), 3, "hi\x00#####"},
		{"str cut by size", asm.FnProbeReadKernelStr, 4, ctxAt(3), 4, "xyz\x00####"},
		{"str exactly fitting", asm.FnProbeReadStr, 6, ctxAt(6), 6, "hello\x00##"},
		{"str user", asm.FnProbeReadUserStr, 8, ctxAt(1), 2, "i\x00######"},
		{"str running off the region", asm.FnProbeReadKernelStr, 8, ctxAt(8), negErrno(unix.EFAULT), "\x00\x00\x00\x00\x00\x00\x00\x00"},
		{"str bad address", asm.FnProbeReadKernelStr, 8, bad, negErrno(unix.EFAULT), "\x00\x00\x00\x00\x00\x00\x00\x00"},
		{"str of zero bytes", asm.FnProbeReadKernelStr, 0, ctxAt(0), 0, "########"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec recorder
			p := load(t, &Env{Output: rec.output}, program(
				asm.Instructions{
					asm.LoadImm(asm.R2, 0x2323_2323_2323_2323, asm.DWord),
					asm.StoreMem(fp, -8, asm.R2, asm.DWord),
				},
				tt.src,
				asm.Instructions{
					asm.Mov.Reg(asm.R1, fp),
					asm.Add.Imm(asm.R1, -8),
					asm.Mov.Imm(asm.R2, tt.size),
					tt.fn.Call(),
					asm.Mov.Reg(asm.R6, asm.R0),
				},
				outputStack(-8, 8),
				asm.Instructions{asm.Mov.Reg(asm.R0, asm.R6)},
			)...)
			got, err := p.Run(ctx)
			require.NoError(t, err)
			assert.Equal(t, tt.ret, got, "returned %d", int64(got))
			require.Len(t, rec.records, 1)
			assert.Equal(t, tt.dst, string(rec.records[0]))
		})
	}
	t.Run("bad destination faults", func(t *testing.T) {
		_, err := run(t, nil, program(asm.Instructions{
			asm.Mov.Reg(asm.R1, fp),
			asm.Mov.Imm(asm.R2, 4),
			asm.Mov.Reg(asm.R3, fp),
			asm.Add.Imm(asm.R3, -8),
			asm.FnProbeReadKernel.Call(),
		})...)
		var f *Fault
		require.ErrorAs(t, err, &f)
		assert.ErrorContains(t, err, "destination: write of 4 bytes")
	})
}

// loopProgram calls bpf_loop(nr, body, fp-8) with a body that adds its
// index plus one to the word at ctx and stops (returns 1) once the word
// exceeds stopAbove. It returns bpf_loop's result in the high half of R0
// and the word in the low half.
func loopProgram(nr int32, stopAbove int32) []asm.Instruction {
	return []asm.Instruction{
		asm.StoreImm(fp, -8, 0, asm.Word),
		asm.StoreImm(fp, -4, 0, asm.Word),
		asm.Mov.Imm(asm.R6, 7),
		asm.Mov.Imm(asm.R1, nr),
		asm.Instruction{OpCode: asm.LoadImmOp(asm.DWord), Dst: asm.R2, Src: asm.PseudoFunc, Constant: -1}.WithReference("body"),
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

func TestLoopHelper(t *testing.T) {
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
