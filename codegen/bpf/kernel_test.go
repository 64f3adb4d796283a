package bpf_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// kernelFieldsScript prints every field of the fake tracepoint.
const kernelFieldsScript = `probe kernel.trace("syscalls:sys_enter_getpid") {
	printf("%d %d %d %d\n", $__syscall_nr, $s8, $u16, $s16)
	printf("%d %d %d\n", $u32, $s64, $u64)
	printf("%d\n", $__syscall_nr + $s8 * 2)
}`

// TestKernelFields loads tracepoint fields from the context: each is as
// wide as the format says and sign-extended only when it is signed.
func TestKernelFields(t *testing.T) {
	tests := []struct {
		name   string
		fields map[string]int64
		stdout string
	}{{
		name:   "zero",
		stdout: "0 0 0 0\n0 0 0\n0\n",
	}, {
		name: "all bits set",
		fields: map[string]int64{
			"__syscall_nr": -1, "s8": -1, "u16": 0xffff, "s16": -1, "u32": 0xffffffff, "s64": -1, "u64": -1,
		},
		stdout: "-1 -1 65535 -1\n4294967295 -1 -1\n-3\n",
	}, {
		name: "largest positive",
		fields: map[string]int64{
			"__syscall_nr": 0x7fffffff, "s8": 0x7f, "u16": 0x7fff, "s16": 0x7fff, "u32": 0x7fffffff,
			"s64": 0x7fffffffffffffff, "u64": 0x7fffffffffffffff,
		},
		stdout: "2147483647 127 32767 32767\n2147483647 9223372036854775807 9223372036854775807\n2147483901\n",
	}, {
		name: "smallest negative",
		fields: map[string]int64{
			"__syscall_nr": -0x80000000, "s8": -0x80, "u16": 0x8000, "s16": -0x8000, "u32": 0x80000000,
			"s64": -0x8000000000000000, "u64": -0x8000000000000000,
		},
		stdout: "-2147483648 -128 32768 -32768\n2147483648 -9223372036854775808 -9223372036854775808\n-2147483904\n",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr := run(t, kernelFieldsScript, tracepointRecord(t, tc.fields))
			assert.Equal(t, tc.stdout, stdout)
			assert.Empty(t, stderr)
		})
	}
}

// kernelEventsScript counts events in globals and locals.
const kernelEventsScript = `global n, byNr, last = "none"
probe begin { printf("begin %s\n", last) }
probe kernel.trace("syscalls:sys_enter_getpid") {
	l++
	ls = ls == "" ? "fresh" : "stale"
	n++
	byNr[$__syscall_nr] += 10
	printf("%d %d %s %s %d\n", n, l, ls, last, byNr[$__syscall_nr])
	last = n % 2 ? "odd" : "even"
	if (n == 3) exit()
}
probe end {
	foreach ([nr+] in byNr) printf("%d=%d ", nr, byNr[nr])
	printf("end %s\n", last)
}`

// TestKernelEvents fires the kernel probe several times: locals start
// afresh at each event, globals and arrays keep what earlier events left,
// and after exit() the probe returns at once until it is detached.
func TestKernelEvents(t *testing.T) {
	var events [][]byte
	for _, nr := range []int64{39, 39, -1, 7} {
		events = append(events, tracepointRecord(t, map[string]int64{"__syscall_nr": nr}))
	}
	stdout, stderr := run(t, kernelEventsScript, events...)
	assert.Equal(t, "begin none\n"+
		"1 1 fresh none 10\n"+
		"2 1 fresh odd 20\n"+
		"3 1 fresh even 10\n"+
		"-1=10 39=20 end odd\n", stdout)
	assert.Empty(t, stderr)
}

// kernelErrorScript divides by zero when __syscall_nr is 39.
const kernelErrorScript = `global n
probe kernel.trace("syscalls:sys_enter_getpid") {
	n++
	printf("%d\n", 100 / ($__syscall_nr - 39))
}
probe end { printf("end %d\n", n) }
probe error { printf("error %d\n", n) }`

// TestKernelError checks that a runtime error in a kernel probe ends the
// run as in user space: later events do nothing, error probes run instead
// of end probes.
func TestKernelError(t *testing.T) {
	stdout, stderr := run(t, kernelErrorScript,
		tracepointRecord(t, map[string]int64{"__syscall_nr": 59}),
		tracepointRecord(t, map[string]int64{"__syscall_nr": 39}),
		tracepointRecord(t, map[string]int64{"__syscall_nr": 49}))
	assert.Equal(t, "5\nerror 2\n", stdout)
	assert.Equal(t, "ERROR: division by 0 near operator '/' at <input>:4:21\n", stderr)
}
