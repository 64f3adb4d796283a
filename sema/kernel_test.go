package sema_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/internal/btftest"
	"etap/sema"
)

// The format files below are copied verbatim from /sys/kernel/tracing on a
// 6.x x86-64 kernel, so that the tests parse what tracefs really prints
// (tabs, blank lines, the print fmt line and all).
const (
	formatGetpid = `name: sys_enter_getpid
ID: 309
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:int __syscall_nr;	offset:8;	size:4;	signed:1;

print fmt: ""
`
	formatOpenat = `name: sys_enter_openat
ID: 782
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

print fmt: "dfd: 0x%08lx, filename: 0x%08lx, flags: 0x%08lx, mode: 0x%08lx", ((unsigned long)(REC->dfd)), ((unsigned long)(REC->filename)), ((unsigned long)(REC->flags)), ((unsigned long)(REC->mode))
`
	formatExitOpenat = `name: sys_exit_openat
ID: 781
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:int __syscall_nr;	offset:8;	size:4;	signed:1;
	field:long ret;	offset:16;	size:8;	signed:1;

print fmt: "0x%lx", REC->ret
`
	formatRawSysEnter = `name: sys_enter
ID: 443
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:long id;	offset:8;	size:8;	signed:1;
	field:unsigned long args[6];	offset:16;	size:48;	signed:0;

print fmt: "NR %ld (%lx, %lx, %lx, %lx, %lx, %lx)", REC->id, REC->args[0], REC->args[1], REC->args[2], REC->args[3], REC->args[4], REC->args[5]
`
	formatSchedSwitch = `name: sched_switch
ID: 372
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:char prev_comm[16];	offset:8;	size:16;	signed:0;
	field:pid_t prev_pid;	offset:24;	size:4;	signed:1;
	field:int prev_prio;	offset:28;	size:4;	signed:1;
	field:long prev_state;	offset:32;	size:8;	signed:1;
	field:char next_comm[16];	offset:40;	size:16;	signed:0;
	field:pid_t next_pid;	offset:56;	size:4;	signed:1;
	field:int next_prio;	offset:60;	size:4;	signed:1;

print fmt: "prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%s%s ==> next_comm=%s next_pid=%d next_prio=%d", REC->prev_comm, REC->prev_pid, REC->prev_prio, (REC->prev_state & ((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) - 1)) ? __print_flags(REC->prev_state & ((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) - 1), "|", { 0x00000001, "S" }, { 0x00000002, "D" }, { 0x00000004, "T" }, { 0x00000008, "t" }, { 0x00000010, "X" }, { 0x00000020, "Z" }, { 0x00000040, "P" }, { 0x00000080, "I" }) : "R", REC->prev_state & (((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) ? "+" : "", REC->next_comm, REC->next_pid, REC->next_prio
`
	formatProcessExec = `name: sched_process_exec
ID: 365
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:__data_loc char[] filename;	offset:8;	size:4;	signed:0;
	field:pid_t pid;	offset:12;	size:4;	signed:1;
	field:pid_t old_pid;	offset:16;	size:4;	signed:1;

print fmt: "filename=%s pid=%d old_pid=%d", __get_str(filename), REC->pid, REC->old_pid
`
)

// testFormats are the tracepoints of fakeKernel, by "group:event".
var testFormats = map[string]string{
	"syscalls:sys_enter_getpid": formatGetpid,
	"syscalls:sys_enter_openat": formatOpenat,
	"syscalls:sys_exit_openat":  formatExitOpenat,
	"raw_syscalls:sys_enter":    formatRawSysEnter,
	"sched:sched_switch":        formatSchedSwitch,
	"sched:sched_process_exec":  formatProcessExec,
}

// fakeKernel is a Kernel with the tracepoints of testFormats and the
// functions of btftest. It keeps the tests independent of the kernel they
// run on.
type fakeKernel struct {
	// listErr, when set, is what Tracepoints fails with.
	listErr error
	// broken lists tracepoints whose format cannot be read.
	broken []string
	// btfErr, when set, is what BTF fails with.
	btfErr error
}

