package bpf_test

import (
	"bytes"
	"io/fs"
	"os"
	"testing"

	"github.com/cilium/ebpf/btf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/codegen/bpf"
	"etap/diag"
	"etap/lang"
	"etap/lang/ast"
	"etap/maps"
	"etap/sema"
	"etap/tapsets"
)

// openatFormat is sys_enter_openat's format on x86-64.
const openatFormat = `name: sys_enter_openat
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:int __syscall_nr;	offset:8;	size:4;	signed:1;
	field:int dfd;	offset:16;	size:8;	signed:0;
	field:const char * filename;	offset:24;	size:8;	signed:0;
	field:int flags;	offset:32;	size:8;	signed:0;
	field:umode_t mode;	offset:40;	size:8;	signed:0;

print fmt: ""
`

// openatKernel offers sys_enter_openat, for the syscall tapset.
type openatKernel struct{}

func (openatKernel) Tracepoints() ([]string, error) {
	return []string{"syscalls:sys_enter_openat"}, nil
}

func (openatKernel) TracepointFields(group, event string) ([]sema.TracepointField, error) {
	if group+":"+event != "syscalls:sys_enter_openat" {
		return nil, os.ErrNotExist
	}
	return sema.ParseTracepointFormat(openatFormat)
}

func (openatKernel) BTF(string) (*btf.Spec, error) { return nil, os.ErrNotExist }

func (openatKernel) Functions(string) ([]string, error) { return nil, os.ErrNotExist }

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
	prog, diags := sema.Check([]*ast.File{file}, sema.Options{Kernel: openatKernel{}, Library: bpf.Library(), Tapsets: library})
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
// argstr, which one that reads argstr builds.
func TestSyscallOpenatBuildsOnlyWhatIsRead(t *testing.T) {
	filename, short := compileWithTapsets(t, `probe syscall.openat { printf("%s\n", filename) }`)
	argstr, long := compileWithTapsets(t, `probe syscall.openat { printf("%s\n", argstr) }`)
	assert.Contains(t, filename, "filename = user_string($filename")
	assert.NotContains(t, filename, "argstr =")
	assert.Contains(t, argstr, "argstr =")
	assert.Less(t, short, long)
	for _, unread := range []string{": name =", ": dfd =", ": flags =", ": mode ="} {
		assert.NotContains(t, filename, unread)
		assert.NotContains(t, argstr, unread)
	}
}
