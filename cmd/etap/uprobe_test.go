package main

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cTarget is the committed C program of the uprobe tests (see its source):
// add(a, b) in C's registers, and the SDT probes etap:tick, behind a
// semaphore, and etap:plain.
func cTarget(t *testing.T) string {
	t.Helper()
	path, err := filepath.Abs("testdata/uprobe/target")
	require.NoError(t, err)
	return path
}

// TestUprobeArgumentsAndReturn probes C functions on entry and return:
// parameters by their DWARF names, $argN and uint_arg(n) from the
// registers, $return and returnval(), each call once, in a -c run. neg
// returns an int, which leaves the upper half of RAX zero: $return knows
// from DWARF to read 4 bytes, returnval() is the register. add's return
// reads its parameters as they were on entry.
func TestUprobeArgumentsAndReturn(t *testing.T) {
	bin := cTarget(t)
	script := fmt.Sprintf(`
probe process(%[1]q).function("add") { printf("add %%d %%d %%d %%d\n", $a, $b, $arg2, uint_arg(2)) }
probe process(%[1]q).function("add").return { printf("ret %%d %%d from %%d+%%d\n", $return, returnval(), $a, @entry($arg2)) }
probe process(%[1]q).function("neg").return { printf("neg %%d %%d\n", $return, returnval()) }`, bin)
	r := etap(t, "-c", bin+" 4", "-e", script)
	require.Equal(t, 0, r.code, r.stderr)
	var want strings.Builder
	sum := 0
	for i := 1; i <= 4; i++ {
		fmt.Fprintf(&want, "add %d %d %d %d\n", sum, 10*i, 10*i, 10*i)
		fmt.Fprintf(&want, "ret %d %d from %d+%d\n", sum+10*i, sum+10*i, sum, 10*i)
		sum += 10 * i
	}
	want.WriteString("neg -4 4294967292\n")
	assert.Equal(t, want.String(), probeLines(r.stdout))
	assert.Contains(t, r.stdout, "sum 100 fired 0 neg -4\n", "no probe on etap:tick, so its semaphore stays 0")
}

// TestUSDTSemaphore probes the program's SDT marks: etap:tick runs only
// while its semaphore is set, which attaching does, and its arguments
// are a register (-4@%ebx) and memory on the stack (-8@8(%rsp));
// etap:plain has a constant argument (-4@$7) and no semaphore. $$provider
// and $$name name the mark.
func TestUSDTSemaphore(t *testing.T) {
	bin := cTarget(t)
	out, err := exec.Command(bin, "3").Output()
	require.NoError(t, err)
	require.Equal(t, "sum 60 fired 0 neg -3\n", string(out), "without etap the semaphore is 0")

	script := fmt.Sprintf(`
global plain
probe process(%[1]q).mark("tick") { printf("%%s:%%s %%d %%d\n", $$provider, $$name, $arg1, $arg2) }
probe process(%[1]q).provider("etap").mark("plain") { plain += $arg1 }
probe end { printf("plain %%d\n", plain) }`, bin)
	r := etap(t, "-c", bin+" 3", "-e", script)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "etap:tick 1 10\netap:tick 2 30\netap:tick 3 60\nplain 21\n", probeLines(r.stdout))
	assert.Contains(t, r.stdout, "sum 60 fired 3 neg -3\n")
}

// TestUprobeGoProgram probes a Go function: Go names it main.mul and
// passes its arguments in RAX and RBX, which $a, $b and $arg1 read.
func TestUprobeGoProgram(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "gotarget")
	out, err := exec.Command("go", "build", "-o", bin, "./testdata/gotarget").CombinedOutput()
	require.NoError(t, err, string(out))
	script := fmt.Sprintf(`
probe process(%[1]q).function("main.mul") { printf("mul %%d %%d %%d %%d\n", $a, $b, $arg1, long_arg(2)) }
probe process(%[1]q).function("main.mul").return { printf("ret %%d\n", $return) }`, bin)
	r := etap(t, "-c", bin+" 3", "-e", script)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "mul 1 7 1 7\nret 7\nmul 2 7 2 7\nret 14\nmul 3 7 3 7\nret 21\n", probeLines(r.stdout))
	assert.Contains(t, r.stdout, "sum 42\n")
}

// TestUprobeTargetOnly checks that in a -c run a uprobe fires in the
// target process only: here the target is a shell, and the program it
// runs is another process.
func TestUprobeTargetOnly(t *testing.T) {
	bin := cTarget(t)
	script := fmt.Sprintf(`global n; probe process(%q).function("add") { n++ } probe end { printf("calls %%d\n", n) }`, bin)
	r := etap(t, "-c", fmt.Sprintf("/bin/sh -c '%s 2; exit 0'", bin), "-e", script)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "calls 0\n")

	r = etap(t, "-c", bin+" 2", "-e", script)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "calls 2\n")
}

// TestProcessBeginEnd watches the processes of a -c command: the shell
// runs two programs and exits. Other processes of the machine, which
// start and end all the time, are not the target's family.
func TestProcessBeginEnd(t *testing.T) {
	script := `
probe process.begin { printf("begin %s %d\n", execname(), pid() == target()) }
probe process.end { printf("end %s %d\n", execname(), pid() == target()) }`
	r := etap(t, "-c", "/bin/sh -c '/bin/true; /bin/true; exit 0'", "-e", script)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "begin true 0\nend true 0\nbegin true 0\nend true 0\nend sh 1\n", r.stdout)
}

