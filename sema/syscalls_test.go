package sema_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/codegen/bpf"
	"etap/internal/tracefstest"
	"etap/lang"
	"etap/lang/ast"
	"etap/sema"
)

// TestSyscallAliasesElaborate checks syscall.NAME and syscall.NAME.return
// for every system call of this machine's kernel, each reading all its
// variables.
func TestSyscallAliasesElaborate(t *testing.T) {
	kernel := sema.NewTracefs(sema.DefaultTracefsRoot)
	if _, err := kernel.TracepointFields("syscalls", "sys_enter_openat"); err != nil {
		t.Skipf("this kernel has no syscalls tracepoints (CONFIG_FTRACE_SYSCALLS): %v", err)
	}
	files := tapsetFiles(t)
	names := sema.ProbeAliases(kernel, files)
	// The tapsets' own aliases are TestEveryAliasElaborates's (package
	// tapsets); these are the made ones.
	tapsetNames := sema.ProbeAliases(tracefstest.Kernel{}, files)
	var syscalls []string
	for _, n := range names {
		if strings.HasPrefix(n, "syscall.") && !slices.Contains(tapsetNames, n) {
			syscalls = append(syscalls, n)
		}
	}
	// Every system call has an entry and a return alias.
	require.Greater(t, len(syscalls), 600)
	for _, want := range []string{"syscall.openat", "syscall.openat.return", "syscall.read", "syscall.fstat", "syscall.uname", "syscall_any", "syscall_any.return", "nd_syscall.openat", "nd_syscall.read.return"} {
		assert.Contains(t, names, want)
	}
	for _, point := range syscalls {
		vars := aliasVars(t, kernel, point)
		var reads []string
		for i, v := range vars {
			reads = append(reads, fmt.Sprintf("r%d = %s", i, v))
		}
		src := fmt.Sprintf("probe %s { %s }", point, strings.Join(reads, "; "))
		f, diags := lang.Parse("t.stp", src, nil)
		require.Empty(t, messages(diags), src)
		prog, diags := sema.Check([]*ast.File{f}, sema.Options{Kernel: kernel, Library: bpf.Library(), Tapsets: files})
		if !assert.NotNil(t, prog, "%s: %v", src, messages(diags)) {
			continue
		}
		assert.Contains(t, vars, "name", point)
		if strings.HasSuffix(point, ".return") {
			assert.Subset(t, vars, []string{"retval", "retstr"}, point)
		} else {
			assert.Contains(t, vars, "argstr", point)
		}
	}
}

// aliasVars lists the variables a made alias assigns, from its text.
func aliasVars(t *testing.T, kernel sema.Kernel, point string) []string {
	t.Helper()
	src, ok := sema.SyscallAliasSource(kernel, point)
	require.True(t, ok, point)
	var vars []string
	for _, line := range strings.Split(src, "\n") {
		if name, _, ok := strings.Cut(strings.TrimSpace(line), " = "); ok && !strings.HasPrefix(name, "probe ") {
			vars = append(vars, name)
		}
	}
	return vars
}

// TestSyscallAliasesFromFormats checks the made aliases against the fake
// kernel's formats: argument names and the narrowing of int arguments.
func TestSyscallAliasesFromFormats(t *testing.T) {
	src, ok := sema.SyscallAliasSource(tracefstest.Kernel{}, "syscall.openat")
	require.True(t, ok)
	assert.Contains(t, src, `kernel.trace("syscalls:sys_enter_openat")`)
	assert.Contains(t, src, "dfd = __int32($dfd)")
	assert.Contains(t, src, "filename = user_string_quoted(filename_uaddr)")
	assert.Contains(t, src, "mode = __uint32($mode)")
	assert.Contains(t, src, `argstr = sprintf("%d, %s, %d, %u", dfd, filename, flags, mode)`)
	ret, ok := sema.SyscallAliasSource(tracefstest.Kernel{}, "syscall.openat.return")
	require.True(t, ok)
	assert.Contains(t, ret, "retval = $ret")
	assert.Contains(t, ret, "retstr = return_str(1, retval)")
	_, ok = sema.SyscallAliasSource(tracefstest.Kernel{}, "syscall.getpid")
	assert.False(t, ok, "the fake kernel has no sys_exit_getpid")
}

// TestProbeOnSeveralAliasesTypesEach checks that a probe on several
// system call aliases types each expansion apart, as stap does: add_key's
// type is a string and socket's a number; a mistake in the handler is
// reported once, not once per expansion.
func TestProbeOnSeveralAliasesTypesEach(t *testing.T) {
	kernel := sema.NewTracefs(sema.DefaultTracefsRoot)
	for _, event := range []string{"sys_enter_add_key", "sys_enter_socket"} {
		if _, err := kernel.TracepointFields("syscalls", event); err != nil {
			t.Skipf("this kernel has no %s tracepoint: %v", event, err)
		}
	}
	prog, diags := checkWith(t, "t.stp", `probe syscall.add_key, syscall.socket { println(type) }`, kernel)
	require.NotNil(t, prog, messages(diags))
	require.Len(t, prog.Probes, 2)
	types := map[string]sema.Type{}
	for _, p := range prog.Probes {
		for _, l := range p.Locals {
			if l.Name == "type" {
				types[p.Point.Event] = l.Type
			}
		}
	}
	assert.Equal(t, map[string]sema.Type{"sys_enter_add_key": sema.String, "sys_enter_socket": sema.Long}, types)

	_, diags = checkWith(t, "t.stp", `probe syscall.add_key, syscall.socket { x = 1; x = "s" }`, kernel)
	assert.Len(t, messages(diags), 1, messages(diags))
}
