package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests run the etap binary as a user would, on the real kernel: they
// load and attach BPF programs, so they need root, which the test machines
// have.

var (
	etapBin   string
	getpidBin string
	filesBin  string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "etap-test")
	if err != nil {
		panic(err)
	}
	etapBin = filepath.Join(dir, "etap")
	getpidBin = filepath.Join(dir, "getpid")
	filesBin = filepath.Join(dir, "files")
	for bin, pkg := range map[string]string{etapBin: ".", getpidBin: "./testdata/getpid", filesBin: "./testdata/files"} {
		out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", pkg, err, out)
			os.Exit(1)
		}
	}
	// The getpid child must make no getpid calls of its own: see its doc.
	os.Setenv("GODEBUG", "asyncpreemptoff=1")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// etapTimeout bounds one run: a script that never reaches exit() fails.
const etapTimeout = 30 * time.Second

// etap runs the binary with args and returns what it printed.
func etap(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), etapTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, etapBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "etap ran longer than %v", etapTimeout)
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

func TestHello(t *testing.T) {
	r := etap(t, "-e", `probe begin { printf("hello %d %s\n", 42, "world"); exit() }`)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "hello 42 world\n", r.stdout)
}

const countGetpid = `global n; probe kernel.trace("syscalls:sys_enter_getpid") { if (pid() == target()) n++ }`

func TestCountTargetSyscalls(t *testing.T) {
	r := etap(t, "-e", countGetpid+` probe end { printf("%d\n", n) }`, "-c", getpidBin)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "1000\n", r.stdout)
}

func TestDisplayWrittenGlobals(t *testing.T) {
	r := etap(t, "-e", countGetpid, "-c", getpidBin)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "n=1000\n", r.stdout)
}

func TestDisplayArraysByValue(t *testing.T) {
	r := etap(t, "-e", `global a, s, names; probe begin { a["x"] = 1; a["y"] = 3; a["z"] = 2; s = "str"; names[1, "k"] = "v"; exit() }`)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "a[\"y\"]=3\na[\"z\"]=2\na[\"x\"]=1\ns=\"str\"\nnames[1,\"k\"]=\"v\"\n", r.stdout)
}

func TestTopProcessesBySyscalls(t *testing.T) {
	script := `global c; probe kernel.trace("raw_syscalls:sys_enter") { c[execname()]++ }
probe timer.s(2) { foreach (k in c- limit 5) printf("%-16s %d\n", k, c[k]); exit() }`
	// A busy process that the top five must show, whatever else the
	// machine is doing: getpid makes a syscall per loop, as fast as it can.
	busy := exec.Command(getpidBin, "100000000")
	require.NoError(t, busy.Start())
	defer func() {
		busy.Process.Kill()
		busy.Wait()
	}()
	r := etap(t, "-e", script)
	require.Equal(t, 0, r.code, r.stderr)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	require.NotEmpty(t, lines)
	assert.LessOrEqual(t, len(lines), 5)
	row := regexp.MustCompile(`^(.{16}) (\d+)$`)
	last := int64(-1)
	for _, line := range lines {
		m := row.FindStringSubmatch(line)
		require.NotNil(t, m, "line %q", line)
		n, err := strconv.ParseInt(m[2], 10, 64)
		require.NoError(t, err)
		if last >= 0 {
			assert.LessOrEqual(t, n, last, "counts must descend")
		}
		last = n
	}
	// Other busy processes may outrun it on a shared machine; it must
	// be among the five.
	assert.Regexp(t, `(?m)^getpid `, r.stdout, "the busy process is in the top five")
}

func TestParseErrorIsPositioned(t *testing.T) {
	r := etap(t, "-e", `probe begin() {}`)
	assert.Equal(t, 1, r.code)
	assert.Empty(t, r.stdout)
	assert.Contains(t, r.stderr, "<input>:1:12: parse error:")
	assert.Contains(t, r.stderr, "source: probe begin() {}\n")
	assert.Contains(t, r.stderr, "\n                           ^\n", "caret under the (")
	assert.Contains(t, r.stderr, "hint: write 'probe begin { ... }'")
	assert.NotContains(t, r.stderr, "goroutine", "no Go stack trace")
}

