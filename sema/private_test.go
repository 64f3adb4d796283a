package sema_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/codegen/bpf"
	"etap/diag"
	"etap/lang"
	"etap/lang/ast"
	"etap/sema"
)

// privateTapset has a private global and function beside public ones of
// the same names as the script's.
const privateTapset = `
private global count
private function step() { return 1 }
function lib_bump() { count += step(); return count }
global shared
function lib_shared() { shared++; return shared }
probe lib.start = begin { started = step() }
`

// checkWithTapset checks script against the one tapset lib.
func checkWithTapset(t *testing.T, lib, script string) (*sema.Program, *diag.List) {
	t.Helper()
	lf, diags := lang.Parse("tapsets/lib.stp", lib, nil)
	require.Empty(t, messages(diags))
	sf, diags := lang.Parse("t.stp", script, nil)
	require.Empty(t, messages(diags))
	return sema.Check([]*ast.File{sf}, sema.Options{Kernel: fakeKernel{}, Library: bpf.Library(), Tapsets: []*ast.File{lf}})
}

// TestPrivateGlobalsDoNotMerge checks that a tapset's private global and
// a script global of the same name are two variables, each with its own
// type and its own map name, while public globals of one name are one.
func TestPrivateGlobalsDoNotMerge(t *testing.T) {
	prog, diags := checkWithTapset(t, privateTapset, `global count, shared
probe begin { count = "mine"; shared = 10; printf("%d %s %d\n", lib_bump(), count, lib_shared()) }`)
	require.Empty(t, messages(diags))
	types := map[string]sema.Type{}
	for _, g := range prog.Globals {
		types[g.Name] = g.Type
	}
	assert.Equal(t, map[string]sema.Type{"count": sema.String, "lib_count": sema.Long, "shared": sema.Long}, types)
}

// TestPrivateHiddenFromScript checks that the script cannot name a
// tapset's private function or global, while the tapset's own aliases can.
func TestPrivateHiddenFromScript(t *testing.T) {
	_, diags := checkWithTapset(t, privateTapset, `probe begin { print(step()) }`)
	assert.Equal(t, []string{"S040 unknown function 'step'"}, messages(diags))

	_, diags = checkWithTapset(t, privateTapset, `probe begin { print(count) }`)
	assert.Equal(t, []string{"S004 cannot infer the type of variable 'count' hint: assign it a number or a string somewhere, e.g. count = 0"}, messages(diags),
		"count is a fresh local of the script, not the tapset's global")

	prog, diags := checkWithTapset(t, privateTapset, `probe lib.start { print(started) }`)
	require.Empty(t, messages(diags))
	require.Len(t, prog.Functions, 1)
	assert.Equal(t, "step", prog.Functions[0].Decl.Name)
}

// TestPrivateInScript checks that a script's own private names work in
// the script, and that a tapset cannot see them.
func TestPrivateInScript(t *testing.T) {
	_, diags := checkWithTapset(t, `function lib_read() { return mine }`, `private global mine = 3
private function twice(n) { return 2 * n }
probe begin { println(twice(mine)) }`)
	assert.Empty(t, messages(diags))

	_, diags = checkWithTapset(t, `function lib_read() { return mine }`, `private global mine = 3
probe begin { println(lib_read(), mine) }`)
	assert.Equal(t, []string{"S004 cannot infer the type of variable 'mine' hint: assign it a number or a string somewhere, e.g. mine = 0"}, messages(diags),
		"the tapset's mine is a local of its own")
}
