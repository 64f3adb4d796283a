// Package bench holds etap's benchmarks, side by side with its peers
// (bpftrace; see scripts/install-peers). It has no library code.
//
// Performance is measured here and reported as numbers and ratios from one
// run, never asserted in timed tests: these machines are noisy, so compare
// etap and its peers within one run, not against fixed limits.
//
// Run them with `make bench`, which builds etap, installs the peers and runs
//
//	go test -run='^$' -bench=. -benchtime=20x ./bench/
//
// The benchmarks load BPF programs, so they need root. TestMain builds etap
// once (a static binary, as `make build` does) into a temporary directory; a
// peer that is not installed makes its benchmark skip with a hint.
package bench
