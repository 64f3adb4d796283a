package output

import (
	"cmp"
	"io"
	"slices"
	"strconv"
	"strings"

	"etap/maps"
)

// Entry is one element of a global read back at the end of a run: its
// index and its value. A scalar is one Entry with a nil Key.
type Entry struct {
	Key   []maps.Value
	Value maps.Value
}

// DisplayGlobal prints a global the script wrote but never read, as stap
// does when a run ends, with longs in decimal:
//
//	count=5
//	who="bash"
//	hits[1,"read"]=42
//
// An array prints one line per element, by value descending (longs
// numerically, strings bytewise) and, between equal values, by index
// ascending; an empty array prints nothing. A scalar with no entry prints
// its zero value. entries is not modified.
func DisplayGlobal(w io.Writer, g *maps.Global, entries []Entry) error {
	var b []byte
	if !g.IsArray() {
		v := maps.Value{Type: g.Value}
		if len(entries) > 0 {
			v = entries[0].Value
		}
		b = appendDisplayLine(b, g.Name, nil, v)
	} else {
		sorted := slices.Clone(entries)
		slices.SortFunc(sorted, func(x, y Entry) int {
			if c := compareValues(y.Value, x.Value); c != 0 {
				return c
			}
			return slices.CompareFunc(x.Key, y.Key, compareValues)
		})
		for _, e := range sorted {
			b = appendDisplayLine(b, g.Name, e.Key, e.Value)
		}
	}
	if len(b) == 0 {
		return nil
	}
	_, err := w.Write(b)
	return err
}

func appendDisplayLine(b []byte, name string, key []maps.Value, v maps.Value) []byte {
	b = appendDisplayName(b, name, key)
	b = append(b, '=')
	b = appendDisplayValue(b, v)
	return append(b, '\n')
}

// appendDisplayName writes a global's name, and an element's index in
// brackets.
func appendDisplayName(b []byte, name string, key []maps.Value) []byte {
	b = append(b, name...)
	if key == nil {
		return b
	}
	b = append(b, '[')
	for i, k := range key {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendDisplayValue(b, k)
	}
	return append(b, ']')
}

// appendDisplayValue writes a string in double quotes, as it is, and a
// long in decimal.
func appendDisplayValue(b []byte, v maps.Value) []byte {
	if v.Type == maps.String {
		b = append(b, '"')
		b = append(b, v.Str...)
		return append(b, '"')
	}
	return strconv.AppendInt(b, v.Long, 10)
}

func compareValues(a, b maps.Value) int {
	if a.Type == maps.String {
		return strings.Compare(a.Str, b.Str)
	}
	return cmp.Compare(a.Long, b.Long)
}
