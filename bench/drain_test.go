package bench

import (
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// drainScripts print one line per getpid of the workload processes.
const (
	drainEtap     = `probe kernel.trace("syscalls:sys_enter_getpid") { if (execname() == "workload") printf("%d %s\n", pid(), execname()) }`
	drainBpftrace = `tracepoint:syscalls:sys_enter_getpid /comm == "workload"/ { printf("%d %s\n", pid, comm); }`
	// drainFor is how long the producers run.
	drainFor = 2 * time.Second
	// producers is how many processes make the calls at once.
	producers = 2
)

// BenchmarkDrain measures how many printf lines per second a tool delivers
// while two processes call getpid in a tight loop, and how many events it
// loses, for etap and bpftrace side by side in one run. Lines are counted
// on a pipe, as a user would read them.
func BenchmarkDrain(b *testing.B) {
	workload := buildWorkload(b)
	// The attach check counts program runs.
	bpftrace := peerWithStats(b)
	var etap, bt drainResult
	for b.Loop() {
		etap.add(drain(b, workload, etapBin, "-e", drainEtap))
		bt.add(drain(b, workload, bpftrace.argv[0], "-e", drainBpftrace))
	}
	b.ReportMetric(etap.rate()/1e3, "etap-klines/s")
	b.ReportMetric(bt.rate()/1e3, "bpftrace-klines/s")
	b.ReportMetric(etap.lostPercent(), "etap-lost-%")
	b.ReportMetric(bt.lostPercent(), "bpftrace-lost-%")
	b.ReportMetric(etap.rate()/bt.rate(), "etap/bpftrace")
}

// drainResult adds up the runs of one tool.
type drainResult struct {
	lines, produced, lost int
	elapsed               time.Duration
}

func (r *drainResult) add(o drainResult) {
	r.lines += o.lines
	r.produced += o.produced
	r.lost += o.lost
	r.elapsed += o.elapsed
}

func (r drainResult) rate() float64 { return float64(r.lines) / r.elapsed.Seconds() }

func (r drainResult) lostPercent() float64 { return 100 * float64(r.lost) / float64(r.produced) }

// lineCounter counts the newlines written to it.
type lineCounter struct{ n atomic.Int64 }

func (c *lineCounter) Write(p []byte) (int, error) {
	n := 0
	for _, b := range p {
		if b == '\n' {
			n++
		}
	}
	c.n.Add(int64(n))
	return len(p), nil
}

// drain runs the producers under one tool: lines counts what the tool
// printed while they ran, lost what it never printed, even after.
func drain(b *testing.B, workload string, argv ...string) drainResult {
	b.Helper()
	r, w := io.Pipe()
	var lines lineCounter
	copied := make(chan struct{})
	go func() {
		io.Copy(&lines, r)
		close(copied)
	}()
	t := startTool(b, w, argv...)
	closeAll(t.attached(b, workload, "getpid"))
	// Let the lines of the attach check arrive before counting from here.
	time.Sleep(100 * time.Millisecond)
	before := lines.n.Load()

	var wg sync.WaitGroup
	made := make([]int, producers)
	start := time.Now()
	for i := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			made[i] = runWorkload(b, workload, "getpid", drainFor.String())
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	during := lines.n.Load() - before

	// Give the tool time to print its backlog, then stop it.
	time.Sleep(500 * time.Millisecond)
	t.stop()
	w.Close()
	<-copied
	printed := int(lines.n.Load() - before)
	res := drainResult{lines: int(during), elapsed: elapsed}
	for _, n := range made {
		res.produced += n
	}
	res.lost = max(0, res.produced-printed)
	b.Logf("%s: %d calls, %d lines while they ran, %d in all (%s lines/s)", argv[0], res.produced, during, printed,
		strconv.FormatFloat(float64(during)/elapsed.Seconds(), 'f', 0, 64))
	return res
}
