package maps

import "strings"

// Symbolic strings carry user-space addresses that only user space can
// name: the kernel side of usymname(), usymdata(), ubacktrace() and
// print_ubacktrace() cannot read a program's symbol table, so it writes
// the process id and the raw addresses into the string, and the printer
// replaces the whole symbolic string by the names when it prints it. The
// string is an escape, a kind letter, the pid and the addresses, then an
// escape; each number is spelt in 7-bit groups, least significant first,
// each with its high bit set, so that the string has no NUL:
//
//	ESC 's' pid[5] addr[10] ESC                  usymname(addr)
//	ESC 'b' pid[5] addr[10] addr[10] ... ESC     ubacktrace()
//
// Strings compare and hash as their bytes, so two usymname()s of the same
// address are equal, and of two addresses in one function are not.
const (
	SymbolicEscape = 0x1b
	// The kinds of symbolic strings.
	SymbolName      = 's' // usymname: the function's name, or the address in hex
	SymbolData      = 'd' // usymdata: name+0xoffset/0xsize [module]
	SymbolAddresses = 'b' // ubacktrace: the addresses in hex, spaced
	SymbolLines     = 'B' // print_ubacktrace: one line per frame
	// PidDigits and AddrDigits are the lengths of the 7-bit spellings of
	// a pid (32 bits) and an address (64 bits).
	PidDigits  = 5
	AddrDigits = 10
	// SymbolicOverhead is the length of a symbolic string with no
	// address: escapes, kind and pid.
	SymbolicOverhead = 3 + PidDigits
)

// Symbolic is one decoded symbolic string.
type Symbolic struct {
	Kind  byte
	Pid   uint32
	Addrs []uint64
}

// AppendSymbolic encodes s, as the kernel side does.
func AppendSymbolic(b []byte, s Symbolic) []byte {
	b = append(b, SymbolicEscape, s.Kind)
	b = appendDigits(b, uint64(s.Pid), PidDigits)
	for _, a := range s.Addrs {
		b = appendDigits(b, a, AddrDigits)
	}
	return append(b, SymbolicEscape)
}

func appendDigits(b []byte, v uint64, n int) []byte {
	for range n {
		b = append(b, 0x80|byte(v&0x7f))
		v >>= 7
	}
	return b
}

func digits(s string) uint64 {
	var v uint64
	for i := len(s) - 1; i >= 0; i-- {
		v = v<<7 | uint64(s[i]&0x7f)
	}
	return v
}

// ExpandSymbolic replaces every symbolic string in s by what name says
// it is. A string cut short by MAXSTRINGLEN keeps the addresses that fit.
func ExpandSymbolic(s string, name func(Symbolic) string) string {
	if strings.IndexByte(s, SymbolicEscape) < 0 {
		return s
	}
	var out strings.Builder
	for {
		i := strings.IndexByte(s, SymbolicEscape)
		if i < 0 || len(s) < i+2+PidDigits {
			out.WriteString(s)
			return out.String()
		}
		out.WriteString(s[:i])
		body := s[i+2:]
		end := strings.IndexByte(body, SymbolicEscape)
		if end < 0 {
			end = len(body)
		}
		sym := Symbolic{Kind: s[i+1], Pid: uint32(digits(body[:PidDigits]))}
		for a := body[PidDigits:end]; len(a) >= AddrDigits; a = a[AddrDigits:] {
			sym.Addrs = append(sym.Addrs, digits(a[:AddrDigits]))
		}
		out.WriteString(name(sym))
		s = body[min(end+1, len(body)):]
	}
}
