package vm

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/cilium/ebpf/asm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// u is x as the register bits the kernel would hold.
func u(x int64) uint64 { return uint64(x) }

// load loads a program; the test stops if New rejects it.
func load(t testing.TB, env *Env, insns ...asm.Instruction) *Program {
	t.Helper()
	p, err := New(insns, env)
	require.NoError(t, err)
	return p
}

// run loads and runs a program without context.
func run(t testing.TB, env *Env, insns ...asm.Instruction) (uint64, error) {
	t.Helper()
	return load(t, env, insns...).Run(nil)
}

func TestALU(t *testing.T) {
	r0, r1 := asm.R0, asm.R1
	tests := []struct {
		name string
		op   asm.Instruction // dst R0 = a, src R1 = b
		a, b uint64
		want uint64
	}{
		{"add", asm.Add.Reg(r0, r1), 5, 7, 12},
		{"add imm sign-extends", asm.Add.Imm(r0, -1), 5, 0, 4},
		{"sub", asm.Sub.Reg(r0, r1), 5, 7, u(-2)},
		{"sub imm", asm.Sub.Imm(r0, 2), 5, 0, 3},
		{"mul", asm.Mul.Reg(r0, r1), 6, 7, 42},
		{"mul wraps", asm.Mul.Imm(r0, 2), 1 << 63, 0, 0},
		{"div", asm.Div.Reg(r0, r1), 42, 5, 8},
		{"div is unsigned", asm.Div.Imm(r0, 5), u(-42), 0, u(-42) / 5},
		{"div by zero reg", asm.Div.Reg(r0, r1), 42, 0, 0},
		{"div by zero imm", asm.Div.Imm(r0, 0), 42, 0, 0},
		{"sdiv", asm.SDiv.Reg(r0, r1), u(-42), 5, u(-8)},
		{"sdiv imm", asm.SDiv.Imm(r0, -5), 42, 0, u(-8)},
		{"sdiv by zero", asm.SDiv.Reg(r0, r1), u(-42), 0, 0},
		{"sdiv overflow", asm.SDiv.Imm(r0, -1), u(math.MinInt64), 0, u(math.MinInt64)},
		{"mod", asm.Mod.Reg(r0, r1), 42, 5, 2},
		{"mod by zero keeps dividend", asm.Mod.Reg(r0, r1), 42, 0, 42},
		{"mod by zero imm", asm.Mod.Imm(r0, 0), u(-1), 0, u(-1)},
		{"smod", asm.SMod.Reg(r0, r1), u(-42), 5, u(-2)},
		{"smod by zero", asm.SMod.Reg(r0, r1), u(-42), 0, u(-42)},
		{"smod overflow", asm.SMod.Imm(r0, -1), u(math.MinInt64), 0, 0},
		{"or", asm.Or.Reg(r0, r1), 0xf0, 0x0f, 0xff},
		{"or imm", asm.Or.Imm(r0, 0x0f), 0xf0, 0, 0xff},
		{"and", asm.And.Reg(r0, r1), 0xff, 0x3c, 0x3c},
		{"and imm sign-extends", asm.And.Imm(r0, -2), 0xffff_ffff_ffff_ffff, 0, u(-2)},
		{"xor", asm.Xor.Reg(r0, r1), 0xff, 0x0f, 0xf0},
		{"xor imm", asm.Xor.Imm(r0, 1), 3, 0, 2},
		{"lsh", asm.LSh.Reg(r0, r1), 1, 63, 1 << 63},
		{"lsh imm", asm.LSh.Imm(r0, 4), 1, 0, 16},
		{"rsh", asm.RSh.Reg(r0, r1), 1 << 63, 63, 1},
		{"rsh imm is logical", asm.RSh.Imm(r0, 60), u(-1), 0, 0xf},
		{"arsh", asm.ArSh.Reg(r0, r1), u(-16), 2, u(-4)},
		{"arsh imm", asm.ArSh.Imm(r0, 63), 1 << 63, 0, u(-1)},
		{"neg", asm.Neg.Imm(r0, 0), 5, 0, u(-5)},
		{"mov", asm.Mov.Reg(r0, r1), 5, 0x1234_5678_9abc_def0, 0x1234_5678_9abc_def0},
		{"mov imm sign-extends", asm.Mov.Imm(r0, -1), 5, 0, u(-1)},
		{"imm is 32 bits on the wire", asm.Instruction{OpCode: asm.Mov.Op(asm.ImmSource), Dst: r0, Constant: 0x1_8000_0005}, 0, 0, u(-0x7fff_fffb)},
		{"movsx8", asm.MovSX8.Reg(r0, r1), 0, 0x180, u(-128)},
		{"movsx16", asm.MovSX16.Reg(r0, r1), 0, 0x1_8000, u(-32768)},
		{"movsx32", asm.MovSX32.Reg(r0, r1), 0, 0x1_8000_0000, u(math.MinInt32)},

		{"add32 wraps and zero-extends", asm.Add.Reg32(r0, r1), 0xffff_ffff, 1, 0},
		{"add32 drops the upper half", asm.Add.Imm32(r0, 1), 0x1_0000_0005, 0, 6},
		{"add32 imm", asm.Add.Imm32(r0, -1), 0, 0, 0xffff_ffff},
		{"sub32", asm.Sub.Reg32(r0, r1), 0, 1, 0xffff_ffff},
		{"sub32 imm", asm.Sub.Imm32(r0, 1), 0x7_0000_0003, 0, 2},
		{"mul32", asm.Mul.Reg32(r0, r1), 0x1_0000, 0x1_0000, 0},
		{"mul32 imm", asm.Mul.Imm32(r0, 3), 0x5_0000_0002, 0, 6},
		{"div32", asm.Div.Reg32(r0, r1), 0x1_0000_0010, 4, 4},
		{"div32 imm", asm.Div.Imm32(r0, 2), 0xffff_ffff, 0, 0x7fff_ffff},
		{"div32 by zero", asm.Div.Reg32(r0, r1), 42, 0, 0},
		{"div32 by zero in the low half", asm.Div.Reg32(r0, r1), 42, 1 << 32, 0},
		{"mod32", asm.Mod.Reg32(r0, r1), 17, 5, 2},
		{"mod32 imm", asm.Mod.Imm32(r0, 5), 0x9_0000_0011, 0, 2},
		{"mod32 by zero zero-extends the dividend", asm.Mod.Reg32(r0, r1), 0xffff_ffff_0000_0007, 0, 7},
		{"sdiv32", asm.SDiv.Reg32(r0, r1), uint64(uint32(0xffff_fffa)), 4, 0xffff_ffff},
		{"sdiv32 imm", asm.SDiv.Imm32(r0, -2), 6, 0, 0xffff_fffd},
		{"sdiv32 by zero", asm.SDiv.Reg32(r0, r1), 6, 0, 0},
		{"sdiv32 overflow", asm.SDiv.Imm32(r0, -1), 0x8000_0000, 0, 0x8000_0000},
		{"smod32", asm.SMod.Reg32(r0, r1), 0xffff_fff9, 3, 0xffff_ffff},
		{"smod32 imm", asm.SMod.Imm32(r0, 3), 7, 0, 1},
		{"smod32 by zero", asm.SMod.Reg32(r0, r1), 0xaaaa_aaaa_0000_0009, 0, 9},
		{"or32", asm.Or.Reg32(r0, r1), 0xffff_0000_0000_00f0, 0x0f, 0xff},
		{"or32 imm", asm.Or.Imm32(r0, 1), 0x1_0000_0000, 0, 1},
		{"and32", asm.And.Reg32(r0, r1), 0xffff_ffff_ffff_ffff, 0xffff_0000_0000_00ff, 0xff},
		{"and32 imm", asm.And.Imm32(r0, -1), 0xffff_ffff_ffff_ffff, 0, 0xffff_ffff},
		{"xor32", asm.Xor.Reg32(r0, r1), 0xff, 0xffff_ffff_0000_000f, 0xf0},
		{"xor32 imm", asm.Xor.Imm32(r0, -1), 0, 0, 0xffff_ffff},
		{"lsh32", asm.LSh.Reg32(r0, r1), 3, 31, 0x8000_0000},
		{"lsh32 imm", asm.LSh.Imm32(r0, 4), 0x1000_0001, 0, 0x10},
		{"rsh32", asm.RSh.Reg32(r0, r1), 0xffff_ffff_8000_0000, 31, 1},
		{"rsh32 imm", asm.RSh.Imm32(r0, 4), 0x8000_0000, 0, 0x0800_0000},
		{"arsh32", asm.ArSh.Reg32(r0, r1), 0x8000_0000, 4, 0xf800_0000},
		{"arsh32 imm", asm.ArSh.Imm32(r0, 31), 0x8000_0000, 0, 0xffff_ffff},
		{"neg32", asm.Neg.Imm32(r0, 0), 1, 0, 0xffff_ffff},
		{"mov32 zero-extends", asm.Mov.Reg32(r0, r1), 5, u(-1), 0xffff_ffff},
		{"mov32 imm", asm.Mov.Imm32(r0, -1), 5, 0, 0xffff_ffff},
		{"movsx8 32", asm.MovSX8.Reg32(r0, r1), 0, 0x80, 0xffff_ff80},
		{"movsx16 32", asm.MovSX16.Reg32(r0, r1), 0, 0x8000, 0xffff_8000},

		{"to big endian 16", asm.HostTo(asm.BE, r0, asm.Half), 0xaaaa_1234, 0, 0x3412},
		{"to big endian 32", asm.HostTo(asm.BE, r0, asm.Word), 0xaaaa_1234_5678, 0, 0x7856_3412},
		{"to big endian 64", asm.HostTo(asm.BE, r0, asm.DWord), 0x0102_0304_0506_0708, 0, 0x0807_0605_0403_0201},
		{"to little endian 16", asm.HostTo(asm.LE, r0, asm.Half), 0x1122_3344, 0, 0x3344},
		{"to little endian 32", asm.HostTo(asm.LE, r0, asm.Word), 0x1122_3344_5566_7788, 0, 0x5566_7788},
		{"to little endian 64", asm.HostTo(asm.LE, r0, asm.DWord), 0x1122_3344_5566_7788, 0, 0x1122_3344_5566_7788},
		{"bswap 16", asm.BSwap(r0, asm.Half), 0xaaaa_1234, 0, 0x3412},
		{"bswap 32", asm.BSwap(r0, asm.Word), 0x1234_5678, 0, 0x7856_3412},
		{"bswap 64", asm.BSwap(r0, asm.DWord), 0x0102_0304_0506_0708, 0, 0x0807_0605_0403_0201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := run(t, nil,
				asm.LoadImm(r0, int64(tt.a), asm.DWord),
				asm.LoadImm(r1, int64(tt.b), asm.DWord),
				tt.op,
				asm.Return(),
			)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got, "got %#x, want %#x", got, tt.want)
		})
	}
}

