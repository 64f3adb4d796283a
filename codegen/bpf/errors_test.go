package bpf_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/codegen/bpf"
	"etap/diag"
	"etap/maps"
)

// errorEnd are the end and error probes of the error cases: which of the
// two ran shows whether the run failed.
const errorEnd = `
probe end { println("end") }
probe error { println("error probe") }`

// errorCases cover runtime errors, try/catch and the builtins that raise,
// warn and stop.
var errorCases = []runCase{{
	name: "catch with the message",
	src: `probe begin {
	z = 0
	try { x = 1 / z; println("not reached") } catch (msg) { println("caught: ", msg) }
	try { x = 1 % z } catch (msg) { println("caught: ", msg) }
	try { error("my own") } catch (msg) { println("caught: ", msg) }
	println("after ", x)
}` + errorEnd,
	stdout: "caught: division by 0\ncaught: division by 0\ncaught: my own\nafter 0\nend\n",
	kernel: true,
}, {
	name: "catch without a variable",
	src: `probe begin {
	try { error("x") } catch { println("caught") }
	try { println("fine") } catch { println("not reached") }
}` + errorEnd,
	stdout: "caught\nfine\nend\n",
	kernel: true,
}, {
	name: "nested try, and an error in a catch",
	src: `probe begin {
	try {
		try { error("inner") } catch (m) { println("1 ", m); error("again") }
		println("not reached")
	} catch (m) { println("2 ", m) }
	try { try { println("a") } catch { println("no") }; error("outer") } catch (m) { println("3 ", m) }
}` + errorEnd,
	stdout: "1 inner\n2 again\na\n3 outer\nend\n",
	kernel: true,
}, {
	name: "an error in a called function reaches the caller's catch",
	src: `function div(a, b) { return a / b }
function check(s) { if (s == "") error("empty"); return s . "!" }
probe begin {
	try { println(div(6, 3)); println(div(1, 0)) } catch (m) { println("caught ", m) }
	try { println(check("x")); println(check("")) } catch (m) { println("caught ", m) }
}` + errorEnd,
	stdout: "2\ncaught division by 0\nx!\ncaught empty\nend\n",
	kernel: true,
}, {
	name: "a try in a function",
	src: `function safe(a, b) { try { return a / b } catch { return -1 } }
probe begin { printf("%d %d\n", safe(7, 2), safe(7, 0)) }` + errorEnd,
	stdout: "3 -1\nend\n",
	kernel: true,
}, {
	name: "try in a loop, with break and continue",
	src: `probe begin {
	for (i = 0; i < 6; i++) {
		try { if (i == 4) break; if (i % 2) continue; x = 10 / (i - 2); printf("%d ", x) } catch (m) { printf("[%s] ", m) }
	}
	println("")
}` + errorEnd,
	stdout: "-5 [division by 0] \nend\n",
	kernel: true,
}, {
	name:   "error() uncaught",
	src:    `probe begin { println("before"); error("it broke"); println("not reached") }` + errorEnd,
	stdout: "before\nerror probe\n",
	stderr: "ERROR: it broke\n",
	kernel: true,
}, {
	name:   "warn goes on",
	src:    `probe begin { warn("careful"); warn("two lines\n"); println("still here") }` + errorEnd,
	stdout: "still here\nend\n",
	stderr: "WARNING: careful\nWARNING: two lines\n",
	kernel: true,
}, {
	name: "abort ends the handler and runs the end probes",
	src: `probe begin {
	println("before")
	try { abort(); println("not reached") } catch { println("abort is not an error") }
	println("not reached either")
}` + errorEnd,
	stdout: "before\nend\n",
	kernel: true,
}, {
	name:   "exit lets the handler finish",
	src:    `probe begin { exit(); println("still runs") }` + errorEnd,
	stdout: "still runs\nend\n",
	kernel: true,
}, {
	name: "MAXACTION can be caught",
	src: `probe begin {
	try { while (1) { } } catch (m) { println("caught ", m) }
}` + errorEnd,
	stdout: "caught MAXACTION exceeded\nend\n",
	kernel: true,
}, {
	name: "array overflow can be caught",
	src: `global a[2]
probe begin {
	a[1] = 1; a[2] = 2
	try { a[3] = 3 } catch (m) { println("caught ", m) }
	println(3 in a)
}` + errorEnd,
	stdout: "caught Array overflow, check MAXMAPENTRIES\n0\nend\n",
	kernel: true,
}, {
	name: "recursion",
	src: `function fact(n) { return n <= 1 ? 1 : n * fact(n - 1) }
function fib(n) { if (n < 2) return n; return fib(n - 1) + fib(n - 2) }
function even(n) { return n == 0 ? 1 : odd(n - 1) }
function odd(n) { return n == 0 ? 0 : even(n - 1) }
function rev(s) { if (strlen(s) <= 1) return s; return rev(substr(s, 1, strlen(s) - 1)) . substr(s, 0, 1) }
function bottom(n) { return n > 0 ? bottom(n - 1) : 7 }
probe begin {
	printf("%d %d %d %d %d\n", fact(10), fib(8), even(9), odd(9), bottom(5))
	println(rev("recursion"))
}` + errorEnd,
	stdout: "3628800 21 0 1 7\nnoisrucer\nend\n",
	kernel: true,
}, {
	name: "MAXNESTING exceeded",
	src: `function down(n) { return n == 0 ? 0 : 1 + down(n - 1) }
probe begin {
	println(down(10))
	try { println(down(11)) } catch (m) { println("caught ", m) }
	println(down(12))
}` + errorEnd,
	stdout: "10\ncaught MAXNESTING exceeded\nerror probe\n",
	stderr: "ERROR: MAXNESTING exceeded near identifier 'down' at <input>:1:44\n",
	kernel: true,
}, {
	name: "-D MAXNESTING counts every call",
	src: `function a() { return b() + 1 }
function b() { return c() + 1 }
function c() { return 1 }
probe begin { println(c()); println(b()); println(a()) }` + errorEnd,
	set:    func(o *bpf.Options) { o.MaxNesting = 2 },
	stdout: "1\n2\nerror probe\n",
	stderr: "ERROR: MAXNESTING exceeded near identifier 'c' at <input>:2:23\n",
	kernel: true,
}, {
	name: "--suppress-handler-errors",
	src: `probe begin(1) { error("quiet"); println("not reached") }
probe begin(2) { println("runs"); try { error("caught") } catch (m) { println(m) } }
probe begin { z = 0; x = 1 / z; println("not reached") }` + errorEnd,
	set:    func(o *bpf.Options) { o.SuppressErrors = true },
	stdout: "runs\ncaught\nend\n",
	kernel: true,
}}

