package loader

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/diag"
)

// TestLoadWithoutKprobes checks that a kernel function probe on a kernel
// without kprobes, such as this one, fails to load at its probe point with
// the reason; elsewhere it loads (internal/qemu attaches it for real).
func TestLoadWithoutKprobes(t *testing.T) {
	out := compile(t, `probe kernel.trace("sched:sched_switch") { }
probe kernel.function("vfs_read").return { printf("%d\n", $return) }`)
	s, err := Load(out)
	if haveKprobes() {
		require.NoError(t, err)
		s.Close()
		return
	}
	require.Error(t, err)
	var d *diag.Diagnostic
	require.True(t, errors.As(err, &d), "%v", err)
	assert.Equal(t, "A001", d.Code)
	assert.Equal(t, diag.Attach, d.Kind)
	assert.Equal(t, 2, d.Span.Start.Line)
	assert.Equal(t, 7, d.Span.Start.Col)
	assert.Regexp(t, `^this kernel has no kprobes \(CONFIG_KPROBES is off\)( and refuses fentry)?: use kernel.trace\(...\) or syscall.\* instead$`, d.Message)
}

// TestLoadFallsBackToKprobes loads kernel function probes as if this
// kernel had kprobes: each loads its fentry/fexit variant where the kernel
// takes it (on this machine it refuses them) and its kprobe program
// otherwise, with the maps of the rest, and Mechanisms says which and why.
// Nothing is attached: that needs the kprobes (internal/qemu does it).
func TestLoadFallsBackToKprobes(t *testing.T) {
	if !haveKprobes() {
		defer func(f func() bool) { haveKprobes = f }(haveKprobes)
		haveKprobes = func() bool { return true }
	}
	out := compile(t, `global n
probe kernel.trace("sched:sched_switch") { n++ }
probe kernel.function("vfs_read") { n += $count }
probe kernel.function("vfs_read").return { n += uint_arg(1) }`)
	s, err := Load(out)
	require.NoError(t, err)
	defer s.Close()
	for _, k := range out.Kernel {
		assert.NotNil(t, s.coll.Programs[k.Name], k.Point.Text)
	}
	how := s.Mechanisms()
	require.Len(t, how, 2)
	if s.trampolines[out.Kernel[1].Name] {
		assert.Equal(t, `kernel.function("vfs_read") attaches by fentry`, how[0])
	} else {
		assert.Regexp(t, `^kernel\.function\("vfs_read"\) attaches by kprobe \(the kernel refused fentry: load: .+\)$`, how[0])
	}
	assert.Equal(t, `kernel.function("vfs_read").return attaches by kretprobe`, how[1], "uint_arg reads a register: no fexit variant")
}
