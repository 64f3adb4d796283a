package vm

import (
	"encoding/binary"
	"strconv"
	"testing"

	"github.com/cilium/ebpf/asm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/maps"
)

// foreachProg runs site over mapName and sends each key it yields as a
// record.
func foreachProg(mapName string, site, limit int32, keySize int32) asm.Instructions {
	return program(
		asm.Instructions{
			asm.LoadMapPtr(asm.R1, 0).WithReference(mapName),
			asm.Mov.Imm(asm.R2, site),
			asm.Mov.Imm(asm.R3, limit),
			asm.BuiltinFunc(maps.HelperForeachStart).Call(),
			asm.Mov.Reg(asm.R6, asm.R0),
			asm.Mov.Reg(asm.R1, asm.R6).WithSymbol("next"),
			asm.Mov.Reg(asm.R2, fp),
			asm.Add.Imm(asm.R2, -keySize),
			asm.BuiltinFunc(maps.HelperForeachNext).Call(),
			asm.JEq.Imm(asm.R0, 0, "done"),
		},
		outputStack(-keySize, keySize),
		asm.Instructions{
			asm.Ja.Label("next"),
			asm.Mov.Imm(asm.R0, 0).WithSymbol("done"),
		},
	)
}

func TestForeach(t *testing.T) {
	abi := &maps.ABI{
		Params: maps.Params{StringLen: 16, MaxMapEntries: 64},
		Globals: []maps.Global{
			{Name: "count", Keys: []maps.Type{maps.String}, KeySizes: []int{16}, Value: maps.Long, MapName: "count"},
			// A narrow string column, as short literal keys get.
			{Name: "pairs", Keys: []maps.Type{maps.Long, maps.String}, KeySizes: []int{8, 8}, Value: maps.String, MapName: "pairs"},
			{Name: "total", Value: maps.Long},
		},
		Foreach: []maps.ForeachSite{
			{Global: 0, SortColumn: -1, SortDesc: true}, // 0
			{Global: 0, SortColumn: -1},                 // 1
			{Global: 0, SortColumn: 0},                  // 2
			{Global: 0, SortColumn: 1, SortDesc: true},  // 3
			{Global: 1, SortColumn: 2},                  // 4
			{Global: 1, SortColumn: 1, SortDesc: true},  // 5
			{Global: 1, SortColumn: -1},                 // 6
			{Global: 1, SortColumn: 0},                  // 7
			{Global: 2},                                 // 8: a scalar
		},
	}
	count := NewHashMap(16, 8, 64)
	for k, v := range map[string]int64{"apple": 3, "pear": 10, "fig": -2, "kiwi": 10, "banana": 7} {
		require.NoError(t, count.Update(
			abi.Globals[0].PackKey([]maps.Value{maps.StringValue(k)}),
			abi.PackValue(maps.Long, maps.LongValue(v)), UpdateAny))
	}
	pair := func(n int64, s string) []maps.Value { return []maps.Value{maps.LongValue(n), maps.StringValue(s)} }
	pairs := NewHashMap(16, 16, 64)
	for _, e := range []struct {
		k []maps.Value
		v string
	}{{pair(2, "b"), "zz"}, {pair(1, "c"), "aa"}, {pair(-5, "a"), "mm"}, {pair(1, "a"), "aa"}} {
		require.NoError(t, pairs.Update(abi.Globals[1].PackKey(e.k), abi.PackValue(maps.String, maps.StringValue(e.v)), UpdateAny))
	}
	env := func(rec *recorder) *Env {
		return &Env{Maps: map[string]Map{"count": count, "pairs": pairs}, ABI: abi, Output: rec.output}
	}

	tests := []struct {
		name  string
		site  int32
		limit int32
		want  []string
	}{
		{"by value desc, limit", 0, 3, []string{"kiwi", "pear", "banana"}},
		{"by value", 1, -1, []string{"fig", "apple", "banana", "kiwi", "pear"}},
		{"in key order", 2, -1, []string{"apple", "banana", "fig", "kiwi", "pear"}},
		{"by string key desc", 3, -1, []string{"pear", "kiwi", "fig", "banana", "apple"}},
		{"limit 0", 0, 0, nil},
		{"limit above size", 2, 100, []string{"apple", "banana", "fig", "kiwi", "pear"}},
		{"by string column", 4, -1, []string{"-5 a", "1 a", "2 b", "1 c"}},
		{"by long column desc", 5, -1, []string{"2 b", "1 a", "1 c", "-5 a"}},
		{"by string value", 6, -1, []string{"1 a", "1 c", "-5 a", "2 b"}},
		{"in tuple key order", 7, 2, []string{"-5 a", "1 a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mapName, keySize := "count", int32(16)
			if tt.site >= 4 {
				mapName, keySize = "pairs", 16
			}
			var rec recorder
			got, err := run(t, env(&rec), foreachProg(mapName, tt.site, tt.limit, keySize)...)
			require.NoError(t, err)
			assert.Equal(t, uint64(0), got)
			var keys []string
			for _, r := range rec.records {
				if mapName == "count" {
					keys = append(keys, maps.CString(r))
					continue
				}
				v := abi.Globals[1].UnpackKey(r)
				keys = append(keys, strconv.FormatInt(v[0].Long, 10)+" "+v[1].Str)
			}
			assert.Equal(t, tt.want, keys)
		})
	}

	faults := []struct {
		name  string
		env   *Env
		insns asm.Instructions
		msg   string
	}{
		{"site out of range", env(&recorder{}), foreachProg("count", 9, -1, 16), "foreach site 9 does not exist"},
		{"site over another map", env(&recorder{}), foreachProg("pairs", 0, -1, 16), `iterates count, not map "pairs"`},
		{"site over a scalar", env(&recorder{}), foreachProg("count", 8, -1, 16), "iterates total"},
		{"no ABI", &Env{Maps: map[string]Map{"count": count}}, foreachProg("count", 0, -1, 16), "needs Env.ABI"},
		{"key buffer too small", env(&recorder{}), foreachProg("pairs", 4, -1, 8), "key buffer: write of 16 bytes"},
		{"handle from nowhere", env(&recorder{}), program(asm.Instructions{
			asm.Mov.Imm(asm.R1, 1),
			asm.Mov.Reg(asm.R2, fp),
			asm.Add.Imm(asm.R2, -16),
			asm.BuiltinFunc(maps.HelperForeachNext).Call(),
		}), "not a foreach handle"},
	}
	for _, tt := range faults {
		t.Run(tt.name, func(t *testing.T) {
			_, err := run(t, tt.env, tt.insns...)
			var f *Fault
			require.ErrorAs(t, err, &f)
			assert.ErrorContains(t, err, tt.msg)
		})
	}
}

