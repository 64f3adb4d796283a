package lang

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// errRange is the error of an integer literal above 2^64-1.
var errRange = errors.New("out of range")

// parseUint decodes a decimal, 0x hex or 0 octal literal as the full
// unsigned 64 bits; the caller wraps it into int64 as stap does, so
// 0xffffffffffffffff is -1.
func parseUint(text string) (uint64, error) {
	base, digits := 10, text
	switch {
	case len(text) > 1 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'):
		base, digits = 16, text[2:]
		if digits == "" {
			return 0, errors.New("no digits after 0x")
		}
	case len(text) > 1 && text[0] == '0':
		base, digits = 8, text[1:]
	}
	var v uint64
	for i := 0; i < len(digits); i++ {
		d, ok := digitValue(digits[i])
		if !ok || d >= base {
			if base == 8 && ok && d < 10 {
				return 0, fmt.Errorf("invalid digit '%c' in octal literal", digits[i])
			}
			return 0, fmt.Errorf("invalid character '%c'", digits[i])
		}
		// Overflow checks: v*base must fit, and so must adding d.
		if v > (1<<64-1)/uint64(base) {
			return 0, errRange
		}
		v *= uint64(base)
		if v > 1<<64-1-uint64(d) {
			return 0, errRange
		}
		v += uint64(d)
	}
	return v, nil
}

func digitValue(c byte) (int, bool) {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0'), true
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10, true
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10, true
	}
	return 0, false
}

// unescape resolves the C escapes of a string literal's body. report, when
// not nil, hears of malformed escapes with their byte offset in body; the
// result then holds the best guess, so the parser can decode again quietly.
// Like stap, an unknown escape stands for its character without the
// backslash: "\." is ".", so a regular expression that means a literal dot
// is written "\\.".
func unescape(body string, report func(off int, msg string)) string {
	if strings.IndexByte(body, '\\') < 0 {
		return body
	}
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' || i+1 == len(body) {
			b.WriteByte(c)
			continue
		}
		at := i
		i++
		switch e := body[i]; e {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'v':
			b.WriteByte('\v')
		case '\\', '"':
			b.WriteByte(e)
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v, n := 0, 0
			for ; n < 3 && i+n < len(body) && body[i+n] >= '0' && body[i+n] <= '7'; n++ {
				v = v*8 + int(body[i+n]-'0')
			}
			i += n - 1
			if v > 0xff && report != nil {
				report(at, fmt.Sprintf("octal escape '%s' is above \\377", body[at:i+1]))
			}
			b.WriteByte(byte(v))
		case 'x':
			v, n := 0, 0
			for ; n < 2 && i+1+n < len(body); n++ {
				d, ok := digitValue(body[i+1+n])
				if !ok {
					break
				}
				v = v*16 + d
			}
			if n == 0 && report != nil {
				report(at, `\x used with no following hex digits`)
			}
			i += n
			b.WriteByte(byte(v))
		default:
			b.WriteByte(e)
		}
	}
	return b.String()
}

// quote writes s as an stp string literal that unescape reads back as s.
// Octal escapes take three digits so that a digit after them is not eaten.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if c < 0x20 || c == 0x7f {
				fmt.Fprintf(&b, `\%03o`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// describeChar names the character that starts s, for an error message,
// and says how many bytes it takes.
func describeChar(s string) (string, int) {
	r, size := utf8.DecodeRuneInString(s)
	switch {
	case r == utf8.RuneError && size <= 1:
		return fmt.Sprintf("byte 0x%02x", s[0]), 1
	case !strconv.IsPrint(r):
		return fmt.Sprintf("%U", r), size
	}
	return fmt.Sprintf("'%c'", r), size
}
