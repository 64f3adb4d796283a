package sema

import (
	"bytes"
	"debug/dwarf"
	"debug/elf"
	"debug/gosym"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Binaries is what sema needs to know about user-space programs for
// process(...) probes: their function symbols, their SDT probes and the
// names of their functions' parameters. ELFFiles reads the real files;
// tests may use a fake.
type Binaries interface {
	// Binary reads the program at path; a name without a slash is looked
	// up in PATH, as a shell would.
	Binary(path string) (*Binary, error)
	// Signature gives the parameters and the result of a function from
	// the binary's DWARF; nil when the binary has no DWARF for it.
	Signature(b *Binary, function string) *Signature
}

// Signature is what DWARF says about a function's parameters and result.
type Signature struct {
	Params []Param
	// Result is the result, or a Go function's first; nil for a function
	// that returns nothing.
	Result *Param
}

// Binary is what an executable or shared library offers to probe.
type Binary struct {
	// Path is the file, absolute and with symbolic links resolved: uprobes
	// attach to an inode.
	Path string
	// Go is set for Go programs, whose functions take their arguments in
	// other registers than the C calling convention's.
	Go bool
	// Functions are the defined function symbols, sorted by name, each
	// name once.
	Functions []Symbol
	// Marks are the SDT probes of the .note.stapsdt section.
	Marks []Mark
	// Loads are the loadable segments, to turn addresses into offsets in
	// the file, which is what uprobes attach at.
	Loads []Segment
}

// Symbol is one function of a binary.
type Symbol struct {
	Name       string
	Addr, Size uint64
}

// Mark is one SDT probe (USDT): a nop at Addr that user space marked with
// its provider and name, whose arguments Args describes in the
// assembler's operand syntax ("-4@%edi 8@-16(%rbp)"). Semaphore, when not
// 0, is the address of a counter the program tests before it computes the
// arguments: attaching must increment it.
type Mark struct {
	Provider, Name  string
	Addr, Semaphore uint64
	Args            string
}

// Segment is one PT_LOAD program header.
type Segment struct {
	Addr, Size, Offset uint64
}

// Param is one parameter or the result of a function, from DWARF.
type Param struct {
	Name string
	// Size is its size in bytes; Float is set for floating-point
	// parameters, which travel in other registers.
	Size  int
	Float bool
	// Signed is set for signed integers.
	Signed bool
	CType  string
}

// FileOffset turns an address of the binary into an offset in its file.
func (b *Binary) FileOffset(addr uint64) (uint64, bool) {
	for _, s := range b.Loads {
		if s.Addr <= addr && addr < s.Addr+s.Size {
			return addr - s.Addr + s.Offset, true
		}
	}
	return 0, false
}

// ELFFiles reads binaries with debug/elf, each once.
type ELFFiles struct {
	mu    sync.Mutex
	files map[string]*elfEntry
}

type elfEntry struct {
	bin  *Binary
	err  error
	sigs map[string]*Signature
}

// NewELFFiles returns a Binaries that reads the files of this machine.
func NewELFFiles() *ELFFiles { return &ELFFiles{files: map[string]*elfEntry{}} }

// Binary reads the file at path, or finds a bare name in PATH.
func (e *ELFFiles) Binary(path string) (*Binary, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ent, ok := e.files[path]; ok {
		return ent.bin, ent.err
	}
	bin, err := readBinary(path)
	e.files[path] = &elfEntry{bin: bin, err: err}
	return bin, err
}

// Signature reads the DWARF of b on first use.
func (e *ELFFiles) Signature(b *Binary, function string) *Signature {
	e.mu.Lock()
	defer e.mu.Unlock()
	ent, ok := e.files[b.Path]
	if !ok {
		ent = &elfEntry{bin: b}
		e.files[b.Path] = ent
	}
	if ent.sigs == nil {
		ent.sigs = readSignatures(b.Path)
	}
	return ent.sigs[function]
}

func readBinary(path string) (*Binary, error) {
	if !strings.Contains(path, "/") {
		found, err := findProgram(path)
		if err != nil {
			return nil, err
		}
		path = found
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	f, err := elf.Open(abs)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return nil, fmt.Errorf("%s is not an executable or a shared library", abs)
	}
	b := &Binary{Path: abs, Go: f.Section(".go.buildinfo") != nil || f.Section(".gopclntab") != nil}
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			b.Loads = append(b.Loads, Segment{Addr: p.Vaddr, Size: p.Memsz, Offset: p.Off})
		}
	}
	syms, _ := f.Symbols()
	dyn, _ := f.DynamicSymbols()
	seen := map[string]bool{}
	for _, s := range append(syms, dyn...) {
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC && elf.ST_TYPE(s.Info) != elf.STT_GNU_IFUNC || s.Value == 0 || s.Section == elf.SHN_UNDEF || seen[s.Name] {
			continue
		}
		seen[s.Name] = true
		b.Functions = append(b.Functions, Symbol{Name: s.Name, Addr: s.Value, Size: s.Size})
	}
	if len(b.Functions) == 0 && b.Go {
		b.Functions = goFunctions(f)
	}
	sort.Slice(b.Functions, func(i, j int) bool { return b.Functions[i].Name < b.Functions[j].Name })
	if b.Marks, err = readMarks(f); err != nil {
		return nil, fmt.Errorf("%s: %w", abs, err)
	}
	return b, nil
}

