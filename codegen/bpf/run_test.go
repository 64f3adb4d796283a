package bpf_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/codegen/bpf"
	"etap/maps"
)

// runCase is a script and exactly what it prints. The script's main probe
// is `probe begin {`; a kernel case runs a second time with that probe
// turned into a handler of the fake tracepoint, fired once: both engines
// run the same lowering and must print the same.
type runCase struct {
	name           string
	src            string
	stdout, stderr string
	kernel         bool
	// set changes the compile options.
	set func(*bpf.Options)
}

// tracepointPoint is the probe point of the fake tracepoint;
// tracepointProbe replaces `probe begin {` in the kernel variant of a case.
const (
	tracepointPoint = `kernel.trace("` + tracepoint + `")`
	tracepointProbe = "probe " + tracepointPoint + " {"
)

// kernelVariant moves the main probe of a case into the kernel.
func kernelVariant(src string) string {
	return strings.Replace(src, "probe begin {", tracepointProbe, 1)
}

func testRuns(t *testing.T, cases []runCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("user", func(t *testing.T) {
				stdout, stderr := runWith(t, tc.src, tc.set)
				assert.Equal(t, tc.stdout, stdout)
				assert.Equal(t, tc.stderr, stderr)
			})
			if !tc.kernel {
				return
			}
			t.Run("kernel", func(t *testing.T) {
				require.Contains(t, tc.src, "probe begin {")
				stdout, stderr := runWith(t, kernelVariant(tc.src), tc.set, tracepointRecord(t, nil))
				assert.Equal(t, tc.stdout, stdout)
				assert.Equal(t, tc.stderr, stderr)
			})
		})
	}
}

