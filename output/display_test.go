package output

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/maps"
)

func entry(value any, key ...any) Entry {
	e := Entry{Value: values(value)[0]}
	if len(key) > 0 {
		e.Key = values(key...)
	}
	return e
}

func TestDisplayGlobal(t *testing.T) {
	scalar := func(name string, v maps.Type) *maps.Global {
		return &maps.Global{Name: name, Value: v}
	}
	array := func(name string, v maps.Type, keys ...maps.Type) *maps.Global {
		return &maps.Global{Name: name, Value: v, Keys: keys}
	}
	long, str := maps.Long, maps.String
	tests := []struct {
		name    string
		global  *maps.Global
		entries []Entry
		want    string
	}{
		{"scalar long is decimal", scalar("count", long), []Entry{entry(5)}, "count=5\n"},
		{"scalar long zero", scalar("n", long), []Entry{entry(0)}, "n=0\n"},
		{"scalar long negative", scalar("n", long), []Entry{entry(-1)}, "n=-1\n"},
		{"scalar string", scalar("who", str), []Entry{entry("bash")}, "who=\"bash\"\n"},
		{"scalar string is not escaped", scalar("s", str), []Entry{entry(`a"b`)}, "s=\"a\"b\"\n"},
		{"scalar without entry long", scalar("n", long), nil, "n=0\n"},
		{"scalar without entry string", scalar("s", str), nil, "s=\"\"\n"},
		{"empty array", array("a", long, long), nil, ""},
		{"array keys decimal, value hex", array("hits", long, long, str),
			[]Entry{entry(42, 1, "read")}, "hits[1,\"read\"]=42\n"},
		{"array negative key", array("a", long, long), []Entry{entry(1, -3)}, "a[-3]=1\n"},
		{"array string value", array("a", str, long), []Entry{entry("x", 1)}, "a[1]=\"x\"\n"},
		{"longs by value descending, ties by key ascending", array("a", long, long),
			[]Entry{entry(5, 1), entry(7, 2), entry(5, 3), entry(5, 0), entry(-1, 9), entry(0, 8)},
			"a[2]=7\na[0]=5\na[1]=5\na[3]=5\na[8]=0\na[9]=-1\n"},
		{"strings by value descending", array("a", str, long),
			[]Entry{entry("b", 1), entry("c", 2), entry("a", 3), entry("ab", 4)},
			"a[2]=\"c\"\na[1]=\"b\"\na[4]=\"ab\"\na[3]=\"a\"\n"},
		{"ties by each key column in turn", array("a", long, str, long),
			[]Entry{entry(1, "b", 1), entry(1, "a", 2), entry(1, "a", 1), entry(2, "z", 0)},
			"a[\"z\",0]=2\na[\"a\",1]=1\na[\"a\",2]=1\na[\"b\",1]=1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, DisplayGlobal(&buf, tt.global, tt.entries))
			assert.Equal(t, tt.want, buf.String())
		})
	}
}

func TestDisplayGlobalKeepsEntries(t *testing.T) {
	entries := []Entry{entry(1, 1), entry(2, 2)}
	var buf bytes.Buffer
	require.NoError(t, DisplayGlobal(&buf, &maps.Global{Name: "a", Keys: []maps.Type{maps.Long}, Value: maps.Long}, entries))
	assert.Equal(t, []Entry{entry(1, 1), entry(2, 2)}, entries)
}

func TestDisplayGlobalWriteError(t *testing.T) {
	err := DisplayGlobal(failWriter{}, &maps.Global{Name: "x", Value: maps.Long}, []Entry{entry(1)})
	assert.EqualError(t, err, "broken pipe")
}
