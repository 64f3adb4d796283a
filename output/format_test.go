package output

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/maps"
)

// values turns Go integers, runes and strings into record values.
func values(args ...any) []maps.Value {
	vals := make([]maps.Value, len(args))
	for i, a := range args {
		switch a := a.(type) {
		case int:
			vals[i] = maps.LongValue(int64(a))
		case int64:
			vals[i] = maps.LongValue(a)
		case rune:
			vals[i] = maps.LongValue(int64(a))
		case string:
			vals[i] = maps.StringValue(a)
		case []byte:
			vals[i] = maps.Value{Type: maps.Memory, Str: string(a)}
		default:
			panic("values: unsupported argument")
		}
	}
	return vals
}

func render(t *testing.T, format string, args ...any) string {
	t.Helper()
	dirs, err := maps.ParseFormat(format)
	require.NoError(t, err)
	return string(AppendFormat(nil, dirs, values(args...)))
}

// native is v's low n bytes in the host's byte order, as %b writes them.
func native(n int, v uint64) string {
	b := binary.NativeEndian.AppendUint64(nil, v)
	if binary.NativeEndian.Uint16([]byte{1, 0}) == 1 {
		return string(b[:n])
	}
	return string(b[8-n:])
}

// The expectations are what stap's kernel runtime prints. Where that
// differs from C's printf, the case name says so.
func TestFormat(t *testing.T) {
	tests := []struct {
		name, format string
		args         []any
		want         string
	}{
		// Literals.
		{"literal", "hello\n", nil, "hello\n"},
		{"percent", "100%% sure", nil, "100% sure"},
		{"trailing percent", "100%", nil, "100%"},
		{"mixed", "pid=%d exec=%s\n", []any{42, "bash"}, "pid=42 exec=bash\n"},

		// Signed decimal.
		{"d", "%d", []any{42}, "42"},
		{"d negative", "%d", []any{-42}, "-42"},
		{"i", "%i", []any{7}, "7"},
		{"d min", "%d", []any{int64(math.MinInt64)}, "-9223372036854775808"},
		{"d max", "%d", []any{int64(math.MaxInt64)}, "9223372036854775807"},
		{"width", "%5d|", []any{42}, "   42|"},
		{"width smaller than value", "%1d", []any{12345}, "12345"},
		{"minus", "%-5d|", []any{42}, "42   |"},
		{"zero", "%05d", []any{42}, "00042"},
		{"zero negative", "%05d", []any{-42}, "-0042"},
		{"minus beats zero", "%-05d|", []any{42}, "42   |"},
		{"plus", "%+d", []any{42}, "+42"},
		{"plus negative", "%+d", []any{-42}, "-42"},
		{"plus zero", "%+d", []any{0}, "+0"},
		{"plus zero pad", "%+05d", []any{42}, "+0042"},
		{"space", "% d", []any{42}, " 42"},
		{"space negative", "% d", []any{-42}, "-42"},
		{"plus beats space", "%+ d", []any{42}, "+42"},
		{"space width", "% 5d|", []any{42}, "   42|"},
		{"precision", "%.3d", []any{5}, "005"},
		{"precision negative", "%.3d", []any{-5}, "-005"},
		{"precision shorter than value", "%.2d", []any{12345}, "12345"},
		{"width and precision", "%6.3d|", []any{5}, "   005|"},
		{"minus width and precision", "%-6.3d|", []any{5}, "005   |"},
		{"zero kept with precision, unlike C", "%06.3d", []any{5}, "000005"},
		{"zero precision prints 0, unlike C", "%.0d", []any{0}, "0"},
		{"length modifier", "%lld %ld %hd", []any{1, 2, 3}, "1 2 3"},

		// Unsigned.
		{"u", "%u", []any{42}, "42"},
		{"u of -1 is 64-bit", "%u", []any{-1}, "18446744073709551615"},
		{"u ignores plus", "%+u", []any{42}, "42"},
		{"u ignores space", "% u", []any{42}, "42"},
		{"u width", "%6u|", []any{42}, "    42|"},

		// Hex.
		{"x", "%x", []any{255}, "ff"},
		{"X", "%X", []any{255}, "FF"},
		{"x of -1 is 64-bit", "%x", []any{-1}, "ffffffffffffffff"},
		{"x zero", "%x", []any{0}, "0"},
		{"hash x", "%#x", []any{255}, "0xff"},
		{"hash X", "%#X", []any{255}, "0XFF"},
		{"hash x of 0, unlike C", "%#x", []any{0}, "0x0"},
		{"hash zero width", "%#010x", []any{255}, "0x000000ff"},
		{"x width", "%10x|", []any{255}, "        ff|"},
		{"hash minus width", "%-#10x|", []any{255}, "0xff      |"},
		{"x precision", "%.4x", []any{255}, "00ff"},
		{"hash x precision", "%#.4x", []any{255}, "0x00ff"},
		{"x ignores plus", "%+x", []any{255}, "ff"},

		// Octal.
		{"o", "%o", []any{8}, "10"},
		{"hash o", "%#o", []any{8}, "010"},
		{"hash o of 0, unlike C", "%#o", []any{0}, "00"},
		{"o of -1", "%o", []any{-1}, "1777777777777777777777"},
		{"o zero width", "%05o", []any{8}, "00010"},

		// Pointer: %#x since stap 1.3.
		{"p", "%p", []any{0x1000}, "0x1000"},
		{"p zero", "%p", []any{0}, "0x0"},
		{"p of -1", "%p", []any{-1}, "0xffffffffffffffff"},
		{"p width", "%10p|", []any{0x1000}, "    0x1000|"},
		{"p minus", "%-10p|", []any{0x1000}, "0x1000    |"},
		{"p zero pad", "%010p", []any{0x1000}, "0x00001000"},

		// Char.
		{"c", "%c", []any{65}, "A"},
		{"c takes the low byte", "%c", []any{0x141}, "A"},
		{"c width", "%3c|", []any{65}, "  A|"},
		{"c minus", "%-3c|", []any{65}, "A  |"},
		{"c ignores zero", "%03c", []any{65}, "  A"},
		{"c NUL", "%c", []any{0}, "\x00"},
		{"hash c printable", "%#c", []any{'A'}, "A"},
		{"hash c newline", "%#c", []any{'\n'}, `\n`},
		{"hash c tab", "%#c", []any{'\t'}, `\t`},
		{"hash c bell", "%#c", []any{'\a'}, `\a`},
		{"hash c quote", "%#c", []any{'\''}, `\'`},
		{"hash c backslash", "%#c", []any{'\\'}, `\\`},
		{"hash c octal", "%#c", []any{1}, `\001`},
		{"hash c high byte", "%#c", []any{0xff}, `\377`},
		{"hash c DEL", "%#c", []any{0x7f}, `\177`},
		{"hash c width", "%#4c|", []any{'\n'}, `  \n|`},

		// String.
		{"s", "%s", []any{"hello"}, "hello"},
		{"s empty", "%s|", []any{""}, "|"},
		{"s width", "%10s|", []any{"hello"}, "     hello|"},
		{"s minus", "%-16s|", []any{"bash"}, "bash            |"},
		{"s width smaller than value", "%2s", []any{"hello"}, "hello"},
		{"s precision truncates", "%.3s", []any{"hello"}, "hel"},
		{"s precision longer than value", "%.10s", []any{"hello"}, "hello"},
		{"s width and precision", "%8.3s|", []any{"hello"}, "     hel|"},
		{"s zero precision is dropped, unlike C", "%.0s", []any{"hello"}, "hello"},
		{"s zero flag pads with spaces and ends with NUL", "%05s", []any{"ab"}, "   ab\x00"},
		{"s ignores hash", "%#s", []any{"a\nb"}, "a\nb"},

		// Stars.
		{"star width", "%*d|", []any{5, 42}, "   42|"},
		{"star negative width left-justifies", "%*d|", []any{-5, 42}, "42   |"},
		{"star width with minus", "%-*d|", []any{5, 42}, "42   |"},
		{"star precision", "%.*d", []any{4, 7}, "0007"},
		{"star both", "%*.*d|", []any{6, 3, 7}, "   007|"},
		{"star width string", "%*s|", []any{8, "ab"}, "      ab|"},
		{"star precision string", "%.*s", []any{2, "hello"}, "he"},
		{"star precision 0 truncates to nothing", "%.*s|", []any{0, "hello"}, "|"},
		{"star precision negative is 0", "%.*s|", []any{-3, "hello"}, "|"},
		{"star precision 0 number", "%.*d", []any{0, 0}, "0"},

		// Binary.
		{"b default 8 bytes", "%b", []any{0x0102}, native(8, 0x0102)},
		{"b width 1", "%1b", []any{0x141}, "A"},
		{"b width 2", "%2b", []any{0x4142}, native(2, 0x4142)},
		{"b width 4", "%4b", []any{-2}, native(4, math.MaxUint64-1)},
		{"b width 8", "%8b", []any{-1}, native(8, math.MaxUint64)},
		{"b precision", "%.2b", []any{0x4142}, native(2, 0x4142)},
		{"b odd width writes 8 bytes", "%3b", []any{7}, native(8, 7)},
		{"b wide field pads with NUL before", "%16b", []any{7}, strings.Repeat("\x00", 8) + native(8, 7)},
		{"b minus pads after", "%-16b", []any{7}, native(8, 7) + strings.Repeat("\x00", 8)},
		{"b width and precision", "%4.2b", []any{0x4142}, "\x00\x00" + native(2, 0x4142)},
		{"b odd precision uses width", "%2.3b", []any{0x4142}, native(2, 0x4142)},
		{"b star width", "%*b", []any{1, 0x41}, "A"},

		// Memory: the record carries the bytes a probe copied.
		{"m shows one byte", "%m", []any{[]byte("hello\x00\x01")}, "h"},
		{"m precision is the byte count", "%.4m", []any{[]byte("hello\x00\x01")}, "hell"},
		{"m shows NULs too", "%.7m", []any{[]byte("hello\x00\x01")}, "hello\x00\x01"},
		{"m width", "%6.2m|%-6.2m|", []any{[]byte("hello"), []byte("hello")}, "    he|he    |"},
		{"M is hex", "%.3M", []any{[]byte{0xab, 0x01, 0xff, 0x7}}, "ab01ff"},
		{"M width", "%8.2M|%-6M|", []any{[]byte{0xab, 0x01}, []byte{0xab}}, "    ab01|ab    |"},
		{"m star precision", "%.*m", []any{2, []byte("xyz")}, "xy"},
		{"m precision past the slot", "%.9m", []any{[]byte("ab")}, "ab"},

		// Arguments that do not fit the format.
		{"missing argument", "%d|%s", []any{1}, "1|%!s(missing)"},
		{"string for a long", "%d", []any{"x"}, "%!d(string)"},
		{"long for a string", "%s", []any{1}, "%!s(long)"},
		{"missing star", "%*d", nil, "%!d(missing)"},
		{"missing star precision", "%.*d", nil, "%!d(missing)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, render(t, tt.format, tt.args...))
		})
	}
}

