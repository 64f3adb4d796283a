package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The run corpus: self-checking scripts in testdata/run. Each prints BEGIN,
// then END PASS or END FAIL, from a probe named by the macro @test_probe.
// Line 1 is a comment saying what the script checks; the harness replaces
// it with the macro's definition, so that positions in messages stay
// those of the file. Every script runs twice: with @test_probe a begin
// probe (user space, in the vm) and a tracepoint on the getpid call of a
// child (in the kernel). Optional header lines after line 1:
//
//	# mode: user        the feature exists only in user space (say why)
//	# exit: N           the expected exit status (default 0)
//	# stderr: REGEXP    what stderr must match

// runModes are the two definitions of @test_probe and the arguments that
// make each one fire.
var runModes = []struct {
	name, probe string
	args        func() []string
}{
	{"user", `begin(1)`, func() []string { return nil }},
	{"kernel", `kernel.trace("syscalls:sys_enter_getpid") if (pid() == target())`,
		func() []string { return []string{"-c", getpidBin + " 1"} }},
}

type runScript struct {
	lines    []string
	userOnly bool
	exit     int
	stderr   *regexp.Regexp
}

func readRunScript(t *testing.T, path string) runScript {
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	s := runScript{lines: strings.Split(string(data), "\n")}
	require.True(t, strings.HasPrefix(s.lines[0], "#"), "line 1 must be a comment saying what the script checks")
	for _, line := range s.lines[1:] {
		key, value, ok := strings.Cut(strings.TrimPrefix(line, "# "), ": ")
		if !ok || !strings.HasPrefix(line, "# ") {
			break
		}
		switch key {
		case "mode":
			require.True(t, strings.HasPrefix(value, "user "), "mode: user, then why")
			s.userOnly = true
		case "exit":
			s.exit, err = strconv.Atoi(value)
			require.NoError(t, err)
		case "stderr":
			s.stderr = regexp.MustCompile(value)
		}
	}
	return s
}

func TestRunCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/run/*.stp")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	dir := t.TempDir()
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".stp")
		t.Run(name, func(t *testing.T) {
			script := readRunScript(t, file)
			for _, mode := range runModes {
				if mode.name == "kernel" && script.userOnly {
					continue
				}
				t.Run(mode.name, func(t *testing.T) {
					lines := append([]string{"@define test_probe %( " + mode.probe + " %)"}, script.lines[1:]...)
					path := filepath.Join(dir, name+".stp")
					require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644))
					r := etap(t, append(mode.args(), path)...)
					assert.Equal(t, script.exit, r.code, "exit status; stderr:\n%s", r.stderr)
					if script.stderr != nil {
						assert.Regexp(t, script.stderr, r.stderr)
					}
					out := strings.Split(r.stdout, "\n")
					assert.Equal(t, "BEGIN", out[0], "first line; stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
					assert.Contains(t, out, "END PASS", "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
					assert.NotContains(t, out, "END FAIL", "stdout:\n%s", r.stdout)
				})
			}
		})
	}
}
