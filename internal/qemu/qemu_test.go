package qemu

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bootTimeout bounds one boot. Under TCG (no /dev/kvm) Debian's kernel
// reaches /init in a few seconds; the margin is for a loaded CI machine.
const bootTimeout = 3 * time.Minute

// needQEMU fails, not skips, when QEMU or the kernel is missing: `make test`
// installs both with scripts/install-qemu.
func needQEMU(t *testing.T) {
	t.Helper()
	require.NoError(t, Installed(), "run scripts/install-qemu as root")
}

// buildStatic builds the main package pkg without cgo, as a guest with
// nothing but the initramfs needs, and returns the binary's path.
func buildStatic(t *testing.T, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build %s:\n%s", pkg, msg)
	return out
}

// boot boots opts with bootTimeout, streaming the console to the test log.
func boot(t *testing.T, opts Options) *Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), bootTimeout)
	defer cancel()
	opts.Console = t.Output()
	res, err := Boot(ctx, opts)
	require.NoError(t, err)
	t.Logf("accelerator %s: boot to power-off in %s", res.Accel, res.Duration.Round(time.Millisecond))
	return res
}

// TestKprobeInGuest proves the path kernel.function tests will take: the
// guest kernel has tracefs kprobe_events and BTF, and a BPF program loaded
// with cilium/ebpf and attached as a kprobe and a kretprobe on vfs_read
// counts calls.
func TestKprobeInGuest(t *testing.T) {
	needQEMU(t)
	res := boot(t, Options{Init: buildStatic(t, "./guestinit"), Command: []string{SelfTest}})
	assert.True(t, res.Passed, "the guest's self-test failed; console above")
	assert.Regexp(t, `selftest: kprobe on vfs_read fired [1-9]`, res.Output)
	assert.Regexp(t, `selftest: kretprobe on vfs_read fired [1-9]`, res.Output)
}

// TestCommandInGuest runs a command from the initramfs, as the etap tests
// will run etap with a script, and checks that its exit status decides the
// verdict.
func TestCommandInGuest(t *testing.T) {
	needQEMU(t)
	init := buildStatic(t, "./guestinit")
	cmd := buildStatic(t, "./testdata/guestcmd")
	msg := filepath.Join(t.TempDir(), "msg.txt")
	require.NoError(t, os.WriteFile(msg, []byte("hello from the host"), 0o644))
	files := map[string]string{"/bin/guestcmd": cmd, "/data/msg.txt": msg}

	for _, tc := range []struct {
		status string
		passed bool
	}{
		{"0", true},
		{"3", false},
	} {
		t.Run("exit"+tc.status, func(t *testing.T) {
			res := boot(t, Options{Init: init, Files: files, Command: []string{"guestcmd", tc.status, "/data/msg.txt"}})
			assert.Equal(t, tc.passed, res.Passed)
			assert.Contains(t, res.Output, "guestcmd: /data/msg.txt: hello from the host")
		})
	}
}
