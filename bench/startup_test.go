package bench

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// etapBin is the etap binary that TestMain builds; empty when no benchmark
// was asked for (plain `go test ./...` only compiles this package).
var etapBin string

// runTimeout bounds one command, so that a hung run fails the benchmark
// instead of hanging it until the test binary's -timeout.
const runTimeout = 60 * time.Second

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		// `go test ./...` runs this package too: building etap there is
		// wasted time and would fail every run while cmd/etap is broken.
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "etap-bench-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
	etapBin, err = buildEtap(dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildEtap builds etap/cmd/etap into dir the way `make build` does: static,
// trimmed and stripped, so start-up is measured on the binary users run.
func buildEtap(dir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "etap")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "etap/cmd/etap")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build etap/cmd/etap: %w\n%s", err, out)
	}
	return bin, nil
}

// moduleRoot returns the directory of etap's go.mod: from `go env GOMOD`, or
// the parent directory (the test runs in bench/) when that says nothing.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if gomod := strings.TrimSpace(string(out)); err == nil && gomod != "" && gomod != os.DevNull {
		return filepath.Dir(gomod), nil
	}
	if _, err := os.Stat(filepath.Join("..", "go.mod")); err != nil {
		return "", fmt.Errorf("find the module root: no go.mod from `go env GOMOD` or in ..: %w", err)
	}
	return filepath.Abs("..")
}

// peer is a command run once per iteration.
type peer struct {
	name string
	argv []string
	// missing, when the tool is not installed, is why its benchmark skips.
	missing string
}

func etapPeer() peer {
	return peer{name: "etap", argv: []string{etapBin, "-e", "probe begin { exit() }"}}
}

func bpftracePeer() peer {
	p := peer{name: "bpftrace", argv: []string{"bpftrace", "-e", "BEGIN { exit() }"}}
	if path, err := exec.LookPath("bpftrace"); err != nil {
		p.missing = "bpftrace not installed: run scripts/install-peers"
	} else {
		p.argv[0] = path
	}
	return p
}

// run runs p once and returns its wall time, from just before the fork to the
// reaping of the process, and its peak resident set size in KiB.
func (p peer) run(b *testing.B) (time.Duration, int64) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.argv[0], p.argv[1:]...)
	// The output is not the point, but it explains a failure.
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	// After a kill, do not wait forever for children that hold the pipes.
	cmd.WaitDelay = 5 * time.Second
	// bpftrace: no kernel headers on these machines; BEGIN needs none.
	cmd.Env = append(os.Environ(), "BPFTRACE_KERNEL_SOURCE=")
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%w (killed after %v)", err, runTimeout)
		}
		b.Fatalf("%s: %v\n%s", p.commandLine(), err, tail(out.String(), 2000))
	}
	var maxrss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		maxrss = ru.Maxrss // KiB on Linux
	}
	return elapsed, maxrss
}

// commandLine returns p's command as a shell would take it.
func (p peer) commandLine() string {
	words := make([]string, len(p.argv))
	for i, w := range p.argv {
		if w == "" || strings.ContainsAny(w, " \t\n\"'\\$`{}()!;&|<>*?") {
			w = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
		}
		words[i] = w
	}
	return strings.Join(words, " ")
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// ms converts a total over n runs to milliseconds per run.
func ms(total time.Duration, n int) float64 {
	return float64(total) / float64(n) / float64(time.Millisecond)
}

// BenchmarkStartup measures the wall time of a script that does nothing but
// end: process start, parse, check, compile, load, run `begin`, tear down.
//
//	etap -e 'probe begin { exit() }'
//	bpftrace -e 'BEGIN { exit() }'
func BenchmarkStartup(b *testing.B) {
	for _, p := range []peer{etapPeer(), bpftracePeer()} {
		b.Run(p.name, func(b *testing.B) {
			if p.missing != "" {
				b.Skip(p.missing)
			}
			p.run(b) // warm the page cache; not timed
			var total time.Duration
			var peak int64
			n := 0
			for b.Loop() {
				d, rss := p.run(b)
				total += d
				peak = max(peak, rss)
				n++
			}
			b.ReportMetric(ms(total, n), "ms/op")
			b.ReportMetric(float64(peak), "maxrss-KB")
		})
	}
}

// BenchmarkStartupRatio runs etap and bpftrace once each per iteration, so
// both see the same machine at the same moment, and reports their start-up
// times, peak RSS and the ratio bpftrace/etap (above 1: etap is faster).
// It compares within one run because these machines are noisy.
func BenchmarkStartupRatio(b *testing.B) {
	etap, bpftrace := etapPeer(), bpftracePeer()
	if bpftrace.missing != "" {
		b.Skip(bpftrace.missing)
	}
	etap.run(b) // warm the page cache; not timed
	bpftrace.run(b)
	var etapTotal, bpfTotal time.Duration
	var etapRSS, bpfRSS int64
	n := 0
	for b.Loop() {
		d, rss := etap.run(b)
		etapTotal += d
		etapRSS = max(etapRSS, rss)
		d, rss = bpftrace.run(b)
		bpfTotal += d
		bpfRSS = max(bpfRSS, rss)
		n++
	}
	b.ReportMetric(ms(etapTotal, n), "etap-ms/op")
	b.ReportMetric(ms(bpfTotal, n), "bpftrace-ms/op")
	b.ReportMetric(float64(bpfTotal)/float64(etapTotal), "bpftrace/etap")
	b.ReportMetric(float64(etapRSS), "etap-maxrss-KB")
	b.ReportMetric(float64(bpfRSS), "bpftrace-maxrss-KB")
}
