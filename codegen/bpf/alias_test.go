package bpf_test

import (
	"bytes"
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/codegen/bpf"
	"etap/diag"
	"etap/internal/tracefstest"
	"etap/lang"
	"etap/lang/ast"
	"etap/maps"
	"etap/sema"
	"etap/tapsets"
)

// compileWithTapsets compiles src with etap's tapsets and returns its -p3
// listing and the instruction count of its one kernel program.
func compileWithTapsets(t *testing.T, src string) (string, int) {
	t.Helper()
	sources := map[string]string{"<input>": src}
	var library []*ast.File
	names, err := fs.Glob(tapsets.FS, "*.stp")
	require.NoError(t, err)
	for _, name := range names {
		text, err := fs.ReadFile(tapsets.FS, name)
		require.NoError(t, err)
		sources[name] = string(text)
		f, diags := lang.Parse(name, string(text), nil)
		requireNoErrors(t, "parse tapset", diags, string(text))
		library = append(library, f)
	}
	file, diags := lang.Parse("<input>", src, nil)
	requireNoErrors(t, "parse", diags, src)
	prog, diags := sema.Check([]*ast.File{file}, sema.Options{Kernel: tracefstest.Kernel{}, Library: bpf.Library(), Tapsets: library})
	requireNoErrors(t, "check", diags, src)
	lookup := diag.Sources(func(name string) (string, bool) { s, ok := sources[name]; return s, ok })
	out, diags := bpf.Compile(prog, bpf.Options{Params: maps.DefaultParams(), Sources: lookup})
	requireNoErrors(t, "compile", diags, src)
	require.Len(t, out.Kernel, 1)
	var listing bytes.Buffer
	out.Listing(&listing)
	return listing.String(), len(out.Spec.Programs[out.Kernel[0].Name].Instructions)
}

// TestSyscallOpenatBuildsOnlyWhatIsRead is issue 4's acceptance: a
// syscall.openat probe that reads filename compiles to a program without
// flags_str, which one that reads flags_str builds, and neither reads
// what it does not need.
func TestSyscallOpenatBuildsOnlyWhatIsRead(t *testing.T) {
	filename, short := compileWithTapsets(t, `probe syscall.openat { printf("%s\n", filename) }`)
	flags, long := compileWithTapsets(t, `probe syscall.openat { printf("%s\n", flags_str) }`)
	assert.Contains(t, filename, "filename = user_string_quoted(filename_uaddr)")
	assert.NotContains(t, filename, "flags_str =")
	assert.Contains(t, flags, "flags_str =")
	assert.Less(t, short, long)
	for _, unread := range []string{": name =", ": dfd =", ": mode =", ": argstr ="} {
		assert.NotContains(t, filename, unread)
		assert.NotContains(t, flags, unread)
	}
	assert.NotContains(t, filename, ": flags =")
	assert.NotContains(t, flags, ": filename =")
}