func TestSemanticErrors(t *testing.T) {
	tests := []struct {
		name, script, want string
	}{
		{"type mismatch", `probe begin { x = 1; x = "s" }`, `<input>:1:22: semantic error: type mismatch`},
		{"unknown function", `probe begin { printff("x") }`, `did you mean 'printf'`},
		{"unknown tracepoint", `probe kernel.trace("sched:sched_swich") {}`, `did you mean "sched:sched_switch"`},
		{"not built yet", `function f() { next } probe begin { f() }`, `next statements in functions are not built yet in etap`},
		{"unknown field", `probe kernel.trace("syscalls:sys_enter_openat") { print($flag) }`, `did you mean $flags?`},
		{"printf arguments", `probe begin { printf("%d %s\n", 1) }`, `wants 2 arguments`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := etap(t, "-p2", "-e", tt.script)
			assert.Equal(t, 1, r.code)
			assert.Contains(t, r.stderr, tt.want)
			assert.Contains(t, r.stderr, "source: ")
		})
	}
}

func TestRuntimeErrorEndsTheRun(t *testing.T) {
	for name, script := range map[string]string{
		"user":   `global z; probe begin { printf("%d\n", 10 / z) } probe end { print("end\n") } probe error { print("error probe\n") }`,
		"kernel": `global z; probe kernel.trace("syscalls:sys_enter_getpid") { if (pid() == target()) printf("%d\n", 10 % z) } probe error { print("error probe\n") }`,
	} {
		t.Run(name, func(t *testing.T) {
			r := etap(t, "-e", script, "-c", getpidBin)
			assert.Equal(t, 1, r.code)
			assert.Equal(t, "error probe\n", r.stdout)
			assert.Regexp(t, `ERROR: division by 0 near operator '[/%]' at <input>:1:\d+`, r.stderr)
		})
	}
}

func TestListingShowsSourceLines(t *testing.T) {
	r := etap(t, "-p3", "-e", "global n\nprobe kernel.trace(\"syscalls:sys_enter_getpid\") {\n  n++\n}")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "; <input>:3:3: n++")
	assert.Contains(t, r.stdout, "Call FnMapLookupElem")
	assert.Contains(t, r.stdout, "# maps")
}

func TestLoadOnly(t *testing.T) {
	r := etap(t, "-p4", "-e", countGetpid+` probe end { printf("%d\n", n) }`)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stdout, "-p4 runs no probe")
}

func TestVerbosePassTimes(t *testing.T) {
	r := etap(t, "-v", "-e", `probe begin { exit() }`)
	assert.Equal(t, 0, r.code, r.stderr)
	for pass := 1; pass <= 5; pass++ {
		assert.Contains(t, r.stderr, fmt.Sprintf("Pass %d: ", pass))
	}
}

func TestTimeoutEndsTheRun(t *testing.T) {
	start := time.Now()
	r := etap(t, "-T", "1", "-e", `global ticks; probe timer.ms(100) { ticks++ } probe end { printf("end %d\n", ticks > 3) }`)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "end 1\n", r.stdout)
	assert.Less(t, time.Since(start), 10*time.Second)
}

func TestSignalEndsTheRunLikeExit(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(etapBin, "-e", `probe begin { print("ready\n") } probe end { print("end\n") }`)
			var stdout bytes.Buffer
			cmd.Stdout = &stdout
			pr, pw, err := os.Pipe()
			require.NoError(t, err)
			cmd.Stdout = pw
			require.NoError(t, cmd.Start())
			pw.Close()
			buf := make([]byte, 6)
			_, err = pr.Read(buf)
			require.NoError(t, err)
			require.Equal(t, "ready\n", string(buf))
			require.NoError(t, cmd.Process.Signal(sig))
			rest := make([]byte, 16)
			n, _ := pr.Read(rest)
			require.NoError(t, cmd.Wait())
			assert.Equal(t, "end\n", string(rest[:n]))
		})
	}
}

