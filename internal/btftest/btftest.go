// Package btftest builds the kernel BTF that tests of kernel function
// probes resolve against, so that they do not depend on the kernel they
// run on: a few vfs_* functions and the structs of
// $file->f_path->dentry->d_name->name, laid out as the constants below say,
// struct pt_regs as on x86_64, the raw tracepoint sched_switch with its
// task_structs, and one module.
package btftest

import (
	"fmt"
	"io/fs"
	"slices"
	"sync"

	"github.com/cilium/ebpf/btf"
)

// Offsets and sizes of the fake kernel's structs, for tests that lay out
// memory as its BTF describes it. They are smaller than the real ones, and
// f_path and the qstr's len sit in anonymous unions as on recent kernels.
const (
	FileFlags  = 8  // unsigned int f_flags
	FilePath   = 16 // struct path f_path, in an anonymous union
	FilePos    = 32 // loff_t f_pos
	FileSize   = 40 //
	PathMnt    = 0  // void *mnt
	PathDentry = 8  // struct dentry *dentry
	PathSize   = 16 //
	QstrHash   = 0  // u32 hash, in an anonymous struct in an anonymous union
	QstrLen    = 4  // u32 len, likewise
	QstrName   = 8  // const unsigned char *name
	QstrSize   = 16 //
	DentryFlag = 0  // unsigned int d_flags
	DentryName = 8  // struct qstr d_name
	// DentryInline is the offset of char d_iname[DnameInlineLen].
	DentryInline   = 24
	DnameInlineLen = 32
	DentrySize     = 56
	PtRegsSize     = 168
	// task_struct, with the members the tests read.
	TaskPid        = 8  // int pid
	TaskTgid       = 12 // pid_t tgid
	TaskRealParent = 16 // struct task_struct *real_parent
	TaskComm       = 24 // char comm[16]
	TaskSize       = 40
)

// PtRegs are the offsets of struct pt_regs's members on x86_64.
var PtRegs = map[string]int{
	"r15": 0, "r14": 8, "r13": 16, "r12": 24, "bp": 32, "bx": 40, "r11": 48, "r10": 56,
	"r9": 64, "r8": 72, "ax": 80, "cx": 88, "dx": 96, "si": 104, "di": 112,
	"orig_ax": 120, "ip": 128, "cs": 136, "flags": 144, "sp": 152, "ss": 160,
}

// Module is the name of the one module with BTF.
const Module = "fakemod"

var (
	once          sync.Once
	vmlinux, fmod *btf.Spec
	errBuild      error
)

// Spec returns the BTF of the fake kernel (module "") or of Module; for any
// other module, an error that wraps fs.ErrNotExist, as for a module that is
// not loaded.
func Spec(module string) (*btf.Spec, error) {
	build()
	if errBuild != nil {
		return nil, errBuild
	}
	switch module {
	case "":
		return vmlinux, nil
	case Module:
		return fmod, nil
	}
	return nil, fmt.Errorf("open /sys/kernel/btf/%s: %w", module, fs.ErrNotExist)
}

// Functions lists the functions of Spec(module), sorted, as a kernel
// lists them for wildcards.
func Functions(module string) ([]string, error) {
	spec, err := Spec(module)
	if err != nil {
		return nil, err
	}
	return FunctionsOf(spec)
}

