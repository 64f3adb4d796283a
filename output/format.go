// Package output turns what a running script reports into text: it renders
// printf records from the ring buffer with the SystemTap kernel runtime's
// formatting rules, reports runtime errors, and prints the globals a script
// wrote but never read when the run ends.
package output

import (
	"encoding/binary"
	"encoding/hex"
	"io"

	"etap/maps"
)

// spec is a directive with its `*` width and precision resolved.
type spec struct {
	verb                           byte
	minus, plus, space, hash, zero bool
	width, prec                    int
}

// AppendFormat renders a parsed format with args, as stap's printf does,
// and appends the text to dst. Args must match maps.FormatArgTypes(dirs); a
// missing or mistyped argument renders as `%!d(missing)` or
// `%!d(string)` rather than failing, so one bad record cannot stop a run.
func AppendFormat(dst []byte, dirs []maps.Directive, args []maps.Value) []byte {
	next := 0
	arg := func(t maps.Type) (maps.Value, bool) {
		if next >= len(args) || args[next].Type != t {
			return maps.Value{}, false
		}
		next++
		return args[next-1], true
	}
	for i := range dirs {
		d := &dirs[i]
		if d.Verb == 0 {
			dst = append(dst, d.Literal...)
			continue
		}
		s := spec{verb: d.Verb, minus: d.Minus, plus: d.Plus, space: d.Space,
			hash: d.Hash, zero: d.Zero, width: d.Width, prec: d.Prec}
		if d.WidthStar {
			v, ok := arg(maps.Long)
			if !ok {
				dst = appendBad(dst, d.Verb, args, next)
				continue
			}
			// A negative `*` width left-justifies, as in C.
			if v.Long < 0 {
				s.minus = true
				v.Long = -max(v.Long, -maps.MaxFieldWidth)
			}
			s.width = int(min(v.Long, maps.MaxFieldWidth))
		}
		if d.PrecStar {
			v, ok := arg(maps.Long)
			if !ok {
				dst = appendBad(dst, d.Verb, args, next)
				continue
			}
			// Unlike a written `.0`, a `.*` of 0 or less is a real
			// precision of 0: stap's runtime clamps it, so `%.*s` of 0
			// prints nothing.
			s.prec = int(min(max(v.Long, 0), maps.MaxFieldWidth))
		}
		want := maps.Long
		switch d.Verb {
		case 's':
			want = maps.String
		case 'm', 'M':
			want = maps.Memory
		}
		v, ok := arg(want)
		if !ok {
			dst = appendBad(dst, d.Verb, args, next)
			continue
		}
		dst = appendValue(dst, &s, v)
	}
	return dst
}

// Format renders a parsed format with args to w; see AppendFormat.
func Format(w io.Writer, dirs []maps.Directive, args []maps.Value) error {
	_, err := w.Write(AppendFormat(nil, dirs, args))
	return err
}

// appendBad marks a conversion whose argument is missing or of the wrong
// type, naming what was found instead.
func appendBad(dst []byte, verb byte, args []maps.Value, next int) []byte {
	dst = append(dst, '%', '!', verb, '(')
	if next < len(args) {
		dst = append(dst, args[next].Type.String()...)
	} else {
		dst = append(dst, "missing"...)
	}
	return append(dst, ')')
}

func appendValue(dst []byte, s *spec, v maps.Value) []byte {
	u := uint64(v.Long)
	switch s.verb {
	case 'd', 'i':
		return appendNumber(dst, s, u, 10, true)
	case 'u':
		return appendNumber(dst, s, u, 10, false)
	case 'o':
		return appendNumber(dst, s, u, 8, false)
	case 'x', 'X':
		return appendNumber(dst, s, u, 16, false)
	case 'p':
		// Since stap 1.3, %p is %#x.
		s.hash = true
		return appendNumber(dst, s, u, 16, false)
	case 'm', 'M':
		return appendMemory(dst, s, v.Str)
	case 'c':
		return appendChar(dst, s, byte(u))
	case 'b':
		return appendBinary(dst, s, u)
	case 's':
		return appendString(dst, s, v.Str)
	}
	// Only a hand-built Directive gets here; ParseFormat rejects the verb.
	return append(append(dst, '%', '!', s.verb), "(unknown verb)"...)
}

