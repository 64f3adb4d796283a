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
	assert.Equal(t, "this kernel has no kprobes (CONFIG_KPROBES is off): use kernel.trace(...) instead", d.Message)
}