func (k fakeKernel) Tracepoints() ([]string, error) {
	if k.listErr != nil {
		return nil, k.listErr
	}
	names := append([]string(nil), k.broken...)
	for name := range testFormats {
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

func (k fakeKernel) TracepointFields(group, event string) ([]sema.TracepointField, error) {
	text, ok := testFormats[group+":"+event]
	if !ok {
		return nil, os.ErrNotExist
	}
	return sema.ParseTracepointFormat(text)
}

func (k fakeKernel) BTF(module string) (*btf.Spec, error) {
	if k.btfErr != nil {
		return nil, k.btfErr
	}
	return btftest.Spec(module)
}

func (k fakeKernel) Functions(module string) ([]string, error) {
	if k.btfErr != nil {
		return nil, k.btfErr
	}
	return btftest.Functions(module)
}

func TestParseTracepointFormat(t *testing.T) {
	common := []sema.TracepointField{
		{Name: "common_type", CType: "unsigned short", Offset: 0, Size: 2},
		{Name: "common_flags", CType: "unsigned char", Offset: 2, Size: 1},
		{Name: "common_preempt_count", CType: "unsigned char", Offset: 3, Size: 1},
		{Name: "common_pid", CType: "int", Offset: 4, Size: 4, Signed: true},
	}
	tests := []struct {
		name   string
		format string
		want   []sema.TracepointField
	}{
		{"integer", formatGetpid, []sema.TracepointField{
			{Name: "__syscall_nr", CType: "int", Offset: 8, Size: 4, Signed: true},
		}},
		{"pointer", formatOpenat, []sema.TracepointField{
			{Name: "__syscall_nr", CType: "int", Offset: 8, Size: 4, Signed: true},
			{Name: "dfd", CType: "int", Offset: 16, Size: 8},
			{Name: "filename", CType: "const char *", Offset: 24, Size: 8},
			{Name: "flags", CType: "int", Offset: 32, Size: 8},
			{Name: "mode", CType: "umode_t", Offset: 40, Size: 8},
		}},
		{"fixed array", formatRawSysEnter, []sema.TracepointField{
			{Name: "id", CType: "long", Offset: 8, Size: 8, Signed: true},
			{Name: "args", CType: "unsigned long", Offset: 16, Size: 48, Array: true},
		}},
		{"char arrays", formatSchedSwitch, []sema.TracepointField{
			{Name: "prev_comm", CType: "char", Offset: 8, Size: 16, Array: true},
			{Name: "prev_pid", CType: "pid_t", Offset: 24, Size: 4, Signed: true},
			{Name: "prev_prio", CType: "int", Offset: 28, Size: 4, Signed: true},
			{Name: "prev_state", CType: "long", Offset: 32, Size: 8, Signed: true},
			{Name: "next_comm", CType: "char", Offset: 40, Size: 16, Array: true},
			{Name: "next_pid", CType: "pid_t", Offset: 56, Size: 4, Signed: true},
			{Name: "next_prio", CType: "int", Offset: 60, Size: 4, Signed: true},
		}},
		{"data_loc string", formatProcessExec, []sema.TracepointField{
			{Name: "filename", CType: "__data_loc char", Offset: 8, Size: 4, Array: true},
			{Name: "pid", CType: "pid_t", Offset: 12, Size: 4, Signed: true},
			{Name: "old_pid", CType: "pid_t", Offset: 16, Size: 4, Signed: true},
		}},
		{"no fields", "name: x\nformat:\n\nprint fmt: \"\"\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sema.ParseTracepointFormat(tt.format)
			require.NoError(t, err)
			want := tt.want
			if want != nil {
				want = append(append([]sema.TracepointField(nil), common...), want...)
			}
			assert.Equal(t, want, got)
		})
	}
}

func TestParseTracepointFormatBadNumber(t *testing.T) {
	_, err := sema.ParseTracepointFormat("\tfield:int x;\toffset:eight;\tsize:4;\tsigned:1;\n")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "offset:eight")
}

// TestTracefs reads the same formats from a directory laid out like
// tracefs, which checks the real Kernel against what the fake claims.
func TestTracefs(t *testing.T) {
	root := t.TempDir()
	for name, text := range testFormats {
		group, event, _ := strings.Cut(name, ":")
		dir := filepath.Join(root, "events", group, event)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "format"), []byte(text), 0o644))
	}
	// tracefs also has plain files next to the groups, such as events/enable.
	require.NoError(t, os.WriteFile(filepath.Join(root, "events", "enable"), []byte("0\n"), 0o644))

	tfs := sema.NewTracefs(root)
	got, err := tfs.Tracepoints()
	require.NoError(t, err)
	want, err := fakeKernel{}.Tracepoints()
	require.NoError(t, err)
	assert.Equal(t, want, got)

	fields, err := tfs.TracepointFields("sched", "sched_switch")
	require.NoError(t, err)
	fake, err := fakeKernel{}.TracepointFields("sched", "sched_switch")
	require.NoError(t, err)
	assert.Equal(t, fake, fields)

	_, err = tfs.TracepointFields("sched", "no_such_event")
	assert.Error(t, err)

	_, err = sema.NewTracefs(filepath.Join(root, "missing")).Tracepoints()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is tracefs mounted")
	assert.ErrorIs(t, err, fs.ErrNotExist)
}
