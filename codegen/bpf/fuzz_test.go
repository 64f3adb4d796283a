package bpf_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"etap/codegen/bpf"
	"etap/lang"
	"etap/lang/ast"
	"etap/maps"
	"etap/sema"
)

// FuzzCompile runs any script the parser and sema accept through the
// compiler: whatever the input, it must give programs or diagnostics,
// never a panic. Seeds are sema's corpus of scripts that check.
func FuzzCompile(f *testing.F) {
	seeds, err := filepath.Glob("../../sema/testdata/semok/*.stp")
	require.NoError(f, err)
	for _, path := range seeds {
		src, err := os.ReadFile(path)
		require.NoError(f, err)
		f.Add(string(src))
	}
	f.Fuzz(func(t *testing.T, src string) {
		file, diags := lang.Parse("<input>", src, nil)
		if diags.HasErrors() {
			return
		}
		prog, diags := sema.Check([]*ast.File{file}, sema.Options{Kernel: fakeKernel, Library: bpf.Library()})
		if diags.HasErrors() {
			return
		}
		bpf.Compile(prog, bpf.Options{Params: maps.DefaultParams(), Sources: sourceOf(src)})
	})
}