func TestLanguageCore(t *testing.T) {
	script := `global arr, s = "init", big = 0x7fffffffffffffff
probe begin {
	arr[1, "a"] = 10; arr[2, "b"] = 20; arr[3, "a"] = 30
	total = 0
	foreach ([i, k] in arr+) total += i
	first = ""
	foreach ([i, k] in arr- limit 1) first = k
	if (!([2, "b"] in arr) || [9, "z"] in arr) printf("bad in\n")
	delete arr[2, "b"]
	x = -7; y = 2
	printf("%d %d %d %d %s %s %d\n", total, x / y, x % y, arr[2, "b"], first, s, big)
	printf("%5d|%-5d|%x|%u|%s|%%\n", 42, 42, 255, -1, s == "init" ? "eq" : "ne")
	c = 0; c++; ++c; c--; c += 10; c -= 2
	printf("%d %d\n", c, 0xffffffffffffffff)
	exit()
}`
	r := etap(t, "-e", script)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "6 -3 -1 0 a init 9223372036854775807\n   42|42   |ff|18446744073709551615|eq|%\n9 -1\n", r.stdout)
}

func TestContextBuiltins(t *testing.T) {
	now := time.Now().Unix()
	script := `probe kernel.trace("syscalls:sys_enter_getpid") {
	if (pid() == target()) {
		printf("%d %d %d %d %s %d\n", tid() == pid(), uid(), gid(), cpu() >= 0, execname(), gettimeofday_s())
		exit()
	}
}
probe end { printf("%d %d\n", gettimeofday_ms() / 1000 - gettimeofday_s() <= 1, gettimeofday_ns() / 1000 - gettimeofday_us() <= 1000000) }`
	r := etap(t, "-e", script, "-c", getpidBin)
	require.Equal(t, 0, r.code, r.stderr)
	var same, uid, gid, cpu, secs int64
	var comm string
	_, err := fmt.Sscanf(r.stdout, "%d %d %d %d %s %d\n1 1\n", &same, &uid, &gid, &cpu, &comm, &secs)
	require.NoError(t, err, r.stdout)
	assert.Equal(t, []int64{1, int64(os.Getuid()), int64(os.Getgid()), 1}, []int64{same, uid, gid, cpu})
	assert.Equal(t, "getpid", comm)
	assert.InDelta(t, now, secs, 5, "gettimeofday_s() in the kernel is wall-clock time")
}

func TestTargetFromPid(t *testing.T) {
	r := etap(t, "-x", "4242", "-e", `probe begin { printf("%d\n", target()); exit() }`)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "4242\n", r.stdout)
}

// TestKernelLoops checks that the verifier takes etap's loops: they are
// bounded by the MAXACTION count.
func TestKernelLoops(t *testing.T) {
	script := `global n
probe kernel.trace("syscalls:sys_enter_getpid") {
	if (pid() != target()) next
	for (i = 0; i < 10; i++) { j = 0; while (j < i) { j++; if (j % 3 == 0) continue; n++ } }
	exit()
}
probe end { printf("%d\n", n) }`
	r := etap(t, "-e", script, "-c", getpidBin)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "33\n", r.stdout)

	r = etap(t, "-D", "MAXACTION=50", "-e", `probe kernel.trace("syscalls:sys_enter_getpid") { while (1) {} }`, "-c", getpidBin)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "ERROR: MAXACTION exceeded near keyword at <input>:1:")
}

// TestKernelFunctions checks that inlined script functions pass the
// verifier and compute in a kernel probe.
func TestKernelFunctions(t *testing.T) {
	script := `global n
function bump(by) { n += by; return n }
function parity:string (x) { if (x % 2) return "odd"; return "even" }
function sum(k) { s = 0; for (i = 1; i <= k; i++) s += i; return s }
probe kernel.trace("syscalls:sys_enter_getpid") {
	if (pid() != target()) next
	bump(2)
	if (n == 10) { printf("%s %d %d\n", parity(n), bump(0), sum(10)); exit() }
}`
	r := etap(t, "-e", script, "-c", getpidBin)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "even 10 55\n", r.stdout)
}

// histLine is one row of a drawn histogram: the label right-aligned in
// width columns, bar @ signs, and the count right-aligned after room for a
// full bar and cntSpace digits.
func histLine(width int, label string, bar int, count int64, cntSpace int) string {
	return fmt.Sprintf("%*s |%s%*d\n", width, label, strings.Repeat("@", bar), 50-bar+1+cntSpace, count)
}