// integerCases cover longs: BPF's 64-bit ALU with stap's signed
// semantics, and constants too wide for an immediate.
var integerCases = []runCase{{
	name: "literals",
	src: `probe begin {
	printf("%d %d %d\n", 0x7fffffffffffffff, 0xffffffffffffffff, -9223372036854775808)
	printf("%d %d %d %d\n", 2147483647, 2147483648, -2147483648, -2147483649)
	printf("%d %d %d %d\n", 4294967295, 0x10000000000, 0777, 0)
	x = 0x7fffffffffffffff
	y = 0xffffffffffffffff
	printf("%d %d %x\n", x, y, x)
}`,
	stdout: "9223372036854775807 -1 -9223372036854775808\n" +
		"2147483647 2147483648 -2147483648 -2147483649\n" +
		"4294967295 1099511627776 511 0\n" +
		"9223372036854775807 -1 7fffffffffffffff\n",
	kernel: true,
}, {
	name: "arithmetic",
	src: `probe begin {
	a = 7; b = 2; m = -7; n = -2
	printf("%d %d %d %d %d\n", a + b, a - b, a * b, a / b, a % b)
	printf("%d %d %d %d %d %d\n", m / b, m % b, a / n, a % n, m / n, m % n)
	printf("%d %d\n", a * m * 1000000000000, a - 10)
	big = 0x7fffffffffffffff
	printf("%d %d\n", big + 1, -big - 2)
	printf("%d\n", 1 + 2 * 3 - 8 / 4 % 3)
}`,
	stdout: "9 5 14 3 1\n" +
		"-3 -1 -3 1 3 -1\n" +
		"-49000000000000 -3\n" +
		"-9223372036854775808 9223372036854775807\n" +
		"5\n",
	kernel: true,
}, {
	name: "shifts and bits",
	src: `probe begin {
	one = 1; s = 40
	printf("%d %d %d\n", one << s, one << 63, (one << 62) >> 61)
	m = -16
	printf("%d %d %d\n", m >> 2, -1 >> 63, 0x8000000000000000 >> 63)
	a = 12; b = 10
	printf("%d %d %d %d %d\n", a & b, a | b, a ^ b, ~a, ~0)
	printf("%x\n", 0xff00ff00ff00ff00 ^ 0xffffffffffffffff)
}`,
	stdout: "1099511627776 -9223372036854775808 2\n" +
		"-4 -1 -1\n" +
		"8 14 6 -13 -1\n" +
		"ff00ff00ff00ff\n",
	kernel: true,
}, {
	name: "unary",
	src: `probe begin {
	x = 5; z = 0
	printf("%d %d %d\n", -x, - -x, -(x - 8))
	printf("%d %d %d %d\n", !x, !z, !-1, !!x)
	printf("%d\n", -0x8000000000000000)
}`,
	stdout: "-5 5 3\n0 1 0 1\n-9223372036854775808\n",
	kernel: true,
}, {
	name: "comparisons",
	src: `probe begin {
	a = 1; b = 2; m = -1
	printf("%d %d %d %d %d %d\n", a == b, a != b, a < b, a <= b, a > b, a >= b)
	printf("%d %d %d %d %d %d\n", a == a, a != a, a < a, a <= a, a > a, a >= a)
	printf("%d %d %d\n", m < a, 0xffffffffffffffff < 0, -9223372036854775808 < 9223372036854775807)
	printf("%d\n", (a < b) + (b < a) * 10 + (a == 1) * 100)
}`,
	stdout: "0 1 1 1 0 0\n1 0 0 1 0 1\n1 1 1\n101\n",
	kernel: true,
}, {
	name: "short circuit",
	src: `probe begin {
	t = 0; z = 0
	a = 0 && (t = 1)
	b = 1 || (t = 2)
	c = 5 && (t = 3)
	d = 0 || (t += 4)
	printf("%d %d %d %d t=%d\n", a, b, c, d, t)
	printf("%d %d %d %d\n", 2 && 3, 0 || -7, 0 && 1 / z, 1 || 1 % z)
	if (z != 0 && 10 / z > 1) print("no") else print("yes")
	println("")
}`,
	stdout: "0 1 1 1 t=7\n1 1 0 1\nyes\n",
	kernel: true,
}, {
	name: "ternary",
	src: `probe begin {
	t = 0
	printf("%d %d\n", 1 ? 2 : 3, 0 ? 2 : 3)
	x = 7
	printf("%s %s\n", x > 5 ? "big" : "small", x > 0 ? (x > 10 ? "huge" : "mid") : "neg")
	y = x ? (t = 1) : (t = 2)
	printf("%d %d\n", y, t)
}`,
	stdout: "2 3\nbig mid\n1 1\n",
	kernel: true,
}, {
	name: "assignment operators",
	src: `global g
probe begin {
	y = 10
	y += 3; printf("%d ", y)
	y -= 1; printf("%d ", y)
	y *= 2; printf("%d ", y)
	y /= 5; printf("%d ", y)
	y %= 3; printf("%d ", y)
	y <<= 4; printf("%d ", y)
	y >>= 2; printf("%d ", y)
	y &= 6; printf("%d ", y)
	y |= 9; printf("%d ", y)
	y ^= 3; printf("%d\n", y)
	m = -9; m >>= 1; printf("%d ", m)
	m = -9; m /= 2; printf("%d ", m)
	m = -9; m %= 2; printf("%d\n", m)
	printf("%d %d %d\n", y = 7, y += 1, (y *= 2) + 1)
	g = 1; g += 4; g -= 2; g *= 3; g <<= 1
	printf("%d %d\n", g, g -= 18)
	a = b = c = 3
	printf("%d %d %d\n", a, b, c)
}`,
	stdout: "13 12 24 4 1 16 4 4 13 14\n-5 -4 -1\n7 8 17\n18 0\n3 3 3\n",
	kernel: true,
}, {
	name: "increments",
	src: `global g, a
probe begin {
	x = 5
	printf("%d %d %d %d\n", x++, x, ++x, x)
	printf("%d %d %d %d\n", x--, x, --x, x)
	x++; x++; x--
	printf("%d\n", x)
	g = 10
	printf("%d %d %d %d\n", g++, g, ++g, g)
	g++; g--; g--
	printf("%d\n", g)
	a[1] = 10
	printf("%d %d %d %d\n", a[1]++, a[1], --a[1], a[1])
	a[2]++; a[2]++; a[3]--
	printf("%d %d\n", a[2], a[3])
}`,
	stdout: "5 6 7 7\n7 6 5 5\n6\n10 11 12 12\n11\n10 11 10 10\n2 -1\n",
	kernel: true,
}}

func TestRunIntegers(t *testing.T) { testRuns(t, integerCases) }

// longLiteral is longer than a string slot holds.
var longLiteral = strings.Repeat("0123456789", 13)

