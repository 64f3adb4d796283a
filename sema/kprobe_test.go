package sema_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/internal/btftest"
	"etap/sema"
)

// These tests resolve kernel function probes against btftest's fake kernel
// BTF, whose struct layouts the btftest constants give.

// TestFunctionPoints checks what kernel function points resolve to: the
// function, the kind of probe, and each parameter in the register the
// x86-64 calling convention puts it in, typed from BTF.
func TestFunctionPoints(t *testing.T) {
	prog, diags := check(t, "t.stp", `
probe kernel.function("vfs_read"), kernel.function("vfs_fsync").call { }
probe kprobe.function("vfs_read").return, kernel.function("may_open").return { }
probe module("fakemod").function("fakemod_read") { }
`)
	require.Empty(t, messages(diags))
	byText := map[string]*sema.Point{}
	for _, p := range prog.Probes {
		byText[p.Point.Text] = p.Point
	}
	regs := btftest.PtRegs
	tests := []struct {
		text     string
		kind     sema.PointKind
		function string
		module   string
		fields   map[string]sema.Field
	}{
		{`kernel.function("vfs_read")`, sema.PointKprobe, "vfs_read", "", map[string]sema.Field{
			"file":  {Name: "file", CType: "struct file *", Offset: regs["di"], Size: 8},
			"buf":   {Name: "buf", CType: "char *", Offset: regs["si"], Size: 8},
			"count": {Name: "count", CType: "size_t", Offset: regs["dx"], Size: 8},
			"pos":   {Name: "pos", CType: "loff_t *", Offset: regs["cx"], Size: 8},
		}},
		{`kernel.function("vfs_fsync").call`, sema.PointKprobe, "vfs_fsync", "", map[string]sema.Field{
			"file":     {Name: "file", CType: "struct file *", Offset: regs["di"], Size: 8},
			"datasync": {Name: "datasync", CType: "int", Offset: regs["si"], Size: 4, Signed: true},
		}},
		{`kprobe.function("vfs_read").return`, sema.PointKretprobe, "vfs_read", "", map[string]sema.Field{
			"file":   {Name: "file", CType: "struct file *", Offset: regs["di"], Size: 8},
			"buf":    {Name: "buf", CType: "char *", Offset: regs["si"], Size: 8},
			"count":  {Name: "count", CType: "size_t", Offset: regs["dx"], Size: 8},
			"pos":    {Name: "pos", CType: "loff_t *", Offset: regs["cx"], Size: 8},
			"return": {Name: "return", CType: "ssize_t", Offset: regs["ax"], Size: 8, Signed: true},
		}},
		{`kernel.function("may_open").return`, sema.PointKretprobe, "may_open", "", map[string]sema.Field{
			"flag":   {Name: "flag", CType: "int", Offset: regs["di"], Size: 4, Signed: true},
			"return": {Name: "return", CType: "_Bool", Offset: regs["ax"], Size: 1},
		}},
		{`module("fakemod").function("fakemod_read")`, sema.PointKprobe, "fakemod_read", "fakemod", map[string]sema.Field{
			"file":  {Name: "file", CType: "struct file *", Offset: regs["di"], Size: 8},
			"count": {Name: "count", CType: "size_t", Offset: regs["si"], Size: 8},
		}},
	}
	require.Len(t, byText, len(tests))
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			p := byText[tt.text]
			require.NotNil(t, p, "points: %v", byText)
			assert.Equal(t, tt.kind, p.Kind)
			assert.True(t, p.Kernel)
			assert.Equal(t, tt.function, p.Function)
			assert.Equal(t, tt.module, p.Module)
			got := map[string]sema.Field{}
			for name, f := range p.Fields {
				assert.NotNil(t, f.BTF, "$%s has its BTF type", name)
				f.BTF = nil
				got[name] = f
			}
			for name, f := range tt.fields {
				f.Type = sema.Long
				tt.fields[name] = f
			}
			assert.Equal(t, tt.fields, got)
		})
	}
}

