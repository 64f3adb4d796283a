// Package tracefstest is the kernel that tests of sema and codegen
// elaborate against, so that they do not depend on the kernel they run on:
// tracepoint format files copied from tracefs, and the functions of
// btftest.
package tracefstest

import (
	"os"
	"sort"

	"github.com/cilium/ebpf/btf"

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
	formatProcessExit = `name: sched_process_exit
ID: 369
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:char comm[16];	offset:8;	size:16;	signed:0;
	field:pid_t pid;	offset:24;	size:4;	signed:1;
	field:int prio;	offset:28;	size:4;	signed:1;
	field:bool group_dead;	offset:32;	size:1;	signed:0;

print fmt: "comm=%s pid=%d prio=%d group_dead=%s", REC->comm, REC->pid, REC->prio, REC->group_dead ? "true" : "false"
`
)

// Formats are the tracepoints of Kernel, by "group:event".
var Formats = map[string]string{
	"syscalls:sys_enter_getpid": formatGetpid,
	"syscalls:sys_enter_openat": formatOpenat,
	"syscalls:sys_exit_openat":  formatExitOpenat,
	"raw_syscalls:sys_enter":    formatRawSysEnter,
	"sched:sched_switch":        formatSchedSwitch,
	"sched:sched_process_exec":  formatProcessExec,
	"sched:sched_process_exit":  formatProcessExit,
}

// Kernel is a sema.Kernel with the tracepoints of Formats, or of its own
// Formats when set, and the functions of btftest.
type Kernel struct {
	// Formats, when set, replaces the package's Formats.
	Formats map[string]string
	// ListErr, when set, is what Tracepoints fails with.
	ListErr error
	// Broken lists tracepoints whose format cannot be read.
	Broken []string
	// BTFErr, when set, is what BTF and Functions fail with.
	BTFErr error
	// Kfuncs are the kfuncs the fake kernel offers, by name; none when nil.
	Kfuncs map[string]uint32
}

func (k Kernel) formats() map[string]string {
	if k.Formats != nil {
		return k.Formats
	}
	return Formats
}

// Tracepoints lists the tracepoints, broken ones included.
func (k Kernel) Tracepoints() ([]string, error) {
	if k.ListErr != nil {
		return nil, k.ListErr
	}
	names := append([]string(nil), k.Broken...)
	for name := range k.formats() {
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

// TracepointFields parses a tracepoint's format.
func (k Kernel) TracepointFields(group, event string) ([]sema.TracepointField, error) {
	text, ok := k.formats()[group+":"+event]
	if !ok {
		return nil, os.ErrNotExist
	}
	return sema.ParseTracepointFormat(text)
}

// BTF returns btftest's types.
func (k Kernel) BTF(module string) (*btf.Spec, error) {
	if k.BTFErr != nil {
		return nil, k.BTFErr
	}
	return btftest.Spec(module)
}

// Functions lists btftest's functions.
func (k Kernel) Functions(module string) ([]string, error) {
	if k.BTFErr != nil {
		return nil, k.BTFErr
	}
	return btftest.Functions(module)
}

// KfuncID returns the id of one of k.Kfuncs, or 0.
func (k Kernel) KfuncID(name string) (uint32, error) { return k.Kfuncs[name], nil }
