package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// eventCase is one probe measured in both tools: the kernel's own count of
// the time BPF programs run (kernel.bpf_stats_enabled) divided by how often
// they ran, while the workload makes its system calls. Other processes hit
// the probe too; their events cost the same and count alike.
type eventCase struct {
	name string
	// call is the workload's system call (see testdata/workload).
	call string
	// procs is how many workload processes make the calls at once; 0
	// means one. Two keep both cores counting into the same element.
	procs    int
	etap     string
	bpftrace string
}

var eventCases = []eventCase{
	{
		name:     "count-by-execname",
		call:     "getpid",
		etap:     `global c; probe kernel.trace("raw_syscalls:sys_enter") { c[execname()]++ }`,
		bpftrace: `tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }`,
	},
	{
		name:     "count-by-execname-2procs",
		call:     "getpid",
		procs:    2,
		etap:     `global c; probe kernel.trace("raw_syscalls:sys_enter") { c[execname()]++ }`,
		bpftrace: `tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }`,
	},
	{
		name:     "hist-log-read-size",
		call:     "read",
		etap:     `global h; probe kernel.trace("syscalls:sys_exit_read") { h <<< $ret }`,
		bpftrace: `tracepoint:syscalls:sys_exit_read { @ = hist(args->ret); }`,
	},
	{
		name: "printf-openat",
		call: "openat",
		// With a fault message, as bpftrace's str() never fails: a
		// filename not yet paged in would end the run with stap's "user
		// string copy fault", and other processes open files too.
		etap:     `probe kernel.trace("syscalls:sys_enter_openat") { printf("%d %s %s\n", pid(), execname(), user_string($filename, "<fault>")) }`,
		bpftrace: `tracepoint:syscalls:sys_enter_openat { printf("%d %s %s\n", pid, comm, str(args->filename)); }`,
	},
}

// workloadCalls is how many system calls the workload makes per iteration.
const workloadCalls = 200000

// peerWithStats returns bpftrace, skipping the benchmark where it is not
// installed, with the kernel's BPF run-time statistics on until b ends.
func peerWithStats(b *testing.B) peer {
	bpftrace := bpftracePeer()
	if bpftrace.missing != "" {
		b.Skip(bpftrace.missing)
	}
	stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		b.Fatalf("enable BPF run-time statistics: %v", err)
	}
	b.Cleanup(func() { stats.Close() })
	return bpftrace
}

// BenchmarkEventCost reports the BPF run time per event of each case, for
// etap and for bpftrace side by side in one run, and their ratio.
func BenchmarkEventCost(b *testing.B) {
	workload := buildWorkload(b)
	for _, c := range eventCases {
		b.Run(c.name, func(b *testing.B) {
			bpftrace := peerWithStats(b)
			var etapNs, bpftraceNs float64
			n := 0
			for b.Loop() {
				etapNs += perEvent(b, workload, c, etapBin, "-e", c.etap)
				bpftraceNs += perEvent(b, workload, c, bpftrace.argv[0], "-e", c.bpftrace)
				n++
			}
			b.ReportMetric(etapNs/float64(n), "etap-ns/event")
			b.ReportMetric(bpftraceNs/float64(n), "bpftrace-ns/event")
			b.ReportMetric(bpftraceNs/etapNs, "bpftrace/etap")
		})
	}
}

// buildWorkload builds the program that makes the system calls.
func buildWorkload(b *testing.B) string {
	b.Helper()
	root, err := moduleRoot()
	if err != nil {
		b.Fatal(err)
	}
	bin := filepath.Join(b.TempDir(), "workload")
	cmd := exec.Command("go", "build", "-o", bin, "./bench/testdata/workload")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build the workload: %v\n%s", err, out)
	}
	return bin
}

// runWorkload makes the calls (a count, or a duration such as "2s") and
// returns how many it made.
func runWorkload(b *testing.B, workload, call, amount string) int {
	b.Helper()
	cmd := exec.Command(workload, call, amount)
	cmd.Env = append(os.Environ(), "GODEBUG=asyncpreemptoff=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("workload %s %s: %v\n%s", call, amount, err, stderr.String())
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		b.Fatalf("workload %s %s printed %q", call, amount, out)
	}
	return n
}

