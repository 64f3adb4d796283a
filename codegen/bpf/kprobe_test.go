package bpf_test

import (
	"encoding/binary"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/codegen/bpf"
	"etap/internal/btftest"
	"etap/vm"
)

// kprobeContext is what a kprobe program of btftest's kernel gets: struct
// pt_regs, followed by the kernel memory its registers point to, laid out
// as btftest's BTF says. Pointers into it are vm.ContextAddress values,
// which vm's probe_read helpers follow.
type kprobeContext struct {
	t   *testing.T
	buf []byte
}

func newKprobeContext(t *testing.T) *kprobeContext {
	return &kprobeContext{t: t, buf: make([]byte, btftest.PtRegsSize)}
}

// alloc adds n zero bytes of "kernel memory", 8-byte aligned, and returns
// their offset.
func (c *kprobeContext) alloc(n int) int {
	off := (len(c.buf) + 7) &^ 7
	c.buf = append(c.buf, make([]byte, off+n-len(c.buf))...)
	return off
}

// addr is the address of context offset off, as the program sees it.
func addr(off int) uint64 { return vm.ContextAddress(uint32(off)) }

func (c *kprobeContext) put(off, size int, v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	copy(c.buf[off:off+size], b[:size])
}

// reg sets a register of pt_regs.
func (c *kprobeContext) reg(name string, v uint64) {
	off, ok := btftest.PtRegs[name]
	require.True(c.t, ok, "pt_regs has no %s", name)
	c.put(off, 8, v)
}

// file lays out a struct file whose dentry is named name, with inline name
// iname, and returns its address; a file without name has a NULL dentry.
func (c *kprobeContext) file(name, iname string, flags uint32, pos int64) uint64 {
	file := c.alloc(btftest.FileSize)
	c.put(file+btftest.FileFlags, 4, uint64(flags))
	c.put(file+btftest.FilePos, 8, uint64(pos))
	if name == "" {
		return addr(file)
	}
	dentry := c.alloc(btftest.DentrySize)
	c.put(file+btftest.FilePath+btftest.PathDentry, 8, addr(dentry))
	str := c.alloc(len(name) + 1)
	copy(c.buf[str:], name)
	c.put(dentry+btftest.DentryName+btftest.QstrName, 8, addr(str))
	c.put(dentry+btftest.DentryName+btftest.QstrLen, 4, uint64(len(name)))
	copy(c.buf[dentry+btftest.DentryInline:dentry+btftest.DentryInline+btftest.DnameInlineLen], iname)
	return addr(file)
}

// vfsReadScript prints vfs_read's parameters and member chains from them.
const vfsReadScript = `probe kernel.function("vfs_read") {
	printf("count=%d pos=%d buf=%s\n", $count, $pos == 0, $buf)
	printf("name=%s len=%d iname=%s flags=%x f_pos=%d\n", $file->f_path->dentry->d_name->name,
		$file->f_path->dentry->d_name->len, $file->f_path->dentry->d_iname, $file->f_flags, $file->f_pos)
	if ($file->f_path->dentry->d_name->name == "passwd" && $file->f_path->dentry) printf("passwd at %d\n", $count)
}`

// TestKprobeArguments runs a vfs_read probe on made-up registers and
// memory: parameters come from their registers, chains follow pointers
// through memory, and strings end at their terminator or the array's end.
func TestKprobeArguments(t *testing.T) {
	tests := []struct {
		name   string
		file   func(c *kprobeContext) uint64
		stdout string
	}{{
		name: "file",
		file: func(c *kprobeContext) uint64 { return c.file("passwd", "pw", 0x8002, -5) },
		stdout: "count=4096 pos=0 buf=user data\n" +
			"name=passwd len=6 iname=pw flags=8002 f_pos=-5\n" +
			"passwd at 4096\n",
	}, {
		name: "full inline name",
		file: func(c *kprobeContext) uint64 {
			return c.file("a-rather-long-file-name-that-does-not-fit-inline", "0123456789abcdef0123456789abcdef", 0, 1<<40)
		},
		stdout: "count=4096 pos=0 buf=user data\n" +
			"name=a-rather-long-file-name-that-does-not-fit-inline len=48 iname=0123456789abcdef0123456789abcde flags=0 f_pos=1099511627776\n",
	}, {
		name: "no dentry",
		file: func(c *kprobeContext) uint64 { return c.file("", "", 1, 0) },
		stdout: "count=4096 pos=0 buf=user data\n" +
			"name= len=0 iname= flags=1 f_pos=0\n",
	}, {
		name: "no file",
		file: func(*kprobeContext) uint64 { return 0 },
		stdout: "count=4096 pos=0 buf=user data\n" +
			"name= len=0 iname= flags=0 f_pos=0\n",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newKprobeContext(t)
			c.reg("di", tc.file(c))
			buf := c.alloc(16)
			copy(c.buf[buf:], "user data")
			c.reg("si", addr(buf))
			c.reg("dx", 4096)
			c.reg("cx", addr(c.alloc(8)))
			stdout, stderr := run(t, vfsReadScript, c.buf)
			assert.Equal(t, tc.stdout, stdout)
			assert.Empty(t, stderr)
		})
	}
}