func TestJumps(t *testing.T) {
	tests := []struct {
		op    asm.JumpOp
		a, b  uint64
		taken bool
		is32  bool
	}{
		{asm.JEq, 5, 5, true, false},
		{asm.JEq, 5, 6, false, false},
		{asm.JEq, 0x1_0000_0005, 5, false, false},
		{asm.JEq, 0x1_0000_0005, 5, true, true},
		{asm.JNE, 5, 6, true, false},
		{asm.JNE, 5, 5, false, false},
		{asm.JNE, 0x1_0000_0005, 5, false, true},
		{asm.JGT, 6, 5, true, false},
		{asm.JGT, 5, 5, false, false},
		{asm.JGT, u(-1), 5, true, false},
		{asm.JGT, 0x1_0000_0001, 5, false, true},
		{asm.JGE, 5, 5, true, false},
		{asm.JGE, 4, 5, false, false},
		{asm.JGE, 0x1_0000_0004, 5, false, true},
		{asm.JLT, 4, 5, true, false},
		{asm.JLT, 5, 5, false, false},
		{asm.JLT, 0x1_0000_0004, 5, true, true},
		{asm.JLE, 5, 5, true, false},
		{asm.JLE, 6, 5, false, false},
		{asm.JLE, 0x1_0000_0005, 5, true, true},
		{asm.JSet, 6, 2, true, false},
		{asm.JSet, 6, 1, false, false},
		{asm.JSet, 0x1_0000_0000, 0x1_0000_0000, true, false},
		{asm.JSet, 0x1_0000_0000, 0x1_0000_0000, false, true},
		{asm.JSGT, 5, u(-1), true, false},
		{asm.JSGT, u(-2), u(-1), false, false},
		{asm.JSGT, 0xffff_ffff, 0, true, false},
		{asm.JSGT, 0xffff_ffff, 0, false, true},
		{asm.JSGE, u(-1), u(-1), true, false},
		{asm.JSGE, u(-2), u(-1), false, false},
		{asm.JSGE, 0x8000_0000, 0, false, true},
		{asm.JSLT, u(-2), u(-1), true, false},
		{asm.JSLT, 0, u(-1), false, false},
		{asm.JSLT, 0x8000_0000, 0, true, true},
		{asm.JSLE, u(-1), u(-1), true, false},
		{asm.JSLE, 0, u(-1), false, false},
		{asm.JSLE, 0xffff_ffff, 0, true, true},
	}
	for _, tt := range tests {
		width := "64"
		if tt.is32 {
			width = "32"
		}
		jumps := map[string]asm.Instruction{}
		if tt.is32 {
			jumps["reg"] = tt.op.Reg32(asm.R1, asm.R2, "yes")
			jumps["imm"] = tt.op.Imm32(asm.R1, int32(uint32(tt.b)), "yes")
		} else {
			jumps["reg"] = tt.op.Reg(asm.R1, asm.R2, "yes")
			// The immediate is sign-extended: only values that survive
			// that can be tested in both forms.
			if u(int64(int32(tt.b))) == tt.b {
				jumps["imm"] = tt.op.Imm(asm.R1, int32(tt.b), "yes")
			}
		}
		for form, jump := range jumps {
			t.Run(fmt.Sprintf("%v%s %s %#x %#x", tt.op, width, form, tt.a, tt.b), func(t *testing.T) {
				got, err := run(t, nil,
					asm.Mov.Imm(asm.R0, 0),
					asm.LoadImm(asm.R1, int64(tt.a), asm.DWord),
					asm.LoadImm(asm.R2, int64(tt.b), asm.DWord),
					jump,
					asm.Return(),
					asm.Mov.Imm(asm.R0, 1).WithSymbol("yes"),
					asm.Return(),
				)
				require.NoError(t, err)
				assert.Equal(t, tt.taken, got == 1)
			})
		}
	}
}

