package output

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/maps"
)

// TestHistogramGoldens draws the histograms of testdata/hist. Each file
// starts with three comment lines: the histogram ("log", or "linear lo hi
// width"), the values fed (for the reader), and the non-empty buckets as
// index=count; the drawing follows, made by hand from the rules of stap's
// runtime/stat-common.c.
func TestHistogramGoldens(t *testing.T) {
	paths, err := filepath.Glob("testdata/hist/*.txt")
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, err := os.ReadFile(path)
			require.NoError(t, err)
			lines := strings.SplitN(string(src), "\n", 4)
			require.Len(t, lines, 4)
			st := parseHistKind(t, strings.TrimPrefix(lines[0], "# "))
			counts := make([]int64, st.Buckets())
			for _, f := range strings.Fields(strings.TrimPrefix(lines[2], "# buckets ")) {
				idx, n, _ := strings.Cut(f, "=")
				i, err := strconv.Atoi(idx)
				require.NoError(t, err)
				counts[i], err = strconv.ParseInt(n, 10, 64)
				require.NoError(t, err)
			}
			assert.Equal(t, lines[3], string(AppendHistogram(nil, st, counts)))
		})
	}
}

func parseHistKind(t *testing.T, s string) *maps.Stat {
	f := strings.Fields(s)
	if f[0] == "log" {
		return &maps.Stat{Hist: maps.HistLog}
	}
	require.Len(t, f, 4)
	var n [3]int64
	for i := range n {
		var err error
		n[i], err = strconv.ParseInt(f[i+1], 10, 64)
		require.NoError(t, err)
	}
	return &maps.Stat{Hist: maps.HistLinear, Lo: n[0], Hi: n[1], Width: n[2]}
}

// TestHistogramRecord prints a KindHist record through the Printer.
func TestHistogramRecord(t *testing.T) {
	abi := &maps.ABI{Globals: []maps.Global{{Name: "s", Stat: &maps.Stat{Hist: maps.HistLinear, Lo: 0, Hi: 2, Width: 1}}}}
	var stdout, stderr bytes.Buffer
	p := NewPrinter(abi, &stdout, &stderr)
	rec := binary.LittleEndian.AppendUint32(nil, maps.KindHist)
	rec = binary.LittleEndian.AppendUint32(rec, 0)
	for _, n := range []int64{0, 3, 0, 0, 0} {
		rec = binary.LittleEndian.AppendUint64(rec, uint64(n))
	}
	_, err := p.Handle(rec)
	require.NoError(t, err)
	require.NoError(t, p.Flush())
	assert.Equal(t, "value |-------------------------------------------------- count\n"+
		"    0 |@@@                                                3\n"+
		"    1 |                                                   0\n"+
		"    2 |                                                   0\n\n", stdout.String())

	_, err = p.Handle(rec[:20])
	assert.ErrorContains(t, err, "histogram record for s")
	rec[4] = 1
	_, err = p.Handle(rec)
	assert.ErrorContains(t, err, "global 1 is not a statistic")
}

func TestDisplayStat(t *testing.T) {
	data := func(n, lo, hi, sum int64) maps.StatData {
		return maps.StatData{Count: n, Min: lo, Max: hi, Sum: sum, Avg: sum / n}
	}
	tests := []struct {
		name    string
		g       maps.Global
		entries []StatEntry
		want    string
	}{{
		name:    "scalar",
		g:       maps.Global{Name: "lat"},
		entries: []StatEntry{{Data: data(3, 1, 7, 12)}},
		want:    "lat @count=3 @min=1 @max=7 @sum=12 @avg=4\n",
	}, {
		name: "empty scalar",
		g:    maps.Global{Name: "lat"},
		want: "lat @count=0x0\n",
	}, {
		name:    "zeroed scalar",
		g:       maps.Global{Name: "lat"},
		entries: []StatEntry{{}},
		want:    "lat @count=0x0\n",
	}, {
		name: "array by count",
		g:    maps.Global{Name: "b", Keys: []maps.Type{maps.String, maps.Long}},
		entries: []StatEntry{
			{Key: []maps.Value{maps.StringValue("z"), maps.LongValue(1)}, Data: data(1, -5, -5, -5)},
			{Key: []maps.Value{maps.StringValue("a"), maps.LongValue(2)}, Data: data(2, 10, 30, 40)},
			{Key: []maps.Value{maps.StringValue("a"), maps.LongValue(1)}, Data: data(1, 3, 3, 3)},
		},
		want: "b[\"a\",2] @count=2 @min=10 @max=30 @sum=40 @avg=20\n" +
			"b[\"a\",1] @count=1 @min=3 @max=3 @sum=3 @avg=3\n" +
			"b[\"z\",1] @count=1 @min=-5 @max=-5 @sum=-5 @avg=-5\n",
	}, {
		name: "empty array",
		g:    maps.Global{Name: "b", Keys: []maps.Type{maps.Long}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			require.NoError(t, DisplayStat(&b, &tc.g, tc.entries))
			assert.Equal(t, tc.want, b.String())
		})
	}
}
