package bpf_test

import (
	"fmt"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/codegen/bpf"
	"etap/internal/btftest"
)

// schedSwitchRecord is a sched_switch record as the fake tracefs lays it
// out.
func schedSwitchRecord(prevComm string, prevPid int32, nextComm string, nextPid int32) []byte {
	c := &kprobeContext{buf: make([]byte, 64)}
	copy(c.buf[8:24], prevComm)
	c.put(24, 4, uint64(prevPid))
	c.put(28, 4, 120)
	c.put(32, 8, 1)
	copy(c.buf[40:56], nextComm)
	c.put(56, 4, uint64(nextPid))
	c.put(60, 4, 100)
	return c.buf
}

func TestTracepointRecordStrings(t *testing.T) {
	stdout, stderr := run(t, `probe kernel.trace("sched:sched_switch") {
	printf("%s>%s|%s|%s|%s\n", $prev_comm, $next_comm, $$vars, $$vars$, $next_comm$)
}`, schedSwitchRecord("bash", 42, "a-name-of-sixteen", 7))
	assert.Empty(t, stderr)
	assert.Equal(t, `bash>a-name-of-sixte|`+
		`prev_comm="bash" prev_pid=0x2a prev_prio=0x78 prev_state=0x1 next_comm="a-name-of-sixte" next_pid=0x7 next_prio=0x64|`+
		`prev_comm="bash" prev_pid=42 prev_prio=120 prev_state=1 next_comm="a-name-of-sixte" next_pid=7 next_prio=100|`+
		`"a-name-of-sixte"`+"\n", stdout, "a char[16] holds 15 characters and its NUL")
}

func TestRawTracepointArguments(t *testing.T) {
	// tp_btf's context: one 8-byte slot per argument, then the tasks.
	c := &kprobeContext{t: t, buf: make([]byte, 32)}
	task := func(pid int32, comm string) uint64 {
		off := c.alloc(btftest.TaskSize)
		c.put(off+btftest.TaskPid, 4, uint64(pid))
		copy(c.buf[off+btftest.TaskComm:], comm)
		return addr(off)
	}
	prev, next := task(42, "bash"), task(7, "etap")
	c.put(0, 1, 1)
	c.put(8, 8, prev)
	c.put(16, 8, next)
	c.put(24, 4, 0x100)
	src := `probe kernel.trace("sched:sched_switch") {
	printf("%d %s -> %d %s preempt=%d state=%d\n", $prev->pid, $prev->comm, $next->pid, $next->comm, $preempt, $prev_state)
	println($$parms)
	println(addr())
}`
	stdout, stderr := run(t, src, c.buf)
	assert.Empty(t, stderr)
	assert.Equal(t, fmt.Sprintf("42 bash -> 7 etap preempt=1 state=256\npreempt=0x1 prev=0x%x next=0x%x prev_state=0x100\n0\n", prev, next), stdout)

	out := compile(t, src)
	require.Len(t, out.Kernel, 1)
	k := out.Kernel[0]
	assert.Equal(t, bpf.AttachRawTracepoint, k.Attach)
	spec := out.Spec.Programs[k.Name]
	assert.Equal(t, ebpf.Tracing, spec.Type)
	assert.Equal(t, ebpf.AttachTraceRawTp, spec.AttachType)
	assert.Equal(t, "sched_switch", spec.AttachTo)
	checkProgram(t, out, spec.Instructions)
}

func TestAddrReadsTheInstructionPointer(t *testing.T) {
	c := newKprobeContext(t)
	c.reg("ip", 0xffffffff81234567)
	stdout, stderr := run(t, `probe kernel.function("vfs_read") { printf("%x\n", addr()) }`, c.buf)
	assert.Empty(t, stderr)
	assert.Equal(t, "ffffffff81234567\n", stdout)
}

func TestPerfPrograms(t *testing.T) {
	out := compile(t, `probe timer.profile, perf.sw.page_faults.sample(10), perf.type(1).config(3).hz(99) { printf("%d %x\n", cpu(), addr()) }`)
	require.Len(t, out.Kernel, 3)
	for _, k := range out.Kernel {
		assert.Equal(t, bpf.AttachPerfEvent, k.Attach)
		spec := out.Spec.Programs[k.Name]
		assert.Equal(t, ebpf.PerfEvent, spec.Type)
		checkProgram(t, out, spec.Instructions)
	}
	assert.Equal(t, uint64(4000000), out.Kernel[0].Point.Perf.Period, "timer.profile: 250 Hz of cpu-clock")
	assert.Equal(t, uint64(2), out.Kernel[1].Point.Perf.Config)
	assert.Equal(t, uint64(99), out.Kernel[2].Point.Perf.Freq)
}
