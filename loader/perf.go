package loader

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"etap/codegen/bpf"
	"etap/diag"
)

// checkPMU opens a hardware event once, on one CPU, so that a machine
// without counters says so before anything is loaded.
func checkPMU(k *bpf.KernelProgram) *diag.Diagnostic {
	p := k.Point
	attr := unix.PerfEventAttr{Type: p.Perf.Type, Config: p.Perf.Config, Size: uint32(unsafe.Sizeof(unix.PerfEventAttr{})), Bits: unix.PerfBitDisabled}
	fd, err := unix.PerfEventOpen(&attr, -1, 0, -1, unix.PERF_FLAG_FD_CLOEXEC)
	if err != nil {
		return perfOpenError(k, 0, err)
	}
	unix.Close(fd)
	return nil
}

// perfOpenError explains a failed perf_event_open.
func perfOpenError(k *bpf.KernelProgram, cpu int, err error) *diag.Diagnostic {
	p := k.Point
	var errno unix.Errno
	if p.Perf.Hardware() && errors.As(err, &errno) && (errno == unix.ENOENT || errno == unix.EOPNOTSUPP) {
		return diag.Errorf(diag.Attach, "A003", p.Span,
			"this machine has no hardware performance counters (perf_event_open: %s)", unix.ErrnoName(errno)).
			WithHint("perf.sw.* events, such as perf.sw.cpu_clock, work without them")
	}
	return diag.Errorf(diag.Attach, "A004", p.Span, "cannot open perf event %s on cpu %d: %v", p.Text, cpu, err)
}

// perfAttachment is one perf event per online CPU, each with the program
// attached through a BPF link. Closing it closes the links and the events.
type perfAttachment struct {
	links []*link.RawLink
	fds   []int
}

func (a *perfAttachment) Close() error {
	for _, l := range a.links {
		l.Close()
	}
	for _, fd := range a.fds {
		unix.Close(fd)
	}
	a.links, a.fds = nil, nil
	return nil
}

// attachPerf opens k's perf event on every online CPU, for every task
// (pid -1), and attaches the program to each.
func (s *Session) attachPerf(k *bpf.KernelProgram, prog *ebpf.Program) (*perfAttachment, error) {
	cpus, err := onlineCPUs()
	if err != nil {
		return nil, err
	}
	ev := k.Point.Perf
	attr := unix.PerfEventAttr{
		Type:   ev.Type,
		Config: ev.Config,
		Size:   uint32(unsafe.Sizeof(unix.PerfEventAttr{})),
		Sample: ev.Period,
	}
	if ev.Freq != 0 {
		attr.Sample = ev.Freq
		attr.Bits |= unix.PerfBitFreq
	}
	a := &perfAttachment{}
	for _, cpu := range cpus {
		fd, err := unix.PerfEventOpen(&attr, -1, cpu, -1, unix.PERF_FLAG_FD_CLOEXEC)
		if err != nil {
			a.Close()
			return nil, perfOpenError(k, cpu, err)
		}
		a.fds = append(a.fds, fd)
		l, err := link.AttachRawLink(link.RawLinkOptions{Target: fd, Program: prog, Attach: ebpf.AttachPerfEvent})
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("attach %s on cpu %d: %w", k.Point.Text, cpu, err)
		}
		a.links = append(a.links, l)
	}
	return a, nil
}

// onlineCPUs lists the online CPUs.
func onlineCPUs() ([]int, error) {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return nil, fmt.Errorf("list online cpus: %w", err)
	}
	return parseCPUList(strings.TrimSpace(string(b)))
}

// parseCPUList parses the kernel's list of CPUs, such as "0-3,5".
func parseCPUList(list string) ([]int, error) {
	var cpus []int
	for _, part := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("cpu list %q: %w", list, err)
		}
		last := first
		if isRange {
			if last, err = strconv.Atoi(hi); err != nil {
				return nil, fmt.Errorf("cpu list %q: %w", list, err)
			}
		}
		for c := first; c <= last; c++ {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}
