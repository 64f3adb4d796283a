// Command guestinit is the /init of the QEMU guests that package qemu boots.
// Built statically (CGO_ENABLED=0) it needs nothing else in the initramfs.
//
// It mounts the file systems etap needs (proc, sysfs, devtmpfs, tracefs,
// debugfs, bpffs), checks that the kernel has BTF, runs the command in
// qemu.CommandFile (or, for qemu.SelfTest, checks that BPF kprobes work),
// prints qemu.ResultMarker with PASS or FAIL on the console and powers the
// machine off. Its own messages start with "guestinit: ".
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"etap/internal/qemu"

	"golang.org/x/sys/unix"
)

func main() {
	verdict := qemu.Pass
	if err := run(); err != nil {
		logf("%v", err)
		verdict = qemu.Fail
	}
	fmt.Printf("%s%s\n", qemu.ResultMarker, verdict)
	powerOff()
}

// run prepares the guest and runs its command.
func run() error {
	if err := mountAll(); err != nil {
		return err
	}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return fmt.Errorf("uname: %w", err)
	}
	uptime, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return err
	}
	logf("kernel %s, userspace after %ss", unix.ByteSliceToString(uts.Release[:]), strings.Fields(string(uptime))[0])

	// Kernel probes take their argument names and types from BTF
	// ($file->f_path->dentry): a kernel without it is no use to a test.
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		return fmt.Errorf("no kernel BTF: %w", err)
	}

	data, err := os.ReadFile(qemu.CommandFile)
	if err != nil {
		return fmt.Errorf("read command: %w", err)
	}
	var command []string
	if err := json.Unmarshal(data, &command); err != nil {
		return fmt.Errorf("command %s: %w", qemu.CommandFile, err)
	}
	switch {
	case len(command) == 0:
		return errors.New("no command to run")
	case len(command) == 1 && command[0] == qemu.SelfTest:
		return selfTest()
	}
	logf("running %q", command)
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", command[0], err)
	}
	return nil
}

// mountAll mounts what etap and its tests use. The kernel unpacks the
// initramfs into an empty rootfs and mounts nothing else for us (devtmpfs's
// automount does not apply to an initramfs root).
func mountAll() error {
	// /dev/console is already open as stdin, stdout and stderr; devtmpfs
	// over /dev gives the rest (/dev/null for os/exec).
	mounts := []struct{ fstype, target string }{
		{"proc", "/proc"},
		{"sysfs", "/sys"},
		{"devtmpfs", "/dev"},
		{"tracefs", "/sys/kernel/tracing"},
		{"debugfs", "/sys/kernel/debug"},
		{"bpf", "/sys/fs/bpf"},
	}
	for _, m := range mounts {
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			return err
		}
		if err := unix.Mount(m.fstype, m.target, m.fstype, 0, ""); err != nil {
			return fmt.Errorf("mount %s on %s: %w", m.fstype, m.target, err)
		}
	}
	// Programs the command starts find each other on a conventional PATH.
	return os.Setenv("PATH", "/bin:/sbin:/usr/bin:/usr/sbin")
}

// powerOff waits for the console to send everything, above all the result
// line, then turns the machine off: QEMU exits. Should that fail, returning
// from main makes the kernel panic, and panic=-1 with -no-reboot ends QEMU
// as well.
func powerOff() {
	// tcdrain: the serial driver sends in the background, and the power
	// going off would cut the last lines.
	if err := unix.IoctlSetInt(1, unix.TCSBRK, 1); err != nil {
		logf("drain console: %v", err)
	}
	unix.Sync()
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		logf("power off: %v", err)
	}
}

// logf prints one of the init's own messages on the console.
func logf(format string, args ...any) {
	fmt.Printf("guestinit: "+format+"\n", args...)
}
