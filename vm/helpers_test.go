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
