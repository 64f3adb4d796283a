package output

import (
	"debug/elf"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/maps"
)

// TestSymbolsOfAProcess names an address of libc's nanosleep in a running
// sleep(1) from the process's mappings and libc's dynamic symbols, as the
// printer does for a probed process. (Test binaries have no symbol table
// of their own: go test strips it.)
func TestSymbolsOfAProcess(t *testing.T) {
	cmd := exec.Command("sleep", "10")
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill()
	pid := uint32(cmd.Process.Pid)
	var libc mapping
	require.Eventually(t, func() bool {
		for _, m := range readMaps(pid) {
			if strings.Contains(m.path, "libc.so") && m.offset == 0 {
				libc = m
				return true
			}
		}
		return false
	}, 5*time.Second, 10*time.Millisecond, "sleep maps libc")
	f, err := elf.Open(libc.path)
	require.NoError(t, err)
	defer f.Close()
	syms, err := f.DynamicSymbols()
	require.NoError(t, err)
	var sym elf.Symbol
	for _, s := range syms {
		if s.Name == "nanosleep" && s.Value != 0 {
			sym = s
		}
	}
	require.NotZero(t, sym.Value, "libc exports nanosleep")
	addr := libc.start + sym.Value

	s := NewSymbols()
	fr, ok := s.Lookup(pid, addr+1)
	require.True(t, ok)
	assert.Equal(t, Frame{Addr: addr + 1, Name: "nanosleep", Module: libc.path, Offset: 1, Size: sym.Size}, fr)
	assert.Equal(t, "nanosleep", s.Name(maps.Symbolic{Kind: maps.SymbolName, Pid: pid, Addrs: []uint64{addr}}))
	assert.Equal(t, fmt.Sprintf("nanosleep+0x2/%#x [%s]", sym.Size, libc.path),
		s.Name(maps.Symbolic{Kind: maps.SymbolData, Pid: pid, Addrs: []uint64{addr + 2}}))
	assert.Equal(t, fmt.Sprintf(" 0x%016x : nanosleep+0x0/%#x [%s]\n 0x0000000000000008 : 0x8\n", addr, sym.Size, libc.path),
		s.Name(maps.Symbolic{Kind: maps.SymbolLines, Pid: pid, Addrs: []uint64{addr, 8}}))
	assert.Equal(t, "0x10 0x20", s.Name(maps.Symbolic{Kind: maps.SymbolAddresses, Pid: pid, Addrs: []uint64{16, 32}}))
}

// TestSymbolsOfAGoneProcess: without mappings an address prints in hex.
func TestSymbolsOfAGoneProcess(t *testing.T) {
	s := NewSymbols()
	assert.Equal(t, "0x1234", s.Name(maps.Symbolic{Kind: maps.SymbolName, Pid: 1 << 30, Addrs: []uint64{0x1234}}))
}