// FunctionsOf lists the functions of spec, sorted and each once.
func FunctionsOf(spec *btf.Spec) ([]string, error) {
	var names []string
	for t, err := range spec.All() {
		if err != nil {
			return nil, err
		}
		if fn, ok := t.(*btf.Func); ok {
			names = append(names, fn.Name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

func build() {
	once.Do(func() {
		kernel, module := types()
		if vmlinux, errBuild = specOf(kernel); errBuild != nil {
			return
		}
		fmod, errBuild = specOf(module)
	})
}

func specOf(types []btf.Type) (*btf.Spec, error) {
	b, err := btf.NewBuilder(types, nil)
	if err != nil {
		return nil, err
	}
	return b.Spec()
}

// types makes the fake kernel's functions and the module's.
func types() (kernel, module []btf.Type) {
	char := &btf.Int{Name: "char", Size: 1}
	uchar := &btf.Int{Name: "unsigned char", Size: 1}
	boolean := &btf.Int{Name: "_Bool", Size: 1, Encoding: btf.Bool}
	intT := &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}
	uint := &btf.Int{Name: "unsigned int", Size: 4}
	long := &btf.Int{Name: "long", Size: 8, Encoding: btf.Signed}
	ulong := &btf.Int{Name: "unsigned long", Size: 8}
	longlong := &btf.Int{Name: "long long", Size: 8, Encoding: btf.Signed}
	u32 := &btf.Typedef{Name: "u32", Type: uint}
	sizeT := &btf.Typedef{Name: "size_t", Type: &btf.Typedef{Name: "__kernel_size_t", Type: ulong}}
	ssizeT := &btf.Typedef{Name: "ssize_t", Type: long}
	loffT := &btf.Typedef{Name: "loff_t", Type: longlong}
	umode := &btf.Typedef{Name: "umode_t", Type: &btf.Int{Name: "unsigned short", Size: 2}}
	ptr := func(t btf.Type) *btf.Pointer { return &btf.Pointer{Target: t} }
	bits := func(bytes int) btf.Bits { return btf.Bits(bytes * 8) }

	// struct qstr { union { struct { u32 hash; u32 len; }; u64 hash_len; }; const unsigned char *name; }
	hashLen := &btf.Struct{Size: 8, Members: []btf.Member{
		{Name: "hash", Type: u32, Offset: bits(QstrHash)},
		{Name: "len", Type: u32, Offset: bits(QstrLen)},
	}}
	qstr := &btf.Struct{Name: "qstr", Size: QstrSize, Members: []btf.Member{
		{Type: &btf.Union{Size: 8, Members: []btf.Member{
			{Type: hashLen},
			{Name: "hash_len", Type: ulong},
		}}},
		{Name: "name", Type: ptr(&btf.Const{Type: uchar}), Offset: bits(QstrName)},
	}}
	inode := &btf.Fwd{Name: "inode", Kind: btf.FwdStruct}
	dentry := &btf.Struct{Name: "dentry", Size: DentrySize}
	dentry.Members = []btf.Member{
		{Name: "d_flags", Type: uint, Offset: bits(DentryFlag)},
		{Name: "d_name", Type: qstr, Offset: bits(DentryName)},
		{Name: "d_iname", Type: &btf.Array{Index: intT, Type: uchar, Nelems: DnameInlineLen}, Offset: bits(DentryInline)},
	}
	path := &btf.Struct{Name: "path", Size: PathSize, Members: []btf.Member{
		{Name: "mnt", Type: ptr(&btf.Void{}), Offset: bits(PathMnt)},
		{Name: "dentry", Type: ptr(dentry), Offset: bits(PathDentry)},
	}}
	file := &btf.Struct{Name: "file", Size: FileSize, Members: []btf.Member{
		{Name: "f_inode", Type: ptr(inode)},
		{Name: "f_flags", Type: uint, Offset: bits(FileFlags)},
		{Name: "f_mode_bit", Type: uint, Offset: bits(FileFlags + 4), BitfieldSize: 1},
		{Type: &btf.Union{Size: PathSize, Members: []btf.Member{
			{Name: "f_path", Type: path},
			{Name: "__f_path", Type: &btf.Const{Type: path}},
		}}, Offset: bits(FilePath)},
		{Name: "f_pos", Type: loffT, Offset: bits(FilePos)},
	}}
	ptRegs := &btf.Struct{Name: "pt_regs", Size: PtRegsSize}
	for _, name := range []string{"r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8",
		"ax", "cx", "dx", "si", "di", "orig_ax", "ip", "cs", "flags", "sp", "ss"} {
		ptRegs.Members = append(ptRegs.Members, btf.Member{Name: name, Type: ulong, Offset: bits(PtRegs[name])})
	}

	task := &btf.Struct{Name: "task_struct", Size: TaskSize}
	task.Members = []btf.Member{
		{Name: "state", Type: uint},
		{Name: "pid", Type: intT, Offset: bits(TaskPid)},
		{Name: "tgid", Type: intT, Offset: bits(TaskTgid)},
		{Name: "real_parent", Type: ptr(task), Offset: bits(TaskRealParent)},
		{Name: "comm", Type: &btf.Array{Index: intT, Type: char, Nelems: 16}, Offset: bits(TaskComm)},
	}
	// The raw tracepoint sched_switch, as TRACE_EVENT declares it: the
	// typedef tp_btf attaches through, without parameter names, and the
	// stub function that has them.
	schedSwitchProto := func(names ...string) *btf.FuncProto {
		types := []btf.Type{ptr(&btf.Void{}), boolean, ptr(task), ptr(task), uint}
		proto := &btf.FuncProto{Return: &btf.Void{}}
		for i, t := range types {
			proto.Params = append(proto.Params, btf.FuncParam{Name: names[i], Type: t})
		}
		return proto
	}
	schedSwitch := &btf.Typedef{Name: "btf_trace_sched_switch", Type: ptr(schedSwitchProto("", "", "", "", ""))}
	schedSwitchStub := &btf.Func{Name: "__probestub_sched_switch", Linkage: btf.StaticFunc,
		Type: schedSwitchProto("__data", "preempt", "prev", "next", "prev_state")}

	fn := func(name string, ret btf.Type, params ...btf.FuncParam) *btf.Func {
		return &btf.Func{Name: name, Linkage: btf.GlobalFunc, Type: &btf.FuncProto{Return: ret, Params: params}}
	}
	p := func(name string, t btf.Type) btf.FuncParam { return btf.FuncParam{Name: name, Type: t} }
	filep, bufp, countp, posp := p("file", ptr(file)), p("buf", ptr(char)), p("count", sizeT), p("pos", ptr(loffT))
	kernel = []btf.Type{
		ptRegs,
		task,
		schedSwitch,
		schedSwitchStub,
		fn("vfs_read", ssizeT, filep, bufp, countp, posp),
		fn("vfs_write", ssizeT, filep, p("buf", ptr(&btf.Const{Type: char})), countp, posp),
		fn("vfs_fsync", intT, filep, p("datasync", intT)),
		fn("vfs_mkdir", intT, p("dir", ptr(inode)), p("dentry", ptr(dentry)), p("mode", umode)),
		fn("d_path", ptr(char), p("path", ptr(&btf.Const{Type: path})), p("buf", ptr(char)), p("buflen", intT)),
		fn("schedule", &btf.Void{}),
		fn("may_open", boolean, p("flag", intT)),
		fn("full_name_hash", uint, p("salt", ptr(&btf.Void{})), p("name", ptr(&btf.Const{Type: char})), p("len", uint)),
		fn("d_hash_and_lookup", ptr(dentry), p("dir", ptr(dentry)), p("name", qstr), p("flags", intT)),
		fn("seven_args", long, p("a1", long), p("a2", long), p("a3", long), p("a4", long), p("a5", long), p("a6", long), p("a7", long)),
		fn("printk", intT, p("fmt", ptr(&btf.Const{Type: char})), btf.FuncParam{Type: &btf.Void{}}),
	}
	module = []btf.Type{
		fn("fakemod_read", ssizeT, filep, countp),
		fn("fakemod_open", intT, p("file", ptr(file))),
	}
	return kernel, module
}
