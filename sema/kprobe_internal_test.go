package sema

import (
	"testing"

	"github.com/cilium/ebpf/btf"
	"github.com/stretchr/testify/assert"
)

// TestTrampoline checks where fentry/fexit programs find a function's
// parameters and return value: each parameter in the next u64, the return
// value after the last; a function with a struct parameter passed by value
// or variadic has no such layout here, and is probed by kprobes only.
func TestTrampoline(t *testing.T) {
	long := &btf.Int{Name: "long", Size: 8, Encoding: btf.Signed}
	u32 := &btf.Int{Name: "u32", Size: 4}
	ptr := &btf.Pointer{Target: long}
	pair := &btf.Struct{Name: "pair", Size: 16}
	rg := &Regs{Args: []int{112, 104, 96, 88, 72, 64}, Ret: 80}
	proto := func(params ...btf.Type) *btf.FuncProto {
		fp := &btf.FuncProto{Return: long}
		for _, p := range params {
			fp.Params = append(fp.Params, btf.FuncParam{Name: "p", Type: p})
		}
		return fp
	}

	assert.Equal(t, map[int]int{112: 0, 104: 8, 96: 16, 80: 24}, trampoline(proto(ptr, u32, long), rg))
	assert.Equal(t, map[int]int{80: 0}, trampoline(proto(), rg), "no parameters: the return value first")
	assert.Equal(t, map[int]int{112: 0, 104: 8, 96: 16, 88: 24, 72: 32, 64: 40, 80: 56},
		trampoline(proto(long, long, long, long, long, long, long), rg), "a seventh parameter, on the stack, still takes a slot")
	assert.Nil(t, trampoline(proto(ptr, pair), rg), "a struct passed by value")
	assert.Nil(t, trampoline(proto(ptr, &btf.Void{}), rg), "variadic")
}
