package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestListProbePoints(t *testing.T) {
	r := etap(t, "-l", `kernel.trace("sched:sched_switch")`)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "kernel.trace(\"sched:sched_switch\")\n", r.stdout)

	r = etap(t, "-l", `kernel.function("vfs_rea*")`)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, strings.Split(r.stdout, "\n"), `kernel.function("vfs_read")`)
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		assert.True(t, strings.HasPrefix(line, `kernel.function("vfs_rea`), line)
	}

	r = etap(t, "-l", `syscall.open*`)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, strings.Split(r.stdout, "\n"), "syscall.openat")
	assert.NotContains(t, r.stdout, ".return", "a wildcard stands for one component")

	r = etap(t, "-l", `perf.sw.*`)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Len(t, strings.Split(strings.TrimSpace(r.stdout), "\n"), 9)
}

func TestListContextVariables(t *testing.T) {
	r := etap(t, "-L", `kernel.trace("sched:sched_switch")`)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "kernel.trace(\"sched:sched_switch\") $preempt:bool $prev:struct task_struct* $next:struct task_struct* $prev_state:unsigned int\n", r.stdout)

	r = etap(t, "-L", `kernel.trace("syscalls:sys_enter_openat")`)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "kernel.trace(\"syscalls:sys_enter_openat\") $dfd:int $filename:const char* $flags:int $mode:umode_t\n", r.stdout)

	r = etap(t, "-L", `kernel.function("vfs_read")`)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "kernel.function(\"vfs_read\") $file:struct file* $buf:char* $count:size_t $pos:loff_t*\n", r.stdout)

	r = etap(t, "-L", `syscall.openat`)
	require.Equal(t, 0, r.code, r.stderr)
	assert.True(t, strings.HasPrefix(r.stdout, "syscall.openat name:string "), r.stdout)
	assert.Contains(t, r.stdout, " filename:string ")
	assert.Contains(t, r.stdout, " $filename:const char*")
}

func TestListBadPattern(t *testing.T) {
	r := etap(t, "-l", `foo.bar`)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "<pattern>:1:7: semantic error: unknown probe point foo.bar")

	r = etap(t, "-l", `kernel.trace("nosuch:*")`)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stdout)
}