// TestKernelStats feeds statistics in a kernel probe, on whatever CPUs the
// child runs, and reads them merged in the end probe.
func TestKernelStats(t *testing.T) {
	script := `global s
probe kernel.trace("syscalls:sys_enter_getpid") { if (pid() == target()) s <<< 5 }
probe end { printf("%d %d %d %d %d\n", @count(s), @sum(s), @min(s), @max(s), @avg(s)); print(@hist_log(s)) }`
	r := etap(t, "-e", script, "-c", getpidBin)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "1000 5000 5 5 5\n"+
		"value |-------------------------------------------------- count\n"+
		histLine(5, "1", 0, 0, 4)+
		histLine(5, "2", 0, 0, 4)+
		histLine(5, "4", 50, 1000, 4)+
		histLine(5, "8", 0, 0, 4)+
		histLine(5, "16", 0, 0, 4)+
		"\n", r.stdout)
}

// TestKernelStatArraysAndDisplay feeds a statistic array and a linear
// histogram in a kernel probe; the array, never read, is displayed at the
// end with every CPU's values merged. (@variance depends on how the
// child's calls split over CPUs, so the codegen tests check it.)
func TestKernelStatArraysAndDisplay(t *testing.T) {
	script := `global a, h, n
probe kernel.trace("syscalls:sys_enter_getpid") {
	if (pid() != target()) next
	a[execname(), 7] <<< 2
	h <<< n++ % 20
}
probe end { printf("%d %d %d\n", @min(h), @max(h), @avg(h)); print(@hist_linear(h, 0, 20, 5)) }`
	r := etap(t, "-e", script, "-c", getpidBin)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "0 19 9\n"+
		"value |-------------------------------------------------- count\n"+
		histLine(5, "0", 50, 250, 3)+
		histLine(5, "5", 50, 250, 3)+
		histLine(5, "10", 50, 250, 3)+
		histLine(5, "15", 50, 250, 3)+
		histLine(5, "20", 0, 0, 3)+
		"\n"+
		"a[\"getpid\",7] @count=1000 @min=2 @max=2 @sum=2000 @avg=2\n"+
		"n=1000\n", r.stdout)
}

// TestUserAndKernelStats feeds one statistic from a user-space probe (as
// CPU 0 of the kernel's per-CPU map) and from a kernel probe, resets it
// in user space, and raises stap's error on an empty extraction.
func TestUserAndKernelStats(t *testing.T) {
	script := `global s, a
probe begin { s <<< 100; a["u"] <<< 1 }
probe kernel.trace("syscalls:sys_enter_getpid") { if (pid() == target()) { s <<< 1; a["k"] <<< 2 } }
probe end {
	printf("%d %d %d %d\n", @count(s), @sum(s), @max(s), @count(a["u"]) + @count(a["k"]))
	delete s
	printf("%d\n", @count(s))
	s <<< 7
	printf("%d\n", @min(s))
	delete s
	printf("%d\n", @avg(s))
}`
	r := etap(t, "-e", script, "-c", getpidBin)
	assert.Equal(t, 1, r.code)
	assert.Equal(t, "1001 1100 100 1001\n0\n7\n", r.stdout)
	assert.Equal(t, "ERROR: empty aggregate near operator '@avg' at <input>:11:17\n", r.stderr)
}

// TestSyscallOpenatTapset runs syscall.openat from the embedded tapset on
// a child that opens a known file, and checks the alias's variables:
// filename is in quotes, as stap gives it.
func TestSyscallOpenatTapset(t *testing.T) {
	dir := filesDir(t)
	r := etap(t, "-e", `probe syscall.openat { if (pid() == target() && filename == "\"`+dir+`/in\"") printf("%s %s %d\n", name, filename, flags & 3) }`,
		"-c", filesBin+" "+dir+" 0")
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "openat \""+dir+"/in\" 0\n")
}

// TestIncludeTapsetDir checks that -I adds a directory's aliases and
// functions to the library, and that an unused broken tapset costs
// nothing.
func TestIncludeTapsetDir(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "mine.stp"), []byte(`
function twice(n) { return 2 * n }
probe my.start = begin { greeting = "hi" }
function broken() { x = 1; x = "s" }
`), 0o644))
	r := etap(t, "-I", dir, "-e", `probe my.start { printf("%s %d\n", greeting, twice(21)); exit() }`)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "hi 42\n", r.stdout)

	sub := filepath.Join(dir, "x86_64", "6.18")
	require.NoError(t, os.MkdirAll(sub, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(sub, "deep.stp"), []byte(`function deep() { return "deep" }`), 0o644))
	r = etap(t, "-I", dir, "-e", `probe begin { println(deep()); exit() }`)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "deep\n", r.stdout, "-I reads the subdirectories too")

	r = etap(t, "-I", filepath.Join(dir, "missing"), "-e", `probe begin { exit() }`)
	assert.NotEqual(t, 0, r.code)
	assert.Contains(t, r.stderr, "missing")
}

