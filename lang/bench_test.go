package lang

import (
	"fmt"
	"strings"
	"testing"
)

// benchScript generates a script of about n lines in the shape of real
// ones: globals, tracepoint probes with conditions, a sorted report.
func benchScript(n int) string {
	var b strings.Builder
	b.WriteString("global counts, totals, lat\n")
	for i := 0; b.Len() == 0 || strings.Count(b.String(), "\n") < n; i++ {
		fmt.Fprintf(&b, `probe kernel.trace("syscalls:sys_enter_%d") {
	if (pid() == target() && execname() != "idle") {
		counts[execname(), %d]++
		totals[tid()] += $count * 2 + (%d << 3)
		lat <<< gettimeofday_ns() - start[tid()]
	}
}
`, i, i, i)
	}
	b.WriteString(`probe end {
	foreach ([name, n] in counts- limit 10) printf("%-16s %d %d\n", name, n, counts[name, n])
	print(@hist_log(lat))
}
`)
	return b.String()
}

func BenchmarkParse(b *testing.B) {
	src := benchScript(1000)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, diags := Parse("bench.stp", src, nil); diags.HasErrors() {
			b.Fatal(diags)
		}
	}
}
