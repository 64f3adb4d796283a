package bpf_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/codegen/bpf"
	"etap/maps"
)

// TestRegisterArgs checks stap's dwarfless argument functions: the nth
// argument register, cut to 32 bits and sign- or zero-extended, or whole.
func TestRegisterArgs(t *testing.T) {
	c := newKprobeContext(t)
	c.reg("di", 0xffffffff_fffffffe)
	c.reg("si", 0x12345678_ffffffff)
	stdout, stderr := run(t, `probe kernel.function("vfs_fsync") {
  printf("%d %d %d %d\n", int_arg(2), uint_arg(2), s32_arg(1), u32_arg(1))
  printf("%x %x %x %x %d\n", long_arg(2), ulong_arg(2), s64_arg(2), u64_arg(2), pointer_arg(1))
}`, c.buf)
	assert.Empty(t, stderr)
	assert.Equal(t, "-1 4294967295 -2 4294967294\n12345678ffffffff 12345678ffffffff 12345678ffffffff 12345678ffffffff -2\n", stdout)

	c.reg("ax", 42)
	stdout, _ = run(t, `probe kernel.function("vfs_read").return { printf("%d\n", returnval()) }`, c.buf)
	assert.Equal(t, "42\n", stdout)
}

// TestRegisterErrors checks the calls codegen cannot place.
func TestRegisterErrors(t *testing.T) {
	tests := []struct {
		name, src, code, message string
		params                   maps.Params
	}{
		{"computed argument number", `probe kernel.function("vfs_read") { n = 1; print(uint_arg(n)) }`, "C010", "uint_arg needs an argument number from 1 to 6 written as a number", maps.DefaultParams()},
		{"argument number too large", `probe kernel.function("vfs_read") { print(long_arg(7)) }`, "C010", "from 1 to 6", maps.DefaultParams()},
		{"no registers", tracepointProbe + ` print(pointer_arg(1)) }`, "C010", "pointer_arg() reads registers, which kernel.trace", maps.DefaultParams()},
		{"returnval on entry", `probe kernel.function("vfs_read") { print(returnval()) }`, "C010", "returnval() in kernel.function(\"vfs_read\"), which is not a .return probe", maps.DefaultParams()},
		{"user stack in begin", `probe begin { print(ubacktrace()) }`, "C011", "ubacktrace() reads the probed process's user stack, which begin does not have", maps.DefaultParams()},
		{"uaddr in begin", `probe begin { print(uaddr()) }`, "C011", "uaddr()", maps.DefaultParams()},
		{"short strings", tracepointProbe + ` print(usymname(1)) }`, "C012", "usymname() needs strings of 19 bytes, more than MAXSTRINGLEN", maps.Params{StringLen: 16, MaxMapEntries: 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := bpf.Compile(checkScript(t, tt.src), bpf.Options{Params: tt.params})
			require.NotEmpty(t, diags.Items)
			assert.Equal(t, tt.code, diags.Items[0].Code)
			assert.Contains(t, diags.Items[0].Message, tt.message)
		})
	}
}