// stringCases cover string slots: literals built a word at a time,
// copies, and comparisons that rely on the zero padding.
var stringCases = []runCase{{
	name: "literals and escapes",
	src: `probe begin {
	printf("%s|\n", "a\tb\\c\"d\101\x42")
	printf("%s|%s|\n", "", "eight ch")
	printf("[%s]\n", "` + longLiteral + `")
}`,
	stdout: "a\tb\\c\"dAB|\n|eight ch|\n[" + longLiteral[:127] + "]\n",
	kernel: true,
}, {
	name: "comparisons",
	src: `global g = "hello"
probe begin {
	s = "hello"; t = "help"
	printf("%d %d %d %d\n", s == g, s != g, s == t, s != t)
	printf("%d %d\n", "abc" == "abc", "abc" == "abcd")
	printf("%d %d\n", "0123456789abcdef0" == "0123456789abcdef1", "" == e)
	printf("%d\n", execname() == execname())
}`,
	stdout: "1 0 0 1\n1 0\n0 1\n1\n",
	kernel: true,
}, {
	name: "locals and globals",
	src: `global g = "init", h
probe begin {
	s = g
	g = "new"
	h = s
	printf("%s %s %s [%s]\n", s, g, h, never)
	s = "a much longer string than before"
	s = "short"
	printf("%s %d\n", s, s == "short")
	t = u = "chain"
	printf("%s %s\n", t, u)
}`,
	stdout: "init new init []\nshort 1\nchain chain\n",
	kernel: true,
}, {
	name: "global initialisers",
	src: `global n = 42, m = -7, big = 0x7fffffffffffffff, s = "hello", e, es
probe begin {
	printf("%d %d %d %s [%d] [%s]\n", n, m, big, s, e, es)
	n++; s = "bye"
	printf("%d %s\n", n, s)
}
probe end { printf("%d %s\n", n, s) }`,
	stdout: "42 -7 9223372036854775807 hello [0] []\n43 bye\n43 bye\n",
	kernel: true,
}}

func TestRunStrings(t *testing.T) { testRuns(t, stringCases) }

// arrayCases cover hash maps keyed by packed tuples, and the runtime
// error of a full one.
var arrayCases = []runCase{{
	name: "columns and values",
	src: `global a, b, c, d, e, f
probe begin {
	a[1] = 10; a[-2] = 20
	b["x"] = "ex"; b["y"] = "why"
	c[1, "one"] = 100; c[2, "two"] = 200
	d["k", 7, "v"] = "dee"
	e[1, "a", 2, "b"] = 4; e[1, "a", 2, "c"] = 5
	f["w", "x", "y", "z"] = "four"
	printf("%d %d %s %s\n", a[1], a[-2], b["x"], b["y"])
	printf("%d %d %s\n", c[1, "one"], c[2, "two"], d["k", 7, "v"])
	printf("%d %d %s\n", e[1, "a", 2, "b"], e[1, "a", 2, "c"], f["w", "x", "y", "z"])
	a[1] = 11; b["x"] = "changed"
	printf("%d %s\n", a[1], b["x"])
}`,
	stdout: "10 20 ex why\n100 200 dee\n4 5 four\n11 changed\n",
	kernel: true,
}, {
	name: "missing elements",
	src: `global a, b, c
probe begin {
	a[1] = 1; b["x"] = "y"; c[1, "x"] = "z"
	printf("%d [%s] [%s]\n", a[2], b["nope"], c[2, "x"])
	printf("%d %d %d\n", 2 in a, "nope" in b, [2, "x"] in c)
	printf("%d %d %d\n", 1 in a, "x" in b, [1, "x"] in c)
	printf("%d %d\n", [1, "y"] in c, [1, "x"] in c && !([2, "x"] in c))
}`,
	stdout: "0 [] []\n0 0 0\n1 1 1\n0 1\n",
	kernel: true,
}, {
	name: "delete",
	src: `global a, b, n = 5, s = "str"
probe begin {
	a[1] = 1; a[2] = 2; b["k", 1] = "v"
	delete a[1]
	delete b["k", 1]
	delete a[99]
	printf("%d %d %d %d [%s]\n", 1 in a, a[1], 2 in a, ["k", 1] in b, b["k", 1])
	l = 9; ls = "local"
	delete n; delete s; delete l; delete ls
	printf("%d [%s] %d [%s]\n", n, s, l, ls)
	a[1] = 3
	printf("%d %d\n", 1 in a, a[1])
}`,
	stdout: "0 0 1 0 []\n0 [] 0 []\n1 3\n",
	kernel: true,
}, {
	name: "element arithmetic",
	src: `global a, s
probe begin {
	a["x"] = 3; a["x"] *= 4; a["x"] -= 2; a["x"] %= 7; a["x"] <<= 3
	a["y"] += 5; a["y"] += 5
	printf("%d %d\n", a["x"], a["y"])
	printf("%d %d\n", a["z"] = 9, a["x"] + a["y"] + a["z"])
	s["a"] = s["b"] = "both"
	printf("%s %s\n", s["a"], s["b"])
	s["c"] = s["a"]
	s["a"] = "other"
	printf("%s %s\n", s["c"], s["a"])
}`,
	stdout: "24 10\n9 43\nboth both\nboth other\n",
	kernel: true,
}, {
	name: "overflow",
	src: `global a[2]
probe begin {
	a[1] = 1
	a[2] = 2
	a[1] = 10
	printf("%d %d\n", a[1], a[2])
	a[3] = 3
	printf("not reached\n")
}
probe end { printf("end\n") }
probe error { printf("error probe\n") }`,
	stdout: "10 2\nerror probe\n",
	stderr: "ERROR: Array overflow, check MAXMAPENTRIES near identifier 'a' at <input>:7:2\n",
	kernel: true,
}, {
	name: "overflow by increment",
	src: `global a[2]
probe begin {
	a[1]++
	a[2] += 2
	a[2]++
	printf("%d %d\n", a[1], a[2])
	a[3]++
	printf("not reached\n")
}
probe error { printf("error probe\n") }`,
	stdout: "1 3\nerror probe\n",
	stderr: "ERROR: Array overflow, check MAXMAPENTRIES near identifier 'a' at <input>:7:2\n",
	kernel: true,
}}

