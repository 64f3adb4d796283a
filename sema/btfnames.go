package sema

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// Wildcards and "did you mean" need the names of all the kernel's
// functions. cilium/ebpf decodes every type (and what it refers to) to list
// them, a quarter of a second or more for vmlinux; the names alone are a
// walk over the raw type headers, a few milliseconds.

// btfDir is where the kernel publishes its BTF and its modules'.
const btfDir = "/sys/kernel/btf"

// Functions lists the functions in the BTF of the kernel (module "") or of
// a module, sorted, each name once; it reads them on first use and keeps
// them.
func (t *Tracefs) Functions(module string) ([]string, error) {
	t.namesMu.Lock()
	defer t.namesMu.Unlock()
	if names, ok := t.names[module]; ok {
		return names, nil
	}
	vmlinux, err := os.ReadFile(filepath.Join(btfDir, "vmlinux"))
	if err != nil {
		return nil, fmt.Errorf("read kernel BTF: %w", err)
	}
	raw, base := vmlinux, []byte(nil)
	if module != "" {
		if filepath.Base(module) != module {
			return nil, fmt.Errorf("bad module name %q", module)
		}
		if raw, err = os.ReadFile(filepath.Join(btfDir, module)); err != nil {
			return nil, fmt.Errorf("read BTF of module %s: %w", module, err)
		}
		base = vmlinux
	}
	names, err := btfFunctionNames(raw, base)
	if err != nil {
		return nil, fmt.Errorf("BTF of %s: %w", module, err)
	}
	if t.names == nil {
		t.names = map[string][]string{}
	}
	t.names[module] = names
	return names, nil
}

// KfuncID returns the BTF type id of a kernel function that BPF programs
// may call (a kfunc), or 0 when the kernel has no such function.
func (t *Tracefs) KfuncID(name string) (uint32, error) {
	t.namesMu.Lock()
	defer t.namesMu.Unlock()
	if t.kernelIDs == nil {
		vmlinux, err := os.ReadFile(filepath.Join(btfDir, "vmlinux"))
		if err != nil {
			return 0, fmt.Errorf("read kernel BTF: %w", err)
		}
		if t.kernelIDs, err = btfFunctionIDs(vmlinux, nil); err != nil {
			return 0, fmt.Errorf("kernel BTF: %w", err)
		}
	}
	return t.kernelIDs[name], nil
}

// btfHeader is struct btf_header.
type btfHeader struct {
	Magic   uint16
	Version uint8
	Flags   uint8
	HdrLen  uint32
	TypeOff uint32
	TypeLen uint32
	StrOff  uint32
	StrLen  uint32
}

const (
	btfMagic    = 0xeb9f
	btfKindFunc = 12
)

// btfTrailer gives the bytes that follow a type of each kind: fixed, and
// per element of its vlen.
var btfTrailer = map[uint32]struct{ fixed, each int }{
	1: {4, 0}, 2: {0, 0}, 3: {12, 0}, 4: {0, 12}, 5: {0, 12}, 6: {0, 8}, 7: {0, 0},
	8: {0, 0}, 9: {0, 0}, 10: {0, 0}, 11: {0, 0}, 12: {0, 0}, 13: {0, 8}, 14: {4, 0},
	15: {0, 12}, 16: {0, 0}, 17: {4, 0}, 18: {0, 0}, 19: {0, 12},
}

// btfFunctionNames lists the functions of raw BTF, sorted and without
// repeats.
func btfFunctionNames(raw, base []byte) ([]string, error) {
	ids, err := btfFunctionIDs(raw, base)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ids))
	for name := range ids {
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}

// btfFunctionIDs maps the names of the functions of raw BTF to their type
// ids. For a module's BTF, base is the kernel's, whose strings a module's
// names may use: string offsets of split BTF continue after the base's.
// (So do its type ids, which this numbers from 1: they are right for the
// kernel's BTF only.)
func btfFunctionIDs(raw, base []byte) (map[string]uint32, error) {
	var baseStrings []byte
	if base != nil {
		_, _, strs, err := btfSections(base)
		if err != nil {
			return nil, err
		}
		baseStrings = strs
	}
	order, types, strs, err := btfSections(raw)
	if err != nil {
		return nil, err
	}
	str := func(off uint32) (string, error) {
		s := strs
		if int(off) < len(baseStrings) {
			s = baseStrings
		} else {
			off -= uint32(len(baseStrings))
		}
		if int(off) >= len(s) {
			return "", fmt.Errorf("name offset %d out of range", off)
		}
		end := bytes.IndexByte(s[off:], 0)
		if end < 0 {
			return "", errors.New("unterminated name")
		}
		return string(s[off : int(off)+end]), nil
	}
	ids := map[string]uint32{}
	for id := uint32(1); len(types) > 0; id++ {
		if len(types) < 12 {
			return nil, errors.New("truncated type")
		}
		nameOff, info := order.Uint32(types), order.Uint32(types[4:])
		kind, vlen := info>>24&0x1f, int(info&0xffff)
		trailer, ok := btfTrailer[kind]
		if !ok {
			return nil, fmt.Errorf("unknown type kind %d", kind)
		}
		if kind == btfKindFunc {
			name, err := str(nameOff)
			if err != nil {
				return nil, err
			}
			ids[name] = id
		}
		n := 12 + trailer.fixed + trailer.each*vlen
		if n > len(types) {
			return nil, errors.New("truncated type")
		}
		types = types[n:]
	}
	return ids, nil
}

// btfSections returns the byte order and the type and string sections of
// raw BTF.
func btfSections(raw []byte) (binary.ByteOrder, []byte, []byte, error) {
	var h btfHeader
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		if _, err := binary.Decode(raw, order, &h); err != nil {
			return nil, nil, nil, fmt.Errorf("read BTF header: %w", err)
		}
		if h.Magic != btfMagic {
			continue
		}
		start := uint64(h.HdrLen)
		typeEnd := start + uint64(h.TypeOff) + uint64(h.TypeLen)
		strEnd := start + uint64(h.StrOff) + uint64(h.StrLen)
		if typeEnd > uint64(len(raw)) || strEnd > uint64(len(raw)) {
			return nil, nil, nil, errors.New("BTF sections out of range")
		}
		return order, raw[start+uint64(h.TypeOff) : typeEnd], raw[start+uint64(h.StrOff) : strEnd], nil
	}
	return nil, nil, nil, errors.New("not BTF: bad magic")
}