// TestForeachHandlesEnd checks that iterations do not outlive their Run:
// the program starts an iteration only when ctx[0] is 1, and always uses
// handle 1.
func TestForeachHandlesEnd(t *testing.T) {
	abi := &maps.ABI{
		Params:  maps.Params{StringLen: 8},
		Globals: []maps.Global{{Name: "a", Keys: []maps.Type{maps.Long}, KeySizes: []int{8}, Value: maps.Long, MapName: "a"}},
		Foreach: []maps.ForeachSite{{Global: 0}},
	}
	a := NewHashMap(8, 8, 4)
	require.NoError(t, a.Update(binary.LittleEndian.AppendUint64(nil, 1), make([]byte, 8), UpdateAny))
	p := load(t, &Env{Maps: map[string]Map{"a": a}, ABI: abi}, program(asm.Instructions{
		asm.LoadMem(asm.R6, asm.R1, 0, asm.Byte),
		asm.JNE.Imm(asm.R6, 1, "next"),
		asm.LoadMapPtr(asm.R1, 0).WithReference("a"),
		asm.Mov.Imm(asm.R2, 0),
		asm.Mov.Imm(asm.R3, -1),
		asm.BuiltinFunc(maps.HelperForeachStart).Call(),
		asm.Mov.Imm(asm.R1, 1).WithSymbol("next"),
		asm.Mov.Reg(asm.R2, fp),
		asm.Add.Imm(asm.R2, -8),
		asm.BuiltinFunc(maps.HelperForeachNext).Call(),
	})...)
	got, err := p.Run([]byte{1})
	require.NoError(t, err)
	assert.Equal(t, uint64(1), got)
	_, err = p.Run([]byte{0})
	assert.ErrorContains(t, err, "not a foreach handle")
}