func TestRunArrays(t *testing.T) { testRuns(t, arrayCases) }

// foreachLongs and foreachTuples start a probe that fills an array for
// foreach cases.
const (
	foreachLongs = `global a
probe begin {
	a[3] = 30; a[1] = 50; a[2] = 10; a[4] = 40
	`
	foreachTuples = `global s
probe begin {
	s["b", 2] = "x"; s["a", 9] = "z"; s["a", 1] = "y"
	`
)

// foreachCases cover sorted iteration, which only user space has.
var foreachCases = []runCase{{
	name:   "unsorted, in key order",
	src:    foreachLongs + `foreach (k in a) printf("%d:%d ", k, a[k]); println("") }`,
	stdout: "1:50 2:10 3:30 4:40 \n",
}, {
	name:   "by key",
	src:    foreachLongs + `foreach ([k+] in a) printf("%d ", k); foreach ([k-] in a) printf("%d ", k); println("") }`,
	stdout: "1 2 3 4 4 3 2 1 \n",
}, {
	name:   "by value",
	src:    foreachLongs + `foreach (k in a+) printf("%d ", k); foreach (k in a-) printf("%d ", k); println("") }`,
	stdout: "2 3 4 1 1 4 3 2 \n",
}, {
	name: "tuples",
	src: foreachTuples + `foreach ([p, q] in s) printf("%s%d=%s ", p, q, s[p, q]); println("")
	foreach ([p, q+] in s) printf("%s%d ", p, q); println("")
	foreach ([p, q-] in s) printf("%s%d ", p, q); println("")
	foreach ([p-, q] in s) printf("%s%d ", p, q); println("")
	foreach ([p, q] in s+) printf("%s ", s[p, q]); println("")
	foreach ([p, q] in s-) printf("%s ", s[p, q]); println("")
}`,
	stdout: "a1=y a9=z b2=x \na1 b2 a9 \na9 b2 a1 \nb2 a1 a9 \nx y z \nz y x \n",
}, {
	name: "four columns",
	src: `global q
probe begin {
	q[1, "a", 2, "b"] = 7; q[1, "a", 1, "c"] = 9; q[-3, "z", 0, "a"] = 1
	foreach ([w, x, y, v] in q) printf("%d%s%d%s=%d ", w, x, y, v, q[w, x, y, v]); println("")
	foreach ([w, x, y, v+] in q) printf("%s ", v); println("")
	foreach ([w, x, y-, v] in q) printf("%d ", y); println("")
	foreach ([w, x, y, v] in q- limit 2) printf("%d ", q[w, x, y, v]); println("")
}`,
	stdout: "-3z0a=1 1a1c=9 1a2b=7 \na b c \n2 1 0 \n9 7 \n",
}, {
	name: "limit",
	src: foreachLongs + `foreach (k in a- limit 2) printf("%d ", k); println("")
	foreach ([k+] in a limit 0) printf("%d ", k); println("")
	n = 3
	foreach ([k+] in a limit n) printf("%d ", k); println("")
	foreach ([k+] in a limit 10) printf("%d ", k); println("")
}`,
	stdout: "1 4 \n\n1 2 3 \n1 2 3 4 \n",
}, {
	name: "break and continue",
	src: foreachLongs + `foreach ([k+] in a) { if (k == 2) continue; if (k == 4) break; printf("%d ", k) }
	println("")
}`,
	stdout: "1 3 \n",
}, {
	name: "nested",
	src: foreachLongs + `foreach ([i+] in a limit 3) {
		foreach ([j-] in a) {
			if (j == i) break
			if (j == 3) continue
			printf("%d%d ", i, j)
		}
		if (i == 2) continue
		printf("| ")
	}
	println("")
}`,
	stdout: "14 12 | 24 34 | \n",
}, {
	name:   "next",
	src:    foreachLongs + `foreach ([k+] in a) { printf("%d ", k); if (k == 2) next } printf("not reached") }`,
	stdout: "1 2 ",
}, {
	name: "key variables",
	src: `global a, k, last
probe begin {
	a["p", 1] = 1; a["q", 2] = 2
	foreach ([last, k] in a) {}
	printf("%s %d\n", last, k)
}`,
	stdout: "q 2\n",
}}

