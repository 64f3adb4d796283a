package vm

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// A pointer is a region id in the high 32 bits and an offset in the low 32
// bits. Id 0 is no region, so small integers are never pointers, and a
// pointer moved below its region's start lands at a huge offset of the
// region before it, out of that region's bounds.
const (
	stackSize = 512
	maxFrames = 8

	regionStack = 1 // frame i's stack is region regionStack+i
	regionCtx   = regionStack + maxFrames
	// firstDynamic is the first region made during a Run, for map values.
	firstDynamic = regionCtx + 1
	// maxRegions bounds the memory a Run can pin by looking up distinct
	// keys.
	maxRegions = 1 << 20
)

func pointer(id int, off uint32) uint64 { return uint64(id)<<32 | uint64(off) }

// mapHandleTag marks a map handle, what LoadMapPtr loads: the tag and the
// map's index in Program.maps. As a pointer its region id is far beyond any
// region, so dereferencing a handle faults.
const mapHandleTag = 0xe7a9 << 48

func mapHandle(idx int) uint64 { return mapHandleTag | uint64(idx) }

// funcTag marks a callback's address, what a LoadImm64 of a PseudoFunc
// loads: the tag and the index of the callback's first instruction.
const funcTag = 0xe7aa << 48

func funcPointer(pc int) uint64 { return funcTag | uint64(pc) }

type regionKind uint8

const (
	// kindNone is region 0, which no pointer may name.
	kindNone regionKind = iota
	kindStack
	kindCtx
	kindMapValue
	// kindMapKey is a key a helper hands a callback, read-only.
	kindMapKey
)

// region is memory a program may address.
type region struct {
	data []byte
	kind regionKind
	// readOnly is set for the context.
	readOnly bool
	// writeBack is set for a copy of a map value: after a store into it,
	// data is written back to mp under key.
	writeBack bool
	mp        *progMap
	key       []byte
}

// load returns the n bytes at addr, or nil if they are not all inside one
// region.
func (m *machine) load(addr, n uint64) []byte {
	id := addr >> 32
	if id >= uint64(len(m.regions)) {
		return nil
	}
	data := m.regions[id].data
	off := addr & 0xffffffff
	if n > uint64(len(data)) || off > uint64(len(data))-n {
		return nil
	}
	return data[off : off+n]
}

// store is load for writing: it also returns the region, for written.
func (m *machine) store(addr, n uint64) ([]byte, *region) {
	id := addr >> 32
	if id >= uint64(len(m.regions)) {
		return nil, nil
	}
	r := &m.regions[id]
	off := addr & 0xffffffff
	if r.readOnly || n > uint64(len(r.data)) || off > uint64(len(r.data))-n {
		return nil, nil
	}
	return r.data[off : off+n], r
}

// written makes a store into r visible to later lookups. Only copies of
// kernel map values need it; callers test r.writeBack first to keep the
// common path short.
func (m *machine) written(r *region) error {
	err := r.mp.m.Update(r.key, r.data, UpdateExist)
	if errno, ok := errnoOf(err); ok && errno == unix.ENOENT {
		// Deleted since the lookup: in the kernel the store lands in
		// the detached element and is lost too.
		return nil
	}
	if err != nil {
		return fmt.Errorf("write back to map %q: %w", r.mp.name, err)
	}
	return nil
}

// loadArg is load for helpers, with an error that says what is wrong.
func (m *machine) loadArg(addr, n uint64, what string) ([]byte, error) {
	if b := m.load(addr, n); b != nil {
		return b, nil
	}
	return nil, fmt.Errorf("%s: %w", what, m.accessError(addr, n, false))
}

// storeArg is store for helpers, with an error that says what is wrong.
func (m *machine) storeArg(addr, n uint64, what string) ([]byte, *region, error) {
	if b, r := m.store(addr, n); b != nil {
		return b, r, nil
	}
	return nil, nil, fmt.Errorf("%s: %w", what, m.accessError(addr, n, true))
}

// accessError explains why n bytes at addr cannot be accessed. It runs only
// on the way to a Fault, so it may take its time.
func (m *machine) accessError(addr, n uint64, write bool) error {
	verb := "read"
	if write {
		verb = "write"
	}
	id, off := int64(addr>>32), int64(addr&0xffffffff)
	// A pointer moved below its region's start looks like a huge offset
	// into the region before; report it as the negative offset it is.
	if off >= 1<<31 && id+1 < int64(len(m.regions)) && id+1 >= regionStack {
		id, off = id+1, off-1<<32
	}
	switch {
	case addr&^0xffffffff == mapHandleTag:
		return fmt.Errorf("%s of %d bytes through a map handle, not a pointer", verb, n)
	case addr&^0xffffffff == funcTag:
		return fmt.Errorf("%s of %d bytes through a callback's address, not a pointer", verb, n)
	case id < regionStack || id >= int64(len(m.regions)):
		return fmt.Errorf("%s of %d bytes at %#x: not a pointer", verb, n, addr)
	}
	r := &m.regions[id]
	if write && r.readOnly {
		return fmt.Errorf("write of %d bytes into the read-only %s", n, m.describe(int(id)))
	}
	return fmt.Errorf("%s of %d bytes at offset %d of the %s (%d bytes): out of bounds", verb, n, off, m.describe(int(id)), len(r.data))
}

func (m *machine) describe(id int) string {
	r := &m.regions[id]
	switch r.kind {
	case kindStack:
		return fmt.Sprintf("stack of frame %d", id-regionStack)
	case kindCtx:
		return "context"
	case kindMapValue:
		return fmt.Sprintf("value in map %q", r.mp.name)
	case kindMapKey:
		return fmt.Sprintf("key in map %q", r.mp.name)
	}
	return "nothing"
}

var errTooManyRegions = errors.New("too many map values looked up in one run")

// newRegion adds r and returns its id.
func (m *machine) newRegion(r region) (int, error) {
	if len(m.regions) >= maxRegions {
		return 0, errTooManyRegions
	}
	m.regions = append(m.regions, r)
	return len(m.regions) - 1, nil
}

// alloc returns n zeroed bytes that live until the Run ends. Bytes handed
// out earlier stay where they are when the arena grows: regions point at
// them.
func (m *machine) alloc(n int) []byte {
	if len(m.arena)+n > cap(m.arena) {
		m.arena = make([]byte, 0, max(2*cap(m.arena), n, 4096))
	}
	start := len(m.arena)
	m.arena = m.arena[:start+n]
	b := m.arena[start : start+n : start+n]
	clear(b)
	return b
}
