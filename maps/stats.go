package maps

import "encoding/binary"

// Statistics (`s <<< v`) live in per-CPU maps: a program only ever touches
// its own CPU's value, so accumulating needs no atomics, and user space
// merges the CPUs when the script extracts a value. A statistic's value is
// a run of longs:
//
//	count, sum, min, max, avg_s, m2, buckets...
//
// avg_s and m2 are the running mean (scaled by << Shift) and sum of squared
// deviations of stap's integer Welford algorithm, kept only when the script
// asks for @variance; the buckets follow when it prints a histogram.

// The offsets of a statistic's fields in its value.
const (
	StatCount = 0
	StatSum   = 8
	StatMin   = 16
	StatMax   = 24
	StatAvgS  = 32
	StatM2    = 40
	// StatBuckets is where the histogram's buckets start.
	StatBuckets = 48
)

// HistKind is the histogram a statistic keeps, if any.
type HistKind uint8

// The histograms of stap.
const (
	HistNone HistKind = iota
	// HistLog has HistLogBuckets power-of-two buckets: bucket HistLogZero
	// holds 0, positive values go above it by bit length, negative ones
	// below it, mirrored.
	HistLog
	// HistLinear has a bucket below Lo, one per Width from Lo to Hi, and
	// one above.
	HistLinear
)

// Log histogram geometry, stap's HIST_LOG_BUCKETS and HIST_LOG_BUCKET0.
const (
	HistLogBuckets = 128
	HistLogZero    = 64
	// MaxLinearBuckets is stap's STP_MAX_BUCKETS.
	MaxLinearBuckets = 128
)

// Stat describes a statistic global: which optional parts its value has.
type Stat struct {
	Hist HistKind
	// Lo, Hi and Width are the bounds of a linear histogram.
	Lo, Hi, Width int64
	// Variance is set when the script reads @variance, with Shift bits of
	// fixed-point precision.
	Variance bool
	Shift    int
}

// Buckets is the number of histogram buckets: stap's count for a linear
// histogram, underflow and overflow included.
func (s *Stat) Buckets() int {
	switch s.Hist {
	case HistLog:
		return HistLogBuckets
	case HistLinear:
		return int((s.Hi-s.Lo)/s.Width) + 3
	}
	return 0
}

// Size is the size of one CPU's value.
func (s *Stat) Size() int { return StatBuckets + 8*s.Buckets() }

// StatOp is what an extraction reads from a merged statistic.
type StatOp uint8

// The extractors of stap.
const (
	OpCount StatOp = iota + 1
	OpSum
	OpMin
	OpMax
	OpAvg
	OpVariance
	// OpBucket reads one histogram bucket's count: `@hist_log(s)[b]`.
	OpBucket
)

// NeedsData reports whether op fails with "empty aggregate" on a statistic
// that has no values, as stap's do; @count and @sum are 0 then. Indexing
// a histogram fails too.
func (op StatOp) NeedsData() bool { return op != OpCount && op != OpSum }

// StatSite is one extraction in the script, run by HelperStatExtract.
type StatSite struct {
	// Global indexes ABI.Globals.
	Global int
	Op     StatOp
}

// StatData is a statistic merged over every CPU.
type StatData struct {
	Count, Sum, Min, Max int64
	// Avg is Sum / Count, Variance stap's integer sample variance; both
	// are 0 when Count is 0.
	Avg, Variance int64
	Buckets       []int64
}

// MergeStat merges the per-CPU values of a statistic as stap's
// _stp_stat_get does, variance included: the per-CPU Welford results are
// combined with the total-variance formula, in integer arithmetic, so
// that results match stap's to the unit.
func MergeStat(s *Stat, cpus [][]byte) StatData {
	d := StatData{Buckets: make([]int64, s.Buckets())}
	long := func(b []byte, off int) int64 { return int64(binary.LittleEndian.Uint64(b[off:])) }
	for _, v := range cpus {
		n := long(v, StatCount)
		if n == 0 {
			continue
		}
		lo, hi := long(v, StatMin), long(v, StatMax)
		if d.Count == 0 || lo < d.Min {
			d.Min = lo
		}
		if d.Count == 0 || hi > d.Max {
			d.Max = hi
		}
		d.Count += n
		d.Sum += long(v, StatSum)
		for i := range d.Buckets {
			d.Buckets[i] += long(v, StatBuckets+8*i)
		}
	}
	if d.Count == 0 {
		return d
	}
	d.Avg = d.Sum / d.Count
	if !s.Variance {
		return d
	}
	avgS := (d.Sum << s.Shift) / d.Count
	var s1, s2 int64
	for _, v := range cpus {
		n := long(v, StatCount)
		if n == 0 {
			continue
		}
		dev := long(v, StatAvgS) - avgS
		s1 += n * dev * dev
		if n > 1 {
			s2 += (n - 1) * (long(v, StatM2) / (n - 1))
		}
	}
	// stap divides by count-1 with _stp_div64, which gives 0 for a
	// divisor of 0: one value has a variance of 0.
	if d.Count > 1 {
		d.Variance = ((s1 + s2) / (d.Count - 1)) >> (2 * s.Shift)
	}
	return d
}

// Extract returns what op reads from d.
func (d *StatData) Extract(op StatOp) int64 {
	switch op {
	case OpCount:
		return d.Count
	case OpSum:
		return d.Sum
	case OpMin:
		return d.Min
	case OpMax:
		return d.Max
	case OpAvg:
		return d.Avg
	case OpVariance:
		return d.Variance
	}
	return 0
}
