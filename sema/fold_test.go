package sema_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/codegen/bpf"
	"etap/diag"
	"etap/lang"
	"etap/lang/ast"
	"etap/sema"
)

// checkUnoptimized checks src as etap -u does.
func checkUnoptimized(t *testing.T, src string) (*sema.Program, *diag.List) {
	t.Helper()
	f, diags := lang.Parse("t.stp", src, nil)
	require.Empty(t, messages(diags))
	return sema.Check([]*ast.File{f}, sema.Options{Kernel: fakeKernel{}, Library: bpf.Library(), Tapsets: tapsetFiles(t), Unoptimized: true})
}

// TestUnoptimizedKeepsEverything checks -u: nothing folds, dead branches
// and unused functions and typed globals stay and are checked, while
// @defined still decides its branch.
func TestUnoptimizedKeepsEverything(t *testing.T) {
	src := `global unused = 5, untyped
function spare(n) { return n + 1 }
probe kernel.trace("syscalls:sys_enter_getpid") {
	x = 2 * 3
	if (0) println("dead")
	if (@defined($nosuch)) println($nosuch)
	println(x)
}`
	prog, diags := checkUnoptimized(t, src)
	require.Empty(t, messages(diags))
	var globals, functions []string
	for _, g := range prog.Globals {
		globals = append(globals, g.Name)
	}
	for _, f := range prog.Functions {
		functions = append(functions, f.Decl.Name)
	}
	assert.Equal(t, []string{"unused"}, globals, "an untyped unused global has no layout: still elided")
	assert.Equal(t, []string{"spare"}, functions)
	var out strings.Builder
	sema.Dump(&out, prog)
	assert.Contains(t, out.String(), "x = (2) * (3);\n\tif (0) println(\"dead\");\n\tprintln(x);")

	optimized, diags := check(t, "t.stp", src)
	require.Empty(t, messages(diags))
	assert.Empty(t, optimized.Globals)
	assert.Empty(t, optimized.Functions)

	_, diags = checkUnoptimized(t, `function broken() { x = 1; x = "s" } probe begin { }`)
	assert.Equal(t, []string{`S006 type mismatch (string): 'x' was long note 1:21: type of 'x' was first inferred here (long) hint: use a second variable`}, messages(diags),
		"-u checks the functions nothing calls")

	_, diags = checkUnoptimized(t, `probe begin { println(1 / 0) }`)
	assert.Empty(t, messages(diags), "-u leaves a division by zero to run time")
}