// tool is etap or bpftrace running a script in the background.
type tool struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	stderr *bytes.Buffer
	done   chan struct{}
}

// startTool starts argv with stdout going to w (nil: discarded).
func startTool(b *testing.B, w io.Writer, argv ...string) *tool {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	t := &tool{cmd: exec.CommandContext(ctx, argv[0], argv[1:]...), cancel: cancel, stderr: &bytes.Buffer{}, done: make(chan struct{})}
	// bpftrace: no kernel headers on these machines; these scripts need none.
	t.cmd.Env = append(os.Environ(), "BPFTRACE_KERNEL_SOURCE=")
	if w == nil {
		w = io.Discard
	}
	t.cmd.Stdout = w
	stderr, err := t.cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := t.cmd.Start(); err != nil {
		cancel()
		b.Fatal(err)
	}
	go func() {
		io.Copy(t.stderr, stderr)
		close(t.done)
	}()
	return t
}

// stop ends the tool as Ctrl-C would and returns its standard error.
func (t *tool) stop() string {
	t.cmd.Process.Signal(unix.SIGINT)
	<-t.done
	t.cmd.Wait()
	t.cancel()
	return t.stderr.String()
}

// attached waits until the tool's tracepoint programs run: it finds them
// among the file descriptors the tool holds (other processes load programs
// too on a shared machine) and makes calls until their run count moves.
func (t *tool) attached(b *testing.B, workload, call string) []*ebpf.Program {
	b.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-t.done:
			b.Fatalf("%s exited early:\n%s", t.cmd.Path, tail(t.stderr.String(), 2000))
		default:
		}
		if progs := toolPrograms(t.cmd.Process.Pid); len(progs) > 0 {
			before := runStats(b, progs)
			runWorkload(b, workload, call, "100")
			if runStats(b, progs).count > before.count {
				return progs
			}
			closeAll(progs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Fatalf("%s: no tracepoint program of it ran within 30s\n%s", t.cmd.Path, tail(t.stderr.String(), 2000))
	return nil
}

// perEvent starts a tool, waits until its programs are attached, runs the
// case's workload processes and returns the run time per run of the
// tool's programs.
func perEvent(b *testing.B, workload string, c eventCase, argv ...string) float64 {
	b.Helper()
	t := startTool(b, nil, argv...)
	defer t.stop()
	progs := t.attached(b, workload, c.call)
	defer closeAll(progs)
	start := runStats(b, progs)
	var wg sync.WaitGroup
	for range max(c.procs, 1) {
		wg.Go(func() { runWorkload(b, workload, c.call, strconv.Itoa(workloadCalls)) })
	}
	wg.Wait()
	end := runStats(b, progs)
	return float64(end.runtime-start.runtime) / float64(end.count-start.count)
}

// toolPrograms opens the tracepoint programs whose file descriptors the
// process pid holds.
func toolPrograms(pid int) []*ebpf.Program {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var progs []*ebpf.Program
	for _, fd := range fds {
		if link, err := os.Readlink(filepath.Join(dir, fd.Name())); err != nil || link != "anon_inode:bpf-prog" {
			continue
		}
		info, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, fd.Name()))
		if err != nil {
			continue
		}
		s := bufio.NewScanner(bytes.NewReader(info))
		for s.Scan() {
			v, ok := strings.CutPrefix(s.Text(), "prog_id:")
			if !ok {
				continue
			}
			id, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				break
			}
			p, err := ebpf.NewProgramFromID(ebpf.ProgramID(id))
			if err != nil {
				break
			}
			if p.Type() == ebpf.TracePoint {
				progs = append(progs, p)
			} else {
				p.Close()
			}
		}
	}
	return progs
}

func closeAll(progs []*ebpf.Program) {
	for _, p := range progs {
		p.Close()
	}
}

type progStats struct {
	count   uint64
	runtime time.Duration
}

func runStats(b *testing.B, progs []*ebpf.Program) progStats {
	b.Helper()
	var s progStats
	for _, p := range progs {
		st, err := p.Stats()
		if err != nil {
			b.Fatal(err)
		}
		s.count += st.RunCount
		s.runtime += st.Runtime
	}
	return s
}
