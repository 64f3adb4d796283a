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
	out, diags := bpf.Compile(checkScript(t, `global c, d, e, f, s
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
probe end { print(g()) }`), bpf.Options{Params: maps.DefaultParams()})
	require.False(t, diags.HasErrors(), "%v", diags)
	sizes := map[string][]int{}
	for _, g := range out.ABI.Globals {
		sizes[g.Name] = g.KeySizes
	}
	assert.Equal(t, map[string][]int{
		"c": {16},    // execname() and a short literal
		"d": {48},    // a 47-byte literal and execname()
		"e": {32, 8}, // a 30-byte literal in a function, a long column
		"f": {128},   // a variable: any length
		"s": nil,     // a scalar
	}, sizes)
	require.Len(t, out.ABI.Prints, 3)
	assert.Equal(t, []int{16, 8, 128, 8}, out.ABI.Prints[1].Sizes)
	for _, name := range []string{"a_c", "a_d", "a_e", "a_f"} {
		g := out.Spec.Maps[name]
		assert.Equal(t, uint32(maps.TupleSize(sizes[name[2:]])), g.KeySize, name)
	}
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
		name: "display",
		src: `global d
probe begin {
	d["ab", 3] = 1
}`,
		stdout: "d[\"ab\",3]=1\n",
		kernel: true,
	}})
}
