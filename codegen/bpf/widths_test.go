package bpf_test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/codegen/bpf"
	"etap/maps"
)

// TestKeySizes checks the width of each string key column and print
// argument: the most any expression that reaches it can need.
func TestKeySizes(t *testing.T) {
	tests := []struct {
		name, src string
		want      map[string][]int
		// print is the Sizes of the first print site, if not nil.
		print []int
	}{{
		name: "writers and readers",
		src: `global c, d, e, f, s
probe begin {
	c[execname()]++
	d[execname()]++
	d["a string literal much longer than a task name"] = 5
	e["ab", 1] = 1
	f[s] = 1
	print(c["x"] + d[1 ? "y" : execname()] + e["cd", 2])
	printf("%s %s %s %d\n", execname(), "abc", s, 1)
}
function g() { return ["also a literal but long enough", 3] in e }
probe end { print(g()) }`,
		want: map[string][]int{
			"c": {16},    // execname() and a short literal
			"d": {48},    // a 47-byte literal and execname()
			"e": {32, 8}, // a 30-byte literal in a function, a long column
			"f": {128},   // a global: any length
		},
	}, {
		name: "foreach keys read back",
		src: `global c, d
probe begin { c[execname(), 1]++; k = "short"; d[k] = 1 }
probe end {
	foreach ([x, n] in c-) { printf("%s %d\n", x, c[x, n]); d[x] = 2 }
}`,
		want:  map[string][]int{"c": {16, 8}, "d": {16}},
		print: []int{16, 8},
	}, {
		name: "a local written any way",
		src: `global c, d, e
probe begin {
	c[execname()]++
	s = "x"; s .= "y"; d[s] = 1
	foreach (k in c) { k = k . "!"; e[k] = 1 }
}`,
		want: map[string][]int{"c": {16}, "d": {128}, "e": {128}},
	}, {
		name: "slices, wildcards, catch, statistics and % arrays",
		src: `global n, t, u, w%[4], st
probe begin {
	printf("%s %.2m %s\n", execname(), 0, "abc")
	n[execname(), 1] = 1
	foreach ([e, i] in n["ab", *]) t[e] = i
	delete n["a literal longer than a task name", *]
	if (["xyz", *] in n) print(1)
	w[execname()] = 1
	st[execname()] <<< 1
	print(@count(st["abc"]))
	try { error("x") } catch (m) { u[m] = 1 }
}`,
		// n: the 33-byte literal of the delete; t: n's keys.
		want:  map[string][]int{"n": {40, 8}, "t": {40}, "u": {128}, "w": {16}, "st": {16}},
		print: []int{16, maps.DefaultStringLen, 8},
	}, {
		name: "string copies bounded by a literal n",
		src: `global a, b, c, d
probe begin {
	a[user_string_n(0, 5, "?")] = 1
	b[kernel_string_n(0, 3, "a longer message")] = 1
	c[user_string_n(0, 500, "?")] = 1
	d[user_string(0, "?")] = 1
	m = 2
	printf("%s %s\n", user_string_n2(0, 20, "?"), user_string_n(0, m))
}`,
		// a: 5 bytes; b: the 16-byte message; c: more than MAXSTRINGLEN;
		// d and the second print argument: no bound.
		want:  map[string][]int{"a": {8}, "b": {24}, "c": {128}, "d": {128}},
		print: []int{24, maps.DefaultStringLen},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, diags := bpf.Compile(checkScript(t, tt.src), bpf.Options{Params: maps.DefaultParams()})
			require.False(t, diags.HasErrors(), "%v", diags)
			sizes := map[string][]int{}
			for _, g := range out.ABI.Globals {
				if g.IsArray() {
					sizes[g.Name] = g.KeySizes
					assert.Equal(t, uint32(maps.TupleSize(g.KeySizes)), out.Spec.Maps[g.MapName].KeySize, g.Name)
				}
			}
			assert.Equal(t, tt.want, sizes)
			if tt.print != nil {
				assert.Equal(t, tt.print, out.ABI.Prints[0].Sizes)
			}
		})
	}
}

// TestPrintSizes checks that a record's string arguments are as narrow as
// their strings.
func TestPrintSizes(t *testing.T) {
	out, diags := bpf.Compile(checkScript(t, `global s
probe begin { printf("%s %s %s %d\n", execname(), "abc", s, 1) }`), bpf.Options{Params: maps.DefaultParams()})
	require.False(t, diags.HasErrors(), "%v", diags)
	assert.Equal(t, []int{16, 8, 128, 8}, out.ABI.Prints[0].Sizes)
}

// TestRunNarrowKeys checks that narrow key columns keep every key apart:
// a literal longer than a task name shares an array with execname() keys,
// a prefix of it that would fit an execname() column is not found, and
// keys read back into variables, displayed or printed are whole.
func TestRunNarrowKeys(t *testing.T) {
	comm, err := os.ReadFile("/proc/self/comm")
	require.NoError(t, err)
	name := strings.TrimSpace(string(comm))
	testRuns(t, []runCase{{
		name: "execname and a long literal",
		src: `global c, n
probe begin {
	c[execname()]++
	c[execname()] += 2
	c["a string literal much longer than a task name"] = 5
	c["short"]++
	printf("%d %d %d\n", c[execname()], c["a string literal much longer than a task name"], c["short"])
	printf("%d %d\n", "a string litera" in c, "a string literal much longer than a task name" in c)
	n[execname(), 7] = 1
	printf("%s\n", execname())
}
probe end {
	foreach ([k, v] in n) printf("%s %d %d\n", k, v, strlen(k))
	foreach (k in c-) printf("%s=%d\n", k, c[k])
}`,
		stdout: "3 5 1\n0 1\n" + name + "\n" + name + " 7 " + strconv.Itoa(len(name)) + "\n" +
			"a string literal much longer than a task name=5\n" + name + "=3\nshort=1\n",
		kernel: true,
	}, {
		name: "a local as key",
		src: `global c
probe begin {
	k = "short"; c[k] = 1
	k = "a much longer string than sixteen bytes"; c[k] = 2
}
probe end {
	foreach (x in c-) printf("%s=%d %d\n", x, c[x], strlen(x))
}`,
		stdout: "a much longer string than sixteen bytes=2 39\nshort=1 5\n",
		kernel: true,
	}, {
		name: "display",
		src: `global d
probe begin {
	d["ab", 3] = 1
}`,
		stdout: "d[\"ab\",3]=1\n",
		kernel: true,
	}})
}

// TestRunStringCopyFault checks user_string and kernel_string on a bad
// address: the message, made only then unless making it changes
// something, in a variable, a key and a record alike; without one, stap's
// error.
func TestRunStringCopyFault(t *testing.T) {
	testRuns(t, []runCase{{
		name: "message",
		src: `global c, s
probe begin {
	x = user_string(0, "bad")
	c[kernel_string(0, "fallback")] = 1
	printf("[%s] %d %d [%s]\n", x, strlen(x), c["fallback"], user_string(0, "in a record"))
	printf("[%s] [%s]\n", kernel_string(0, s = "said"), s)
}`,
		stdout: "[bad] 3 1 [in a record]\n[said] [said]\n",
		kernel: true,
	}, {
		name: "error",
		src: `probe begin {
	printf("%s\n", user_string(0))
}
probe error { printf("error probe\n") }`,
		stdout: "error probe\n",
		stderr: "ERROR: user string copy fault near identifier 'user_string' at <input>:2:17\n",
		kernel: true,
	}})
}