// appendNumber follows the kernel runtime's number(), which differs from C
// in three ways: a precision does not cancel the 0 flag (`%05.3d` of 5 is
// 00005), 0 is always printed as a digit (`%.0d` of 0 is 0), and `#` adds
// its prefix to 0 too (`%#x` of 0 is 0x0, `%#o` of 0 is 00).
func appendNumber(dst []byte, s *spec, u uint64, base uint64, signed bool) []byte {
	var sign byte
	if signed {
		switch {
		case int64(u) < 0:
			sign, u = '-', -u
		case s.plus:
			sign = '+'
		case s.space:
			sign = ' '
		}
	}
	prefix := ""
	if s.hash {
		switch {
		case base == 16 && s.verb == 'X':
			prefix = "0X"
		case base == 16:
			prefix = "0x"
		case base == 8:
			prefix = "0"
		}
	}
	digits := "0123456789abcdef"
	if s.verb == 'X' {
		digits = "0123456789ABCDEF"
	}
	var tmp [64]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = digits[u%base]
		u /= base
		if u == 0 {
			break
		}
	}
	num := tmp[i:]
	zeros := max(s.prec-len(num), 0)
	n := len(prefix) + zeros + len(num)
	if sign != 0 {
		n++
	}
	pad := max(s.width-n, 0)

	switch {
	case s.minus:
	case s.zero:
		zeros += pad
		pad = 0
	default:
		dst = appendRepeat(dst, ' ', pad)
		pad = 0
	}
	if sign != 0 {
		dst = append(dst, sign)
	}
	dst = append(dst, prefix...)
	dst = appendRepeat(dst, '0', zeros)
	dst = append(dst, num...)
	return appendRepeat(dst, ' ', pad)
}

// appendChar writes one byte, padded with spaces. With `#`, a byte that
// is not printable ASCII, a quote or a backslash is written as a C escape.
func appendChar(dst []byte, s *spec, c byte) []byte {
	var buf [4]byte
	out := buf[:0]
	switch {
	case !s.hash || (' ' <= c && c <= '~' && c != '\'' && c != '\\'):
		out = append(out, c)
	case escapes[c] != 0:
		out = append(out, '\\', escapes[c])
	default:
		out = append(out, '\\', '0'+c>>6, '0'+c>>3&7, '0'+c&7)
	}
	return appendPadded(dst, s, out)
}

// escapes maps the bytes %#c writes as a backslash and a letter.
var escapes = [256]byte{
	'\a': 'a', '\b': 'b', '\f': 'f', '\n': 'n', '\r': 'r', '\t': 't', '\v': 'v',
	'\'': '\'', '\\': '\\',
}

// appendString writes at most prec bytes of str, padded with spaces. With
// the 0 flag the kernel runtime ends the field with a NUL byte, which
// binary consumers of stap's output use as a terminator; so do we.
func appendString(dst []byte, s *spec, str string) []byte {
	if s.prec >= 0 && s.prec < len(str) {
		str = str[:s.prec]
	}
	pad := max(s.width-len(str), 0)
	if !s.minus {
		dst = appendRepeat(dst, ' ', pad)
	}
	dst = append(dst, str...)
	if s.minus {
		dst = appendRepeat(dst, ' ', pad)
	}
	if s.zero {
		dst = append(dst, 0)
	}
	return dst
}

// appendPadded writes b, padded with spaces to the field width.
func appendPadded(dst []byte, s *spec, b []byte) []byte {
	pad := max(s.width-len(b), 0)
	if !s.minus {
		dst = appendRepeat(dst, ' ', pad)
	}
	dst = append(dst, b...)
	if s.minus {
		dst = appendRepeat(dst, ' ', pad)
	}
	return dst
}

// appendBinary writes the low bytes of u in native byte order, as %b does:
// the size is the precision if it is 1, 2, 4 or 8, else the width if that
// is, else 8; a wider field is filled with NUL bytes.
func appendBinary(dst []byte, s *spec, u uint64) []byte {
	size := binarySize(s.prec)
	if size == 0 {
		size = binarySize(s.width)
	}
	if size == 0 {
		size = 8
	}
	pad := max(s.width-size, 0)
	if !s.minus {
		dst = appendRepeat(dst, 0, pad)
	}
	switch size {
	case 1:
		dst = append(dst, byte(u))
	case 2:
		dst = binary.NativeEndian.AppendUint16(dst, uint16(u))
	case 4:
		dst = binary.NativeEndian.AppendUint32(dst, uint32(u))
	default:
		dst = binary.NativeEndian.AppendUint64(dst, u)
	}
	if s.minus {
		dst = appendRepeat(dst, 0, pad)
	}
	return dst
}

// binarySize returns n if it is a size %b can write, else 0.
func binarySize(n int) int {
	switch n {
	case 1, 2, 4, 8:
		return n
	}
	return 0
}

func appendRepeat(dst []byte, c byte, n int) []byte {
	for ; n > 0; n-- {
		dst = append(dst, c)
	}
	return dst
}

// appendMemory writes %m, the bytes a probe copied from an address (as
// many as the precision says, 1 by default), or %M, the same bytes in
// hex, two lowercase digits each, padded with spaces to the width.
func appendMemory(dst []byte, s *spec, mem string) []byte {
	n := min(max(s.prec, 1), len(mem))
	out := []byte(mem[:n])
	if s.verb == 'M' {
		out = hex.AppendEncode(nil, out)
	}
	pad := max(s.width-len(out), 0)
	if !s.minus {
		dst = appendRepeat(dst, ' ', pad)
		pad = 0
	}
	dst = append(dst, out...)
	return appendRepeat(dst, ' ', pad)
}
