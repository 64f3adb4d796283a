package loader

import (
	"fmt"
	"io"
	"os"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

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

// haveKprobes reports whether this kernel can attach kprobes.
func haveKprobes() bool {
	for _, name := range kprobeFiles {
		if _, err := os.Stat(name); err == nil {
			return true
		}
	}
	return false
}

// checkAttachable reports the first probe this kernel has no way to attach,
// at its probe point. sema resolves kernel functions from BTF on any
// kernel, so that -p2 works everywhere; this is where a kernel without
// kprobes says so, before the programs are loaded for nothing.
func checkAttachable(out *bpf.Output) error {
	for _, k := range out.Kernel {
		if k.Attach == bpf.AttachPerfEvent && k.Point.Perf.Hardware() {
			if d := checkPMU(k); d != nil {
				return d
			}
		}
		if (k.Attach == bpf.AttachKprobe || k.Attach == bpf.AttachKretprobe) && !haveKprobes() {
			return diag.Errorf(diag.Attach, "A001", k.Point.Span,
				"this kernel has no kprobes (CONFIG_KPROBES is off): use kernel.trace(...) instead").
				WithHint("etap cannot attach %s here", k.Point.Text)
		}
	}
	return nil
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