func TestRunForeach(t *testing.T) { testRuns(t, foreachCases) }

// controlCases cover statements, probe order and how runs end.
var controlCases = []runCase{{
	name: "if else chains",
	src: `probe begin {
	x = 3
	if (x == 1) print("one") else if (x == 2) print("two") else if (x == 3) print("three") else print("other")
	if (x == 4) print(" four")
	if (x) { print(" yes") } else { print(" no") }
	if (!x) print(" no") else if (x > 2) { if (x < 3) print(" mid") else print(" high") }
	if (x) ; else print(" never")
	println("")
}`,
	stdout: "three yes high\n",
	kernel: true,
}, {
	name: "next",
	src: `probe begin {
	print("a")
	if (1) next
	print("b")
}
probe end { println("end") }`,
	stdout: "aend\n",
	kernel: true,
}, {
	name: "exit",
	src: `probe begin {
	print("a")
	exit()
	print("b ")
}
probe end { println("end") }`,
	stdout: "ab end\n",
	kernel: true,
}, {
	name: "probe order",
	src: `probe begin(1) { print("b1 ") }
probe end { println("end") }
probe begin { print("b0 ") }
probe end(-1) { print("e-1 ") }
probe begin(-5) { print("b-5 ") }
probe begin, end { print("both ") }
probe never { print("never ") }`,
	stdout: "b-5 b0 both b1 e-1 end\nboth ",
}, {
	name: "division by zero",
	src: `global z
probe begin {
	print("before\n")
	x = 10 / z
	print("after\n")
}
probe end { print("end\n") }
probe error { print("error probe\n") }`,
	stdout: "before\nerror probe\n",
	stderr: "ERROR: division by 0 near operator '/' at <input>:4:9\n",
	kernel: true,
}, {
	name: "modulo by zero",
	src: `probe begin {
	z = 0
	printf("%d\n", 10 % (z + 1))
	printf("%d\n", 10 % z)
}
probe end { print("end\n") }`,
	stdout: "0\n",
	stderr: "ERROR: division by 0 near operator '%' at <input>:4:20\n",
	kernel: true,
}, {
	name: "division by zero in an assignment",
	src: `global a
probe begin {
	z = 0
	a[1] = 5
	printf("%d\n", a[1])
	a[1] /= z
}`,
	stdout: "5\n",
	stderr: "ERROR: division by 0 near operator '/=' at <input>:6:7\n",
	kernel: true,
}}

func TestRunControl(t *testing.T) { testRuns(t, controlCases) }

