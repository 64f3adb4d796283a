package sema_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/codegen/bpf"
	"etap/lang"
	"etap/lang/ast"
	"etap/sema"
)

// libraryTapset has a used function and global beside an unused function,
// global and alias that would each fail the check.
const libraryTapset = `
global counted
global broken_global = 1
function count(n) { counted += n; return counted }
function broken() { x = 1; x = "s" }
probe broken.alias = kernel.trace("sched:no_such_event") { y = 1; y = "s" }
`

// TestTapsetsPulledOnUse checks that sema takes from a tapset only what
// the script uses: what it does not use is neither checked nor emitted.
func TestTapsetsPulledOnUse(t *testing.T) {
	lib, diags := lang.Parse("lib.stp", libraryTapset, nil)
	require.Empty(t, messages(diags))
	script, diags := lang.Parse("t.stp", `probe begin { printf("%d\n", count(2)) }`, nil)
	require.Empty(t, messages(diags))
	prog, diags := sema.Check([]*ast.File{script}, sema.Options{Kernel: fakeKernel{}, Library: bpf.Library(), Tapsets: []*ast.File{lib}})
	require.Empty(t, messages(diags))
	require.Len(t, prog.Functions, 1)
	assert.Equal(t, "count", prog.Functions[0].Decl.Name)
	require.Len(t, prog.Globals, 1)
	assert.Equal(t, "counted", prog.Globals[0].Name)
}

// TestAliasVariablesNotComputedWhenUnread checks that the handler made
// for syscall.openat keeps only the prologue assignments it needs:
// filename reads filename_uaddr, flags_str reads flags.
func TestAliasVariablesNotComputedWhenUnread(t *testing.T) {
	tests := []struct {
		read     string
		computed []string
	}{
		{"filename", []string{"filename_uaddr", "filename"}},
		{"flags_str", []string{"flags", "flags_str"}},
		{"execname()", nil},
		{"name . filename", []string{"name", "filename_uaddr", "filename"}},
	}
	for _, tc := range tests {
		t.Run(tc.read, func(t *testing.T) {
			prog, diags := check(t, "t.stp", "probe syscall.openat { printf(\"%s\\n\", "+tc.read+") }")
			require.Empty(t, messages(diags))
			require.Len(t, prog.Probes, 1)
			var listing bytes.Buffer
			lang.Print(&listing, &ast.File{Decls: []ast.Decl{prog.Probes[0].Decl}})
			for _, v := range []string{"name", "dfd", "dfd_str", "filename_uaddr", "filename", "flags", "flags_str", "mode", "argstr"} {
				assigned := strings.Contains(listing.String(), "\t"+v+" = ")
				assert.Equal(t, slices.Contains(tc.computed, v), assigned, "%s in\n%s", v, listing.String())
			}
			var locals []string
			for _, l := range prog.Probes[0].Locals {
				locals = append(locals, l.Name)
			}
			assert.ElementsMatch(t, tc.computed, locals)
		})
	}
}

// TestSuffixFromTapset checks suffix propagation with an alias that only
// a tapset defines, and only for the function's entry: the script's
// .return goes on the alias's point, with the alias's prologue.
func TestSuffixFromTapset(t *testing.T) {
	prog, diags := checkWithTapset(t, `probe vfs.read = kernel.function("vfs_read") { fn = "vfs_read" }`,
		`probe vfs.read.return { printf("%s %d\n", fn, $return) }`)
	require.Empty(t, messages(diags))
	require.Len(t, prog.Probes, 1)
	p := prog.Probes[0]
	assert.Equal(t, `kernel.function("vfs_read").return`, p.Point.Text)
	assert.Equal(t, sema.PointKretprobe, p.Point.Kind)
	require.Len(t, p.Locals, 1)
	assert.Equal(t, "fn", p.Locals[0].Name)
}
