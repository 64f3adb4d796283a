package loader

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"etap/codegen/bpf"
	"etap/diag"
)

// kprobeFiles are where a kernel with kprobes offers them: the perf PMU
// that cilium/ebpf attaches kprobes through, and tracefs's kprobe_events,
// its fallback. A kernel built without CONFIG_KPROBES has neither.
var kprobeFiles = []string{
	"/sys/bus/event_source/devices/kprobe/type",
	"/sys/kernel/tracing/kprobe_events",
	"/sys/kernel/debug/tracing/kprobe_events",
}

// haveKprobes reports whether this kernel can attach kprobes. It is a
// variable so that a test on a kernel without them can still load kprobe
// programs, which needs no kprobes, to check the fallback to them.
var haveKprobes = func() bool {
	for _, name := range kprobeFiles {
		if _, err := os.Stat(name); err == nil {
			return true
		}
	}
	return false
}

// checkAttachable reports the first hardware perf event this machine has
// no PMU for, at its probe point, before the programs are loaded for
// nothing. Kernel function probes are checked as they load (see
// loadFunction): whether they attach depends on which variant loads.
func checkAttachable(out *bpf.Output) error {
	for _, k := range out.Kernel {
		if k.Attach == bpf.AttachPerfEvent && k.Point.Perf.Hardware() {
			if d := checkPMU(k); d != nil {
				return d
			}
		}
	}
	return nil
}

// isFunction says whether k probes a kernel function, whose program the
// loader chooses (see loadFunction) rather than loads with the rest.
func isFunction(k *bpf.KernelProgram) bool {
	return k.Attach == bpf.AttachKprobe || k.Attach == bpf.AttachKretprobe
}

// enotsupp is the kernel's own ENOTSUPP, which it gives for a program
// type or attachment it was built without; unix does not name it.
const enotsupp = unix.Errno(524)

// loadFunction loads the program of a kernel function probe: its
// fentry/fexit variant where it has one and the kernel takes it, which
// costs less per event, else the kprobe program. Any refusal of the
// variant (a kernel that allows no BPF trampolines, a function it cannot
// trace, a verifier that reads typed parameters more strictly) falls back
// to the kprobe program, the one that loads wherever kprobes exist; -v
// says which was used and why. sema resolves kernel functions from BTF on
// any kernel, so that -p2 works everywhere; this is where a kernel with
// neither says so, at the probe point.
func (s *Session) loadFunction(k *bpf.KernelProgram) error {
	if k.Trampoline != nil && s.noTrampolines == nil {
		prog, err := s.loadProgram(k.Trampoline)
		if err == nil {
			s.coll.Programs[k.Name] = prog
			s.trampolines[k.Name] = true
			s.mechanisms[k.Name] = fmt.Sprintf("%s attaches by %s", k.Point.Text, k.TrampolineKind())
			return nil
		}
		if errors.Is(err, unix.EPERM) || errors.Is(err, enotsupp) || errors.Is(err, unix.EOPNOTSUPP) {
			s.noTrampolines = err // the kernel's answer for every function
		}
		return s.loadKprobe(k, fmt.Errorf("load: %w", err))
	}
	return s.loadKprobe(k, s.noTrampolines)
}

// loadKprobe loads the kprobe program of a kernel function probe, in
// place of any fentry/fexit variant, which the kernel refused for the
// reason why (nil: k has none, or it was not tried).
func (s *Session) loadKprobe(k *bpf.KernelProgram, why error) error {
	if !haveKprobes() {
		msg := "this kernel has no kprobes (CONFIG_KPROBES is off)"
		if why != nil {
			msg += " and refuses fentry"
		}
		return diag.Errorf(diag.Attach, "A001", k.Point.Span, "%s: use kernel.trace(...) or syscall.* instead", msg).
			WithHint("etap cannot attach %s here; etap -l 'kernel.trace(\"*\")' lists the tracepoints", k.Point.Text)
	}
	prog, err := s.loadProgram(s.out.Spec.Programs[k.Name])
	if err != nil {
		return loadError(s.out, err)
	}
	if old := s.coll.Programs[k.Name]; old != nil {
		old.Close()
	}
	s.coll.Programs[k.Name] = prog
	delete(s.trampolines, k.Name)
	how := fmt.Sprintf("%s attaches by %s", k.Point.Text, k.KprobeKind())
	if k.Trampoline != nil && why != nil {
		how += fmt.Sprintf(" (the kernel refused %s: %v)", k.TrampolineKind(), why)
	}
	s.mechanisms[k.Name] = how
	return nil
}