// goFunctions reads the functions of a Go program built without a symbol
// table (go build -ldflags=-s) from its .gopclntab, which the Go runtime
// needs for its own tracebacks and so is never stripped.
func goFunctions(f *elf.File) []Symbol {
	pcln, text := f.Section(".gopclntab"), f.Section(".text")
	if pcln == nil || text == nil {
		return nil
	}
	data, err := pcln.Data()
	if err != nil {
		return nil
	}
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(data, text.Addr))
	if err != nil {
		return nil
	}
	syms := make([]Symbol, 0, len(tab.Funcs))
	for _, fn := range tab.Funcs {
		syms = append(syms, Symbol{Name: fn.Name, Addr: fn.Entry, Size: fn.End - fn.Entry})
	}
	return syms
}

// libraryDirs are where a shared library named without a directory
// (process("libc.so.6")) is looked for, after PATH: the dynamic linker's
// default directories on Debian and elsewhere.
var libraryDirs = []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"}

// findProgram finds a program in PATH, or a library in libraryDirs.
func findProgram(name string) (string, error) {
	found, err := exec.LookPath(name)
	if err == nil {
		return found, nil
	}
	for _, dir := range libraryDirs {
		if p := filepath.Join(dir, name); fileExists(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("no program %s in $PATH, nor a library in %s", name, strings.Join(libraryDirs, ", "))
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// readMarks parses the SDT notes. Each note's descriptor holds the
// probe's address, the link-time address of the .stapsdt.base section and
// the semaphore's address, then three NUL-terminated strings: provider,
// name and argument operands. A binary moved since it was linked (by
// prelink) has its .stapsdt.base elsewhere: the addresses move with it.
func readMarks(f *elf.File) ([]Mark, error) {
	sec := f.Section(".note.stapsdt")
	if sec == nil {
		return nil, nil
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("read .note.stapsdt: %w", err)
	}
	var shift uint64
	base := f.Section(".stapsdt.base")
	bo := f.ByteOrder
	var marks []Mark
	for len(data) >= 12 {
		nameSize, descSize, typ := bo.Uint32(data), bo.Uint32(data[4:]), bo.Uint32(data[8:])
		nameEnd := 12 + align4(int(nameSize))
		descEnd := nameEnd + align4(int(descSize))
		if descEnd > len(data) || int(descSize) < 24 {
			return nil, errors.New("truncated .note.stapsdt")
		}
		name := string(bytes.TrimRight(data[12:12+nameSize], "\x00"))
		desc := data[nameEnd : nameEnd+int(descSize)]
		data = data[descEnd:]
		if name != "stapsdt" || typ != 3 {
			continue
		}
		m := Mark{Addr: bo.Uint64(desc), Semaphore: bo.Uint64(desc[16:])}
		if base != nil {
			shift = base.Addr - bo.Uint64(desc[8:])
		}
		m.Addr += shift
		if m.Semaphore != 0 {
			m.Semaphore += shift
		}
		strs := strings.SplitN(string(desc[24:]), "\x00", 4)
		if len(strs) < 3 {
			return nil, errors.New("bad .note.stapsdt descriptor")
		}
		m.Provider, m.Name, m.Args = strs[0], strs[1], strs[2]
		marks = append(marks, m)
	}
	return marks, nil
}

func align4(n int) int { return (n + 3) &^ 3 }

// readSignatures reads every function's signature from the DWARF of the
// file at path; a binary without DWARF has none.
func readSignatures(path string) map[string]*Signature {
	sigs := map[string]*Signature{}
	f, err := elf.Open(path)
	if err != nil {
		return sigs
	}
	defer f.Close()
	d, err := f.DWARF()
	if err != nil {
		return sigs
	}
	r := d.Reader()
	for {
		ent, err := r.Next()
		if err != nil || ent == nil {
			return sigs
		}
		if ent.Tag != dwarf.TagSubprogram {
			continue
		}
		name, _ := ent.Val(dwarf.AttrName).(string)
		sig := &Signature{}
		if _, ok := ent.Val(dwarf.AttrType).(dwarf.Offset); ok {
			result := dwarfParam(d, ent)
			result.Name = ""
			sig.Result = &result
		}
		for ent.Children {
			child, err := r.Next()
			if err != nil || child == nil || child.Tag == 0 {
				break
			}
			if child.Children {
				r.SkipChildren()
			}
			if child.Tag != dwarf.TagFormalParameter {
				continue
			}
			// Go lists its results as parameters marked as outputs.
			if out, _ := child.Val(dwarf.AttrVarParam).(bool); out {
				if sig.Result == nil {
					result := dwarfParam(d, child)
					result.Name = ""
					sig.Result = &result
				}
				continue
			}
			sig.Params = append(sig.Params, dwarfParam(d, child))
		}
		if _, dup := sigs[name]; name != "" && !dup {
			sigs[name] = sig
		}
	}
}

func dwarfParam(d *dwarf.Data, ent *dwarf.Entry) Param {
	p := Param{Size: -1}
	p.Name, _ = ent.Val(dwarf.AttrName).(string)
	off, ok := ent.Val(dwarf.AttrType).(dwarf.Offset)
	if !ok {
		return p
	}
	t, err := d.Type(off)
	if err != nil {
		return p
	}
	p.CType = t.String()
	p.Size = int(t.Size())
	for {
		td, ok := t.(*dwarf.TypedefType)
		if !ok {
			break
		}
		t = td.Type
	}
	switch t.(type) {
	case *dwarf.FloatType:
		p.Float = true
	case *dwarf.IntType, *dwarf.CharType:
		p.Signed = true
	}
	return p
}
