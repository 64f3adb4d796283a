package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBacktraceOfTracepoint(t *testing.T) {
	script := `probe kernel.trace("syscalls:sys_enter_getpid") {
	if (pid() != target()) next
	printf("bt %s\n", backtrace())
	print_backtrace()
	exit()
}`
	r := etap(t, "-e", script, "-c", getpidBin+" 1")
	require.Equal(t, 0, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Greater(t, len(lines), 1, r.stdout)
	assert.Regexp(t, `^bt (0x[0-9a-f]+ )*0x[0-9a-f]+$`, lines[0])
	addrs := strings.Fields(strings.TrimPrefix(lines[0], "bt "))
	require.Len(t, lines[1:], len(addrs), "one line per frame")
	frame := regexp.MustCompile(`^ (0x[0-9a-f]+) : ([A-Za-z0-9_.]+)\+0x[0-9a-f]+/0x[0-9a-f]+ \[kernel\]$`)
	var funcs []string
	for i, line := range lines[1:] {
		m := frame.FindStringSubmatch(line)
		require.NotNil(t, m, line)
		assert.Equal(t, addrs[i], m[1])
		funcs = append(funcs, m[2])
	}
	// A system call's tracepoint fires on the way in from its entry.
	assert.Contains(t, funcs, "do_syscall_64", r.stdout)
}

func TestSymnameOfSamples(t *testing.T) {
	script := `probe timer.profile {
	if (addr() >= 0) next // kernel addresses are negative longs
	printf("%x %s %s\n", addr(), symname(addr()), symdata(addr()))
	exit()
}`
	r := etap(t, "-e", script)
	require.Equal(t, 0, r.code, r.stderr)
	// Both CPUs may sample before exit() stops them: the first line.
	first, _, _ := strings.Cut(r.stdout, "\n")
	m := regexp.MustCompile(`^([0-9a-f]+) (\S+) (\S+)\+0x[0-9a-f]+/0x[0-9a-f]+ \[\S+\]$`).FindStringSubmatch(first)
	require.NotNil(t, m, r.stdout)
	assert.True(t, strings.HasPrefix(m[1], "ffff"), m[1])
	assert.NotRegexp(t, `^0x`, m[2], "a name from /proc/kallsyms")
	assert.Equal(t, m[2], m[3], "symname is symdata's name")
}

func TestSymbolsOnlyPrinted(t *testing.T) {
	r := etap(t, "-e", `probe kernel.trace("syscalls:sys_enter_getpid") { s = symname(addr()); println(s) }`)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "compile error: symname() can only be printed in etap")
	assert.Contains(t, r.stderr, `hint: use it as an argument of printf, print or println`)
}

func TestAddrWithoutRegisters(t *testing.T) {
	r := etap(t, "-e", `probe begin { printf("%d [%s]\n", addr(), backtrace()); exit() }`)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "0 []\n", r.stdout)
}

func TestSymbolsInUserSpace(t *testing.T) {
	syms, err := os.ReadFile("/proc/kallsyms")
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^([0-9a-f]+) [Tt] vfs_read$`).FindSubmatch(syms)
	require.NotNil(t, m, "vfs_read in /proc/kallsyms")
	// An address kept by a kernel probe and printed in end: named the same.
	script := `global a
probe begin { a = 0x` + string(m[1]) + ` + 3; print_backtrace(); exit() }
probe end { printf("%s|%s\n", symname(a), symdata(a)) }`
	r := etap(t, "-e", script)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `^vfs_read\|vfs_read\+0x3/0x[0-9a-f]+ \[kernel\]\n$`, r.stdout, "print_backtrace() in user space prints nothing")
}

func TestBacktraceOfRawTracepoint(t *testing.T) {
	r := etap(t, "-e", `probe kernel.trace("sched:sched_switch") { if ($next->pid >= 0) { print_backtrace(); exit() } }`)
	require.Equal(t, 0, r.code, r.stderr)
	assert.NotContains(t, r.stdout, "[bpf]", "the probe's own frames are left out")
	assert.NotContains(t, r.stdout, "bpf_trace_run")
	assert.Regexp(t, `^ 0x[0-9a-f]+ : __schedule\+`, r.stdout, "sched_switch fires in __schedule")
}