// printCases cover print records and what the printer makes of them.
var printCases = []runCase{{
	name: "unread globals",
	src: `global count, who, hits, unused, read
probe begin {
	count = 5
	who = "bash"
	hits[1, "read"] = 42; hits[2, "write"] = 50; hits[3, "x"] = 42
	read = 1
	printf("%d\n", read)
}`,
	stdout: "1\ncount=5\nwho=\"bash\"\nhits[2,\"write\"]=50\nhits[1,\"read\"]=42\nhits[3,\"x\"]=42\n",
	kernel: true,
}, {
	name: "conversions",
	src: `probe begin {
	printf("%d|%i|%u|%x|%X|%o|%c|%%|%s\n", -5, 42, -1, 255, 255, 8, 65, "str")
	printf("[%5d][%-5d][%05d][%+d][% d][%#x][%#o][%10s][%-10s][%.2s]\n", 42, 42, 42, 42, 42, 255, 8, "hi", "hi", "hello")
	printf("[%*d][%-*s]\n", 4, 7, 3, "a")
	printf("no conversions\n")
	printf("100%%\n")
}`,
	stdout: "-5|42|18446744073709551615|ff|FF|10|A|%|str\n" +
		"[   42][42   ][00042][+42][ 42][0xff][010][        hi][hi        ][he]\n" +
		"[   7][a  ]\n" +
		"no conversions\n" +
		"100%\n",
	kernel: true,
}, {
	name: "print and println",
	src: `probe begin {
	print(1, "a", -2)
	print("\n")
	println("x", 2, "y", "%d")
	println()
	x = 5; s = "s"
	println(x, s, x * 2)
}`,
	stdout: "1a-2\nx2y%d\n\n5s10\n",
	kernel: true,
}}

func TestRunPrint(t *testing.T) { testRuns(t, printCases) }

// TestRunBuiltins checks the builtins whose values come from the
// environment: etap's own process stands in for the traced one in vm.
func TestRunBuiltins(t *testing.T) {
	comm, err := os.ReadFile("/proc/self/comm")
	require.NoError(t, err)
	want := strings.Join([]string{
		strings.TrimSpace(string(comm)),
		strconv.Itoa(sessionTarget),
		strconv.Itoa(os.Getpid()),
		strconv.Itoa(os.Getuid()),
		strconv.Itoa(os.Getgid()),
	}, " ") + "\n"
	const body = ` {
	printf("%s %d %d %d %d\n", execname(), target(), pid(), uid(), gid())
}`
	t.Run("user", func(t *testing.T) {
		stdout, stderr := run(t, "probe begin"+body)
		assert.Equal(t, want, stdout)
		assert.Empty(t, stderr)
	})
	t.Run("kernel", func(t *testing.T) {
		stdout, stderr := run(t, "probe "+tracepointPoint+body, tracepointRecord(t, nil))
		assert.Equal(t, want, stdout)
		assert.Empty(t, stderr)
	})
}

// TestRunWallClock checks gettimeofday_*() against the test's clock: they
// add the offset the loader stores to the boot clock.
func TestRunWallClock(t *testing.T) {
	const body = ` {
	printf("%d %d %d %d\n", gettimeofday_s(), gettimeofday_ms(), gettimeofday_us(), gettimeofday_ns())
}`
	check := func(t *testing.T, stdout string) {
		now := time.Now()
		fields := strings.Fields(stdout)
		require.Len(t, fields, 4)
		var vals [4]int64
		for i, f := range fields {
			v, err := strconv.ParseInt(f, 10, 64)
			require.NoError(t, err)
			vals[i] = v
		}
		assert.InDelta(t, now.Unix(), vals[0], 5)
		assert.InDelta(t, now.UnixMilli(), vals[1], 5000)
		assert.InDelta(t, now.UnixMicro(), vals[2], 5e6)
		assert.InDelta(t, now.UnixNano(), vals[3], 5e9)
	}
	t.Run("user", func(t *testing.T) {
		stdout, _ := run(t, "probe begin"+body)
		check(t, stdout)
	})
	t.Run("kernel", func(t *testing.T) {
		stdout, _ := run(t, "probe "+tracepointPoint+body, tracepointRecord(t, nil))
		check(t, stdout)
	})
}

// TestRunTimer runs a timer probe's program as the loader's timer does,
// once per period.
func TestRunTimer(t *testing.T) {
	out := compile(t, `global n
probe timer.ms(250) {
	n++
	printf("tick %d\n", n)
}`)
	require.Len(t, out.User, 1)
	assert.Equal(t, bpf.UserTimer, out.User[0].Kind)
	assert.Equal(t, 250*time.Millisecond, out.User[0].Period)
	s := newSession(t, out)
	s.runUser(bpf.UserTimer)
	s.runUser(bpf.UserTimer)
	stdout, stderr := s.finish()
	assert.Equal(t, "tick 1\ntick 2\n", stdout)
	assert.Empty(t, stderr)
}

