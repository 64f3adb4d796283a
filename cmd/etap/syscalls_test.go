package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// filesDir makes the directory the files workload works in, with an input
// file of ten bytes.
func filesDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "in"), []byte("0123456789"), 0o644))
	return dir
}

// TestSyscallArgsAndReturns is issue 6's acceptance 1 for system calls:
// the arguments and returns of a known program's openat, read, write and
// close, under stap's names, through the tapset's and the made aliases.
func TestSyscallArgsAndReturns(t *testing.T) {
	dir := filesDir(t)
	script := `
probe syscall.openat, syscall.read, syscall.write, syscall.close, syscall.getpid {
	if (pid() == target() && name != "getpid") printf("enter %s\n", name)
}
probe syscall.openat {
	if (pid() == target()) printf("openat dfd=%d filename=%s flags=%d flags_str=%s mode=%o\n", dfd, filename, flags, flags_str, mode)
}
probe syscall.read {
	if (pid() == target()) printf("read fd=%d count=%d buf=%d\n", fd, count, buf_uaddr != 0)
}
probe syscall.write {
	if (pid() == target()) printf("write fd=%d count=%d\n", fd, count)
}
probe syscall.close {
	if (pid() == target()) printf("close fd=%d\n", fd)
}
probe syscall.openat.return, syscall.read.return, syscall.write.return, syscall.close.return {
	if (pid() == target()) printf("return %s retval=%d\n", name, retval)
}
`
	r := etap(t, "-e", script, "-c", fmt.Sprintf("%s %s 0", filesBin, dir))
	require.Equal(t, 0, r.code, r.stderr)
	// The Go runtime opens and reads files of its own before main: take
	// the lines from the first open of dir on.
	out := r.stdout
	start := strings.Index(out, "enter openat\nopenat dfd=-100 filename=\""+dir)
	require.GreaterOrEqual(t, start, 0, out)
	want := fmt.Sprintf(`enter openat
openat dfd=-100 filename="%[1]s/in" flags=524288 flags_str=O_RDONLY|O_CLOEXEC mode=0
return openat retval=(\d+)
enter read
read fd=(\d+) count=4096 buf=1
return read retval=10
enter close
close fd=(\d+)
return close retval=0
enter openat
openat dfd=-100 filename="%[1]s/missing" flags=0 flags_str=O_RDONLY mode=0
return openat retval=-2
enter openat
openat dfd=-100 filename="%[1]s/out" flags=524865 flags_str=O_WRONLY\|O_CREAT\|O_TRUNC\|O_CLOEXEC mode=640
return openat retval=(\d+)
enter write
write fd=(\d+) count=5
return write retval=5
enter close
close fd=(\d+)
return close retval=0
`, regexp.QuoteMeta(dir))
	want = strings.ReplaceAll(want, `flags_str=O_RDONLY|O_CLOEXEC`, `flags_str=O_RDONLY\|O_CLOEXEC`)
	m := regexp.MustCompile(`^` + want).FindStringSubmatch(out[start:])
	require.NotNil(t, m, "got:\n%s", out[start:])
	// The descriptor openat returned is the one read, write and close use.
	assert.Equal(t, m[1], m[2])
	assert.Equal(t, m[1], m[3])
	assert.Equal(t, m[4], m[5])
	assert.Equal(t, m[4], m[6])
}

