package maps

import (
	"fmt"
	"unicode/utf8"
)

// MaxFieldWidth bounds a printf width or precision. A format that writes a
// larger one is rejected; a `*` argument beyond it is clamped. stap bounds
// them by its print buffer; the bound here keeps a runaway `%*d` from making
// user space allocate without limit.
const MaxFieldWidth = 1 << 16

// Directive is one piece of a parsed printf format: literal text, or a
// conversion.
type Directive struct {
	// Literal is the text of a literal piece (Verb == 0), with `%%` already
	// turned into `%`.
	Literal string
	// Verb is the conversion: one of d i u x X o c s p b m M, or 0 for a
	// literal.
	Verb byte
	// Flags, as written: `-` `+` space `#` `0`.
	Minus, Plus, Space, Hash, Zero bool
	// Width is the field width, -1 when absent. Prec is the precision, -1
	// when absent; a written precision of 0 is also -1, because stap's
	// translator drops it (`%.0s` prints the whole string).
	Width, Prec int
	// WidthStar and PrecStar mark `*`: the width or precision is a long
	// argument taken before the value.
	WidthStar, PrecStar bool
	// Offset is the byte offset of the directive in the format: its `%`, or
	// the start of a literal. Diagnostics point there.
	Offset int
}

// FormatError is a malformed printf format.
type FormatError struct {
	// Offset is the byte offset of the offending character: the bad
	// conversion letter, or the `%` of a conversion the format cuts short.
	Offset int
	Msg    string
}

// Error returns the message with the offset it applies to.
func (e *FormatError) Error() string {
	return fmt.Sprintf("offset %d: %s", e.Offset, e.Msg)
}

// ParseFormat splits a printf format into literals and conversions,
// `%[flags][width][.prec][length]verb`. Flags may come in any order and
// combination; length modifiers (hh h l ll L z j t) are accepted and
// ignored, because every stp value is 64 bits. A `%` at the very end of the
// format is a literal `%`, as in stap. The error, if any, is a *FormatError.
func ParseFormat(format string) ([]Directive, error) {
	var dirs []Directive
	lit := make([]byte, 0, len(format))
	litStart := 0
	flush := func() {
		if len(lit) > 0 {
			dirs = append(dirs, Directive{Literal: string(lit), Width: -1, Prec: -1, Offset: litStart})
			lit = lit[:0]
		}
	}
	i := 0
	for i < len(format) {
		c := format[i]
		if c != '%' {
			if len(lit) == 0 {
				litStart = i
			}
			lit = append(lit, c)
			i++
			continue
		}
		if i+1 == len(format) || format[i+1] == '%' {
			if len(lit) == 0 {
				litStart = i
			}
			lit = append(lit, '%')
			i += 2
			continue
		}
		flush()
		d, next, err := parseConversion(format, i)
		if err != nil {
			return nil, err
		}
		dirs = append(dirs, d)
		i = next
	}
	flush()
	return dirs, nil
}

// parseConversion parses the conversion whose `%` is at format[start] and
// returns it with the offset just past it.
func parseConversion(format string, start int) (Directive, int, error) {
	d := Directive{Width: -1, Prec: -1, Offset: start}
	i := start + 1
	short := func() (Directive, int, error) {
		return Directive{}, 0, &FormatError{Offset: start, Msg: "incomplete conversion at end of format"}
	}

flags:
	for ; i < len(format); i++ {
		switch format[i] {
		case '-':
			d.Minus = true
		case '+':
			d.Plus = true
		case ' ':
			d.Space = true
		case '#':
			d.Hash = true
		case '0':
			d.Zero = true
		default:
			break flags
		}
	}

	var err error
	if i < len(format) && format[i] == '*' {
		d.WidthStar = true
		i++
	} else if d.Width, i, err = parseNumber(format, i, "width"); err != nil {
		return Directive{}, 0, err
	}

	if i < len(format) && format[i] == '.' {
		i++
		if i < len(format) && format[i] == '*' {
			d.PrecStar = true
			i++
		} else if d.Prec, i, err = parseNumber(format, i, "precision"); err != nil {
			return Directive{}, 0, err
		} else if d.Prec == 0 {
			d.Prec = -1
		}
	}

	i = skipLength(format, i)
	if i >= len(format) {
		return short()
	}
	switch v := format[i]; v {
	case 'd', 'i', 'u', 'x', 'X', 'o', 'c', 's', 'p', 'b', 'm', 'M':
		d.Verb = v
	default:
		r, _ := utf8.DecodeRuneInString(format[i:])
		return Directive{}, 0, &FormatError{
			Offset: i,
			Msg:    fmt.Sprintf("invalid conversion %q (want one of d i u x X o c s p b m M)", r),
		}
	}
	return d, i + 1, nil
}

// parseNumber reads the decimal digits at format[i:], returning -1 when
// there are none.
func parseNumber(format string, i int, what string) (int, int, error) {
	start := i
	n := 0
	for ; i < len(format) && '0' <= format[i] && format[i] <= '9'; i++ {
		n = n*10 + int(format[i]-'0')
		if n > MaxFieldWidth {
			return 0, 0, &FormatError{Offset: start, Msg: fmt.Sprintf("%s too large (at most %d)", what, MaxFieldWidth)}
		}
	}
	if i == start {
		return -1, i, nil
	}
	return n, i, nil
}

// skipLength skips a C length modifier at format[i:].
func skipLength(format string, i int) int {
	if i >= len(format) {
		return i
	}
	switch format[i] {
	case 'h', 'l':
		if i+1 < len(format) && format[i+1] == format[i] {
			return i + 2
		}
		return i + 1
	case 'L', 'z', 'j', 't':
		return i + 1
	}
	return i
}

// ArgTypes returns the types of the arguments d consumes, in order: a long
// for each `*`, then the value. %s takes a string; %m and %M take Memory
// in the record (the script passes the address, a long, and the probe
// copies the bytes); every other conversion takes a long. A literal
// consumes nothing.
func (d Directive) ArgTypes() []Type {
	if d.Verb == 0 {
		return nil
	}
	var ts []Type
	if d.WidthStar {
		ts = append(ts, Long)
	}
	if d.PrecStar {
		ts = append(ts, Long)
	}
	switch d.Verb {
	case 's':
		return append(ts, String)
	case 'm', 'M':
		// The script passes an address; the record carries the bytes.
		return append(ts, Memory)
	}
	return append(ts, Long)
}

// FormatArgTypes returns the types of the arguments a whole parsed format
// consumes, in order.
func FormatArgTypes(dirs []Directive) []Type {
	var ts []Type
	for _, d := range dirs {
		ts = append(ts, d.ArgTypes()...)
	}
	return ts
}