// TestKprobeNarrowArguments checks that parameters narrower than their
// register are cut to their size and sign-extended when signed: the
// rest of the register is whatever the caller left there.
func TestKprobeNarrowArguments(t *testing.T) {
	c := newKprobeContext(t)
	c.reg("di", 0)
	c.reg("si", 0x12345678_ffffffff)
	stdout, _ := run(t, `probe kernel.function("vfs_fsync") { printf("%d\n", $datasync) }`, c.buf)
	assert.Equal(t, "-1\n", stdout)

	c.reg("dx", 0x12345678_9abcbeef)
	stdout, _ = run(t, `probe kernel.function("vfs_mkdir") { printf("%d\n", $mode) }`, c.buf)
	assert.Equal(t, "48879\n", stdout, "umode_t is unsigned and 2 bytes")
}

// TestKretprobeReturn checks $return, from the return register, in .return
// probes, and that entry and return programs are kprobes attached as
// such.
func TestKretprobeReturn(t *testing.T) {
	c := newKprobeContext(t)
	c.reg("ax", uint64(0xffffffff_fffffff2)) // -EFAULT
	stdout, stderr := run(t, `probe kernel.function("vfs_read").return { printf("%d\n", $return) }`, c.buf)
	assert.Equal(t, "-14\n", stdout)
	assert.Empty(t, stderr)

	name := c.alloc(8)
	copy(c.buf[name:], "/tmp")
	c.reg("ax", addr(name))
	stdout, _ = run(t, `probe kernel.function("d_path").return { printf("%s %d\n", $return, 0 != $return) }`, c.buf)
	assert.Equal(t, "/tmp 1\n", stdout)

	c.reg("ax", 0x301) // a bool in al; the rest is left over
	stdout, _ = run(t, `probe kernel.function("may_open").return { printf("%d\n", $return) }`, c.buf)
	assert.Equal(t, "1\n", stdout)
}

// TestKprobePrograms checks how kernel function probes are compiled for
// the loader: kprobe programs, attached on entry or return to the
// function, named after it, and as well-formed as tracepoint programs with
// member chains too.
func TestKprobePrograms(t *testing.T) {
	out := compile(t, `probe kernel.function("vfs_read"), kernel.function("vfs_write").return, module("fakemod").function("fakemod_read") { printf("%s\n", execname()) }
probe kernel.trace("syscalls:sys_enter_getpid") { }`)
	require.Len(t, out.Kernel, 4)
	want := []struct {
		attach   bpf.Attach
		function string
		typ      ebpf.ProgramType
		name     string
	}{
		{bpf.AttachKprobe, "vfs_read", ebpf.Kprobe, "p0_vfs_read"},
		{bpf.AttachKretprobe, "vfs_write", ebpf.Kprobe, "p1_vfs_write"},
		{bpf.AttachKprobe, "fakemod_read", ebpf.Kprobe, "p2_fakemod_read"},
		{bpf.AttachTracepoint, "", ebpf.TracePoint, "p3_sys_enter_ge"},
	}
	for i, k := range out.Kernel {
		assert.Equal(t, want[i].attach, k.Attach)
		assert.Equal(t, want[i].function, k.Point.Function)
		assert.Equal(t, want[i].name, k.Name)
		spec := out.Spec.Programs[k.Name]
		require.NotNil(t, spec)
		assert.Equal(t, want[i].typ, spec.Type)
		checkProgram(t, out, spec.Instructions)
		checkLines(t, k, spec.Instructions)
	}

	out = compile(t, vfsReadScript)
	require.Len(t, out.Kernel, 1)
	checkProgram(t, out, out.Spec.Programs[out.Kernel[0].Name].Instructions)
}

