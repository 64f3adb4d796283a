package bpf_test

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"etap/codegen/bpf"
	"etap/diag"
	"etap/internal/tracefstest"
	"etap/lang"
	"etap/lang/ast"
	"etap/maps"
	"etap/output"
	"etap/sema"
	"etap/vm"
)

// These tests run what the compiler makes in vm, without privileges: the
// user-space probes as the loader runs them, and the kernel probes with a
// made-up tracepoint record as their context. One lowering serves both
// engines, so one script must print the same either way.

// tracepoint is the only tracepoint the fake kernel has.
const tracepoint = "syscalls:sys_enter_getpid"

// tracepointFormat is its format file. The real sys_enter_getpid has only
// __syscall_nr; the fields after it are made up to cover every size and
// signedness a format can give.
const tracepointFormat = `name: sys_enter_getpid
ID: 172
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:int __syscall_nr;	offset:8;	size:4;	signed:1;
	field:signed char s8;	offset:12;	size:1;	signed:1;
	field:unsigned short u16;	offset:14;	size:2;	signed:0;
	field:short s16;	offset:16;	size:2;	signed:1;
	field:unsigned int u32;	offset:20;	size:4;	signed:0;
	field:long s64;	offset:24;	size:8;	signed:1;
	field:unsigned long u64;	offset:32;	size:8;	signed:0;
	field:unsigned long args[6];	offset:40;	size:48;	signed:0;

print fmt: ""
`

// fakeKernel offers the one tracepoint, sched_switch, and the functions
// and types of btftest.
var fakeKernel = tracefstest.Kernel{Formats: map[string]string{
	tracepoint:           tracepointFormat,
	"sched:sched_switch": tracefstest.Formats["sched:sched_switch"],
}}

// tracepointRecord builds the context a kernel probe of the fake
// tracepoint gets: each named field's value, cut to the field's size, at
// its offset.
func tracepointRecord(t *testing.T, values map[string]int64) []byte {
	t.Helper()
	fields, err := sema.ParseTracepointFormat(tracepointFormat)
	require.NoError(t, err)
	byName := map[string]sema.TracepointField{}
	size := 0
	for _, f := range fields {
		byName[f.Name] = f
		size = max(size, f.Offset+f.Size)
	}
	rec := make([]byte, size)
	for name, v := range values {
		f, ok := byName[name]
		require.True(t, ok, "the format has no field %s", name)
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(v))
		copy(rec[f.Offset:f.Offset+f.Size], b[:])
	}
	return rec
}

// sourceOf serves src as the text of every file, for listings and
// rendered diagnostics.
func sourceOf(src string) diag.Sources {
	return func(string) (string, bool) { return src, true }
}

// requireNoErrors fails the test with the rendered diagnostics if a pass
// reported an error.
func requireNoErrors(t *testing.T, pass string, l *diag.List, src string) {
	t.Helper()
	if l.HasErrors() {
		var b strings.Builder
		diag.RenderList(&b, l, sourceOf(src))
		require.FailNow(t, pass+" failed", "%s", b.String())
	}
}

// checkScript parses and checks src.
func checkScript(t *testing.T, src string) *sema.Program {
	t.Helper()
	file, diags := lang.Parse("<input>", src, nil)
	requireNoErrors(t, "parse", diags, src)
	prog, diags := sema.Check([]*ast.File{file}, sema.Options{Kernel: fakeKernel, Library: bpf.Library()})
	requireNoErrors(t, "check", diags, src)
	return prog
}

// compile parses, checks and compiles src, with the options set changes.
func compile(t *testing.T, src string, set ...func(*bpf.Options)) *bpf.Output {
	t.Helper()
	opts := bpf.Options{Params: maps.DefaultParams(), Sources: sourceOf(src)}
	for _, f := range set {
		f(&opts)
	}
	out, diags := bpf.Compile(checkScript(t, src), opts)
	requireNoErrors(t, "compile", diags, src)
	return out
}

// session is one run of a compiled script over in-memory maps, wired as
// loader.Session wires vm to the kernel's maps.
type session struct {
	t   *testing.T
	out *bpf.Output
	// user and kernel share the globals but not the scratch map: the
	// kernel's is per-CPU, the interpreter's private to it.
	user, kernel   *vm.Env
	printer        *output.Printer
	stdout, stderr bytes.Buffer
	exit           bool
	errors         int
	failed         bool
}

// sessionTarget is what target() gives in these tests.
const sessionTarget = 4242