// TestProcessEndOncePerProcess: a Go program runs several threads, and
// process.end fires when the last of them exits, once.
func TestProcessEndOncePerProcess(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "gotarget")
	out, err := exec.Command("go", "build", "-o", bin, "./testdata/gotarget").CombinedOutput()
	require.NoError(t, err, string(out))
	r := etap(t, "-c", bin, "-e", `global threads
probe kernel.trace("sched:sched_process_exit") { if (pid() == target()) threads++ }
probe process.end { printf("end %s %d\n", execname(), pid() == target()) }
probe end { printf("threads %d\n", threads > 1) }`)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "end gotarget 1\nthreads 1\n", probeLines(r.stdout))
}

// TestProcessListing checks that -p2 lists the functions a wildcard
// matches in the symbol table, as stap -l does for a program without
// debuginfo.
func TestProcessListing(t *testing.T) {
	r := etap(t, "-p2", "-e", `probe process("/bin/bash").function("read_b*") { }`)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "# globals\n# functions\n# probes\n"+
		"process(\"/usr/bin/bash\").function(\"read_builtin\") /* uprobe, kernel */\n{\n}\n"+
		"process(\"/usr/bin/bash\").function(\"read_builtin_timeout\") /* uprobe, kernel */\n{\n}\n", r.stdout)
}

// probeLines drops the lines the target program prints itself.
func probeLines(stdout string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(stdout, "\n") {
		if !strings.HasPrefix(line, "sum ") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// TestUserSymbols names user-space addresses: uaddr() is the probed
// function, usymname and usymdata name it from the program's symbol
// table, ubacktrace() spells the user stack in hex and print_ubacktrace()
// names its frames. The target lives on a little so that its mappings can
// still be read when the records are printed.
func TestUserSymbols(t *testing.T) {
	bin := cTarget(t)
	script := fmt.Sprintf(`
probe process(%[1]q).function("add") {
  if (uaddr() == 0) println("no uaddr")
  printf("%%s|%%s|%%s\n", usymname(uaddr()), usymdata(uaddr()), ubacktrace())
}
probe process(%[1]q).function("add").return { print_ubacktrace() }`, bin)
	r := etap(t, "-c", bin+" 1 300", "-e", script)
	require.Equal(t, 0, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(probeLines(r.stdout)), "\n")
	require.GreaterOrEqual(t, len(lines), 2, r.stdout)
	assert.Regexp(t, `^add\|add\+0x0/0x[0-9a-f]+ \[`+regexp.QuoteMeta(bin)+`\]\|0x[0-9a-f]+( 0x[0-9a-f]+)+$`, lines[0])
	// On return the program is back in main, which called add.
	assert.Regexp(t, `^ 0x[0-9a-f]{16} : main\+0x[0-9a-f]+/0x[0-9a-f]+ \[`+regexp.QuoteMeta(bin)+`\]$`, lines[1])

	// A global displayed at the end names the target's addresses though
	// it has exited by then: etap kept its mappings.
	r = etap(t, "-c", bin+" 3", "-e", fmt.Sprintf(`global f; probe process(%q).function("add") { f[usymname(uaddr())]++ }`, bin))
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "f[\"add\"]=3\n", probeLines(r.stdout))
}

// TestUSDTPython probes the SDT marks Debian's python3 has: python:line
// fires only while its semaphore is set, with the file, the function and
// the line number as $arg1..$arg3 (registers 8@%r14 8@%rax -4@%ebp).
func TestUSDTPython(t *testing.T) {
	python, err := filepath.EvalSymlinks("/usr/bin/python3")
	require.NoError(t, err, "Debian's python3 (package python3-minimal) is needed")
	script := filepath.Join(t.TempDir(), "t.py")
	require.NoError(t, os.WriteFile(script, []byte("def hello():\n    pass\nhello()\nhello()\n"), 0o644))
	stp := fmt.Sprintf(`probe process(%q).provider("python").mark("line") {
  if (user_string($arg1) == %q) printf("%%s %%d\n", user_string($arg2), $arg3)
}`, python, script)
	r := etap(t, "-c", python+" "+script, "-e", stp)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "<module> 1\n<module> 3\nhello 2\n<module> 4\nhello 2\n", r.stdout)
}

// TestUprobePID checks -x: of two shells that fork all the time, the
// uprobe fires in the target only.
func TestUprobePID(t *testing.T) {
	var shells []*exec.Cmd
	for range 2 {
		sh := exec.Command("/bin/bash", "-c", "while true; do /bin/true; done")
		require.NoError(t, sh.Start())
		defer func() {
			sh.Process.Kill()
			sh.Wait()
		}()
		shells = append(shells, sh)
	}
	r := etap(t, "-x", fmt.Sprint(shells[0].Process.Pid), "-e", `global n
probe process("/bin/bash").function("make_child") { n[pid()]++ }
probe timer.ms(300) { exit() }
probe end { foreach (p in n) printf("%s\n", p == target() ? "target" : "other") }`)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "target\n", r.stdout)
}

// TestUprobeStatement probes an address of the program: add's, read from
// its symbol table, where $argN are still add's arguments.
func TestUprobeStatement(t *testing.T) {
	bin := cTarget(t)
	f, err := elf.Open(bin)
	require.NoError(t, err)
	syms, err := f.Symbols()
	f.Close()
	require.NoError(t, err)
	var add uint64
	for _, s := range syms {
		if s.Name == "add" {
			add = s.Value
		}
	}
	require.NotZero(t, add)
	script := fmt.Sprintf(`probe process(%q).statement(%#x).absolute { printf("%%d %%d\n", $arg1, $arg2) }`, bin, add)
	r := etap(t, "-c", bin+" 2", "-e", script)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "0 10\n10 20\n", probeLines(r.stdout))
}
