// Package qemu boots Debian's kernel in QEMU with a static Go program as its
// /init, for tests that need kernel features the host lacks: this machine's
// kernel has no kprobes and refuses fentry, so kernel.function probes are
// tested in a guest (DESIGN.md, "Tests").
//
// scripts/install-qemu installs qemu-system-x86 and unpacks the kernel of
// Debian's linux-image-amd64 to KernelPath. Boot packs an initramfs (the init
// binary, extra files, the command to run) and boots it, with KVM when
// /dev/kvm works and TCG software emulation otherwise.
//
// The guest and Boot share a small protocol: the init reads the command from
// CommandFile, runs it, prints ResultMarker followed by Pass or Fail as the
// last line it writes to the console, and powers the machine off. The
// program in guestinit does all that (mounting proc, sysfs, devtmpfs, tracefs,
// debugfs and bpffs first) and has a built-in command, SelfTest, that proves
// BPF kprobes work in the guest.
package qemu

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// KernelPath is where scripts/install-qemu leaves the kernel Boot boots.
const KernelPath = "/var/cache/etap-qemu/current/vmlinuz"

// qemuBinary is the emulator, from Debian's qemu-system-x86.
const qemuBinary = "qemu-system-x86_64"

// Protocol between Boot and the guest's init.
const (
	// CommandFile is the guest path of the command the init runs: a JSON
	// array of strings, program first.
	CommandFile = "/etc/qemu/command.json"
	// ResultMarker starts the line on which the init reports the outcome:
	// ResultMarker + Pass or ResultMarker + Fail.
	ResultMarker = "QEMU-RESULT: "
	// Pass and Fail are the outcomes the init reports.
	Pass = "PASS"
	Fail = "FAIL"
	// SelfTest, as the whole command, makes guestinit check tracefs,
	// kernel BTF and a BPF kprobe and kretprobe on vfs_read instead of
	// running a program.
	SelfTest = "selftest"
)

// cmdline is the kernel command line: the console on the first serial port
// (QEMU's stdio), a panic reboots at once, which -no-reboot turns into QEMU
// exiting, so a crashed guest does not wait for the timeout.
const cmdline = "console=ttyS0 panic=-1 quiet"

// Options says what to boot.
type Options struct {
	// Init is the host path of a static executable (CGO_ENABLED=0) that
	// becomes the guest's /init, normally guestinit built by the test.
	Init string
	// Files maps guest paths to host paths of extra files for the
	// initramfs, such as "/bin/etap" or "/t/vfs_read.stp". They keep their
	// host permissions; missing directories are created.
	Files map[string]string
	// Command is what the init runs, program first; it lands in
	// CommandFile.
	Command []string
	// Console, when not nil, receives the serial console as it arrives,
	// to watch a slow boot.
	Console io.Writer
}

// Result is what one boot produced.
type Result struct {
	// Passed says the init reported Pass.
	Passed bool
	// Output is the serial console: kernel messages, the init's and the
	// command's output, with carriage returns removed.
	Output string
	// Accel is "kvm" or "tcg", the QEMU accelerator used.
	Accel string
	// Duration runs from starting QEMU until it exited.
	Duration time.Duration
}

// Installed returns nil when QEMU and the kernel are installed, and otherwise
// an error that says to run scripts/install-qemu.
func Installed() error {
	if _, err := exec.LookPath(qemuBinary); err != nil {
		return fmt.Errorf("%s not found (%w): run scripts/install-qemu as root", qemuBinary, err)
	}
	if _, err := os.Stat(KernelPath); err != nil {
		return fmt.Errorf("no kernel for QEMU (%w): run scripts/install-qemu as root", err)
	}
	return nil
}

