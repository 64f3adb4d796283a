package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSprintfInKernelMatchesPrintf formats conversions in a kernel probe
// both ways: printf, formatted in user space from the record, and
// sprintf, formatted by the BPF program with the kernel's helpers. The
// texts must agree up to the first NUL, where a string ends.
func TestSprintfInKernelMatchesPrintf(t *testing.T) {
	values := map[byte][]string{
		'd': {"0", "-42", "9223372036854775807", "-9223372036854775808"},
		'u': {"-1", "4096"},
		'x': {"255", "-42"},
		'X': {"48879"},
		'o': {"8", "0"},
		'p': {"4096", "0"},
		'c': {"65", "9", "200"},
		's': {`""`, `"hello"`},
		'b': {"0x41424344"},
	}
	specs := []string{"", "-", "+", " ", "#", "0", "5", "-5", "05", ".3", "8.2", "-#8", "*", ".*"}
	var body strings.Builder
	pairs := 0
	for _, verb := range []byte("duxXopcsb") {
		for _, spec := range specs {
			for _, v := range values[verb] {
				args := v
				if strings.Contains(spec, "*") {
					args = "7, " + v
				}
				format := fmt.Sprintf("<%%%s%c>", spec, verb)
				fmt.Fprintf(&body, "\tprintf(%q, %s); printf(\"\\n\")\n\tprintf(\"%%s\\n\", sprintf(%q, %s))\n", format, args, format, args)
				pairs++
			}
		}
	}
	// Several probes rather than one, each a modest load for the verifier.
	lines := strings.SplitAfter(body.String(), "\n")
	var script strings.Builder
	for i := 0; i < len(lines); i += 60 {
		script.WriteString("probe kernel.trace(\"syscalls:sys_enter_getpid\") {\n\tif (pid() != target()) next\n")
		script.WriteString(strings.Join(lines[i:min(i+60, len(lines))], ""))
		script.WriteString("}\n")
	}
	r := etap(t, "-e", script.String(), "-c", getpidBin+" 1")
	require.Equal(t, 0, r.code, r.stderr)
	out := strings.Split(r.stdout, "\n")
	require.Len(t, out, 2*pairs+1)
	for i := 0; i < pairs; i++ {
		want, got := []byte(out[2*i]), []byte(out[2*i+1])
		if n := bytes.IndexByte(want, 0); n >= 0 {
			want = want[:n]
		}
		assert.Equal(t, string(want), string(got), "pair %d", i)
	}
}

// TestUserStringVariants reads a real user-space string, the file name cat
// opens, with each variant of user_string.
func TestUserStringVariants(t *testing.T) {
	script := `probe kernel.trace("syscalls:sys_enter_openat") {
	if (pid() != target()) next
	printf("%s|%s|%s|%s|%s\n", user_string($filename, "?"), user_string_quoted($filename),
		user_string_n($filename, 5, "?"), user_string_n_quoted($filename, 5), user_string2($filename, "?"))
}`
	r := etap(t, "-e", script, "-c", "cat /etc/hostname")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, `/etc/hostname|"/etc/hostname"|/etc/|"/etc/"|/etc/hostname`+"\n")
}

// TestUserStringInPlace checks that user_string and user_string_n written
// straight into a printf record or a key column (user_string_n's as
// narrow as its literal n) give what they give through a variable. With
// messages: the loader's first file names may not be paged in yet.
func TestUserStringInPlace(t *testing.T) {
	script := `global kd, kv, nd, nv
probe kernel.trace("syscalls:sys_enter_openat") {
	if (pid() != target()) next
	s = user_string($filename, "?"); kv[s]++; kd[user_string($filename, "?")]++
	n = user_string_n($filename, 5, "?"); nv[n]++; nd[user_string_n($filename, 5, "?")]++
	printf("%s|%s|%d|%d|%s|%s|%d|%d\n", user_string($filename, "?"), s, kd[s], kv[s],
		user_string_n($filename, 5, "?"), n, nd[n], nv[n])
}`
	hostname, err := os.ReadFile("/etc/hostname")
	require.NoError(t, err)
	r := etap(t, "-e", script, "-c", "cat /etc/hostname")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "/etc/hostname|/etc/hostname|1|1|/etc/|/etc/|")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	for _, line := range lines {
		if line == strings.TrimSpace(string(hostname)) {
			continue // cat's own output
		}
		f := strings.Split(line, "|")
		require.Len(t, f, 8, line)
		for i := 0; i < 8; i += 2 {
			assert.Equal(t, f[i], f[i+1], "field %d of %q", i, line)
		}
	}
}
