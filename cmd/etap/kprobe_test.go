package main

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
)

// vfsReadCount is issue 4's example of a kernel function probe.
const vfsReadCount = `probe kernel.function("vfs_read") { printf("%d\n", $count) }`

// TestKernelFunctionElaborates checks that a kernel function probe
// elaborates from the kernel's BTF whether or not the kernel can attach
// kprobes: -p2 shows $count typed from BTF.
func TestKernelFunctionElaborates(t *testing.T) {
	r := etap(t, "-p2", "-e", vfsReadCount)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "# globals\n# functions\n# probes\n"+
		"kernel.function(\"vfs_read\") /* kprobe, kernel */\n"+
		"  $count:long /* size_t */\n"+
		"{\n\tprintf(\"%d\\n\", $count);\n}\n", r.stdout)
	assert.Empty(t, r.stderr)

	r = etap(t, "-p2", "-e", `probe kernel.function("vfs_raed") { }`)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, `<input>:1:23: semantic error: no function of the kernel matches "vfs_raed"`)
	assert.Contains(t, r.stderr, `hint: did you mean "vfs_read"?`)
}

// hostHasKprobes says whether this kernel offers kprobes, as the loader
// finds out.
func hostHasKprobes() bool {
	for _, name := range []string{"/sys/bus/event_source/devices/kprobe/type", "/sys/kernel/tracing/kprobe_events"} {
		if _, err := os.Stat(name); err == nil {
			return true
		}
	}
	return false
}

// TestKernelFunctionWithoutKprobes runs the probe: on a kernel without
// kprobes that refuses fentry too, such as the test machines', the run
// fails at the probe point with the reason, before anything runs; where
// kprobes exist, it runs (internal/qemu tests that on Debian's kernel,
// with fentry).
func TestKernelFunctionWithoutKprobes(t *testing.T) {
	script := `probe begin { printf("begin\n") }
probe kernel.function("vfs_read") { printf("%d\n", $count); exit() }`
	r := etap(t, "-e", script)
	if hostHasKprobes() {
		assert.Equal(t, 0, r.code, r.stderr)
		assert.Regexp(t, `^begin\n\d+\n$`, r.stdout)
		return
	}
	assert.Equal(t, 1, r.code)
	assert.Empty(t, r.stdout, "nothing runs, not even begin")
	assert.Equal(t, `<input>:2:7: attach error: this kernel has no kprobes (CONFIG_KPROBES is off) and refuses fentry: use kernel.trace(...) or syscall.* instead
        source: probe kernel.function("vfs_read") { printf("%d\n", $count); exit() }
                      ^
        hint: etap cannot attach kernel.function("vfs_read") here; etap -l 'kernel.trace("*")' lists the tracepoints
`, r.stderr)

	r = etap(t, "-p4", "-e", script)
	assert.Equal(t, 1, r.code, "loading is pointless too")
	assert.Contains(t, r.stderr, "this kernel has no kprobes")
}
