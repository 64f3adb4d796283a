package output

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"etap/maps"
)

// Histograms and statistics are drawn as stap's kernel runtime draws them
// (runtime/stat-common.c), byte for byte: scripts and the tools that read
// their output expect that layout.

// HIST_WIDTH and HIST_ELISION of stap: the longest bar, and how many empty
// buckets next to data stay shown where longer empty runs collapse to `~`.
const (
	histWidth   = 50
	histElision = 2
)

// AppendHistogram appends the drawing of a histogram with the given
// bucket counts (st.Buckets() of them, not all zero):
//
//	value |-------------------------------------------------- count
//	    0 |                                                    0
//	    1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@  5
//	    2 |@@@@@@@@@@                                          1
//	    4 |                                                    0
//	    8 |                                                    0
//
// The rows run from the first to the last non-empty bucket, widened by two
// empty buckets each side (a log histogram does not widen below 0 unless it
// holds negative values; a linear one shows its under- and overflow
// buckets only when they hold something). Bars are scaled so that the
// largest is at most 50 wide, and an empty line ends the drawing.
func AppendHistogram(b []byte, st *maps.Stat, counts []int64) []byte {
	n := len(counts)
	low, high := -1, 0
	var most int64
	for i, c := range counts {
		if c > 0 {
			if low < 0 {
				low = i
			}
			high = i
		}
		most = max(most, c)
	}
	if low < 0 {
		return b
	}
	linear := st.Hist == maps.HistLinear
	for range 2 {
		if low > 0 && (linear || low != maps.HistLogZero) {
			low--
		}
		if high < n-1 {
			high++
		}
	}
	under, over := 0, 0
	if linear {
		if low == 0 && counts[0] == 0 {
			low++
		}
		if high == n-1 && counts[high] == 0 {
			high--
		}
		if low == 0 {
			under = 1
		}
		if high == n-1 {
			over = 1
		}
	}
	scale := int64(1)
	if most > histWidth {
		scale = (most + histWidth - 1) / histWidth
	}
	cntSpace := neededSpace(most)
	var valSpace int
	if linear {
		// stap sizes the top label one width past the last shown
		// bucket's; the same sum here keeps its column widths.
		valSpace = max(neededSpace(st.Lo)+under, neededSpace(st.Lo+st.Width*int64(high))+over)
	} else {
		valSpace = max(neededSpace(logLabel(low)), neededSpace(logLabel(high)))
	}
	valSpace = max(valSpace, len("value"))

	b = fmt.Appendf(b, "%*s |%s count\n", valSpace, "value", strings.Repeat("-", histWidth))
	eliding := false
	for i := low; i <= high; i++ {
		if !slices.ContainsFunc(counts[max(low, i-histElision):min(high, i+histElision)+1], func(c int64) bool { return c != 0 }) {
			eliding = true
			continue
		}
		if eliding {
			b = fmt.Appendf(b, "%*s ~\n", valSpace, "")
			eliding = false
		}
		prefix, val := "", logLabel(i)
		if linear {
			switch i {
			case 0:
				prefix, val = "<", st.Lo
			case n - 1:
				prefix, val = ">", st.Lo+int64(i-2)*st.Width
			default:
				val = st.Lo + int64(i-1)*st.Width
			}
		}
		bar := int(counts[i] / scale)
		b = fmt.Appendf(b, "%*s%d |%s%*d\n", valSpace-neededSpace(val), prefix, val,
			strings.Repeat("@", bar), histWidth-bar+1+cntSpace, counts[i])
	}
	return append(b, '\n')
}

// logLabel is the smallest magnitude of log bucket i: 0 for the middle
// one, powers of two above it and their negatives below.
func logLabel(i int) int64 {
	switch {
	case i == maps.HistLogZero:
		return 0
	case i < maps.HistLogZero:
		return math.MinInt64 >> i
	}
	return 1 << (i - maps.HistLogZero - 1)
}

// neededSpace is the number of characters v takes in decimal.
func neededSpace(v int64) int {
	if v == 0 {
		return 1
	}
	n, u := 0, uint64(v)
	if v < 0 {
		n, u = 1, -uint64(v)
	}
	for ; u != 0; u /= 10 {
		n++
	}
	return n
}

// hist draws a KindHist record: the histogram of statistic global id.
func (p *Printer) hist(id uint32, body []byte) error {
	if uint64(id) >= uint64(len(p.abi.Globals)) || p.abi.Globals[id].Stat == nil {
		return fmt.Errorf("histogram record: global %d is not a statistic", id)
	}
	st := p.abi.Globals[id].Stat
	counts := make([]int64, st.Buckets())
	if len(body) < maps.LongSize*len(counts) {
		return fmt.Errorf("histogram record for %s: %d bytes, want %d", p.abi.Globals[id].Name, len(body), maps.LongSize*len(counts))
	}
	for i := range counts {
		counts[i] = int64(binary.LittleEndian.Uint64(body[maps.LongSize*i:]))
	}
	p.buf = AppendHistogram(p.buf, st, counts)
	if len(p.buf) >= flushAt {
		return p.Flush()
	}
	return nil
}

// StatEntry is one element of a statistic read back at the end of a run,
// merged over every CPU. A scalar is one StatEntry with a nil Key.
type StatEntry struct {
	Key  []maps.Value
	Data maps.StatData
}

// DisplayStat prints a statistic the script fed but never read, as stap
// does when a run ends:
//
//	lat @count=3 @min=1 @max=7 @sum=12 @avg=4
//	bytes["cat"] @count=2 @min=10 @max=30 @sum=40 @avg=20
//
// An empty scalar prints `lat @count=0x0`. An array prints one line per
// element, by @count descending and, between equal counts, by index
// ascending. entries is not modified.
func DisplayStat(w io.Writer, g *maps.Global, entries []StatEntry) error {
	var b []byte
	if !g.IsArray() && (len(entries) == 0 || entries[0].Data.Count == 0) {
		b = append(b, g.Name...)
		b = append(b, " @count=0x0\n"...)
	}
	sorted := slices.Clone(entries)
	slices.SortFunc(sorted, func(x, y StatEntry) int {
		if c := cmp.Compare(y.Data.Count, x.Data.Count); c != 0 {
			return c
		}
		return slices.CompareFunc(x.Key, y.Key, compareValues)
	})
	for _, e := range sorted {
		if e.Data.Count == 0 {
			continue
		}
		b = appendDisplayName(b, g.Name, e.Key)
		d := &e.Data
		b = fmt.Appendf(b, " @count=%d @min=%d @max=%d @sum=%d @avg=%d\n", d.Count, d.Min, d.Max, d.Sum, d.Avg)
	}
	if len(b) == 0 {
		return nil
	}
	_, err := w.Write(b)
	return err
}