func TestRunErrors(t *testing.T) { testRuns(t, errorCases) }

// TestErrorInEndProbe checks that an error in an end probe stops the later
// end probes and runs the error probes, as stap's session state does.
func TestErrorInEndProbe(t *testing.T) {
	stdout, stderr := run(t, `probe begin { println("begin") }
probe end { println("end 0"); error("in end") }
probe end(1) { println("end 1") }
probe error { println("error probe") }`)
	assert.Equal(t, "begin\nend 0\nerror probe\n", stdout)
	assert.Equal(t, "ERROR: in end\n", stderr)
}

// TestMaxErrors checks that the run goes on after MAXERRORS errors, each
// reported, and ends at the one after, in user space and in the kernel.
func TestMaxErrors(t *testing.T) {
	const src = `global n
probe begin { error("one") }
probe begin(1) { z = 0; x = 1 / z }
probe begin(2) { println("begin goes on") }
probe kernel.trace("syscalls:sys_enter_getpid") { n++; printf("event %d\n", n); if (n == 1) error("1") else error("2") }` + errorEnd
	event := tracepointRecord(t, nil)
	stdout, stderr := runWith(t, src, func(o *bpf.Options) { o.MaxErrors = 3 }, event, event, event)
	assert.Equal(t, "begin goes on\nevent 1\nevent 2\nerror probe\n", stdout)
	assert.Equal(t, "ERROR: one\nERROR: division by 0 near operator '/' at <input>:3:31\nERROR: 1\nERROR: 2\n", stderr)

	stdout, stderr = runWith(t, src, func(o *bpf.Options) { o.MaxErrors = 10 }, event)
	assert.Equal(t, "begin goes on\nevent 1\nend\n", stdout, "errors within MAXERRORS: the end probes run")
	assert.Equal(t, "ERROR: one\nERROR: division by 0 near operator '/' at <input>:3:31\nERROR: 1\n", stderr)
}

// TestRecursionTooLargeIsUnrolledLess checks that a function calling itself
// twice gets less depth than MAXNESTING when unrolling it that deep would
// not fit a BPF program, with a warning that says so, and that other
// functions keep their depth.
func TestRecursionTooLargeIsUnrolledLess(t *testing.T) {
	src := `function fib(n) { if (n < 2) return n; return fib(n - 1) + fib(n - 2) }
function down(n) { return n == 0 ? 0 : 1 + down(n - 1) }
probe begin {
	println(down(10))
	try { println(fib(7)) } catch (m) { println(m) }
	try { println(fib(25)) } catch (m) { println(m) }
}`
	prog := checkScript(t, src)
	out, diags := bpf.Compile(prog, bpf.Options{Params: maps.DefaultParams(), Sources: sourceOf(src)})
	requireNoErrors(t, "compile", diags, src)
	require.Len(t, diags.Items, 1)
	d := diags.Items[0]
	assert.Equal(t, diag.Warning, d.Severity)
	assert.Equal(t, "C007", d.Code)
	assert.Equal(t, 1, d.Span.Start.Line)
	assert.Regexp(t, `calls of 'fib' in probe begin nest at most \d deep, not MAXNESTING's 11`, d.Message)
	s := newSession(t, out)
	s.runUser(bpf.UserBegin)
	stdout, stderr := s.finish()
	assert.Equal(t, "10\n13\nMAXNESTING exceeded\n", stdout)
	assert.Empty(t, stderr)
}
