// Package loader puts a compiled script into the kernel and runs it: it
// creates the maps, loads the programs through the verifier, attaches the
// kernel probes, runs the user-space probes in vm, and drains the ring
// buffer into output until the run ends.
package loader

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"

	"etap/codegen/bpf"
	"etap/diag"
	"etap/maps"
)

// Session is a loaded script.
type Session struct {
	out   *bpf.Output
	coll  *ebpf.Collection
	links []io.Closer
	// scalars is the live, memory-mapped value of the scalars map.
	scalars []byte
	// target is target(): uprobes attach for this process only when set.
	target int
	// cache is the kernel's BTF, for the programs loaded one by one.
	cache *btf.Cache
	// trampolines names the kernel function probes whose fentry/fexit
	// variant loaded; noTrampolines, once set, is why the kernel takes
	// none, and mechanisms says how each kernel function probe attaches.
	trampolines   map[string]bool
	noTrampolines error
	mechanisms    map[string]string
}

// Load creates the maps and loads the kernel programs, which runs the
// verifier; nothing is attached yet. A verifier rejection comes back as a
// *VerifierError at the script line that caused it, and a probe this
// kernel cannot attach at all (a kernel function without fentry or
// kprobes) as a *diag.Diagnostic at its probe point.
func Load(out *bpf.Output) (*Session, error) { return LoadWithBTF(out, nil) }

// LoadWithBTF is Load with a cache of the kernel's BTF that earlier passes
// filled: programs that attach by BTF (tp_btf) find their targets there
// rather than parse the kernel's BTF again. A nil cache is a new one.
func LoadWithBTF(out *bpf.Output, cache *btf.Cache) (*Session, error) {
	if err := checkAttachable(out); err != nil {
		return nil, err
	}
	if cache == nil {
		cache = btf.NewCache()
	}
	// Kernel function probes load one by one after the rest, each as the
	// kernel allows.
	spec := out.Spec.Copy()
	for _, k := range out.Kernel {
		if isFunction(k) {
			delete(spec.Programs, k.Name)
		}
	}
	coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{Cache: cache})
	if err != nil {
		return nil, loadError(out, err)
	}
	s := &Session{out: out, coll: coll, cache: cache, trampolines: map[string]bool{}, mechanisms: map[string]string{}}
	for _, k := range out.Kernel {
		if isFunction(k) {
			if err := s.loadFunction(k); err != nil {
				coll.Close()
				return nil, err
			}
		}
	}
	m := coll.Maps[maps.ScalarsMap]
	size := pageRound(int(m.ValueSize()))
	s.scalars, err = unix.Mmap(m.FD(), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		coll.Close()
		return nil, fmt.Errorf("map the globals: %w", err)
	}
	s.scalars = s.scalars[:m.ValueSize()]
	return s, nil
}

// Mechanisms says how each kernel function probe attaches, by fentry/fexit
// or by kprobe, and why not by the first where it has that variant: one
// line each, for -v.
func (s *Session) Mechanisms() []string {
	var lines []string
	for _, k := range s.out.Kernel {
		if how, ok := s.mechanisms[k.Name]; ok {
			lines = append(lines, how)
		}
	}
	return lines
}

func pageRound(n int) int {
	page := unix.Getpagesize()
	return (n + page - 1) / page * page
}

// loadError turns a failed load into a message that names the probe, and,
// for verifier rejections, its script line and the verifier's last words.
func loadError(out *bpf.Output, err error) error {
	var ve *ebpf.VerifierError
	if !errors.As(err, &ve) {
		if errors.Is(err, unix.EFAULT) {
			return verifierFault(out, err)
		}
		return fmt.Errorf("load BPF programs: %w", err)
	}
	for _, k := range out.Kernel {
		if !errorMentions(err, k.Name) {
			continue
		}
		pos := k.Point.Span.Start
		if at, ok := failingInstruction(ve.Log); ok {
			pos = lineAt(k.Lines, at, pos)
		}
		d := diag.Errorf(diag.Verifier, "V001", diag.Span{Start: pos, End: pos},
			"the kernel's BPF verifier rejected probe %s: %s", k.Point.Text, lastWords(ve.Log))
		d.WithHint("this is a bug in etap; run with -p3 to see the code and -v for the full verifier log")
		return &VerifierError{Diagnostic: d, Log: ve.Log}
	}
	return fmt.Errorf("load BPF programs: %w", err)
}

// verifierFault reports a program the verifier gave up on without a log.
// This kernel does so (EFAULT, "verifier bug") on loops that run tens of
// thousands of rounds, as a large -D MAXACTION allows.
func verifierFault(out *bpf.Output, err error) error {
	for _, k := range out.Kernel {
		if errorMentions(err, k.Name) {
			pos := k.Point.Span.Start
			return diag.Errorf(diag.Verifier, "V002", diag.Span{Start: pos, End: pos},
				"the kernel's BPF verifier failed on probe %s without a reason (EFAULT)", k.Point.Text).
				WithHint("a program too complex to verify does this here: lower -D MAXACTION or -D MAXNESTING, which bound loops and recursion")
		}
	}
	return fmt.Errorf("load BPF programs: %w", err)
}

// VerifierError is a verifier rejection placed in the script.
type VerifierError struct {
	*diag.Diagnostic
	// Log is the verifier's full log.
	Log []string
}

// Close releases everything the session holds.
func (s *Session) Close() {
	s.Detach()
	if s.scalars != nil {
		unix.Munmap(s.scalars[:cap(s.scalars)])
		s.scalars = nil
	}
	s.coll.Close()
}

// Attach attaches every kernel probe. A kprobe the kernel refuses comes
// back as a *diag.Diagnostic at its probe point.
func (s *Session) Attach() error {
	for _, k := range s.out.Kernel {
		l, err := s.attach(k)
		if err != nil {
			return err
		}
		s.links = append(s.links, l)
	}
	return nil
}

// Detach removes every kernel probe; events already in the ring buffer stay.
// Closing a perf tracepoint waits for an RCU grace period (tens of
// milliseconds), so the links close concurrently: one at a time, the 360
// tracepoints of syscalls:sys_enter_* took 19 s to detach.
func (s *Session) Detach() {
	var wg sync.WaitGroup
	for _, l := range s.links {
		wg.Go(func() { l.Close() })
	}
	wg.Wait()
	s.links = nil
}

func (s *Session) reader() (*ringbuf.Reader, error) {
	r, err := ringbuf.NewReader(s.coll.Maps[maps.EventsMap])
	if err != nil {
		return nil, fmt.Errorf("open ring buffer: %w", err)
	}
	return r, nil
}