// fireTrampoline runs the fentry/fexit variant of every kernel program
// on ctx, as the kernel would where it allows BPF trampolines.
func (s *session) fireTrampoline(ctx []byte) {
	s.t.Helper()
	for _, k := range s.out.Kernel {
		require.NotNil(s.t, k.Trampoline, "%s has no fentry variant", k.Point.Text)
		s.exec(k.Point.Text, k.Trampoline.Instructions, s.kernel, ctx)
	}
}

// runTrampoline is run with the fentry/fexit variants of the programs.
func runTrampoline(t *testing.T, src string, ctx []byte) (stdout, stderr string) {
	t.Helper()
	s := newSession(t, compile(t, src))
	s.runUser(bpf.UserBegin)
	s.fireTrampoline(ctx)
	return s.finish()
}

// TestTrampolineArguments runs the fentry and fexit variants of kernel
// function probes on a made-up trampoline context, the parameters as an
// array of u64 with the return value after them: they print what the
// kprobe programs print from the registers.
func TestTrampolineArguments(t *testing.T) {
	c := newKprobeContext(t)
	c.put(0, 8, c.file("passwd", "pw", 0x8002, -5))
	buf := c.alloc(16)
	copy(c.buf[buf:], "user data")
	c.put(8, 8, addr(buf))
	c.put(16, 8, 4096)
	c.put(24, 8, addr(c.alloc(8)))
	c.put(32, 8, 26) // vfs_read's return value
	stdout, stderr := runTrampoline(t, vfsReadScript, c.buf)
	assert.Equal(t, "count=4096 pos=0 buf=user data\n"+
		"name=passwd len=6 iname=pw flags=8002 f_pos=-5\n"+
		"passwd at 4096\n", stdout)
	assert.Empty(t, stderr)

	stdout, _ = runTrampoline(t, `probe kernel.function("vfs_read").return { printf("%d of %d\n", $return, $count) }`, c.buf)
	assert.Equal(t, "26 of 4096\n", stdout, "the entry probe's $count comes from its fentry variant")

	c.put(8, 8, 0x12345678_ffffffff)
	stdout, _ = runTrampoline(t, `probe kernel.function("vfs_fsync") { printf("%d\n", $datasync) }`, c.buf)
	assert.Equal(t, "-1\n", stdout, "a narrow parameter is cut to its size")
}

// TestTrampolinePrograms checks which kernel function probes get an
// fentry/fexit variant: those that read only their parameters and return
// value, not the registers (uint_arg, addr, stacks), and not on a
// function with a struct parameter passed by value.
func TestTrampolinePrograms(t *testing.T) {
	out := compile(t, `probe kernel.function("vfs_read"), kernel.function("vfs_write").return { printf("%d\n", $count) }`)
	require.Len(t, out.Kernel, 3, "vfs_write.return gets an entry probe for $count")
	for _, k := range out.Kernel {
		require.NotNil(t, k.Trampoline, k.Point.Text)
		assert.Equal(t, ebpf.Tracing, k.Trampoline.Type)
		assert.Equal(t, k.Point.Function, k.Trampoline.AttachTo)
		assert.Equal(t, k.Name, k.Trampoline.Name)
		want := ebpf.AttachTraceFEntry
		if k.Attach == bpf.AttachKretprobe {
			want = ebpf.AttachTraceFExit
		}
		assert.Equal(t, want, k.Trampoline.AttachType, k.Point.Text)
		checkProgram(t, out, k.Trampoline.Instructions)
	}
	for _, body := range []string{
		`printf("%d\n", uint_arg(3))`,
		`printf("%x\n", addr())`,
		`print_backtrace()`,
		`printf("%s\n", ubacktrace())`,
	} {
		out := compile(t, `probe kernel.function("vfs_read") { `+body+` }`)
		assert.Nil(t, out.Kernel[0].Trampoline, "%s reads the registers", body)
		assert.Equal(t, bpf.AttachKprobe, out.Kernel[0].Attach)
	}
}