// TestFunctionWildcards checks that patterns match BTF function names,
// each once, and that ? and ! make an unmatched pattern no error.
func TestFunctionWildcards(t *testing.T) {
	tests := []struct {
		src  string
		want []string
	}{
		{`probe kernel.function("vfs_*") { }`, []string{
			`kernel.function("vfs_fsync")`, `kernel.function("vfs_mkdir")`, `kernel.function("vfs_read")`, `kernel.function("vfs_write")`,
		}},
		{`probe kernel.function("vfs_[rw]*").return { }`, []string{
			`kernel.function("vfs_read").return`, `kernel.function("vfs_write").return`,
		}},
		{`probe kprobe.function("d_*") { }`, []string{`kprobe.function("d_hash_and_lookup")`, `kprobe.function("d_path")`}},
		{`probe module("fakemod").function("*") { }`, []string{
			`module("fakemod").function("fakemod_open")`, `module("fakemod").function("fakemod_read")`,
		}},
		{`probe kernel.function("?_path") { }`, []string{`kernel.function("d_path")`}},
		{`probe kernel.function("nothing*")?, kernel.function("no_such")!, module("absent").function("f")? { }`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			prog, diags := check(t, "t.stp", tt.src)
			require.Empty(t, messages(diags))
			var got []string
			for _, p := range prog.Probes {
				got = append(got, p.Point.Text)
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

// manyFunctions is a kernel whose BTF has n functions f0000, f0001, ...
type manyFunctions struct {
	fakeKernel
	spec *btf.Spec
}

func newManyFunctions(t *testing.T, n int) manyFunctions {
	types := []btf.Type{}
	for i := range n {
		types = append(types, &btf.Func{Name: fmt.Sprintf("f%04d", i), Linkage: btf.GlobalFunc, Type: &btf.FuncProto{Return: &btf.Void{}}})
	}
	b, err := btf.NewBuilder(types, nil)
	require.NoError(t, err)
	spec, err := b.Spec()
	require.NoError(t, err)
	return manyFunctions{spec: spec}
}

func (k manyFunctions) BTF(string) (*btf.Spec, error) { return k.spec, nil }

func (k manyFunctions) Functions(string) ([]string, error) { return btftest.FunctionsOf(k.spec) }

// TestFunctionWildcardLimit checks that a pattern matching more functions
// than etap probes at once is an error that says so, and that the x86-64
// registers come from the kernel's pt_regs, which this kernel lacks.
func TestFunctionWildcardLimit(t *testing.T) {
	k := newManyFunctions(t, 1001)
	_, diags := checkWith(t, "t.stp", `probe kernel.function("f*") { }`, k)
	assert.Equal(t, []string{`S118 kernel.function("f*") matches 1001 functions, more than the 1000 etap probes at once hint: narrow the pattern`}, messages(diags))

	_, diags = checkWith(t, "t.stp", `probe kernel.function("f1000") { }`, k)
	assert.Equal(t, []string{`S116 the kernel's BTF has no usable struct pt_regs: not found`}, messages(diags))
}

// countingKernel counts the BTF reads a check asks for.
type countingKernel struct {
	fakeKernel
	loads *int
}

func (k countingKernel) BTF(module string) (*btf.Spec, error) {
	*k.loads++
	return k.fakeKernel.BTF(module)
}

func (k countingKernel) Functions(module string) ([]string, error) {
	*k.loads++
	return k.fakeKernel.Functions(module)
}

// TestBTFOnlyWhenNeeded checks that tracepoint and timer scripts never load
// BTF, which costs tens of milliseconds at start-up.
func TestBTFOnlyWhenNeeded(t *testing.T) {
	loads := 0
	k := countingKernel{loads: &loads}
	_, diags := checkWith(t, "t.stp", `probe kernel.trace("sched:sched_switch") { print($next_pid) } probe timer.s(1) { exit() }`, k)
	require.Empty(t, messages(diags))
	assert.Zero(t, loads)

	_, diags = checkWith(t, "t.stp", `probe syscall.openat { println(filename) }`, k)
	require.False(t, diags.HasErrors(), "%q", messages(diags))
	assert.Zero(t, loads, "the syscall tapset rests on tracepoints")

	_, diags = checkWith(t, "t.stp", `probe kernel.function("vfs_[rw]*") { print($file) }`, k)
	require.Empty(t, messages(diags))
	assert.Positive(t, loads)
}

// targetsOf checks src, which has one probe, and returns how it reads each
// context variable, by the variable's text.
func targetsOf(t *testing.T, src string) map[string]*sema.Target {
	t.Helper()
	prog, diags := check(t, "t.stp", src)
	require.Empty(t, messages(diags))
	require.Len(t, prog.Probes, 1)
	got := map[string]*sema.Target{}
	for e, target := range prog.Probes[0].Point.Targets {
		text := "$" + e.Name
		for _, f := range e.Fields {
			text += "->" + f
		}
		target.Field.BTF = nil
		got[text+":"+prog.Types[e].String()] = target
		assert.Equal(t, target.Type, prog.Types[e], "%s", text)
	}
	return got
}

// TestMemberChains checks member chains: each pointer followed is one read
// at the sum of the offsets of the members before it (embedded structs and
// anonymous unions add up), and the last member is read as its type says.
func TestMemberChains(t *testing.T) {
	got := targetsOf(t, `probe kernel.function("vfs_read") {
	printf("%s %d %s %d %d\n", $file->f_path->dentry->d_name->name, $file->f_path->dentry->d_name->name,
		$file->f_path->dentry->d_iname, $file->f_path->dentry->d_name->len, $file->f_pos)
	printf("%d %s %d\n", $buf, $buf, $file->f_path->mnt)
}`)
	file := sema.Field{Name: "file", CType: "struct file *", Offset: btftest.PtRegs["di"], Size: 8, Type: sema.Long}
	buf := sema.Field{Name: "buf", CType: "char *", Offset: btftest.PtRegs["si"], Size: 8, Type: sema.Long}
	dentry := sema.Read{Offset: btftest.FilePath + btftest.PathDentry, Size: 8}
	name := sema.Read{Offset: btftest.DentryName + btftest.QstrName, Size: 8}
	const nameType = "const unsigned char *"
	want := map[string]*sema.Target{
		"$file->f_path->dentry->d_name->name:string": {Field: file, Reads: []sema.Read{dentry, name}, Type: sema.String, CType: nameType},
		"$file->f_path->dentry->d_name->name:long":   {Field: file, Reads: []sema.Read{dentry, name}, Type: sema.Long, CType: nameType},
		"$file->f_path->dentry->d_iname:string": {Field: file, Reads: []sema.Read{dentry}, Type: sema.String, CType: "unsigned char[32]",
			StringOffset: btftest.DentryInline, StringMax: btftest.DnameInlineLen},
		"$file->f_path->dentry->d_name->len:long": {Field: file, Type: sema.Long, CType: "u32",
			Reads: []sema.Read{dentry, {Offset: btftest.DentryName + btftest.QstrLen, Size: 4}}},
		"$file->f_pos:long": {Field: file, Type: sema.Long, CType: "loff_t",
			Reads: []sema.Read{{Offset: btftest.FilePos, Size: 8, Signed: true}}},
		"$buf:long":               {Field: buf, Type: sema.Long, CType: "char *"},
		"$buf:string":             {Field: buf, Type: sema.String, CType: "char *"},
		"$file->f_path->mnt:long": {Field: file, Type: sema.Long, CType: "void *", Reads: []sema.Read{{Offset: btftest.FilePath + btftest.PathMnt, Size: 8}}},
	}
	assert.Equal(t, want, got)
}

// TestReturnTargets checks $return and chains from it.
func TestReturnTargets(t *testing.T) {
	got := targetsOf(t, `probe kernel.function("d_path").return { printf("%s %d\n", $return, $return) }`)
	ret := sema.Field{Name: "return", CType: "char *", Offset: btftest.PtRegs["ax"], Size: 8, Type: sema.Long}
	assert.Equal(t, map[string]*sema.Target{
		"$return:string": {Field: ret, Type: sema.String, CType: "char *"},
		"$return:long":   {Field: ret, Type: sema.Long, CType: "char *"},
	}, got)
}

// TestTargetTypeAcrossPoints checks that each point of a handler is
// elaborated on its own, as in stap: a local may hold a string at one
// point and a long at another, and a use that suits one point only is an
// error once.
func TestTargetTypeAcrossPoints(t *testing.T) {
	_, diags := check(t, "t.stp", `probe kernel.function("vfs_mkdir"), kernel.function("d_hash_and_lookup") { x = $dir; print(x) }`)
	assert.Empty(t, messages(diags), "struct inode * and struct dentry * are both longs")

	prog, diags := check(t, "t.stp", `probe kernel.function("d_path").return, kernel.function("may_open").return { x = $return; print(x) }`)
	require.Empty(t, messages(diags))
	require.Len(t, prog.Probes, 2)
	assert.Equal(t, sema.String, prog.Probes[0].Locals[0].Type)
	assert.Equal(t, sema.Long, prog.Probes[1].Locals[0].Type)
	assert.NotSame(t, prog.Probes[0].Decl.Body, prog.Probes[1].Decl.Body, "each point has its own body")

	_, diags = check(t, "t.stp", `probe kernel.function("d_path").return, kernel.function("may_open").return { printf("%s\n", $return) }`)
	assert.Equal(t, []string{`S008 type mismatch: expected string, found long`}, messages(diags))
}

// TestFunctionDump checks that -p2 shows the context variables a probe
// reads with their types from BTF.
func TestFunctionDump(t *testing.T) {
	prog, diags := check(t, "t.stp", `probe kernel.function("vfs_read") { printf("%d %s\n", $count, $file->f_path->dentry->d_name->name) }`)
	require.Empty(t, messages(diags))
	var b strings.Builder
	sema.Dump(&b, prog)
	assert.Contains(t, b.String(), `kernel.function("vfs_read") /* kprobe, kernel */
  $count:long /* size_t */
  $file->f_path->dentry->d_name->name:string /* const unsigned char * */
`)
}