// TestCastTaskCurrent reads the current task through @cast from BTF and
// compares it with the builtins that read it through helpers.
func TestCastTaskCurrent(t *testing.T) {
	script := `probe kernel.trace("syscalls:sys_enter_getpid") {
	if (pid() == target()) {
		task = task_current()
		printf("%d %d %d\n", @cast(task, "task_struct")->tgid == pid(), @cast(task, "struct task_struct")->pid == tid(), @cast(task, "task_struct")->real_parent->tgid > 0)
		printf("%s %s\n", @cast(task_current(), "task_struct", "kernel")->comm, execname())
		exit()
	}
}`
	r := etap(t, "-e", script, "-c", getpidBin)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "1 1 1\ngetpid getpid\n", r.stdout)
}

// TestUnoptimized checks -u: a constant division by zero is an error at
// compile time when etap folds, and a run-time error with -u; -p2 shows
// the folded program, and with -u the program as written and its unused
// functions.
func TestUnoptimized(t *testing.T) {
	script := `function unused() { return 1 } probe begin { println(60 * 60) if (0) println(1 / 0) }`
	r := etap(t, "-p2", "-e", script)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "# globals\n# functions\n# probes\nbegin /* begin, user */\n{\n\tprintln(3600);\n}\n", r.stdout)

	r = etap(t, "-p2", "-u", "-e", script)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "unused:long ()")
	assert.Contains(t, r.stdout, "println((60) * (60));\n\tif (0) println((1) / (0));")

	r = etap(t, "-e", `probe begin { println(7 / 0) }`)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "semantic error: division by zero in a constant expression")
	r = etap(t, "-u", "-e", `probe begin { println(7 / 0) }`)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "ERROR: division by 0")
}

// TestPrivateTapsetGlobal runs a tapset whose private global array has the
// name of one of the script's: two maps, two types.
func TestPrivateTapsetGlobal(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lib.stp"), []byte(`
private global seen
function lib_note(k) { seen[k]++; return seen[k] }
`), 0o644))
	r := etap(t, "-I", dir, "-e", `global seen
probe begin { seen["a"] = "script"; lib_note(1); printf("%d %s\n", lib_note(1), seen["a"]); exit() }`)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "2 script\n", r.stdout)
}

// TestTracepointStringFields reads a __data_loc string and a char array
// from tracepoint records on the real kernel. The shell's child is told
// from other processes by its parent, through @cast.
func TestTracepointStringFields(t *testing.T) {
	r := etap(t, "-e", `probe kernel.trace("sched:sched_process_exec") {
	if (@cast(task_current(), "task_struct")->real_parent->tgid == target()) { printf("%s %d\n", $filename, $pid == pid()); exit() }
}`, "-c", "sh -c '"+getpidBin+" 1; true'")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, getpidBin+" 1\n", r.stdout)

	r = etap(t, "-e", `probe kernel.trace("sched:sched_switch") {
	if ($prev_pid == target()) { printf("%s %d\n", $prev_comm, $prev_comm == execname()); exit() }
}`, "-c", getpidBin+" 1000")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "getpid 1\n", r.stdout)
}

// TestHandlerPerPoint runs one handler on two tracepoints that provide
// different fields: each point has its own body, where @defined kept the
// branch its fields allow, and its own program.
func TestHandlerPerPoint(t *testing.T) {
	r := etap(t, "-e", `global seen
probe kernel.trace("sched:sched_process_exec"), kernel.trace("syscalls:sys_enter_getpid") {
	// Only the child of the shell: other getpid processes may run.
	if (@cast(task_current(), "task_struct")->real_parent->tgid != target()) next
	what = @defined($filename) ? $filename : "getpid"
	if (!(what in seen)) println(what)
	seen[what] = 1
	if (@defined($__syscall_nr)) exit()
}`, "-c", "sh -c '"+getpidBin+" 1; true'")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, getpidBin+"\ngetpid\n", r.stdout)
}
