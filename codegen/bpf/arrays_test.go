package bpf_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

// liveCases run in user space and, as kernel probes, over the live map
// through bpf_for_each_map_elem callbacks: their output must not depend on
// the order of iteration.
var liveCases = []runCase{{
	name: "foreach with value and locals",
	src: `global a
probe begin {
	a[1] = 10; a[2] = 20; a[3] = 30
	n = 0; sum = 0; s = ""
	foreach (v = k in a) { n++; sum += v * k; s .= "x" }
	printf("%d %d %s\n", n, sum, s)
}`,
	stdout: "3 140 xxx\n",
	kernel: true,
}, {
	name: "foreach slice, limit, break, continue",
	src: `global a
probe begin {
	for (i = 1; i <= 3; i++) for (j = 1; j <= 4; j++) a[i, "c" . (j % 2 ? "odd" : "even")] += j
	n = 0; foreach ([x, y] in a[2, *]) { n += a[x, y]; if (x != 2) n = -100 }
	m = 0; foreach ([x, y] in a limit 4) m++
	b = 0; foreach ([x, y] in a) { if (y == "codd") continue; b++; if (b == 2) break }
	printf("%d %d %d\n", n, m, b)
}`,
	stdout: "10 4 2\n",
	kernel: true,
}, {
	name: "next inside foreach",
	src: `global a
probe begin {
	a[1] = 1; a[2] = 2
	foreach (k in a) { printf("in "); next }
	printf("not reached")
}`,
	stdout: "in ",
	kernel: true,
}, {
	name: "nested foreach",
	src: `global a, b
probe begin {
	a[1] = 1; a[2] = 2; b["x"] = 10; b["y"] = 20
	t = 0
	foreach (i in a) foreach (s in b) t += a[i] * b[s]
	printf("%d\n", t)
}`,
	stdout: "90\n",
	kernel: true,
}, {
	name: "deletes",
	src: `global a, b, n = 3, s = "s"
probe begin {
	for (i = 0; i < 5; i++) { a[i, "p"] = i; a[i, "q"] = i }
	delete a[*, "p"]
	delete a[3, *]
	c = 0; foreach ([x, y] in a) c++
	delete a
	d = 0; foreach ([x, y] in a) d++
	b[1] = "one"; delete b[1]; delete b[2]
	delete n; delete s
	printf("%d %d %d %d [%s]\n", c, d, 1 in b, n, s)
}`,
	stdout: "4 0 0 0 []\n",
	kernel: true,
}, {
	name: "in with wildcards",
	src: `global a
probe begin {
	a[1, "x"] = 1; a[2, "y"] = 1
	k = "y"
	printf("%d %d %d %d %d\n", [1, *] in a, [*, "y"] in a, [*, k] in a, [1, "y"] in a, [3, *] in a)
}`,
	stdout: "1 1 1 0 0\n",
	kernel: true,
}, {
	name: "wrapping array",
	src: `global a%[4]
probe begin {
	for (i = 0; i < 10; i++) a[i] = i
	n = 0; foreach (k in a) n++
	printf("%d %d %d\n", n, 9 in a, 0 in a)
}`,
	stdout: "4 1 0\n",
	kernel: true,
}, {
	name: "nine columns",
	src: `global a
probe begin {
	a[1, "b", 3, "d", 5, "f", 7, "h", 9] = 45
	foreach ([c1, c2, c3, c4, c5, c6, c7, c8, c9] in a) printf("%d%s%d%s%d%s%d%s%d=%d\n", c1, c2, c3, c4, c5, c6, c7, c8, c9, a[c1, c2, c3, c4, c5, c6, c7, c8, c9])
}`,
	stdout: "1b3d5f7h9=45\n",
	kernel: true,
}, {
	name: "extractors",
	src: `global s, t
probe begin {
	s <<< 5; s <<< -3; s <<< 10; s <<< 0
	t["a"] <<< 7
	printf("%d %d %d %d %d\n", @count(s), @sum(s), @min(s), @max(s), @avg(s))
	printf("%d %d %d\n", @count(t["a"]), @avg(t["a"]), @count(t["b"]))
}`,
	stdout: "4 12 -3 10 3\n1 7 0\n",
	kernel: true,
}, {
	name:   "empty aggregate",
	src:    "global s\nprobe begin {\n\tprintf(\"%d\\n\", @avg(s))\n}",
	stderr: "ERROR: empty aggregate near operator '@avg' at <input>:3:17\n",
	kernel: true,
}}

func TestRunLive(t *testing.T) { testRuns(t, liveCases) }

// sortedCases cover what only user-space foreach does: sorting a
// statistic array by an aggregate.
var sortedCases = []runCase{{
	name: "sort by aggregate",
	src: `global s
probe begin {
	s["a"] <<< 1; s["a"] <<< 1; s["a"] <<< 1
	s["b"] <<< 100
	s["c"] <<< 5; s["c"] <<< 6
	foreach (k in s @sum-) printf("%s ", k); println("")
	foreach (k in s @count+) printf("%s ", k); println("")
	foreach (k in s- limit 1) printf("%s ", k); println("")
	foreach (k in s @max+) printf("%s ", k); println("")
}`,
	stdout: "b c a \nb c a \na \na c b \n",
}}

func TestRunSorted(t *testing.T) { testRuns(t, sortedCases) }

// printCases cover printd, printdln, log and %m/%M. In vm, the record of
// the fake tracepoint is at address 9<<32 (the context region), so %m
// reads its fields there.
var printdCases = []runCase{{
	name: "printd printdln log",
	src: `probe begin {
	printd(", ", 1, "two", -3); println("|")
	printdln("%d", "a", 2)
	printdln("--", 7)
	x = 5; printd(":", x, x + 1); println("")
	log("logged " . "message")
}`,
	stdout: "1, two, -3|\na%d2\n7\n5:6\nlogged message\n",
	kernel: true,
}}

func TestRunPrintd(t *testing.T) { testRuns(t, printdCases) }

// TestRunMemory prints a field of the fake tracepoint's record with %m
// and %M, reading it through its address in vm's context region.
func TestRunMemory(t *testing.T) {
	const ctxAddr = 9 << 32
	src := fmt.Sprintf(`probe kernel.trace("syscalls:sys_enter_getpid") {
	printf("[%%.8M] [%%.2m] [%%4.1M] [%%-3m]\n", %[1]d + 24, %[1]d + 24, %[1]d + 32, %[1]d + 32)
}`, int64(ctxAddr))
	stdout, stderr := run(t, src, tracepointRecord(t, map[string]int64{"s64": 0x4241, "u64": 0x43}))
	assert.Equal(t, "[4142000000000000] [AB] [  43] [C  ]\n", stdout)
	assert.Empty(t, stderr)
}
