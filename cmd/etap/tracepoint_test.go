package main

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTracepointStringFields(t *testing.T) {
	script := `global comm
probe kernel.trace("sched:sched_switch") { if ($next_pid == target()) comm = $next_comm }
probe kernel.trace("sched:sched_process_exec") {
	if (pid() == target()) { printf("exec %s %d %s\n", $filename, $pid == pid(), comm); exit() }
}`
	// The shell that -c starts (the ; makes it one) is switched in, then
	// execs getpid, perhaps switched out and in again on the way.
	r := etap(t, "-e", script, "-c", "exec "+getpidBin+" 1;")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, "^exec "+regexp.QuoteMeta(getpidBin)+" 1 (sh|getpid)\n$", r.stdout)
}
