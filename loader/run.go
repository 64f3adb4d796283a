package loader

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"

	"etap/codegen/bpf"
	"etap/maps"
	"etap/output"
	"etap/vm"
)

// RunOptions say how a run starts and ends.
type RunOptions struct {
	// Target is target(): the pid of -c's command or of -x.
	Target int
	// Timeout ends the run after this long (-T); 0 means no limit.
	Timeout time.Duration
	// Start is called once the probes are attached and the begin probes
	// have run: -c releases its command then.
	Start func() error
	// Done is closed when -c's command has exited.
	Done           <-chan struct{}
	Stdout, Stderr io.Writer
}

// Result is how a run went.
type Result struct {
	// Errors counts the runtime errors reported; the run should exit
	// non-zero when there were any, as staprun does.
	Errors int
	// Lost counts records the ring buffer could not take.
	Lost uint64
}

// drainInterval is how often the ring buffer is emptied. Probes do not wake
// the reader for each record, which would cost microseconds per event.
const drainInterval = 10 * time.Millisecond

// run is the state of one run: everything runs on one goroutine, so that
// output stays in order without locks.
type run struct {
	s       *Session
	printer *output.Printer
	stderr  io.Writer
	exit    bool
	errors  int
	// failed is set by the error past MAXERRORS: the run ends, and the
	// error probes run instead of the end probes.
	failed bool
	user   map[bpf.UserKind][]*userProbe
}

type userProbe struct {
	prog *vm.Program
	up   *bpf.UserProgram
}

// Run attaches the probes and runs the script until exit(), an error, the
// end of -c's command, the timeout, or ctx's end (Ctrl-C). Every way ends
// alike: kernel probes are detached, the ring buffer drained, end probes
// run and the globals displayed.
func (s *Session) Run(ctx context.Context, o RunOptions) (Result, error) {
	r := &run{s: s, stderr: o.Stderr, printer: output.NewPrinter(s.out.ABI, o.Stdout, o.Stderr), user: map[bpf.UserKind][]*userProbe{}}
	env := &vm.Env{Maps: s.vmMaps(), ABI: s.out.ABI, Output: r.handle}
	for _, up := range s.out.User {
		prog, err := vm.New(up.Instructions, env)
		if err != nil {
			return Result{}, fmt.Errorf("prepare probe %s: %w", up.Text, err)
		}
		r.user[up.Kind] = append(r.user[up.Kind], &userProbe{prog: prog, up: up})
	}
	s.initScalars(o.Target)
	s.target = o.Target

	reader, err := s.reader()
	if err != nil {
		return Result{}, err
	}
	defer reader.Close()
	if err := s.Attach(); err != nil {
		return Result{}, err
	}
	r.runAll(bpf.UserBegin)
	if o.Start != nil && !r.exit && !r.failed {
		if err := o.Start(); err != nil {
			return Result{}, err
		}
	}
	r.loop(ctx, o, reader)

	// Kernel probes stop at once; detaching them takes the kernel a while.
	binary.LittleEndian.PutUint64(s.scalars[s.out.ABI.Hidden.Exiting:], 1)
	s.Detach()
	r.drain(reader)
	// An end probe can fail the run too; the error probes run then.
	if !r.failed {
		r.runAll(bpf.UserEnd)
	}
	if r.failed {
		r.runAll(bpf.UserError)
	}
	if err := r.printer.Flush(); err != nil {
		return Result{}, err
	}
	// stap displays globals from a synthetic end probe: an error run,
	// which runs error probes instead of end probes, displays nothing.
	if !r.failed {
		if err := s.displayGlobals(o.Stdout, r.printer); err != nil {
			return Result{}, err
		}
	}
	lost := binary.LittleEndian.Uint64(s.scalars[s.out.ABI.Hidden.Lost:])
	if lost > 0 {
		fmt.Fprintf(o.Stderr, "WARNING: %d records lost: the ring buffer was full\n", lost)
	}
	return Result{Errors: r.errors, Lost: lost}, nil
}

// initScalars writes the initial values of scalar globals and etap's hidden
// scalars before any probe runs.
func (s *Session) initScalars(target int) {
	abi := s.out.ABI
	for _, g := range abi.Globals {
		if g.IsArray() || g.Init == nil {
			continue
		}
		copy(s.scalars[g.Offset:], abi.Params.PackValue(g.Value, *g.Init))
	}
	binary.LittleEndian.PutUint64(s.scalars[abi.Hidden.Target:], uint64(target))
	binary.LittleEndian.PutUint64(s.scalars[abi.Hidden.RealtimeOffset:], uint64(realtimeOffset()))
}

// realtimeOffset is CLOCK_REALTIME - CLOCK_BOOTTIME, which kernel probes
// add to bpf_ktime_get_boot_ns to tell the time of day.
func realtimeOffset() int64 {
	var real, boot unix.Timespec
	unix.ClockGettime(unix.CLOCK_BOOTTIME, &boot)
	unix.ClockGettime(unix.CLOCK_REALTIME, &real)
	return real.Nano() - boot.Nano()
}