// TestStackLimit checks the stack plan at its bound: each level of a
// right-nested expression keeps its left operand in a stack slot, and
// the word at the top of the frame holds the map key. The operands are a
// global, which takes no stack, so that sema does not fold them.
func TestStackLimit(t *testing.T) {
	nested := func(depth int) string {
		return `printf("%d\n", ` + strings.Repeat("one + (", depth) + "one" + strings.Repeat(")", depth) + ")\n}"
	}
	t.Run("fits", func(t *testing.T) {
		body := " {\n\t" + nested(63)
		stdout, stderr := run(t, "global one = 1\nprobe begin"+body)
		assert.Equal(t, "64\n", stdout)
		assert.Empty(t, stderr)
		stdout, stderr = run(t, "global one = 1\nprobe "+tracepointPoint+body, tracepointRecord(t, nil))
		assert.Equal(t, "64\n", stdout)
		assert.Empty(t, stderr)
	})
	t.Run("too deep", func(t *testing.T) {
		src := "global one = 1\nprobe begin {\n\t" + nested(64)
		_, diags := bpf.Compile(checkScript(t, src), bpf.Options{Params: maps.DefaultParams()})
		require.Len(t, diags.Items, 1)
		assert.Equal(t, "C001", diags.Items[0].Code)
		assert.Contains(t, diags.Items[0].Message, "520 bytes of stack")
	})
	// A subprogram's frame is stacked on its caller's, each rounded up to
	// 32 bytes: strpos's loop body takes 32, which leaves the handler 480
	// (see stackNeed).
	withLoop := func(depth int) string {
		return "global one = 1, s = \"abc\"\nprobe " + tracepointPoint + " {\n\tprintf(\"%d\\n\", strpos(s, \"c\"))\n\t" + nested(depth)
	}
	t.Run("fits with a subprogram", func(t *testing.T) {
		stdout, stderr := run(t, withLoop(59), tracepointRecord(t, nil))
		assert.Equal(t, "2\n60\n", stdout)
		assert.Empty(t, stderr)
		out, diags := bpf.Compile(checkScript(t, withLoop(59)), bpf.Options{Params: maps.DefaultParams()})
		requireNoErrors(t, "compile", diags, withLoop(59))
		coll, err := ebpf.NewCollection(out.Spec)
		require.NoError(t, err, "the kernel's verifier")
		coll.Close()
	})
	t.Run("too deep with a subprogram", func(t *testing.T) {
		_, diags := bpf.Compile(checkScript(t, withLoop(60)), bpf.Options{Params: maps.DefaultParams()})
		require.Len(t, diags.Items, 1)
		assert.Equal(t, "C001", diags.Items[0].Code)
		assert.Contains(t, diags.Items[0].Message, "544 bytes of stack")
	})
}

// TestSizeLimits checks that handlers too big for BPF's 16-bit offsets are
// reported rather than encoded wrong.
func TestSizeLimits(t *testing.T) {
	tests := []struct {
		name, src, code string
	}{
		{
			"jump too long",
			tracepointProbe + "\n\tt = \"x\"\n\tif (t == \"y\") {\n" + strings.Repeat("\t\ts = t\n", 1100) + "\t}\n\tprintf(\"%s\\n\", s)\n}",
			"C005",
		},
		{
			"scratch too large",
			// A global's string is MAXSTRINGLEN wide in the record.
			"global s; probe begin { s = \"a\"; printf(\"" + strings.Repeat("%s", 300) + "\"" + strings.Repeat(`, s`, 300) + ") }",
			"C004",
		},
		{
			"globals too large",
			globalsScript(300),
			"C006",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := bpf.Compile(checkScript(t, tt.src), bpf.Options{Params: maps.DefaultParams()})
			require.NotEmpty(t, diags.Items)
			assert.Equal(t, tt.code, diags.Items[0].Code)
		})
	}
}

// TestStringComparisonKeepsItsLeftSide checks that the left string of a
// comparison is read before the right side can change it.
func TestStringComparisonKeepsItsLeftSide(t *testing.T) {
	testRuns(t, []runCase{{
		name: "assignment on the right",
		src: `global a
probe begin { s = "old"; a["k"] = "x"; printf("%d %d\n", s == (s = "new"), a["k"] == (a["k"] = "new")) }`,
		stdout: "0 0\n",
		kernel: true,
	}})
}

