package sema_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/internal/tracefstest"
	"etap/sema"
)

// fakeKernel keeps the tests independent of the kernel they run on.
type fakeKernel = tracefstest.Kernel

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
		{"integer", tracefstest.Formats["syscalls:sys_enter_getpid"], []sema.TracepointField{
			{Name: "__syscall_nr", CType: "int", Offset: 8, Size: 4, Signed: true},
		}},
		{"pointer", tracefstest.Formats["syscalls:sys_enter_openat"], []sema.TracepointField{
			{Name: "__syscall_nr", CType: "int", Offset: 8, Size: 4, Signed: true},
			{Name: "dfd", CType: "int", Offset: 16, Size: 8},
			{Name: "filename", CType: "const char *", Offset: 24, Size: 8},
			{Name: "flags", CType: "int", Offset: 32, Size: 8},
			{Name: "mode", CType: "umode_t", Offset: 40, Size: 8},
		}},
		{"fixed array", tracefstest.Formats["raw_syscalls:sys_enter"], []sema.TracepointField{
			{Name: "id", CType: "long", Offset: 8, Size: 8, Signed: true},
			{Name: "args", CType: "unsigned long", Offset: 16, Size: 48, Array: true},
		}},
		{"char arrays", tracefstest.Formats["sched:sched_switch"], []sema.TracepointField{
			{Name: "prev_comm", CType: "char", Offset: 8, Size: 16, Array: true},
			{Name: "prev_pid", CType: "pid_t", Offset: 24, Size: 4, Signed: true},
			{Name: "prev_prio", CType: "int", Offset: 28, Size: 4, Signed: true},
			{Name: "prev_state", CType: "long", Offset: 32, Size: 8, Signed: true},
			{Name: "next_comm", CType: "char", Offset: 40, Size: 16, Array: true},
			{Name: "next_pid", CType: "pid_t", Offset: 56, Size: 4, Signed: true},
			{Name: "next_prio", CType: "int", Offset: 60, Size: 4, Signed: true},
		}},
		{"data_loc string", tracefstest.Formats["sched:sched_process_exec"], []sema.TracepointField{
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
	for name, text := range tracefstest.Formats {
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