// loop waits for the run to end, draining records and firing timers.
func (r *run) loop(ctx context.Context, o RunOptions, reader *ringbuf.Reader) {
	var timeout <-chan time.Time
	if o.Timeout > 0 {
		t := time.NewTimer(o.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	fire := make(chan *userProbe, len(r.user[bpf.UserTimer]))
	stop := make(chan struct{})
	defer close(stop)
	for _, p := range r.user[bpf.UserTimer] {
		go tick(p, fire, stop)
	}
	drain := time.NewTicker(drainInterval)
	defer drain.Stop()
	// A script that names user-space addresses keeps the target's
	// mappings up to date, every rememberEvery drains: its names are
	// looked up when they are printed, perhaps after the target has exited.
	remember := r.s.out.ABI.UserSymbols && o.Target != 0
	if remember {
		r.printer.RememberProcess(o.Target)
	}
	for drains := 0; !r.exit && !r.failed; {
		select {
		case <-ctx.Done():
			return
		case <-o.Done:
			return
		case <-timeout:
			return
		case p := <-fire:
			r.drain(reader)
			r.runProbe(p)
		case <-drain.C:
			r.drain(reader)
			if drains++; remember && drains%rememberEvery == 0 {
				r.printer.RememberProcess(o.Target)
			}
		}
	}
}

// rememberEvery is how many drains pass between two readings of the
// target's mappings: ten, 100 ms.
const rememberEvery = 10

// tick asks for p to run every period. A timer that fires while the last
// run is still pending is skipped rather than queued.
func tick(p *userProbe, fire chan<- *userProbe, stop <-chan struct{}) {
	t := time.NewTicker(p.up.Period)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			select {
			case fire <- p:
			default:
			}
		}
	}
}

// drain handles every record in the ring buffer now.
func (r *run) drain(reader *ringbuf.Reader) {
	reader.SetDeadline(time.Now())
	var rec ringbuf.Record
	for {
		err := reader.ReadInto(&rec)
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				r.internal(fmt.Errorf("read ring buffer: %w", err))
			}
			break
		}
		r.handle(rec.RawSample)
	}
	if err := r.printer.Flush(); err != nil {
		r.internal(err)
	}
}

// handle takes one record, from the ring buffer or straight from vm.
func (r *run) handle(rec []byte) {
	ev, err := r.printer.Handle(rec)
	if err != nil {
		r.internal(err)
		return
	}
	if ev.Exit {
		r.exit = true
	}
	if ev.Error {
		r.errors++
		r.failed = r.failed || r.errors > r.s.out.ABI.MaxErrors
	}
}

// internal reports a failure of etap itself, which ends the run.
func (r *run) internal(err error) {
	fmt.Fprintf(r.stderr, "ERROR: internal: %v\n", err)
	r.errors++
	r.failed = true
}

// runAll runs the user-space probes of one kind in order. As in stap, once
// exit() or an error has ended the run, no further begin probe runs, and
// once the run has failed, only error probes do.
func (r *run) runAll(kind bpf.UserKind) {
	for _, p := range r.user[kind] {
		if kind != bpf.UserError && r.failed || kind == bpf.UserBegin && r.exit {
			return
		}
		r.runProbe(p)
	}
}

func (r *run) runProbe(p *userProbe) {
	if _, err := p.prog.Run(nil); err != nil {
		r.printer.Flush()
		fmt.Fprintf(r.stderr, "ERROR: %v in probe %s\n", err, p.up.Text)
		r.errors++
		r.failed = true
	}
}

// displayGlobals prints the globals the script wrote but never read.
func (s *Session) displayGlobals(w io.Writer, printer *output.Printer) error {
	abi := s.out.ABI
	for i := range abi.Globals {
		g := &abi.Globals[i]
		if !g.Display {
			continue
		}
		if g.Stat != nil {
			if err := s.displayStat(w, g); err != nil {
				return err
			}
			continue
		}
		var entries []output.Entry
		if g.IsArray() {
			err := s.kvMap(g.MapName).Iterate(func(key, value []byte) bool {
				entries = append(entries, output.Entry{
					Key:   g.UnpackKey(key),
					Value: abi.Params.UnpackValue(g.Value, value),
				})
				return true
			})
			if err != nil {
				return fmt.Errorf("read global %s: %w", g.Name, err)
			}
		} else {
			val := abi.Params.UnpackValue(g.Value, s.scalars[g.Offset:])
			entries = []output.Entry{{Value: val}}
		}
		printer.ExpandEntries(entries)
		if err := output.DisplayGlobal(w, g, entries); err != nil {
			return err
		}
	}
	return nil
}

// displayStat prints a statistic the script fed but never read, each
// element merged over every CPU.
func (s *Session) displayStat(w io.Writer, g *maps.Global) error {
	m := kernelPerCPUMap{s.coll.Maps[g.MapName]}
	var entries []output.StatEntry
	err := m.IterateCPUs(func(key []byte, cpus [][]byte) bool {
		e := output.StatEntry{Data: maps.MergeStat(g.Stat, cpus)}
		if g.IsArray() {
			e.Key = g.UnpackKey(key)
		}
		entries = append(entries, e)
		return true
	})
	if err != nil {
		return fmt.Errorf("read statistic %s: %w", g.Name, err)
	}
	return output.DisplayStat(w, g, entries)
}