func newSession(t *testing.T, out *bpf.Output) *session {
	t.Helper()
	s := &session{t: t, out: out}
	s.printer = output.NewPrinter(out.ABI, &s.stdout, &s.stderr)
	userMaps, kernelMaps := map[string]vm.Map{}, map[string]vm.Map{}
	for name, spec := range out.Spec.Maps {
		switch spec.Type {
		case ebpf.RingBuf:
			// Records go straight to the printer through Env.Output.
		case ebpf.PerCPUArray, ebpf.PerCPUHash, ebpf.LRUCPUHash:
			if name == maps.ScratchMap {
				userMaps[name] = vm.NewArrayMap(int(spec.ValueSize), int(spec.MaxEntries))
				kernelMaps[name] = vm.NewArrayMap(int(spec.ValueSize), int(spec.MaxEntries))
				continue
			}
			// Statistics: user space is CPU 0 and the kernel probes
			// run on CPU 1, so that extraction must merge the two.
			m := vm.NewPerCPUHashMap(int(spec.KeySize), int(spec.ValueSize), int(spec.MaxEntries), 2)
			switch spec.Type {
			case ebpf.PerCPUArray:
				m = vm.NewPerCPUArrayMap(int(spec.ValueSize), int(spec.MaxEntries), 2)
			case ebpf.LRUCPUHash:
				m = vm.NewPerCPULRUHashMap(int(spec.KeySize), int(spec.ValueSize), int(spec.MaxEntries), 2)
			}
			userMaps[name], kernelMaps[name] = m.View(0), m.View(1)
			if perCPUCounter(out.ABI, name) {
				// The loader's view of a per-CPU counter: the sum.
				userMaps[name] = vm.NewSummed(m.View(0))
			}
		case ebpf.Array:
			m := vm.NewArrayMap(int(spec.ValueSize), int(spec.MaxEntries))
			userMaps[name], kernelMaps[name] = m, m
		case ebpf.Hash:
			m := vm.NewHashMap(int(spec.KeySize), int(spec.ValueSize), int(spec.MaxEntries))
			userMaps[name], kernelMaps[name] = m, m
		case ebpf.LRUHash:
			m := vm.NewLRUHashMap(int(spec.KeySize), int(spec.ValueSize), int(spec.MaxEntries))
			userMaps[name], kernelMaps[name] = m, m
		default:
			require.FailNow(t, "unexpected map type", "map %s is a %v", name, spec.Type)
		}
	}
	s.user = &vm.Env{Maps: userMaps, ABI: out.ABI, Output: s.handle}
	s.kernel = &vm.Env{Maps: kernelMaps, ABI: out.ABI, Output: s.handle}
	s.initScalars(userMaps[maps.ScalarsMap])
	return s
}

// perCPUCounter reports whether map name holds a per-CPU counter array.
func perCPUCounter(abi *maps.ABI, name string) bool {
	for _, g := range abi.Globals {
		if g.PerCPU && g.MapName == name {
			return true
		}
	}
	return false
}

// initScalars does what loader's initScalars does: global initialisers,
// then target() and the wall-clock offset.
func (s *session) initScalars(m vm.Map) {
	scalars, ok, err := m.Lookup(make([]byte, 4))
	require.NoError(s.t, err)
	require.True(s.t, ok)
	abi := s.out.ABI
	for _, g := range abi.Globals {
		if g.IsArray() || g.Init == nil {
			continue
		}
		copy(scalars[g.Offset:], abi.Params.PackValue(g.Value, *g.Init))
	}
	binary.LittleEndian.PutUint64(scalars[abi.Hidden.Target:], sessionTarget)
	var real, boot unix.Timespec
	require.NoError(s.t, unix.ClockGettime(unix.CLOCK_BOOTTIME, &boot))
	require.NoError(s.t, unix.ClockGettime(unix.CLOCK_REALTIME, &real))
	binary.LittleEndian.PutUint64(scalars[abi.Hidden.RealtimeOffset:], uint64(real.Nano()-boot.Nano()))
}

// handle takes one record, as loader's run.handle does.
func (s *session) handle(rec []byte) {
	ev, err := s.printer.Handle(rec)
	require.NoError(s.t, err)
	s.exit = s.exit || ev.Exit
	if ev.Error {
		s.errors++
		s.failed = s.failed || s.errors > s.out.ABI.MaxErrors
	}
}

