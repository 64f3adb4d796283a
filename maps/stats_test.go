package maps

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
)

// cpuValue lays out one CPU's value of a statistic as the kernel side
// leaves it.
func cpuValue(s *Stat, count, sum, lo, hi, avgS, m2 int64, buckets map[int]int64) []byte {
	b := make([]byte, s.Size())
	for off, v := range map[int]int64{StatCount: count, StatSum: sum, StatMin: lo, StatMax: hi, StatAvgS: avgS, StatM2: m2} {
		binary.LittleEndian.PutUint64(b[off:], uint64(v))
	}
	for i, n := range buckets {
		binary.LittleEndian.PutUint64(b[StatBuckets+8*i:], uint64(n))
	}
	return b
}

func TestStatBuckets(t *testing.T) {
	assert.Equal(t, 0, (&Stat{}).Buckets())
	assert.Equal(t, 128, (&Stat{Hist: HistLog}).Buckets())
	assert.Equal(t, 13, (&Stat{Hist: HistLinear, Lo: 0, Hi: 100, Width: 10}).Buckets())
	assert.Equal(t, 12, (&Stat{Hist: HistLinear, Lo: 0, Hi: 99, Width: 10}).Buckets())
	assert.Equal(t, StatBuckets+8*13, (&Stat{Hist: HistLinear, Lo: 0, Hi: 100, Width: 10}).Size())
}

func TestMergeStat(t *testing.T) {
	s := &Stat{Hist: HistLinear, Lo: 0, Hi: 2, Width: 1}
	d := MergeStat(s, [][]byte{
		cpuValue(s, 2, 10, 4, 6, 0, 0, map[int]int64{0: 1, 4: 1}),
		// A CPU with nothing counts for nothing, min and max included.
		cpuValue(s, 0, 0, 0, 0, 0, 0, nil),
		cpuValue(s, 1, -7, -7, -7, 0, 0, map[int]int64{0: 1}),
	})
	assert.Equal(t, StatData{Count: 3, Sum: 3, Min: -7, Max: 6, Avg: 1, Buckets: []int64{2, 0, 0, 0, 1}}, d)

	empty := MergeStat(s, nil)
	assert.Equal(t, StatData{Buckets: make([]int64, 5)}, empty)
	assert.Equal(t, int64(0), empty.Extract(OpMin))
}

// TestMergeVariance checks stap's integer variance, from the per-CPU
// Welford state stap's __stp_stat_add leaves for the samples 1..5.
func TestMergeVariance(t *testing.T) {
	tests := []struct {
		name  string
		shift int
		cpus  [][]byte
		want  int64
	}{{
		// One CPU, stap.1's example: avg_s sticks at 1, m2 = 30.
		name: "one CPU", cpus: [][]byte{cpuValue(&Stat{}, 5, 15, 1, 5, 1, 30, nil)}, want: 12,
	}, {
		name: "one CPU shifted", shift: 1, cpus: [][]byte{cpuValue(&Stat{}, 5, 15, 1, 5, 6, 40, nil)}, want: 2,
	}, {
		// 1, 2 on one CPU and 3, 4, 5 on another.
		name: "two CPUs", cpus: [][]byte{
			cpuValue(&Stat{}, 2, 3, 1, 2, 1, 1, nil),
			cpuValue(&Stat{}, 3, 12, 3, 5, 3, 5, nil),
		}, want: 3,
	}, {
		name: "one value", cpus: [][]byte{cpuValue(&Stat{}, 1, 9, 9, 9, 9, 0, nil)}, want: 0,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := MergeStat(&Stat{Variance: true, Shift: tc.shift}, tc.cpus)
			assert.Equal(t, tc.want, d.Extract(OpVariance))
		})
	}
}

func TestStatOpNeedsData(t *testing.T) {
	for op, needs := range map[StatOp]bool{OpCount: false, OpSum: false, OpMin: true, OpMax: true, OpAvg: true, OpVariance: true} {
		assert.Equal(t, needs, op.NeedsData(), "op %d", op)
	}
}
