package bpf_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// histRow is one row of a drawn histogram, as stap lays it out: the label
// right-aligned in width columns, the bar, and the count right-aligned
// after room for a full bar and cntSpace digits.
func histRow(width int, label string, bar int, count int64, cntSpace int) string {
	return fmt.Sprintf("%*s |%s%*d\n", width, label, strings.Repeat("@", bar), 50-bar+1+cntSpace, count)
}

const histHeader = "value |-------------------------------------------------- count\n"

// statCases feed statistics in the main probe, which the kernel variant
// moves into the kernel: the extractors in end then merge what the kernel
// probe added on its CPU.
var statCases = []runCase{{
	name: "extractors",
	src: `global s
probe begin { s <<< 5; s <<< -3; s <<< 10 }
probe end { printf("%d %d %d %d %d\n", @count(s), @sum(s), @min(s), @max(s), @avg(s)) }`,
	stdout: "3 12 -3 10 4\n",
	kernel: true,
}, {
	name: "merged over CPUs",
	src: `global s
probe begin(-1) { s <<< 100 }
probe begin { s <<< 1; s <<< 2 }
probe end { printf("%d %d %d %d %d\n", @count(s), @sum(s), @min(s), @max(s), @avg(s)) }`,
	stdout: "3 103 1 100 34\n",
	kernel: true,
}, {
	name: "value of <<<",
	src: `global s
probe begin { x = (s <<< 7) + 1; printf("%d\n", x) }
probe end { printf("%d\n", @sum(s)) }`,
	stdout: "8\n7\n",
	kernel: true,
}, {
	name: "arrays",
	src: `global a
probe begin { a[1, "x"] <<< 10; a[1, "x"] <<< 20; a[2, "y"] <<< 5; k = 2; a[k, "y"] <<< 7 }
probe end {
	foreach ([k+, s] in a) printf("%d%s: %d %d %d %d\n", k, s, @count(a[k, s]), @min(a[k, s]), @max(a[k, s]), @avg(a[k, s]))
	printf("%d %d\n", [1, "x"] in a, [3, "x"] in a)
}`,
	stdout: "1x: 2 10 20 15\n2y: 2 5 7 6\n1 0\n",
	kernel: true,
}, {
	name: "delete",
	src: `global s, a
probe begin { s <<< 1; s <<< 2; a[1] <<< 1; a[2] <<< 2; delete a[1] }
probe end {
	printf("%d %d %d ", @count(s), [1] in a, [2] in a)
	delete s
	printf("%d %d\n", @count(s), @sum(s))
	s <<< 9
	printf("%d %d\n", @count(s), @min(s))
}`,
	stdout: "2 0 1 0 0\n1 9\n",
	kernel: true,
}, {
	name: "empty",
	src: `global s
probe begin { if (0) s <<< 1 }
probe end { printf("%d %d\n", @count(s), @sum(s)); printf("%d\n", @avg(s)) }`,
	stdout: "0 0\n",
	stderr: "ERROR: empty aggregate near operator '@avg' at <input>:3:67\n",
	kernel: true,
}, {
	name: "empty element",
	src: `global a
probe begin { a[1] <<< 1 }
probe end { printf("%d %d\n", @max(a[1]), @count(a[2])); printf("%d\n", @min(a[2])) }`,
	stdout: "1 0\n",
	stderr: "ERROR: empty aggregate near operator '@min' at <input>:3:73\n",
	kernel: true,
}, {
	name: "empty histogram",
	src: `global s
probe begin { if (0) s <<< 1 }
probe end { print(@hist_log(s)) }`,
	stderr: "ERROR: empty aggregate near operator '@hist_log' at <input>:3:19\n",
	kernel: true,
}, {
	name: "log histogram",
	src: `global s
probe begin { for (i = 0; i < 5; i++) s <<< 1; s <<< 2; s <<< 3 }
probe end { print(@hist_log(s)) }`,
	stdout: histHeader +
		histRow(5, "0", 0, 0, 1) +
		histRow(5, "1", 5, 5, 1) +
		histRow(5, "2", 2, 2, 1) +
		histRow(5, "4", 0, 0, 1) +
		histRow(5, "8", 0, 0, 1) + "\n",
	kernel: true,
}, {
	name: "log histogram extremes",
	src: `global s
probe begin { s <<< -9223372036854775808; s <<< -1; s <<< 0; s <<< 9223372036854775807; s <<< 4611686018427387904 }
probe end { println(@hist_log(s)) }`,
	stdout: fmt.Sprintf("%*s |%s count\n", 20, "value", strings.Repeat("-", 50)) +
		histRow(20, "-9223372036854775808", 1, 1, 1) +
		histRow(20, "-4611686018427387904", 0, 0, 1) +
		histRow(20, "-2305843009213693952", 0, 0, 1) +
		strings.Repeat(" ", 20) + " ~\n" +
		histRow(20, "-4", 0, 0, 1) +
		histRow(20, "-2", 0, 0, 1) +
		histRow(20, "-1", 1, 1, 1) +
		histRow(20, "0", 1, 1, 1) +
		histRow(20, "1", 0, 0, 1) +
		histRow(20, "2", 0, 0, 1) +
		strings.Repeat(" ", 20) + " ~\n" +
		histRow(20, "1152921504606846976", 0, 0, 1) +
		histRow(20, "2305843009213693952", 0, 0, 1) +
		histRow(20, "4611686018427387904", 2, 2, 1) + "\n\n",
	kernel: true,
}, {
	name: "linear histogram",
	src: `global s
probe begin { s <<< -5; s <<< 0; s <<< 15; s <<< 15; s <<< 99; s <<< 100; s <<< 105; s <<< 250 }
probe end { print(@hist_linear(s, 0, 100, 10)) }`,
	stdout: histHeader +
		histRow(5, "<0", 1, 1, 1) +
		histRow(5, "0", 1, 1, 1) +
		histRow(5, "10", 2, 2, 1) +
		histRow(5, "20", 0, 0, 1) +
		histRow(5, "30", 0, 0, 1) +
		"      ~\n" +
		histRow(5, "70", 0, 0, 1) +
		histRow(5, "80", 0, 0, 1) +
		histRow(5, "90", 1, 1, 1) +
		histRow(5, "100", 2, 2, 1) +
		histRow(5, ">100", 1, 1, 1) + "\n",
	kernel: true,
}, {
	name: "histogram with other extractors",
	src: `global s
probe begin { for (i = 0; i < 120; i++) s <<< 8; s <<< 1000 }
probe end { printf("%d %d\n", @count(s), @max(s)); print(@hist_log(s)) }`,
	stdout: "121 1000\n" + fmt.Sprintf("%*s |%s count\n", 5, "value", strings.Repeat("-", 50)) +
		histRow(5, "2", 0, 0, 3) +
		histRow(5, "4", 0, 0, 3) +
		histRow(5, "8", 40, 120, 3) +
		histRow(5, "16", 0, 0, 3) +
		histRow(5, "32", 0, 0, 3) +
		"      ~\n" +
		histRow(5, "128", 0, 0, 3) +
		histRow(5, "256", 0, 0, 3) +
		histRow(5, "512", 0, 1, 3) +
		histRow(5, "1024", 0, 0, 3) +
		histRow(5, "2048", 0, 0, 3) + "\n",
	kernel: true,
}, {
	name: "display",
	src: `global s, e, a
probe begin { s <<< 3; s <<< 5; if (pid() < 0) e <<< 1; a["x"] <<< 1; a["y"] <<< 2; a["y"] <<< 4; a["z"] <<< -7 }`,
	stdout: "s @count=2 @min=3 @max=5 @sum=8 @avg=4\n" +
		"e @count=0x0\n" +
		"a[\"y\"] @count=2 @min=2 @max=4 @sum=6 @avg=3\n" +
		"a[\"x\"] @count=1 @min=1 @max=1 @sum=1 @avg=1\n" +
		"a[\"z\"] @count=1 @min=-7 @max=-7 @sum=-7 @avg=-7\n",
	kernel: true,
}}

func TestRunStats(t *testing.T) { testRuns(t, statCases) }

// TestStatVariance checks stap's integer @variance: Welford per CPU, the
// total-variance formula across CPUs, truncation at every step. stap.1's
// own example gives 12 for 1..5 with shift 0 and 2 with shift 1; split
// over two CPUs the same samples give 3.
func TestStatVariance(t *testing.T) {
	const src = `global a, b
probe begin(-1) { a <<< 1; a <<< 2; b <<< 1; b <<< 2 }
probe begin { a <<< 3; a <<< 4; a <<< 5; b <<< 3; b <<< 4; b <<< 5 }
probe end { printf("%d %d\n", @variance(a), @variance(b, 1)) }`
	stdout, stderr := run(t, src)
	assert.Equal(t, "12 2\n", stdout)
	assert.Empty(t, stderr)
	stdout, stderr = run(t, kernelVariant(src), tracepointRecord(t, nil))
	assert.Equal(t, "3 2\n", stdout)
	assert.Empty(t, stderr)
}
