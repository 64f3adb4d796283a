package main

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVarsStrings(t *testing.T) {
	script := `probe kernel.trace("sched:sched_switch") {
	if ($next_pid != target()) next
	printf("[%s]\n", $$vars)
	println($$parms$)
	print($$locals, "|", $$vars$, "\n")
	printf("%s %s %d\n", $next_comm$, $next_pid$, $next_pid)
	exit()
}`
	r := etap(t, "-e", script, "-c", getpidBin+" 10")
	require.Equal(t, 0, r.code, r.stderr)
	lines := regexp.MustCompile("\n").Split(r.stdout, -1)
	require.Len(t, lines, 5, r.stdout)
	pid := `[0-9]+`
	assert.Regexp(t, `^\[prev_comm="[^"]*" prev_pid=0x[0-9a-f]+ prev_prio=0x[0-9a-f]+ prev_state=0x[0-9a-f]+ next_comm="[^"]*" next_pid=0x[0-9a-f]+ next_prio=0x[0-9a-f]+\]$`, lines[0])
	assert.Regexp(t, `^prev_comm="[^"]*" prev_pid=`+pid+` prev_prio=`+pid+` prev_state=-?`+pid+` next_comm="[^"]*" next_pid=`+pid+` next_prio=`+pid+`$`, lines[1])
	assert.Equal(t, "|"+lines[1], lines[2], "$$locals is empty; $$vars$ is $$parms$")
	m := regexp.MustCompile(`^"([^"]*)" (` + pid + `) (` + pid + `)$`).FindStringSubmatch(lines[3])
	require.NotNil(t, m, lines[3])
	assert.Equal(t, m[3], m[2], "$next_pid$ is the number")
	assert.Contains(t, lines[1], `next_comm="`+m[1]+`"`)
}

func TestVarsStringOnlyPrinted(t *testing.T) {
	r := etap(t, "-e", `probe kernel.trace("sched:sched_switch") { x = $$vars; println(x) }`)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "compile error: etap builds context strings such as $$vars only where they are printed")
}

// TestTracepointCommonFields reads $common_pid, which the kernel wrote
// over before the program runs (it is the current thread), and refuses
// the other common fields, which are gone.
func TestTracepointCommonFields(t *testing.T) {
	r := etap(t, "-e", `probe kernel.trace("syscalls:sys_enter_getpid") { if (pid() == target()) { printf("%d\n", $common_pid == tid()); exit() } }`, "-c", getpidBin+" 1")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "1\n", r.stdout)

	r = etap(t, "-p3", "-e", `probe kernel.trace("sched:sched_switch") { println($common_flags) }`)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "<input>:1:52: compile error: the kernel hides $common_flags from BPF programs")
}