// globalsScript declares and sets n string globals.
func globalsScript(n int) string {
	var b strings.Builder
	b.WriteString("probe begin {")
	for i := range n {
		fmt.Fprintf(&b, " g%d = \"s\";", i)
	}
	b.WriteString(" }\nglobal g0")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, ", g%d", i)
	}
	return b.String()
}

var loopCases = []runCase{
	{
		name: "while with continue and break",
		src: `probe begin { i = 0; s = 0; while (i < 100) { i++; if (i % 2) continue; if (i > 10) break; s += i }
printf("%d %d\n", i, s) }`,
		stdout: "12 30\n",
		kernel: true,
	},
	{
		name:   "for with every part",
		src:    `probe begin { s = 0; for (i = 1; i <= 4; i++) for (j = 0; j < i; j++) s++; printf("%d\n", s) }`,
		stdout: "10\n",
		kernel: true,
	},
	{
		name:   "for without parts",
		src:    `probe begin { n = 0; for (;;) { if (++n == 7) break }; printf("%d\n", n) }`,
		stdout: "7\n",
		kernel: true,
	},
	{
		name:   "next skips dead code",
		src:    `probe begin { if (1) next else next; x = 1; print(x) }`,
		stdout: "",
		kernel: true,
	},
	{
		name: "MAXACTION ends an endless loop",
		src: `probe begin {
while (1) {} }
probe error { print("error probe\n") }`,
		stdout: "error probe\n",
		stderr: "ERROR: MAXACTION exceeded near keyword at <input>:2:1\n",
		kernel: true,
	},
}

func TestRunLoops(t *testing.T) { testRuns(t, loopCases) }

var functionCases = []runCase{
	{
		name: "values, strings, overloads and nesting",
		src: `function add(a, b) { return a + b }
function add(a) { return a + 1 }
function greet:string (who:string) { if (who == "") return "nobody"; return who }
function twice(x) { s = 0; for (i = 0; i < 2; i++) s += x; return s }
probe begin { printf("%d %d %s %s %d %d\n", add(2, 3), add(2), greet(""), greet("bob"), twice(add(1, twice(4))), add(add(1, 2), add(3, 4))) }`,
		stdout: "5 3 nobody bob 18 10\n",
		kernel: true,
	},
	{
		name: "globals, no value, falling off the end",
		src: `global n
function bump(by) { n += by }
function nothing() { if (0) return 7 }
function empty:string () { if (0) return "x" }
probe begin { bump(2); bump(3); printf("%d %d [%s]\n", n, nothing(), empty()) }`,
		stdout: "5 0 []\n",
		kernel: true,
	},
	{
		name: "locals are fresh at each call",
		src: `function count() { c++; return c }
probe begin { printf("%d %d\n", count(), count()) }`,
		stdout: "1 1\n",
		kernel: true,
	},
}

func TestRunFunctions(t *testing.T) { testRuns(t, functionCases) }

var stringOpCases = []runCase{
	{
		name: "concatenation and append",
		src: `global g = "glob", a
probe begin { s = "ab" . "cd"; s .= "!"; g .= "al"; a["k"] .= "v"; a["k"] .= "w"; printf("%s %s %s\n", s, g, a["k"]) }`,
		stdout: "abcd! global vw\n",
		kernel: true,
	},
	{
		name:   "concatenation is cut at MAXSTRINGLEN",
		src:    `probe begin { s = "0123456789"; for (i = 0; i < 20; i++) s = s . "0123456789"; printf("%d %s\n", strlen(s), substr(s, 120, 10)) }`,
		stdout: "127 0123456\n",
		kernel: true,
	},
	{
		name:   "ordering",
		src:    `probe begin { printf("%d %d %d %d %d %d\n", "abc" < "abd", "b" > "abc", "" < "a", "a" <= "a", "a" >= "b", "abcdefghij" < "abcdefghi") }`,
		stdout: "1 1 1 1 0 0\n",
		kernel: true,
	},
	{
		name:   "strlen and substr",
		src:    `probe begin { printf("%d %d [%s] [%s] [%s] [%s]\n", strlen(""), strlen("hello"), substr("hello", 1, 3), substr("hi", 5, 2), substr("hello", -1, 100), substr("hello", 2, 0)) }`,
		stdout: "0 5 [ell] [] [hello] []\n",
		kernel: true,
	},
}

func TestRunStringOps(t *testing.T) { testRuns(t, stringOpCases) }
