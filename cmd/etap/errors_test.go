package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// These tests check runtime errors end to end on the real kernel: the
// verifier accepts what raises them, and the exit status and stderr are
// stap's.

// getpidProbe fires once for each getpid of the -c child.
const getpidProbe = `probe kernel.trace("syscalls:sys_enter_getpid") { if (pid() != target()) next; `

func TestKernelTryCatch(t *testing.T) {
	script := `function check(n) { if (n > 2) error("too many: " . (n > 5 ? "lots" : "some")); return n }
global n, caught
` + getpidProbe + `n++
	try { check(n); x = 10 / (n - 2) } catch (m) { caught++; if (caught <= 2) println(n, " ", m) }
	if (n == 4) exit()
}
probe end { println("end ", caught) }`
	r := etap(t, "-e", script, "-c", getpidBin)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "2 division by 0\n3 too many: some\nend 3\n", r.stdout)
}

func TestKernelRecursion(t *testing.T) {
	script := `function fact(n) { return n <= 1 ? 1 : n * fact(n - 1) }
function fib(n) { if (n < 2) return n; return fib(n - 1) + fib(n - 2) }
` + getpidProbe + `printf("%d %d\n", fact(10), fib(8)); try { fact(12) } catch (m) { println(m) }; exit() }`
	r := etap(t, "-e", script, "-c", getpidBin)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "3628800 21\nMAXNESTING exceeded\n", r.stdout)

	r = etap(t, "-D", "MAXNESTING=3", "-e", script, "-c", getpidBin)
	assert.Equal(t, 1, r.code)
	assert.Empty(t, r.stdout)
	assert.Contains(t, r.stderr, "ERROR: MAXNESTING exceeded near identifier 'fact' at <input>:1:44\n")
}

func TestWarnAndAbort(t *testing.T) {
	r := etap(t, "-e", `probe begin { warn("watch out"); println("on") }
probe begin(1) { abort(); println("not reached") }
probe begin(2) { println("not run: the run is stopping") }
probe end { println("end") }
probe error { println("error probe") }`)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "on\nend\n", r.stdout)
	assert.Equal(t, "WARNING: watch out\n", r.stderr)
}

func TestMaxErrors(t *testing.T) {
	script := `global n
` + getpidProbe + `n++; if (n % 100 == 0) error("error at " . (n < 250 ? "start" : "later")) }
probe end { println("end ", n) }
probe error { println("error probe ", n) }`
	r := etap(t, "-e", script, "-c", getpidBin)
	assert.Equal(t, 1, r.code)
	assert.Equal(t, "error probe 100\n", r.stdout, "the first error ends the run and stops the kernel probes")
	assert.Equal(t, "ERROR: error at start\n", r.stderr)

	r = etap(t, "-D", "MAXERRORS=2", "-e", script, "-c", getpidBin)
	assert.Equal(t, 1, r.code)
	assert.Equal(t, "error probe 300\n", r.stdout, "the third error ends the run")
	assert.Equal(t, "ERROR: error at start\nERROR: error at start\nERROR: error at later\n", r.stderr)

	r = etap(t, "-D", "MAXERRORS=20", "-e", script, "-c", getpidBin)
	assert.Equal(t, 1, r.code, "errors were reported")
	assert.Equal(t, "end 1000\n", r.stdout, "within MAXERRORS the run goes on to its end")
	assert.Len(t, r.stderr, 2*len("ERROR: error at start\n")+8*len("ERROR: error at later\n"))
}

func TestSuppressHandlerErrors(t *testing.T) {
	script := `global n, ok
` + getpidProbe + `n++; ok += 1 / (n % 2) }
probe end { println(n, " ", ok) }
probe error { println("error probe") }`
	r := etap(t, "--suppress-handler-errors", "-e", script, "-c", getpidBin)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "1000 500\n", r.stdout)
	assert.Empty(t, r.stderr)
}

func TestBadDefines(t *testing.T) {
	for _, d := range []string{"MAXNESTING=0", "MAXERRORS=-1", "MAXNESTING=x"} {
		r := etap(t, "-D", d, "-e", `probe begin { exit() }`)
		assert.Equal(t, 1, r.code, d)
		assert.Contains(t, r.stderr, "want NAME=NUMBER", d)
	}
}

// TestLongLoopLoads loads a loop that MAXACTION lets run 25,000 rounds
// with branches the verifier cannot decide: on open-coded iterators it is
// checked until its state settles, not round by round. (The loader's own
// tests cover how a rejection is reported.)
func TestLongLoopLoads(t *testing.T) {
	r := etap(t, "-p4", "-D", "MAXACTION=50000", "-e", `global n
probe kernel.trace("syscalls:sys_enter_getpid") {
  n++
  while (n < 1000000000) { n += 3; if (n % 7 == 0) n++ }
}`)
	assert.Equal(t, 0, r.code, r.stderr)
}