func TestUnconditionalJumps(t *testing.T) {
	tests := []struct {
		name  string
		insns asm.Instructions
	}{
		{"ja label", asm.Instructions{
			asm.Mov.Imm(asm.R0, 1),
			asm.Ja.Label("out"),
			asm.Mov.Imm(asm.R0, 2),
			asm.Return().WithSymbol("out"),
		}},
		{"long jump", asm.Instructions{
			asm.Mov.Imm(asm.R0, 1),
			asm.LongJump("out"),
			asm.Mov.Imm(asm.R0, 2),
			asm.Return().WithSymbol("out"),
		}},
		// Encoded offsets count 8-byte slots: a LoadImm64 takes two.
		{"raw offset over a LoadImm64", asm.Instructions{
			asm.Mov.Imm(asm.R0, 1),
			{OpCode: asm.Ja.Op(asm.ImmSource), Offset: 2},
			asm.LoadImm(asm.R0, 2, asm.DWord),
			asm.Return(),
		}},
		{"raw offset backwards", asm.Instructions{
			asm.Mov.Imm(asm.R0, 0),
			asm.Ja.Label("start"),
			asm.Return().WithSymbol("end"),
			asm.Add.Imm(asm.R0, 1).WithSymbol("start"),
			{OpCode: asm.JNE.Op(asm.ImmSource), Dst: asm.R0, Constant: 1, Offset: -2},
			asm.Ja.Label("end"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := run(t, nil, tt.insns...)
			require.NoError(t, err)
			assert.Equal(t, uint64(1), got)
		})
	}
}

func TestStack(t *testing.T) {
	fp := asm.RFP
	tests := []struct {
		name  string
		insns asm.Instructions
		want  uint64
	}{
		{"byte", asm.Instructions{
			asm.LoadImm(asm.R1, 0x1234, asm.DWord),
			asm.StoreMem(fp, -1, asm.R1, asm.Byte),
			asm.LoadMem(asm.R0, fp, -1, asm.Byte),
		}, 0x34},
		{"half", asm.Instructions{
			asm.LoadImm(asm.R1, 0x12345678, asm.DWord),
			asm.StoreMem(fp, -2, asm.R1, asm.Half),
			asm.LoadMem(asm.R0, fp, -2, asm.Half),
		}, 0x5678},
		{"word", asm.Instructions{
			asm.LoadImm(asm.R1, 0x1_2345_6789, asm.DWord),
			asm.StoreMem(fp, -4, asm.R1, asm.Word),
			asm.LoadMem(asm.R0, fp, -4, asm.Word),
		}, 0x2345_6789},
		{"dword", asm.Instructions{
			asm.LoadImm(asm.R1, -2, asm.DWord),
			asm.StoreMem(fp, -8, asm.R1, asm.DWord),
			asm.LoadMem(asm.R0, fp, -8, asm.DWord),
		}, u(-2)},
		{"little endian in memory", asm.Instructions{
			asm.LoadImm(asm.R1, 0x0807_0605_0403_0201, asm.DWord),
			asm.StoreMem(fp, -8, asm.R1, asm.DWord),
			asm.LoadMem(asm.R0, fp, -6, asm.Half),
		}, 0x0403},
		{"store imm byte", asm.Instructions{
			asm.StoreImm(fp, -1, 0x1ff, asm.Byte),
			asm.LoadMem(asm.R0, fp, -1, asm.Byte),
		}, 0xff},
		{"store imm half", asm.Instructions{
			asm.StoreImm(fp, -2, -1, asm.Half),
			asm.LoadMem(asm.R0, fp, -2, asm.Half),
		}, 0xffff},
		{"store imm word", asm.Instructions{
			asm.StoreImm(fp, -4, 0x12345678, asm.Word),
			asm.LoadMem(asm.R0, fp, -4, asm.Word),
		}, 0x12345678},
		{"store imm dword sign-extends", asm.Instructions{
			{OpCode: asm.StoreImmOp(asm.DWord), Dst: fp, Offset: -8, Constant: -3},
			asm.LoadMem(asm.R0, fp, -8, asm.DWord),
		}, u(-3)},
		{"sign-extending byte", asm.Instructions{
			asm.StoreImm(fp, -1, 0x80, asm.Byte),
			asm.LoadMemSX(asm.R0, fp, -1, asm.Byte),
		}, u(-128)},
		{"sign-extending half", asm.Instructions{
			asm.StoreImm(fp, -2, 0x8000, asm.Half),
			asm.LoadMemSX(asm.R0, fp, -2, asm.Half),
		}, u(-32768)},
		{"sign-extending word", asm.Instructions{
			asm.StoreImm(fp, -4, -5, asm.Word),
			asm.LoadMemSX(asm.R0, fp, -4, asm.Word),
		}, u(-5)},
		{"bottom of the stack", asm.Instructions{
			asm.StoreImm(fp, -512, 7, asm.Word),
			asm.LoadMem(asm.R0, fp, -512, asm.Word),
		}, 7},
		{"through a copied pointer", asm.Instructions{
			asm.Mov.Reg(asm.R2, fp),
			asm.Add.Imm(asm.R2, -16),
			asm.StoreImm(asm.R2, 4, 9, asm.Word),
			asm.LoadMem(asm.R0, fp, -12, asm.Word),
		}, 9},
		{"zeroed at entry", asm.Instructions{
			asm.LoadMem(asm.R0, fp, -8, asm.DWord),
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := load(t, nil, append(tt.insns, asm.Return())...)
			// Twice: the second run must not see the first one's stack.
			for range 2 {
				got, err := p.Run(nil)
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
			}
		})
	}
}

func TestLoadImm64(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 0x1234_5678_9abc_def0, math.MinInt64, math.MaxInt64, 0xffff_ffff, 0x1_0000_0000} {
		t.Run(fmt.Sprintf("%#x", uint64(v)), func(t *testing.T) {
			got, err := run(t, nil, asm.LoadImm(asm.R0, v, asm.DWord), asm.Return())
			require.NoError(t, err)
			assert.Equal(t, uint64(v), got)
		})
	}
}