// Boot boots the kernel at KernelPath with an initramfs made from opts and
// returns the console output and the init's verdict. ctx bounds the whole
// boot: when it ends QEMU is killed. It is an error when QEMU fails, times
// out, or the guest stops without reporting a result (a kernel panic, an init
// that crashed); the error then ends with the last lines of the console.
func Boot(ctx context.Context, opts Options) (*Result, error) {
	if err := Installed(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "etap-qemu-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	initrd := filepath.Join(dir, "initramfs.cpio.gz")
	if err := writeInitramfs(initrd, opts); err != nil {
		return nil, fmt.Errorf("initramfs: %w", err)
	}

	res := &Result{Accel: "tcg"}
	// -display none -serial stdio rather than -nographic: the latter also
	// turns on SeaBIOS's serial console, whose terminal escapes (clear
	// screen) would land in the output. -nic none: no network device, so
	// no network boot ROM is needed (qemu-system-x86 without recommends).
	args := []string{
		"-kernel", KernelPath, "-initrd", initrd, "-append", cmdline,
		"-display", "none", "-serial", "stdio", "-no-reboot",
		"-m", "1024", "-smp", "2", "-nic", "none",
	}
	if kvmUsable() {
		res.Accel = "kvm"
		args = append(args, "-enable-kvm", "-cpu", "host")
	}
	var console, stderr bytes.Buffer
	out := io.Writer(&console)
	if opts.Console != nil {
		out = io.MultiWriter(&console, opts.Console)
	}
	cmd := exec.CommandContext(ctx, qemuBinary, args...)
	cmd.Stdout = stripCR{out}
	cmd.Stderr = &stderr
	// A killed QEMU leaves nothing holding the pipes, but do not wait
	// forever for the copy if something does.
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	runErr := cmd.Run()
	res.Duration = time.Since(start)
	res.Output = console.String()

	if ctx.Err() != nil {
		return nil, fmt.Errorf("qemu (%s): no result after %s: %w%s", res.Accel, res.Duration.Round(time.Second), ctx.Err(), tail(res.Output))
	}
	if runErr != nil {
		return nil, fmt.Errorf("qemu (%s): %w: %s%s", res.Accel, runErr, strings.TrimSpace(stderr.String()), tail(res.Output))
	}
	v, ok := verdict(res.Output)
	if !ok {
		return nil, fmt.Errorf("qemu (%s): the guest stopped without printing %q%s", res.Accel, ResultMarker, tail(res.Output))
	}
	res.Passed = v == Pass
	return res, nil
}

// writeInitramfs writes the gzipped newc cpio archive the kernel unpacks as
// its root file system.
func writeInitramfs(name string, opts Options) (err error) {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	zw := gzip.NewWriter(f)
	cw := newCPIOWriter(zw)

	// The kernel opens /dev/console for init's stdin, stdout and stderr
	// before devtmpfs is mounted; without the node init runs mute.
	if err := cw.CharDev("/dev/console", 0o600, 5, 1); err != nil {
		return err
	}
	for _, d := range []string{"/proc", "/sys", "/tmp"} {
		if err := cw.Dir(d, 0o755); err != nil {
			return err
		}
	}
	if err := addHostFile(cw, "/init", opts.Init); err != nil {
		return err
	}
	for _, guest := range slices.Sorted(maps.Keys(opts.Files)) {
		if err := addHostFile(cw, guest, opts.Files[guest]); err != nil {
			return err
		}
	}
	command, err := json.Marshal(opts.Command)
	if err != nil {
		return err
	}
	if err := cw.File(CommandFile, 0o644, command); err != nil {
		return err
	}
	if err := cw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// addHostFile adds the host file host as guest, keeping its permissions.
func addHostFile(cw *cpioWriter, guest, host string) error {
	if host == "" {
		return fmt.Errorf("no host file for %s", guest)
	}
	info, err := os.Stat(host)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(host)
	if err != nil {
		return err
	}
	return cw.File(guest, info.Mode(), data)
}

// kvmUsable says whether QEMU can use KVM: /dev/kvm opens and answers the
// one API version there has ever been. A node that exists but refuses
// (containers, nested setups without VMX) means TCG.
func kvmUsable() bool {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	const kvmGetAPIVersion = 0xAE00 // _IO(KVMIO, 0x00)
	v, err := unix.IoctlRetInt(int(f.Fd()), kvmGetAPIVersion)
	return err == nil && v == 12
}

// verdict returns what the last ResultMarker line in console says. The
// marker may follow other text on its line: a kernel message can land on the
// console in the middle of the init's write.
func verdict(console string) (string, bool) {
	var v string
	found := false
	for line := range strings.Lines(console) {
		if _, after, ok := strings.Cut(line, ResultMarker); ok {
			v, found = strings.TrimSpace(after), true
		}
	}
	return v, found
}

// tail returns the console's last lines for an error message.
func tail(console string) string {
	const n = 40
	if strings.TrimSpace(console) == "" {
		return "\nconsole: empty"
	}
	lines := strings.Split(strings.TrimRight(console, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "\nconsole (last lines):\n\t" + strings.Join(lines, "\n\t")
}

// stripCR removes carriage returns: the serial console ends lines with
// "\r\n".
type stripCR struct{ w io.Writer }

// Write writes p without its '\r' bytes and reports all of p as written.
func (s stripCR) Write(p []byte) (int, error) {
	if _, err := s.w.Write(bytes.ReplaceAll(p, []byte("\r"), nil)); err != nil {
		return 0, err
	}
	return len(p), nil
}
