package bpf_test

import (
	"testing"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPerCPUCounters checks which arrays become per-CPU counters: those
// that kernel probes touch only as the target of an increment statement.
func TestPerCPUCounters(t *testing.T) {
	tests := []struct {
		name string
		src  string
		// typ is the map type of array c.
		typ ebpf.MapType
	}{{
		name: "increments",
		src:  tracepointProbe + ` c[execname()]++; c["a"]--; c["b"] += $s8; c["b"] -= 2 } probe end { print(c["a"]) }`,
		typ:  ebpf.PerCPUHash,
	}, {
		name: "wrap",
		src:  `global c%` + "\n" + tracepointProbe + ` c[$s8]++ }`,
		typ:  ebpf.LRUCPUHash,
	}, {
		name: "in a function the kernel probe calls",
		src:  `function f(k) { c[k] += 2 }` + "\n" + tracepointProbe + ` f($s8) } probe begin { c[1] = 7 }`,
		typ:  ebpf.PerCPUHash,
	}, {
		name: "user space does anything",
		src: tracepointProbe + ` c[1]++ }
probe end { c[2] = c[1]; delete c[1]; foreach (k in c-) print(k); if (3 in c) print(c[2]++) }`,
		typ: ebpf.PerCPUHash,
	}, {
		name: "read in the kernel",
		src:  tracepointProbe + ` c[1]++; x = c[1] }`,
		typ:  ebpf.Hash,
	}, {
		name: "read in its own index",
		src:  tracepointProbe + ` c[c[0]]++ }`,
		typ:  ebpf.Hash,
	}, {
		name: "read by the added value",
		src:  tracepointProbe + ` c[1] += c[2] }`,
		typ:  ebpf.Hash,
	}, {
		name: "increment as an expression",
		src:  tracepointProbe + ` x = c[1]++ }`,
		typ:  ebpf.Hash,
	}, {
		name: "assigned in the kernel",
		src:  tracepointProbe + ` c[1]++; c[2] = 3 }`,
		typ:  ebpf.Hash,
	}, {
		name: "multiplied in the kernel",
		src:  tracepointProbe + ` c[1] *= 3 }`,
		typ:  ebpf.Hash,
	}, {
		name: "tested in the kernel",
		src:  tracepointProbe + ` c[1]++; if (2 in c) next }`,
		typ:  ebpf.Hash,
	}, {
		name: "deleted in the kernel",
		src:  tracepointProbe + ` c[1]++; delete c }`,
		typ:  ebpf.Hash,
	}, {
		name: "iterated in the kernel",
		src:  tracepointProbe + ` c[1]++; foreach (k in c) next }`,
		typ:  ebpf.Hash,
	}, {
		name: "read in a function the kernel probe calls",
		src:  `function f() { return c[1] }` + "\n" + tracepointProbe + ` c[1]++; f() }`,
		typ:  ebpf.Hash,
	}, {
		name: "only in user space",
		src:  `probe begin { c[1]++ }`,
		typ:  ebpf.Hash,
	}, {
		name: "strings",
		src:  tracepointProbe + ` c[1] .= "x" }`,
		typ:  ebpf.Hash,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.src
			if src[0] != 'g' {
				src = "global c\n" + src
			}
			out := compile(t, src)
			var perCPU, found bool
			for _, g := range out.ABI.Globals {
				if g.Name == "c" {
					perCPU, found = g.PerCPU, true
					assert.Equal(t, tc.typ, out.Spec.Maps[g.MapName].Type)
				}
			}
			require.True(t, found)
			assert.Equal(t, tc.typ != ebpf.Hash, perCPU, "ABI says per-CPU")
		})
	}
}

// perCPUCounterScript counts in a kernel probe, on "CPU 1" of the test
// session, into arrays that begin and end probes, on CPU 0, write, read,
// sort, test, delete and display: they see the sums.
const perCPUCounterScript = `global c, d, shown
probe begin { c["w"] = 100; c["z"] = 1; c["w"]++ }
` + tracepointProbe + `
	c["w"]++; c["w"] += 10; c["x"] += 5; c["x"]--; c["y"] -= 2; c["z"]--
	d[$s8, "n"]++
	shown[$s8 * 2]++
}
probe end {
	printf("w=%d x=%d y=%d z=%d in=%d/%d\n", c["w"], c["x"], c["y"], c["z"], "z" in c, "q" in c)
	foreach (k in c-) printf("%s:%d ", k, c[k]); println("")
	delete c["w"]
	c["x"] = 42; c["x"]++; c["y"] += 1
	foreach ([k+] in c) printf("%s:%d ", k, c[k]); println("")
	foreach ([s, n] in d) printf("d[%d,%s]=%d\n", s, n, d[s, n])
	delete c
	printf("%d %d\n", c["x"], "x" in c)
}
`

// TestRunPerCPUCounters runs perCPUCounterScript in vm, two events.
func TestRunPerCPUCounters(t *testing.T) {
	out := compile(t, perCPUCounterScript)
	for _, g := range out.ABI.Globals {
		assert.True(t, g.PerCPU, "global %s", g.Name)
	}
	ev := tracepointRecord(t, map[string]int64{"s8": 3})
	stdout, stderr := run(t, perCPUCounterScript, ev, ev)
	assert.Equal(t, "w=123 x=8 y=-4 z=-1 in=1/0\n"+
		"w:123 x:8 z:-1 y:-4 \n"+
		"x:43 y:-3 z:-1 \n"+
		"d[3,n]=2\n"+
		"0 0\n"+
		"shown[6]=2\n", stdout)
	assert.Empty(t, stderr)
}