// exec runs one program to its end. A fault is a codegen bug (in the
// kernel, the verifier would have refused the program), so it fails the
// test at once.
func (s *session) exec(name string, insns asm.Instructions, env *vm.Env, ctx []byte) {
	s.t.Helper()
	prog, err := vm.New(insns, env)
	require.NoError(s.t, err, "prepare probe %s", name)
	_, err = prog.Run(ctx)
	require.NoError(s.t, err, "run probe %s", name)
}

// runUser runs the user-space probes of one kind in order, as loader's
// runAll does: no begin probe after exit(), and only error probes once the
// run has failed.
func (s *session) runUser(kind bpf.UserKind) {
	s.t.Helper()
	for _, up := range s.out.User {
		if up.Kind != kind {
			continue
		}
		if kind != bpf.UserError && s.failed || kind == bpf.UserBegin && s.exit {
			return
		}
		s.exec(up.Text, up.Instructions, s.user, nil)
	}
}

// fire runs every kernel probe once with ctx as its tracepoint record.
// Events keep coming after exit() or an error until the loader has
// detached the probes: the probes themselves must return at once then.
func (s *session) fire(ctx []byte) {
	s.t.Helper()
	for _, k := range s.out.Kernel {
		s.exec(k.Point.Text, s.out.Spec.Programs[k.Name].Instructions, s.kernel, ctx)
	}
}

// finish runs the end probes, or the error probes after an error, prints
// the globals written but never read, and returns what the run printed, as
// loader's Run does.
func (s *session) finish() (stdout, stderr string) {
	s.t.Helper()
	if !s.failed {
		s.runUser(bpf.UserEnd)
	}
	if s.failed {
		s.runUser(bpf.UserError)
	}
	require.NoError(s.t, s.printer.Flush())
	// Globals are displayed by stap's synthetic end probe, which a failed
	// run does not run.
	if !s.failed {
		s.displayGlobals()
	}
	return s.stdout.String(), s.stderr.String()
}

// displayGlobals does what loader's displayGlobals does, from the
// in-memory maps.
func (s *session) displayGlobals() {
	abi := s.out.ABI
	for i := range abi.Globals {
		g := &abi.Globals[i]
		if !g.Display {
			continue
		}
		if g.Stat != nil {
			s.displayStat(g)
			continue
		}
		var entries []output.Entry
		if g.IsArray() {
			err := s.user.Maps[g.MapName].Iterate(func(key, value []byte) bool {
				entries = append(entries, output.Entry{
					Key:   g.UnpackKey(key),
					Value: abi.Params.UnpackValue(g.Value, value),
				})
				return true
			})
			require.NoError(s.t, err)
		} else {
			scalars, _, err := s.user.Maps[maps.ScalarsMap].Lookup(make([]byte, 4))
			require.NoError(s.t, err)
			entries = []output.Entry{{Value: abi.Params.UnpackValue(g.Value, scalars[g.Offset:])}}
		}
		require.NoError(s.t, output.DisplayGlobal(&s.stdout, g, entries))
	}
}

// run compiles src and runs it: begin probes, each kernel probe once for
// every record in events, then end or error probes.
func run(t *testing.T, src string, events ...[]byte) (stdout, stderr string) {
	t.Helper()
	return runWith(t, src, nil, events...)
}

// runWith is run with the compile options set changes.
func runWith(t *testing.T, src string, set func(*bpf.Options), events ...[]byte) (stdout, stderr string) {
	t.Helper()
	var sets []func(*bpf.Options)
	if set != nil {
		sets = append(sets, set)
	}
	s := newSession(t, compile(t, src, sets...))
	s.runUser(bpf.UserBegin)
	for _, ev := range events {
		s.fire(ev)
	}
	return s.finish()
}

// displayStat does what loader's displayStat does, from the in-memory maps.
func (s *session) displayStat(g *maps.Global) {
	m := s.user.Maps[g.MapName].(vm.PerCPU)
	var entries []output.StatEntry
	err := m.Iterate(func(key, _ []byte) bool {
		cpus, _, err := m.LookupCPUs(key)
		require.NoError(s.t, err)
		e := output.StatEntry{Data: maps.MergeStat(g.Stat, cpus)}
		if g.IsArray() {
			e.Key = g.UnpackKey(key)
		}
		entries = append(entries, e)
		return true
	})
	require.NoError(s.t, err)
	require.NoError(s.t, output.DisplayStat(&s.stdout, g, entries))
}
