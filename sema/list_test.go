package sema_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/codegen/bpf"
	"etap/lang"
	"etap/lang/ast"
	"etap/sema"
)

// list lists pattern against the fake kernel, as -L does.
func list(t *testing.T, pattern string) ([]string, []string) {
	t.Helper()
	f, diags := lang.Parse("<pattern>", "probe "+pattern+" {}", nil)
	require.Empty(t, messages(diags))
	pp := f.Decls[0].(*ast.ProbeDecl).Points[0]
	listed, diags := sema.List(pp, sema.Options{Kernel: fakeKernel{}, Library: bpf.Library(), Tapsets: tapsetFiles(t)})
	var lines []string
	for _, l := range listed {
		lines = append(lines, l.Line())
	}
	return lines, messages(diags)
}

func TestList(t *testing.T) {
	tests := []struct {
		pattern string
		want    []string
	}{
		{`kernel.trace("sched:sched_switch")`, []string{
			`kernel.trace("sched:sched_switch") $preempt:_Bool $prev:struct task_struct* $next:struct task_struct* $prev_state:unsigned int`,
		}},
		{`kernel.trace("syscalls:sys_enter_getpid")`, []string{`kernel.trace("syscalls:sys_enter_getpid")`}},
		{`kernel.trace("syscalls:sys_*_openat")`, []string{
			`kernel.trace("syscalls:sys_enter_openat") $dfd:int $filename:const char* $flags:int $mode:umode_t`,
			`kernel.trace("syscalls:sys_exit_openat") $ret:long`,
		}},
		{`kernel.function("vfs_[rw]*")`, []string{
			`kernel.function("vfs_read") $file:struct file* $buf:char* $count:size_t $pos:loff_t*`,
			`kernel.function("vfs_write") $file:struct file* $buf:const char* $count:size_t $pos:loff_t*`,
		}},
		{`kernel.function("vfs_read").return`, []string{
			`kernel.function("vfs_read").return $file:struct file* $buf:char* $count:size_t $pos:loff_t* $return:ssize_t`,
		}},
		// A wildcard stands for one component, as in stap.
		{`syscall.openat*`, []string{
			`syscall.openat name:string dfd:long dfd_str:string filename_uaddr:long filename:string flags:long flags_str:string mode:long argstr:string $dfd:int $filename:const char* $flags:int $mode:umode_t`,
		}},
		{`syscall.opena*.return`, []string{`syscall.openat.return name:string retval:long retstr:string $ret:long`}},
		{`perf.sw.page_*`, []string{"perf.sw.page_faults", "perf.sw.page_faults_maj", "perf.sw.page_faults_min"}},
		{`perf.*.cpu_*`, []string{"perf.hw.cpu_cycles", "perf.sw.cpu_clock", "perf.sw.cpu_migrations"}},
		{`timer.*`, []string{"timer.profile"}},
		{`timer.ms(10)`, []string{"timer.ms(10)"}},
		{`syscall.nosuch`, nil},
		{`kernel.trace("nosuch:*")`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			got, diags := list(t, tt.pattern)
			assert.Empty(t, diags)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestListUnknownFamily(t *testing.T) {
	_, diags := list(t, "foo.bar")
	assert.Equal(t, []string{"S102 unknown probe point foo.bar hint: etap knows begin, end, error, never, timer.s(N), timer.ms(N), kernel.trace(\"group:event\") and kernel.function(\"name\")"}, diags)
}

// TestListProcessFunctions lists the functions of a program's symbol table
// a wildcard matches, as stap lists them for a program without debuginfo.
func TestListProcessFunctions(t *testing.T) {
	lines, diags := list(t, `process("/bin/bash").function("read_b*")`)
	require.Empty(t, diags)
	require.Len(t, lines, 2)
	assert.Regexp(t, `^process\("/usr/bin/bash"\)\.function\("read_builtin"\) `, lines[0]+" ")
	assert.Regexp(t, `^process\("/usr/bin/bash"\)\.function\("read_builtin_timeout"\)`, lines[1])
}
