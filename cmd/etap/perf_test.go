package main

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// busyLoop is a -c command that spins in the shell for a few hundred
// milliseconds: the shell process itself is target().
const busyLoop = `i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done`

// fields parses "name value" lines into a map.
func fields(t *testing.T, out string) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		name, val, ok := strings.Cut(line, " ")
		require.True(t, ok, "line %q", line)
		n, err := strconv.ParseInt(val, 10, 64)
		require.NoError(t, err, "line %q", line)
		m[name] = n
	}
	return m
}

func TestTimerProfileSamplesBusyChild(t *testing.T) {
	script := `global mine, name, all
probe timer.profile {
	all++
	if (pid() == target()) { mine++; name[execname()]++ }
}
probe end { printf("mine %d\nall %d\n", mine, all); foreach (e in name) printf("%s %d\n", e, name[e]) }`
	r := etap(t, "-e", script, "-c", busyLoop)
	require.Equal(t, 0, r.code, r.stderr)
	got := fields(t, r.stdout)
	// 250 samples a second while the loop spins for a few hundred ms.
	assert.GreaterOrEqual(t, got["mine"], int64(20), r.stdout)
	assert.GreaterOrEqual(t, got["all"], got["mine"])
	assert.Equal(t, got["mine"], got["sh"], "every sample of the target is in the shell: %s", r.stdout)
}

func TestTimerProfileSamplesEveryCPU(t *testing.T) {
	cpus, err := os.ReadFile("/sys/devices/system/cpu/online")
	require.NoError(t, err)
	script := `global n; probe timer.profile { n[cpu()]++ } probe timer.ms(300) { foreach (c in n) printf("cpu%d %d\n", c, n[c]); exit() }`
	// Keep every CPU busy: a CPU that sleeps through the 300 ms (NOHZ
	// idle) may take no sample at all.
	var done atomic.Bool
	defer done.Store(true)
	for range runtime.NumCPU() {
		go func() {
			for !done.Load() {
			}
		}()
	}
	r := etap(t, "-e", script)
	require.Equal(t, 0, r.code, r.stderr)
	got := fields(t, r.stdout)
	if strings.TrimSpace(string(cpus)) == "0-1" {
		assert.Len(t, got, 2, r.stdout)
	}
	for c, n := range got {
		assert.Positive(t, n, c)
	}
}

// TestPerCPUCountersSumOverCPUs counts on every CPU into arrays that the
// kernel probe only increments, which are per-CPU maps: user space sees
// each element's sum over the CPUs, in end and in the display of a global
// never read, equal to the scalar counted alongside with atomic adds.
func TestPerCPUCountersSumOverCPUs(t *testing.T) {
	script := `global n, c, k, shown
probe timer.profile { n++; c["all"]++; k[cpu()] += 2; shown["x"]-- }
probe timer.ms(300) { exit() }
probe end {
	s = 0; foreach (x in k) s += k[x]
	printf("n %d\nall %d\nk %d\n", n, c["all"], s)
}`
	var done atomic.Bool
	defer done.Store(true)
	for range runtime.NumCPU() {
		go func() {
			for !done.Load() {
			}
		}()
	}
	r := etap(t, "-e", script)
	require.Equal(t, 0, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 4, r.stdout)
	got := fields(t, strings.Join(lines[:3], "\n"))
	assert.Positive(t, got["n"], r.stdout)
	assert.Equal(t, got["n"], got["all"], r.stdout)
	assert.Equal(t, 2*got["n"], got["k"], r.stdout)
	assert.Equal(t, `shown["x"]=`+strconv.FormatInt(-got["n"], 10), lines[3])
}

func TestPerfSoftwareEvents(t *testing.T) {
	script := `global faults, switches, clock, typed
probe perf.sw.page_faults.sample(1) { if (pid() == target()) faults++ }
probe perf.sw.context_switches.sample(1) { switches++ }
probe perf.sw.task_clock.sample(1000000) { clock++ }
probe perf.type(1).config(0).hz(1000) { typed++ }
probe end { printf("faults %d\nswitches %d\nclock %d\ntyped %d\n", faults, switches, clock, typed) }`
	r := etap(t, "-e", script, "-c", getpidBin+" 100000")
	require.Equal(t, 0, r.code, r.stderr)
	got := fields(t, r.stdout)
	// A Go program touches hundreds of fresh pages as it starts.
	assert.Greater(t, got["faults"], int64(50), r.stdout)
	assert.Positive(t, got["switches"], r.stdout)
	assert.Positive(t, got["clock"], r.stdout)
	assert.Positive(t, got["typed"], r.stdout)
}

