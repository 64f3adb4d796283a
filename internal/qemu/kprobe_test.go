package qemu

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// vfsReadScript probes vfs_read's entry and return for the reads of
// known.txt by -c's command: the entry prints $count and the file's name
// through $file->f_path->dentry->d_name->name, and marks the thread, whose
// return then prints $return beside $count and @entry(...) from the entry.
// These attach by fentry and fexit; the third probe reads a register
// (uint_arg), which only a kprobe has, and attaches by kprobe.
const vfsReadScript = `global reading
probe kernel.function("vfs_read") {
	if (pid() == target() && $file->f_path->dentry->d_name->name == "known.txt") {
		reading[tid()] = 1
		printf("entry count=%d name=%s\n", $count, $file->f_path->dentry->d_name->name)
	}
}
probe kernel.function("vfs_read").return {
	if (tid() in reading) {
		printf("return %d of %d name=%s\n", $return, $count, @entry($file->f_path->dentry->d_name->name))
		delete reading[tid()]
	}
}
probe kernel.function("vfs_read") {
	if (pid() == target() && $file->f_path->dentry->d_name->name == "known.txt")
		printf("kprobe count=%d arg3=%d\n", $count, uint_arg(3))
}
`

// knownText is known.txt's content: 26 bytes.
const knownText = "abcdefghijklmnopqrstuvwxyz"

// TestKernelFunctionInGuest runs etap in Debian's kernel, which has
// kprobes and allows BPF trampolines, on a command that reads a 26-byte
// file with read(100) then read(50): the entry probes see the counts and
// the file's name, the return probes what each read returned (issue 6,
// acceptance 2), whether they attach by fentry/fexit or by kprobe, as -v
// says they do.
func TestKernelFunctionInGuest(t *testing.T) {
	needQEMU(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "vfs_read.stp")
	require.NoError(t, os.WriteFile(script, []byte(vfsReadScript), 0o644))
	known := filepath.Join(dir, "known.txt")
	require.NoError(t, os.WriteFile(known, []byte(knownText), 0o644))

	res := boot(t, Options{
		Init: buildStatic(t, "./guestinit"),
		Files: map[string]string{
			"/bin/etap":       buildStatic(t, "../../cmd/etap"),
			"/bin/readfile":   buildStatic(t, "./testdata/readfile"),
			"/t/vfs_read.stp": script,
			"/data/known.txt": known,
		},
		Command: []string{"etap", "-v", "-c", "readfile /data/known.txt 100 50", "/t/vfs_read.stp"},
	})
	assert.True(t, res.Passed, "etap failed in the guest; console above")
	probes := regexp.MustCompile(`(?m)^(entry|return) .*$`).FindAllString(res.Output, -1)
	assert.Equal(t, []string{
		"entry count=100 name=known.txt",
		"return 26 of 100 name=known.txt",
		"entry count=50 name=known.txt",
		"return 0 of 50 name=known.txt",
	}, probes)
	kprobes := regexp.MustCompile(`(?m)^kprobe .*$`).FindAllString(res.Output, -1)
	assert.Equal(t, []string{"kprobe count=100 arg3=100", "kprobe count=50 arg3=50"}, kprobes)
	mechanisms := regexp.MustCompile(`(?m)^Pass 4: probe .*$`).FindAllString(res.Output, -1)
	assert.Equal(t, []string{
		`Pass 4: probe kernel.function("vfs_read") attaches by fentry.`,
		`Pass 4: probe kernel.function("vfs_read") attaches by fentry.`, // saves @entry(...) for the return
		`Pass 4: probe kernel.function("vfs_read").return attaches by fexit.`,
		`Pass 4: probe kernel.function("vfs_read") attaches by kprobe.`,
	}, mechanisms)
	assert.Contains(t, res.Output, "readfile: read(100) = 26\n")
	assert.Contains(t, res.Output, "readfile: read(50) = 0\n")
}
