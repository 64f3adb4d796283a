package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// eventCase is one probe measured in both tools: the kernel's own count of
// the time BPF programs run (kernel.bpf_stats_enabled) divided by how often
// they ran, while a child makes a known number of getpid calls.
type eventCase struct {
	name     string
	etap     string
	bpftrace string
}

var eventCases = []eventCase{
	{
		name:     "count-by-execname",
		etap:     `global c; probe kernel.trace("raw_syscalls:sys_enter") { c[execname()]++ }`,
		bpftrace: `tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }`,
	},
}

// workloadCalls is how many getpid calls the workload makes per iteration.
const workloadCalls = 200000

// BenchmarkEventCost reports the BPF run time per event of each case, for
// etap and for bpftrace side by side in one run, and their ratio.
func BenchmarkEventCost(b *testing.B) {
	workload := buildWorkload(b)
	for _, c := range eventCases {
		b.Run(c.name, func(b *testing.B) {
			bpftrace := bpftracePeer()
			if bpftrace.missing != "" {
				b.Skip(bpftrace.missing)
			}
			stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
			if err != nil {
				b.Fatalf("enable BPF run-time statistics: %v", err)
			}
			defer stats.Close()
			var etapNs, bpftraceNs float64
			n := 0
			for b.Loop() {
				etapNs += perEvent(b, workload, etapBin, "-e", c.etap)
				bpftraceNs += perEvent(b, workload, bpftrace.argv[0], "-e", c.bpftrace)
				n++
			}
			b.ReportMetric(etapNs/float64(n), "etap-ns/event")
			b.ReportMetric(bpftraceNs/float64(n), "bpftrace-ns/event")
			b.ReportMetric(bpftraceNs/etapNs, "bpftrace/etap")
		})
	}
}

// buildWorkload builds the program that makes the getpid calls.
func buildWorkload(b *testing.B) string {
	b.Helper()
	root, err := moduleRoot()
	if err != nil {
		b.Fatal(err)
	}
	bin := filepath.Join(b.TempDir(), "getpid")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/etap/testdata/getpid")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build the workload: %v\n%s", err, out)
	}
	return bin
}

// perEvent starts a tool, waits until its programs are attached, runs the
// workload and returns the run time per run of the programs the tool added.
func perEvent(b *testing.B, workload string, argv ...string) float64 {
	b.Helper()
	before := programIDs(b)
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	tool := exec.CommandContext(ctx, argv[0], argv[1:]...)
	tool.Env = append(os.Environ(), "BPFTRACE_KERNEL_SOURCE=")
	tool.Stdout = io.Discard
	stderr, err := tool.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := tool.Start(); err != nil {
		b.Fatal(err)
	}
	go drain(stderr)
	defer func() {
		tool.Process.Signal(unix.SIGINT)
		tool.Wait()
	}()
	progs := waitForPrograms(b, before, argv[0])
	start := runStats(b, progs)
	run := exec.Command(workload, fmt.Sprint(workloadCalls))
	run.Env = append(os.Environ(), "GODEBUG=asyncpreemptoff=1")
	if out, err := run.CombinedOutput(); err != nil {
		b.Fatalf("workload: %v\n%s", err, out)
	}
	end := runStats(b, progs)
	if end.count == start.count {
		b.Fatalf("%s: its programs never ran", argv[0])
	}
	return float64(end.runtime-start.runtime) / float64(end.count-start.count)
}

func drain(r io.Reader) {
	s := bufio.NewScanner(r)
	for s.Scan() {
	}
}

// programIDs lists the BPF programs loaded now.
func programIDs(b *testing.B) map[ebpf.ProgramID]bool {
	b.Helper()
	ids := map[ebpf.ProgramID]bool{}
	var id ebpf.ProgramID
	for {
		next, err := ebpf.ProgramGetNextID(id)
		if err != nil {
			return ids
		}
		ids[next] = true
		id = next
	}
}

// waitForPrograms waits until the tool has loaded a tracing program that
// was not there before, and gives its new tracing programs time to attach.
func waitForPrograms(b *testing.B, before map[ebpf.ProgramID]bool, tool string) []*ebpf.Program {
	b.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var progs []*ebpf.Program
		for id := range programIDs(b) {
			if before[id] {
				continue
			}
			p, err := ebpf.NewProgramFromID(id)
			if err != nil {
				continue
			}
			if p.Type() == ebpf.TracePoint {
				progs = append(progs, p)
			} else {
				p.Close()
			}
		}
		if len(progs) > 0 {
			// Loading comes before attaching: give the tool a moment.
			time.Sleep(500 * time.Millisecond)
			return progs
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Fatalf("%s loaded no tracepoint program within 30s", strings.TrimSpace(tool))
	return nil
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