// TestSyscallAnyNamesEveryCall counts a known program's calls by name
// with syscall_any, syscall.* and nd_syscall.*, which must agree.
func TestSyscallAnyNamesEveryCall(t *testing.T) {
	dir := filesDir(t)
	for _, point := range []string{"syscall_any", "syscall.*", "nd_syscall.*"} {
		t.Run(point, func(t *testing.T) {
			script := `global calls
probe ` + point + ` { if (pid() == target()) calls[name]++ }
probe end { printf("getpid=%d openat=%d write=%d close=%d\n", calls["getpid"], calls["openat"], calls["write"], calls["close"]) }`
			r := etap(t, "-e", script, "-c", fmt.Sprintf("%s %s 777", filesBin, dir))
			require.Equal(t, 0, r.code, r.stderr)
			m := regexp.MustCompile(`^getpid=777 openat=(\d+) write=(\d+) close=(\d+)\n$`).FindStringSubmatch(r.stdout)
			require.NotNil(t, m, r.stdout)
			// The runtime opens a few files before main, and writes
			// nothing: the workload's three opens, one write and two closes
			// are there.
			assert.GreaterOrEqual(t, atoi(t, m[1]), 3)
			assert.Equal(t, 1, atoi(t, m[2]))
			assert.GreaterOrEqual(t, atoi(t, m[3]), 2)
		})
	}
}

// TestSyscallAnyReturn checks syscall_any.return's number, name and value
// on the failing open.
func TestSyscallAnyReturn(t *testing.T) {
	dir := filesDir(t)
	script := `probe syscall_any.return { if (pid() == target() && retval == -2) printf("%s %d %d\n", name, syscall_nr, retval) }`
	r := etap(t, "-e", script, "-c", fmt.Sprintf("%s %s 0", filesBin, dir))
	require.Equal(t, 0, r.code, r.stderr)
	// openat is 257 on x86_64 and 56 on arm64.
	assert.Regexp(t, `(?m)^openat (257|56) -2$`, r.stdout)
}

// TestOpensnoopExample runs examples/opensnoop.stp on the workload: its
// three opens, with descriptor or error, flags and path.
func TestOpensnoopExample(t *testing.T) {
	dir := filesDir(t)
	r := etap(t, "-c", fmt.Sprintf("%s %s 0", filesBin, dir), "../../examples/opensnoop.stp")
	require.Equal(t, 0, r.code, r.stderr)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	require.Greater(t, len(lines), 3, r.stdout)
	assert.Regexp(t, `^PID +COMM +FD +FLAGS +PATH$`, lines[0])
	row := `(?m)^\d+ +files +%s %s +"` + regexp.QuoteMeta(dir) + `/%s"$`
	assert.Regexp(t, fmt.Sprintf(row, `[3-9]\d*`, `O_RDONLY\|O_CLOEXEC`, "in"), r.stdout)
	assert.Regexp(t, fmt.Sprintf(row, `-2`, `O_RDONLY`, "missing"), r.stdout)
	assert.Regexp(t, fmt.Sprintf(row, `[3-9]\d*`, `O_WRONLY\|O_CREAT\|O_TRUNC\|O_CLOEXEC`, "out"), r.stdout)
}

// TestSyscountExample runs examples/syscount.stp on the workload: getpid,
// made 2000 times, heads the list with its exact count.
func TestSyscountExample(t *testing.T) {
	dir := filesDir(t)
	r := etap(t, "-c", fmt.Sprintf("%s %s 2000", filesBin, dir), "../../examples/syscount.stp")
	require.Equal(t, 0, r.code, r.stderr)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	require.GreaterOrEqual(t, len(lines), 4, r.stdout)
	assert.Equal(t, "counting system calls...", lines[0])
	assert.Regexp(t, `^SYSCALL +COUNT$`, lines[1])
	assert.Regexp(t, `^getpid +2000$`, lines[2])
	assert.LessOrEqual(t, len(lines), 12, "limit 10")
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	_, err := fmt.Sscan(s, &n)
	require.NoError(t, err)
	return n
}

// TestSyscallExecveArgs checks execve's filename and args, read from the
// user's argv array with user_long: the shell runs echo with two words.
func TestSyscallExecveArgs(t *testing.T) {
	script := `probe syscall.execve { if (filename == "\"/bin/echo\"") printf("%s %s\n", name, args) }`
	r := etap(t, "-e", script, "-c", `/bin/sh -c "/bin/echo one 'two words'; /bin/true"`)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "execve \"/bin/echo\" \"one\" \"two words\"\n")
}