func TestContext(t *testing.T) {
	p := load(t, nil,
		asm.LoadMem(asm.R0, asm.R1, 2, asm.Half),
		asm.Return(),
	)
	got, err := p.Run([]byte{1, 2, 3, 4})
	require.NoError(t, err)
	assert.Equal(t, uint64(0x0403), got)
}

func TestLoop(t *testing.T) {
	// r0 = sum of 1..100
	got, err := run(t, nil,
		asm.Mov.Imm(asm.R0, 0),
		asm.Mov.Imm(asm.R1, 1),
		asm.Add.Reg(asm.R0, asm.R1).WithSymbol("loop"),
		asm.Add.Imm(asm.R1, 1),
		asm.JLE.Imm(asm.R1, 100, "loop"),
		asm.Return(),
	)
	require.NoError(t, err)
	assert.Equal(t, uint64(5050), got)
}

func TestCall(t *testing.T) {
	fp := asm.RFP
	tests := []struct {
		name  string
		insns asm.Instructions
		want  uint64
	}{
		{"args, return and R6-R9", asm.Instructions{
			asm.Mov.Imm(asm.R6, 6),
			asm.Mov.Imm(asm.R7, 7),
			asm.Mov.Imm(asm.R8, 8),
			asm.Mov.Imm(asm.R9, 9),
			asm.Mov.Imm(asm.R1, 20),
			asm.Mov.Imm(asm.R2, 22),
			asm.Call.Label("sum"),
			asm.Add.Reg(asm.R0, asm.R6),
			asm.Add.Reg(asm.R0, asm.R7),
			asm.Add.Reg(asm.R0, asm.R8),
			asm.Add.Reg(asm.R0, asm.R9),
			asm.Return(),

			asm.Mov.Imm(asm.R6, 100).WithSymbol("sum"),
			asm.Mov.Imm(asm.R7, 100),
			asm.Mov.Imm(asm.R8, 100),
			asm.Mov.Imm(asm.R9, 100),
			asm.Mov.Reg(asm.R0, asm.R1),
			asm.Add.Reg(asm.R0, asm.R2),
			asm.Return(),
		}, 42 + 6 + 7 + 8 + 9},
		{"own stack; caller's stack by pointer", asm.Instructions{
			asm.StoreImm(fp, -8, 40, asm.Word),
			asm.Mov.Reg(asm.R1, fp),
			asm.Add.Imm(asm.R1, -8),
			asm.Call.Label("f"),
			asm.LoadMem(asm.R1, fp, -8, asm.Word),
			asm.Add.Reg(asm.R0, asm.R1),
			asm.Return(),

			// The callee's fp-8 is its own; the caller's slot is
			// reached through R1 and stays 40.
			asm.StoreImm(fp, -8, 1, asm.Word).WithSymbol("f"),
			asm.LoadMem(asm.R0, asm.R1, 0, asm.Word),
			asm.LoadMem(asm.R2, fp, -8, asm.Word),
			asm.Add.Reg(asm.R0, asm.R2),
			asm.Return(),
		}, 40 + 1 + 40},
		{"nested", asm.Instructions{
			asm.Mov.Imm(asm.R1, 1),
			asm.Call.Label("double"),
			asm.Mov.Reg(asm.R1, asm.R0),
			asm.Call.Label("double"),
			asm.Return(),

			asm.Mov.Reg(asm.R6, asm.R1).WithSymbol("double"),
			asm.Call.Label("id"),
			asm.Add.Reg(asm.R0, asm.R6),
			asm.Return(),

			asm.Mov.Reg(asm.R0, asm.R1).WithSymbol("id"),
			asm.Return(),
		}, 4},
		{"raw offset", asm.Instructions{
			{OpCode: asm.OpCode(asm.JumpClass).SetJumpOp(asm.Call), Src: asm.PseudoCall, Constant: 1},
			asm.Return(),
			asm.Mov.Imm(asm.R0, 3),
			asm.Return(),
		}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := run(t, nil, tt.insns...)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestCallDepth(t *testing.T) {
	// Recursion without end: the ninth frame faults.
	_, err := run(t, nil,
		asm.Call.Label("f"),
		asm.Return(),
		asm.Call.Label("f").WithSymbol("f"),
		asm.Return(),
	)
	var f *Fault
	require.ErrorAs(t, err, &f)
	assert.Equal(t, 2, f.Index)
	assert.ErrorContains(t, err, "deeper than 8 frames")
}

func TestAtomics(t *testing.T) {
	fp := asm.RFP
	tests := []struct {
		name   string
		size   asm.Size
		op     asm.Instruction // on [fp-8] with R1; R0 preset for cmpxchg
		mem    uint64          // initial memory
		r0, r1 uint64
		// want: memory after, R1 after, R0 after
		wantMem, wantR1, wantR0 uint64
	}{
		{"xadd dw", asm.DWord, asm.StoreXAdd(asm.R2, asm.R1, asm.DWord), 40, 0, 2, 42, 2, 0},
		{"xadd w wraps in 32 bits", asm.Word, asm.StoreXAdd(asm.R2, asm.R1, asm.Word), 0xffff_ffff, 0, 2, 1, 2, 0},
		{"fetch add", asm.DWord, asm.FetchAdd.Mem(asm.R2, asm.R1, asm.DWord, 0), 40, 0, 2, 42, 40, 0},
		{"fetch add w", asm.Word, asm.FetchAdd.Mem(asm.R2, asm.R1, asm.Word, 0), 40, 0, 2, 42, 40, 0},
		{"and", asm.DWord, asm.AndAtomic.Mem(asm.R2, asm.R1, asm.DWord, 0), 0xff, 0, 0x0f, 0x0f, 0x0f, 0},
		{"fetch and", asm.Word, asm.FetchAnd.Mem(asm.R2, asm.R1, asm.Word, 0), 0xff, 0, 0x0f, 0x0f, 0xff, 0},
		{"or", asm.Word, asm.OrAtomic.Mem(asm.R2, asm.R1, asm.Word, 0), 0xf0, 0, 0x0f, 0xff, 0x0f, 0},
		{"fetch or", asm.DWord, asm.FetchOr.Mem(asm.R2, asm.R1, asm.DWord, 0), 0xf0, 0, 0x0f, 0xff, 0xf0, 0},
		{"xor", asm.DWord, asm.XorAtomic.Mem(asm.R2, asm.R1, asm.DWord, 0), 0xff, 0, 0x0f, 0xf0, 0x0f, 0},
		{"fetch xor", asm.Word, asm.FetchXor.Mem(asm.R2, asm.R1, asm.Word, 0), 0xff, 0, 0x0f, 0xf0, 0xff, 0},
		{"xchg", asm.DWord, asm.Xchg.Mem(asm.R2, asm.R1, asm.DWord, 0), 5, 0, 7, 7, 5, 0},
		{"cmpxchg equal", asm.DWord, asm.CmpXchg.Mem(asm.R2, asm.R1, asm.DWord, 0), 5, 5, 7, 7, 7, 5},
		{"cmpxchg differs", asm.DWord, asm.CmpXchg.Mem(asm.R2, asm.R1, asm.DWord, 0), 5, 6, 7, 5, 7, 5},
		{"cmpxchg w compares 32 bits", asm.Word, asm.CmpXchg.Mem(asm.R2, asm.R1, asm.Word, 0), 5, 0x1_0000_0005, 7, 7, 7, 5},
	}
	for _, tt := range tests {
		// Each result is returned in R0 by its own program.
		results := []struct {
			what string
			tail asm.Instruction
			want uint64
		}{
			{"memory", asm.LoadMem(asm.R0, fp, -8, tt.size), tt.wantMem},
			{"r1", asm.Mov.Reg(asm.R0, asm.R1), tt.wantR1},
			{"r0", asm.Mov.Reg(asm.R0, asm.R0), tt.wantR0},
		}
		for _, res := range results {
			t.Run(tt.name+" "+res.what, func(t *testing.T) {
				got, err := run(t, nil,
					asm.LoadImm(asm.R1, int64(tt.mem), asm.DWord),
					asm.StoreMem(fp, -8, asm.R1, tt.size),
					asm.Mov.Reg(asm.R2, fp),
					asm.Add.Imm(asm.R2, -8),
					asm.LoadImm(asm.R0, int64(tt.r0), asm.DWord),
					asm.LoadImm(asm.R1, int64(tt.r1), asm.DWord),
					tt.op,
					res.tail,
					asm.Return(),
				)
				require.NoError(t, err)
				assert.Equal(t, res.want, got)
			})
		}
	}
}

func TestBudget(t *testing.T) {
	p := load(t, nil,
		asm.Mov.Imm(asm.R0, 0),
		asm.Ja.Label("loop").WithSymbol("loop"),
	)
	assert.Equal(t, uint64(DefaultBudget), p.Budget)
	p.Budget = 1000
	_, err := p.Run(nil)
	require.ErrorIs(t, err, ErrBudgetExceeded)
	var f *Fault
	require.ErrorAs(t, err, &f)
	assert.Equal(t, 1, f.Index)

	// The budget is per Run.
	q := load(t, nil, asm.Mov.Imm(asm.R0, 1), asm.Return())
	q.Budget = 2
	for range 3 {
		_, err := q.Run(nil)
		require.NoError(t, err)
	}
	q.Budget = 1
	_, err = q.Run(nil)
	assert.ErrorIs(t, err, ErrBudgetExceeded)
}

func TestConcurrentRuns(t *testing.T) {
	p := load(t, nil,
		asm.LoadMem(asm.R6, asm.R1, 0, asm.DWord),
		asm.StoreMem(asm.RFP, -8, asm.R6, asm.DWord),
		asm.Mov.Imm(asm.R0, 0),
		asm.Mov.Imm(asm.R1, 0),
		asm.Add.Imm(asm.R0, 1).WithSymbol("loop"),
		asm.Add.Imm(asm.R1, 1),
		asm.JLT.Imm(asm.R1, 1000, "loop"),
		asm.LoadMem(asm.R0, asm.RFP, -8, asm.DWord),
		asm.Return(),
	)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			ctx := make([]byte, 8)
			ctx[0] = byte(i)
			for range 100 {
				got, err := p.Run(ctx)
				if err == nil && got != uint64(i) {
					err = fmt.Errorf("goroutine %d got %d", i, got)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
}

func TestFaults(t *testing.T) {
	fp := asm.RFP
	tests := []struct {
		name  string
		insns asm.Instructions
		index int
		msg   string
	}{
		{"read above the frame", asm.Instructions{
			asm.LoadMem(asm.R0, fp, 0, asm.DWord),
		}, 0, "offset 512 of the stack of frame 0"},
		{"write below the frame", asm.Instructions{
			asm.Mov.Imm(asm.R0, 0),
			asm.StoreMem(fp, -520, asm.R0, asm.DWord),
		}, 1, "offset -8 of the stack of frame 0"},
		{"straddling the top", asm.Instructions{
			asm.LoadMem(asm.R0, fp, -4, asm.DWord),
		}, 0, "out of bounds"},
		{"scalar as pointer", asm.Instructions{
			asm.Mov.Imm(asm.R1, 0x1234),
			asm.LoadMem(asm.R0, asm.R1, 0, asm.Byte),
		}, 1, "not a pointer"},
		{"null", asm.Instructions{
			asm.Mov.Imm(asm.R1, 0),
			asm.StoreImm(asm.R1, 0, 1, asm.Word),
		}, 1, "not a pointer"},
		{"write to the context", asm.Instructions{
			asm.StoreImm(asm.R1, 0, 1, asm.Byte),
		}, 0, "read-only context"},
		{"read past the context", asm.Instructions{
			asm.LoadMem(asm.R0, asm.R1, 0, asm.DWord),
		}, 0, "context (4 bytes)"},
		{"atomic out of bounds", asm.Instructions{
			asm.Mov.Imm(asm.R1, 1),
			asm.StoreXAdd(fp, asm.R1, asm.DWord),
		}, 1, "out of bounds"},
		{"argument register after a helper call", asm.Instructions{
			asm.Mov.Reg(asm.R1, fp),
			asm.FnKtimeGetNs.Call(),
			asm.LoadMem(asm.R0, asm.R1, -8, asm.DWord),
		}, 2, "not a pointer"},
		{"unsupported helper", asm.Instructions{
			asm.FnGetCurrentTask.Call(),
		}, 0, "FnGetCurrentTask"},
		{"unknown helper id", asm.Instructions{
			asm.BuiltinFunc(0x10123).Call(),
		}, 0, "not available in user space"},
		{"source line in the message", asm.Instructions{
			asm.LoadMem(asm.R0, fp, 0, asm.DWord).WithSource(asm.Comment("x = y[1]")),
		}, 0, "[x = y[1]]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := load(t, nil, append(tt.insns, asm.Mov.Imm(asm.R0, 0), asm.Return())...)
			_, err := p.Run([]byte{1, 2, 3, 4})
			var f *Fault
			require.ErrorAs(t, err, &f)
			assert.Equal(t, tt.index, f.Index)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name  string
		insns asm.Instructions
		env   *Env
		msg   string
	}{
		{"empty", nil, nil, "empty program"},
		{"unknown map", asm.Instructions{
			asm.LoadMapPtr(asm.R1, 0).WithReference("nope"),
			asm.Return(),
		}, &Env{Maps: map[string]Map{"m": NewHashMap(4, 4, 1)}}, `unknown map "nope"`},
		{"map without a name", asm.Instructions{
			asm.LoadMapPtr(asm.R1, 3),
			asm.Return(),
		}, nil, "without a map name"},
		{"unknown label", asm.Instructions{
			asm.Ja.Label("nowhere"),
			asm.Return(),
		}, nil, `unknown label "nowhere"`},
		{"unknown function", asm.Instructions{
			asm.Call.Label("f"),
			asm.Return(),
		}, nil, `unknown label "f"`},
		{"jump past the end", asm.Instructions{
			{OpCode: asm.Ja.Op(asm.ImmSource), Offset: 5},
			asm.Return(),
		}, nil, "outside the program"},
		{"jump before the start", asm.Instructions{
			{OpCode: asm.Ja.Op(asm.ImmSource), Offset: -2},
			asm.Return(),
		}, nil, "outside the program"},
		{"jump into a LoadImm64", asm.Instructions{
			{OpCode: asm.Ja.Op(asm.ImmSource), Offset: 1},
			asm.LoadImm(asm.R0, 1, asm.DWord),
			asm.Return(),
		}, nil, "inside an instruction"},
		{"duplicate label", asm.Instructions{
			asm.Mov.Imm(asm.R0, 0).WithSymbol("a"),
			asm.Return().WithSymbol("a"),
		}, nil, "duplicate symbol"},
		{"legacy packet load", asm.Instructions{
			asm.LoadAbs(0, asm.Word),
			asm.Return(),
		}, nil, "unsupported"},
		{"kfunc call", asm.Instructions{
			{OpCode: asm.OpCode(asm.JumpClass).SetJumpOp(asm.Call), Src: asm.PseudoKfuncCall, Constant: 1},
			asm.Return(),
		}, nil, "unsupported"},
		{"write to R10", asm.Instructions{
			asm.Mov.Imm(asm.RFP, 0),
			asm.Return(),
		}, nil, "R10 is read-only"},
		{"load into R10", asm.Instructions{
			asm.LoadMem(asm.RFP, asm.R1, 0, asm.DWord),
			asm.Return(),
		}, nil, "R10 is read-only"},
		{"falls off the end", asm.Instructions{
			asm.Mov.Imm(asm.R0, 0),
		}, nil, "does not end with exit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.insns, tt.env)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

func TestFaultUnwraps(t *testing.T) {
	f := &Fault{Index: 3, Insn: asm.Return(), Err: ErrBudgetExceeded}
	assert.True(t, errors.Is(f, ErrBudgetExceeded))
	assert.Equal(t, "insn 3 (Exit): instruction budget exceeded", f.Error())
}

func BenchmarkLoop(b *testing.B) {
	p := load(b, nil,
		asm.Mov.Imm(asm.R0, 0),
		asm.Mov.Imm(asm.R1, 0),
		asm.Add.Reg(asm.R0, asm.R1).WithSymbol("loop"),
		asm.StoreMem(asm.RFP, -8, asm.R0, asm.DWord),
		asm.LoadMem(asm.R2, asm.RFP, -8, asm.DWord),
		asm.Add.Imm(asm.R1, 1),
		asm.JLT.Imm(asm.R1, 1000, "loop"),
		asm.Return(),
	)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Run(nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*5002), "ns/insn")
}
