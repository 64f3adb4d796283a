package bpf_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/codegen/bpf"
	"etap/lang"
	"etap/lang/ast"
	"etap/sema"
)

var sprintfCases = []runCase{{
	name: "basic",
	src: `probe begin {
	s = sprintf("%d|%5d|%-5d|%05d|%x|%#X|%o|%#o|%c|%s|%.2s|%5s|%-5s|%p|%u|%+d|% d", 42, -3, 7, -42, 255, 255, 8, 8, 65, "str", "abc", "ab", "cd", 4096, -1, 5, 5)
	printf("[%s]\n", s)
	t = sprint(12, "x") . sprintln("y")
	printf("[%s]\n", t)
	printf("[%s]\n", sprintf("%*d|%-*d|%.*s|%*s", 4, 1, 3, 2, 2, "hello", -4, "z"))
	printf("[%s]\n", sprintf("%#c%#c%#c%c", 10, 39, 200, 66))
}`,
	stdout: "[42|   -3|7    |-0042|ff|0XFF|10|010|A|str|ab|   ab|cd   |0x1000|18446744073709551615|+5| 5]\n[12xy\n]\n[   1|2  |he|z   ]\n[\\n\\'\\310B]\n",
	kernel: true,
}}

func TestRunSprintf(t *testing.T) { testRuns(t, sprintfCases) }

// TestSprintfMatchesPrintf formats many conversions both ways: with
// printf, whose record output.AppendFormat formats in user space, and
// with sprintf, which the probe formats itself. The texts must agree, up
// to the first NUL, where a string ends.
func TestSprintfMatchesPrintf(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	longs := []string{"0", "1", "-1", "7", "-42", "255", "4096", "12", "39", "200", "9223372036854775807", "-9223372036854775808", "0x41424344"}
	strs := []string{`""`, `"a"`, `"hello"`, `"tab\there"`}
	widths := []string{"", "1", "3", "8", "*"}
	precs := []string{"", ".0", ".1", ".4", ".12", ".*"}
	stars := []string{"-6", "0", "2", "9", "-1"}
	var probes []string
	var lines []string
	for p := 0; p < 12; p++ {
		var b strings.Builder
		b.WriteString("probe begin {\n")
		for range 30 {
			verb := "diuxXocspb"[rng.IntN(10)]
			flags := ""
			for _, f := range "-+ #0" {
				if rng.IntN(4) == 0 {
					flags += string(f)
				}
			}
			w, pr := widths[rng.IntN(len(widths))], precs[rng.IntN(len(precs))]
			var args []string
			if w == "*" {
				args = append(args, stars[rng.IntN(len(stars))])
			}
			if pr == ".*" {
				args = append(args, stars[rng.IntN(len(stars))])
			}
			if verb == 's' {
				args = append(args, strs[rng.IntN(len(strs))])
			} else {
				args = append(args, longs[rng.IntN(len(longs))])
			}
			format := "<%" + flags + w + pr + string(verb) + ">"
			line := fmt.Sprintf("%q, %s", format, strings.Join(args, ", "))
			fmt.Fprintf(&b, "\tprintf(%s); printf(\"\\n\")\n", line)
			fmt.Fprintf(&b, "\tprintf(\"%%s\\n\", sprintf(%s))\n", line)
			lines = append(lines, line)
		}
		b.WriteString("}\n")
		probes = append(probes, b.String())
	}
	stdout, stderr := run(t, strings.Join(probes, ""))
	require.Empty(t, stderr)
	out := strings.Split(stdout, "\n")
	require.Len(t, out, 2*len(lines)+1)
	for i, line := range lines {
		want, got := out[2*i], out[2*i+1]
		if n := strings.IndexByte(want, 0); n >= 0 {
			want = want[:n]
		}
		assert.Equal(t, want, got, "sprintf(%s)", line)
	}
}

// TestFormatDiagnostics checks the calls sema rejects for the formatting
// builtins, each with its code.
func TestFormatDiagnostics(t *testing.T) {
	tests := []struct{ name, src, code string }{
		{"memory in sprintf", `probe begin { s = sprintf("%m", 0) }`, "S054"},
		{"histogram in sprint", `global x
probe begin { x <<< 1; s = sprint(@hist_log(x)) }`, "S056"},
		{"format not a literal", `probe begin { f = "%d"; s = sprintf(f, 1) }`, "S051"},
		{"too few arguments", `probe begin { s = sprintf("%d %s", 1) }`, "S053"},
		{"message missing", `probe begin { s = user_string2(0) }`, "S042"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file, diags := lang.Parse("<input>", tt.src, nil)
			requireNoErrors(t, "parse", diags, tt.src)
			_, diags = sema.Check([]*ast.File{file}, sema.Options{Kernel: fakeKernel, Library: bpf.Library()})
			require.True(t, diags.HasErrors())
			assert.Equal(t, tt.code, diags.Items[0].Code)
		})
	}
}
