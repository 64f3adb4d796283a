package output

import (
	"bufio"
	"debug/elf"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"etap/maps"
)

// Symbols names the user-space addresses of processes, from their
// /proc/PID/maps and the ELF symbol tables of the files they map. A
// process that has exited by the time its record is printed can no longer
// be asked: its addresses print in hex.
type Symbols struct {
	procs map[uint32][]mapping
	files map[string]*symFile
}

// mapping is one file-backed line of /proc/PID/maps.
type mapping struct {
	start, end, offset uint64
	path               string
}

// symFile is the symbol table of one file, sorted by address, with its
// loadable segments to turn file offsets into addresses.
type symFile struct {
	syms  []fileSym
	loads []elf.ProgHeader
}

type fileSym struct {
	name       string
	addr, size uint64
}

// Frame is an address named: Offset bytes into the symbol Name of Size
// bytes, in the file Module.
type Frame struct {
	Addr         uint64
	Name, Module string
	Offset, Size uint64
}

// NewSymbols returns an empty cache.
func NewSymbols() *Symbols {
	return &Symbols{procs: map[uint32][]mapping{}, files: map[string]*symFile{}}
}

// Lookup names addr in process pid. The mappings of a process are read
// once, and again when an address falls outside them (after a dlopen).
func (s *Symbols) Lookup(pid uint32, addr uint64) (Frame, bool) {
	f := Frame{Addr: addr}
	m, ok := findMapping(s.procs[pid], addr)
	if !ok {
		s.Remember(pid)
		if m, ok = findMapping(s.procs[pid], addr); !ok {
			return f, false
		}
	}
	f.Module = m.path
	sf := s.file(m.path)
	off := addr - m.start + m.offset
	for _, p := range sf.loads {
		if p.Off <= off && off < p.Off+p.Filesz {
			vaddr := off - p.Off + p.Vaddr
			i := sort.Search(len(sf.syms), func(i int) bool { return sf.syms[i].addr > vaddr }) - 1
			if i >= 0 && vaddr < sf.syms[i].addr+max(sf.syms[i].size, 1) {
				f.Name, f.Offset, f.Size = sf.syms[i].name, vaddr-sf.syms[i].addr, sf.syms[i].size
				return f, true
			}
		}
	}
	return f, false
}

// Remember reads the mappings of process pid now, while it runs; what it
// read last stays once the process has exited.
func (s *Symbols) Remember(pid uint32) {
	if ms := readMaps(pid); ms != nil {
		s.procs[pid] = ms
	}
}

func findMapping(ms []mapping, addr uint64) (mapping, bool) {
	for _, m := range ms {
		if m.start <= addr && addr < m.end {
			return m, true
		}
	}
	return mapping{}, false
}

// readMaps parses /proc/PID/maps: "start-end perms offset dev inode path".
func readMaps(pid uint32) []mapping {
	f, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return nil
	}
	defer f.Close()
	var ms []mapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || !strings.HasPrefix(fields[5], "/") {
			continue
		}
		lo, hi, _ := strings.Cut(fields[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		off, err3 := strconv.ParseUint(fields[2], 16, 64)
		if err1 == nil && err2 == nil && err3 == nil {
			ms = append(ms, mapping{start: start, end: end, offset: off, path: fields[5]})
		}
	}
	return ms
}

// file reads the symbols of the file at path once; a file that cannot be
// read has none.
func (s *Symbols) file(path string) *symFile {
	if sf, ok := s.files[path]; ok {
		return sf
	}
	sf := &symFile{}
	s.files[path] = sf
	f, err := elf.Open(path)
	if err != nil {
		return sf
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			sf.loads = append(sf.loads, p.ProgHeader)
		}
	}
	syms, _ := f.Symbols()
	dyn, _ := f.DynamicSymbols()
	for _, sym := range append(syms, dyn...) {
		t := elf.ST_TYPE(sym.Info)
		if sym.Value == 0 || sym.Section == elf.SHN_UNDEF || t != elf.STT_FUNC && t != elf.STT_OBJECT && t != elf.STT_GNU_IFUNC {
			continue
		}
		sf.syms = append(sf.syms, fileSym{name: sym.Name, addr: sym.Value, size: sym.Size})
	}
	// Of several names for one address (__nanosleep and nanosleep), keep
	// the one with the fewest leading underscores: the public one.
	sort.Slice(sf.syms, func(i, j int) bool {
		a, b := sf.syms[i], sf.syms[j]
		if a.addr != b.addr {
			return a.addr < b.addr
		}
		ua, ub := underscores(a.name), underscores(b.name)
		if ua != ub {
			return ua < ub
		}
		return a.name < b.name
	})
	sf.syms = slices.CompactFunc(sf.syms, func(a, b fileSym) bool { return a.addr == b.addr })
	return sf
}

func underscores(name string) int { return len(name) - len(strings.TrimLeft(name, "_")) }

// Name spells a symbolic string as its kind says, as stap prints it.
func (s *Symbols) Name(sym maps.Symbolic) string {
	var b strings.Builder
	for i, addr := range sym.Addrs {
		f, ok := s.Lookup(sym.Pid, addr)
		switch sym.Kind {
		case maps.SymbolName:
			if ok {
				return f.Name
			}
			return fmt.Sprintf("%#x", addr)
		case maps.SymbolData:
			return frameText(f, ok)
		case maps.SymbolAddresses:
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%#x", addr)
		case maps.SymbolLines:
			fmt.Fprintf(&b, " 0x%016x : %s\n", addr, frameText(f, ok))
		}
	}
	return b.String()
}

// frameText spells a frame as stap's usymdata does:
// "main+0x1c/0x5a [/usr/bin/prog]".
func frameText(f Frame, ok bool) string {
	if !ok {
		if f.Module != "" {
			return fmt.Sprintf("%#x [%s]", f.Addr, f.Module)
		}
		return fmt.Sprintf("%#x", f.Addr)
	}
	return fmt.Sprintf("%s+%#x/%#x [%s]", f.Name, f.Offset, f.Size, f.Module)
}