func TestFormatClampsStarWidth(t *testing.T) {
	tests := []struct {
		name  string
		width int64
		left  bool
	}{
		{"huge", 1 << 40, false},
		{"huge negative", -1 << 40, true},
		{"min int64", math.MinInt64, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := render(t, "%*d", tt.width, 7)
			require.Len(t, got, maps.MaxFieldWidth)
			if tt.left {
				assert.Equal(t, "7", got[:1])
			} else {
				assert.Equal(t, "7", got[len(got)-1:])
			}
		})
	}
	t.Run("precision", func(t *testing.T) {
		assert.Len(t, render(t, "%.*d", int64(1<<40), 7), maps.MaxFieldWidth)
	})
}

func TestFormatUnknownVerb(t *testing.T) {
	dirs := []maps.Directive{{Verb: 'q', Width: -1, Prec: -1}}
	assert.Equal(t, "%!q(unknown verb)", string(AppendFormat(nil, dirs, values(1))))
}

func TestFormatWriter(t *testing.T) {
	dirs, err := maps.ParseFormat("%s=%d\n")
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, Format(&buf, dirs, values("x", 5)))
	assert.Equal(t, "x=5\n", buf.String())
}

func TestAppendFormatAppends(t *testing.T) {
	dirs, err := maps.ParseFormat("%d")
	require.NoError(t, err)
	got := AppendFormat([]byte("n="), dirs, values(3))
	assert.Equal(t, "n=3", string(got))
}
