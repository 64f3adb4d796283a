package loader

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/codegen/bpf"
	"etap/lang"
	"etap/lang/ast"
	"etap/maps"
	"etap/sema"
	"etap/vm"
)

// These tests load real programs into this machine's kernel (root).

func compile(t *testing.T, src string) *bpf.Output {
	t.Helper()
	f, diags := lang.Parse("t.stp", src, nil)
	require.False(t, diags.HasErrors(), "%v", diags)
	prog, diags := sema.Check([]*ast.File{f}, sema.Options{Kernel: sema.NewTracefs(sema.DefaultTracefsRoot), Library: bpf.Library()})
	require.False(t, diags.HasErrors(), "%v", diags)
	out, diags := bpf.Compile(prog, bpf.Options{Params: maps.DefaultParams()})
	require.False(t, diags.HasErrors(), "%v", diags)
	return out
}

func TestRunDrainsKernelRecordsAndRunsEndProbes(t *testing.T) {
	out := compile(t, `global n, ticks
probe kernel.trace("syscalls:sys_enter_getpid") { if (pid() == target()) { n++; if (n == 3) { printf("three\n"); exit() } } }
probe timer.ms(5) { ticks++ }
probe end { printf("n=%d\n", n) }`)
	s, err := Load(out)
	require.NoError(t, err)
	defer s.Close()

	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				syscall.Getpid()
			}
		}
	}()
	var stdout, stderr bytes.Buffer
	res, err := s.Run(context.Background(), RunOptions{Target: os.Getpid(), Stdout: &stdout, Stderr: &stderr, Timeout: 10 * time.Second})
	require.NoError(t, err)
	assert.Equal(t, 0, res.Errors, stderr.String())
	assert.Equal(t, uint64(0), res.Lost)
	assert.Regexp(t, `^three\nn=[3-9]\nticks=\d+\n$`, stdout.String())
}

func TestVerifierRejectionIsPlacedInTheScript(t *testing.T) {
	out := compile(t, `global n
probe kernel.trace("syscalls:sys_enter_getpid") {
  n++
}`)
	k := out.Kernel[0]
	// Reading through a number is refused by the verifier.
	out.Spec.Programs[k.Name].Instructions = asm.Instructions{
		asm.Mov.Imm(asm.R1, 5),
		asm.LoadMem(asm.R0, asm.R1, 0, asm.DWord),
		asm.Return(),
	}
	k.Lines = []bpf.LinePos{{Offset: 0, Pos: k.Point.Span.Start}, {Offset: 1, Pos: k.Point.Span.Start}}
	k.Lines[1].Pos.Line = 3
	_, err := Load(out)
	var ve *VerifierError
	require.True(t, errors.As(err, &ve), "got %v", err)
	assert.Equal(t, "V001", ve.Code)
	assert.Equal(t, 3, ve.Span.Start.Line)
	assert.Contains(t, ve.Message, "invalid mem access")
	assert.Contains(t, ve.Message, "(79) r0 = *(u64 *)(r1 +0)", "the instruction it refused")
	assert.Contains(t, ve.Hint, "-v for the full verifier log")
	assert.NotEmpty(t, ve.Log)
}

func TestLoadWithoutAttachRunsNothing(t *testing.T) {
	out := compile(t, `global n; probe kernel.trace("syscalls:sys_enter_getpid") { n++ }`)
	s, err := Load(out)
	require.NoError(t, err)
	defer s.Close()
	syscall.Getpid()
	assert.Equal(t, uint64(0), binary.LittleEndian.Uint64(s.scalars[out.ABI.Globals[0].Offset:]))
}

func TestKernelMapAdapter(t *testing.T) {
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Hash, KeySize: 8, ValueSize: 8, MaxEntries: 2})
	require.NoError(t, err)
	defer m.Close()
	km := kernelMap{m}
	key := func(i byte) []byte { return []byte{i, 0, 0, 0, 0, 0, 0, 0} }

	_, ok, err := km.Lookup(key(1))
	require.NoError(t, err)
	assert.False(t, ok, "a missing key is no error")
	require.NoError(t, km.Update(key(1), key(7), vm.UpdateAny))
	require.NoError(t, km.Update(key(2), key(8), vm.UpdateNoExist))
	assert.ErrorIs(t, km.Update(key(3), key(9), vm.UpdateAny), syscall.E2BIG, "a full map says E2BIG, which vm hands to the program")
	val, ok, err := km.Lookup(key(1))
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, key(7), val)
	n := 0
	require.NoError(t, km.Iterate(func(k, v []byte) bool { n++; return true }))
	assert.Equal(t, 2, n)
	require.NoError(t, km.Delete(key(1)))
	_, ok, _ = km.Lookup(key(1))
	assert.False(t, ok)
}

func TestLiveArraySharesTheMapping(t *testing.T) {
	buf := make([]byte, 16)
	a := liveArray{buf: buf}
	val, ok, err := a.Lookup([]byte{0, 0, 0, 0})
	require.NoError(t, err)
	require.True(t, ok)
	val[3] = 9
	assert.Equal(t, byte(9), buf[3], "stores through a lookup land in the mapping")
	require.NoError(t, a.Update([]byte{0, 0, 0, 0}, val, vm.UpdateExist))
	assert.Equal(t, byte(9), buf[3])
	_, ok, _ = a.Lookup([]byte{1, 0, 0, 0})
	assert.False(t, ok)
}

func TestLastWords(t *testing.T) {
	log := []string{
		"0: R1=ctx() R10=fp0",
		"20: (b7) r0 = 2                       ; R0=2",
		"21: (db) lock *(u64 *)(r8 +0) += r0   ; R0=2 R8=map_value(map=globals,ks=4,vs=40)",
		"22: (79) r0 = *(u64 *)(r9 +0)",
		"R9 !read_ok",
		"processed 20 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 0",
		"",
	}
	assert.Equal(t, "21: (db) lock *(u64 *)(r8 +0) += r0 / 22: (79) r0 = *(u64 *)(r9 +0) / R9 !read_ok", lastWords(log))
	assert.Equal(t, "no reason given", lastWords([]string{"processed 1 insns"}))
	at, ok := failingInstruction(log)
	assert.True(t, ok)
	assert.Equal(t, 22, at)
}