func TestTimerHz(t *testing.T) {
	r := etap(t, "-e", `global n; probe timer.hz(100) { n++ } probe timer.ms(500) { printf("ticks %d\n", n); exit() }`)
	require.Equal(t, 0, r.code, r.stderr)
	// 50 ticks in half a second, fewer on a loaded machine; never more.
	n := fields(t, r.stdout)["ticks"]
	assert.GreaterOrEqual(t, n, int64(10), r.stdout)
	assert.LessOrEqual(t, n, int64(51), r.stdout)
}

// TestPerfHardware checks perf.hw.*: refused at load, with the reason,
// on a machine without a PMU (such as this one); loaded where there is one.
func TestPerfHardware(t *testing.T) {
	_, err := os.Stat("/sys/bus/event_source/devices/cpu")
	havePMU := err == nil
	for _, pass := range []string{"-p4", "-p5"} {
		r := etap(t, pass, "-T", "1", "-e", `probe perf.hw.cpu_cycles { }`)
		if havePMU {
			assert.Equal(t, 0, r.code, r.stderr)
			continue
		}
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stderr, "<input>:1:7: attach error: this machine has no hardware performance counters (perf_event_open: ENOENT)")
	}
}

func TestSchedSwitchTypedArguments(t *testing.T) {
	script := `global n, bad, comm
probe kernel.trace("sched:sched_switch") {
	n++
	if ($prev->pid != tid()) bad++
	if ($next->pid == target()) comm = $next->comm
}
probe end { printf("n %d\nbad %d\n%s 1\n", n, bad, comm) }`
	r := etap(t, "-p3", "-e", script)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "tp_btf sched_switch", "a handler that reads $next->pid attaches as tp_btf")
	r = etap(t, "-e", script, "-c", getpidBin+" 10000")
	require.Equal(t, 0, r.code, r.stderr)
	got := fields(t, r.stdout)
	assert.Positive(t, got["n"], r.stdout)
	assert.Zero(t, got["bad"], "$prev is the task switched out: the current one")
	assert.Equal(t, int64(1), got["getpid"], "the target was switched in: %s", r.stdout)
}

func TestProfileExample(t *testing.T) {
	r := etap(t, "-T", "1", "../../examples/profile.stp")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `^[0-9]+ samples\n\nKERNEL FUNCTION +SAMPLES\n`, r.stdout)
	assert.Regexp(t, `(?m)^\S+\+0x[0-9a-f]+/0x[0-9a-f]+ \[\S+\] +[0-9]+$`, r.stdout, "kernel functions by symbol")
	assert.Regexp(t, `(?m)^PROCESS +SAMPLES\n\S+ +[0-9]+$`, r.stdout)
}

func TestManyTracepointsAttachAsTpBtf(t *testing.T) {
	many := `global n; probe kernel.trace("sched:*") { n++ } probe timer.ms(100) { printf("n>0 %d\n", n > 0); exit() }`
	r := etap(t, "-p3", "-e", many)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Greater(t, strings.Count(r.stdout, "(tp_btf sched_"), 8, "handlers that read no field attach as tp_btf when there are many")
	r = etap(t, "-e", many)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "n>0 1\n", r.stdout)

	few := `global n; probe kernel.trace("sched:sched_switch"), kernel.trace("sched:sched_wakeup") { n++ }`
	r = etap(t, "-p3", "-e", few)
	require.Equal(t, 0, r.code, r.stderr)
	assert.NotContains(t, r.stdout, "tp_btf", "a few perf tracepoints are cheaper than parsing the kernel's BTF")
	assert.Contains(t, r.stdout, "(tracepoint sched:sched_switch)")
}
