package maps

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSymbolicRoundTrip(t *testing.T) {
	syms := []Symbolic{
		{Kind: SymbolName, Pid: 4194303, Addrs: []uint64{0x7fff_ffff_f000}},
		{Kind: SymbolAddresses, Pid: 1, Addrs: []uint64{0, 1, 1<<64 - 1}},
		{Kind: SymbolLines, Pid: 42},
	}
	for _, sym := range syms {
		t.Run(fmt.Sprintf("%c", sym.Kind), func(t *testing.T) {
			enc := string(AppendSymbolic(nil, sym))
			assert.NotContains(t, enc, "\x00", "a symbolic string must survive as a C string")
			var got []Symbolic
			out := ExpandSymbolic("<"+enc+">", func(s Symbolic) string {
				got = append(got, s)
				return "X"
			})
			assert.Equal(t, "<X>", out)
			assert.Equal(t, []Symbolic{sym}, got)
		})
	}
}

// TestSymbolicTruncated: a string cut short by MAXSTRINGLEN keeps the
// addresses that fit, and plain strings pass unchanged.
func TestSymbolicTruncated(t *testing.T) {
	enc := string(AppendSymbolic(nil, Symbolic{Kind: SymbolAddresses, Pid: 7, Addrs: []uint64{10, 20, 30}}))
	cut := enc[:len(enc)-AddrDigits/2-1]
	out := ExpandSymbolic("bt "+cut, func(s Symbolic) string {
		return fmt.Sprint(s.Pid, s.Addrs)
	})
	assert.Equal(t, "bt 7 [10 20]", out)
	assert.Equal(t, "plain", ExpandSymbolic("plain", func(Symbolic) string { panic("no symbolic string") }))
	assert.False(t, strings.ContainsRune(ExpandSymbolic(enc, func(Symbolic) string { return "" }), SymbolicEscape))
}