// loadProgram loads one program that uses the session's maps.
func (s *Session) loadProgram(spec *ebpf.ProgramSpec) (*ebpf.Program, error) {
	cs := &ebpf.CollectionSpec{Maps: s.out.Spec.Maps, Programs: map[string]*ebpf.ProgramSpec{spec.Name: spec}}
	coll, err := ebpf.NewCollectionWithOptions(cs, ebpf.CollectionOptions{Cache: s.cache, MapReplacements: s.coll.Maps})
	if err != nil {
		return nil, err
	}
	defer coll.Close()
	return coll.DetachProgram(spec.Name), nil
}

// attach attaches one kernel program as its point says.
func (s *Session) attach(k *bpf.KernelProgram) (io.Closer, error) {
	prog := s.coll.Programs[k.Name]
	switch k.Attach {
	case bpf.AttachPerfEvent:
		return s.attachPerf(k, prog)
	case bpf.AttachRawTracepoint:
		l, err := link.AttachTracing(link.TracingOptions{Program: prog})
		if err != nil {
			return nil, fmt.Errorf("attach tp_btf %s: %w", k.Point.Event, err)
		}
		return l, nil
	case bpf.AttachKprobe, bpf.AttachKretprobe:
		if s.trampolines[k.Name] {
			l, err := link.AttachTracing(link.TracingOptions{Program: prog})
			if err == nil {
				return l, nil
			}
			if err := s.loadKprobe(k, fmt.Errorf("attach: %w", err)); err != nil {
				return nil, err
			}
			prog = s.coll.Programs[k.Name]
		}
		attach := link.Kprobe
		if k.Attach == bpf.AttachKretprobe {
			attach = link.Kretprobe
		}
		l, err := attach(k.Point.Function, prog, nil)
		if err != nil {
			return nil, diag.Errorf(diag.Attach, "A002", k.Point.Span, "cannot attach %s: %v", k.Point.Text, err).
				WithHint("the kernel refuses kprobes on some functions (notrace, inlined or blacklisted ones)")
		}
		return l, nil
	case bpf.AttachUprobe, bpf.AttachUretprobe:
		return s.attachUprobe(k, prog)
	}
	l, err := link.Tracepoint(k.Point.Group, k.Point.Event, prog, nil)
	if err != nil {
		return nil, fmt.Errorf("attach tracepoint %s:%s: %w", k.Point.Group, k.Point.Event, err)
	}
	return l, nil
}

// attachUprobe attaches a uprobe or uretprobe at an offset in a binary,
// with the semaphore of an SDT probe, which the kernel increments in every
// process that maps the binary, for as long as the probe is attached. In
// a -c or -x run it fires in the target process only, as stap's do.
func (s *Session) attachUprobe(k *bpf.KernelProgram, prog *ebpf.Program) (link.Link, error) {
	p := k.Point
	ex, err := link.OpenExecutable(p.Binary)
	if err != nil {
		return nil, diag.Errorf(diag.Attach, "A003", p.Span, "cannot attach %s: %v", p.Text, err)
	}
	opts := &link.UprobeOptions{Address: p.Address, RefCtrOffset: p.Semaphore, PID: s.target}
	attach := ex.Uprobe
	if k.Attach == bpf.AttachUretprobe {
		attach = ex.Uretprobe
	}
	l, err := attach("", prog, opts)
	if err != nil {
		d := diag.Errorf(diag.Attach, "A003", p.Span, "cannot attach %s: %v", p.Text, err)
		if s.target != 0 {
			d.WithHint("is process %d still running?", s.target)
		}
		return nil, d
	}
	return l, nil
}
