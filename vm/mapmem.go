package vm

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Map is a BPF map as the interpreter sees it. Kernel maps are adapted to it
// by the loader (a thin wrapper over *ebpf.Map); tests and per-CPU scratch
// use the in-memory maps of NewArrayMap and NewHashMap.
//
// Errors that carry a unix.Errno (as cilium/ebpf's do) reach the program as
// the negative errno a kernel helper would return; any other error ends the
// run.
type Map interface {
	// KeySize is the size of a key in bytes.
	KeySize() int
	// ValueSize is the size of a value in bytes.
	ValueSize() int
	// Lookup returns the value for key, or ok=false. The value is either
	// the stored value itself (the in-memory maps) or a fresh copy (kernel
	// maps), never a buffer reused by a later call: the interpreter writes
	// into it, and writes a copy back with Update(key, value, UpdateExist).
	Lookup(key []byte) (value []byte, ok bool, err error)
	// Update stores value under key with BPF update flags (UpdateAny,
	// UpdateNoExist, UpdateExist); a full map returns an error wrapping
	// ErrMapFull. It must not keep key or value.
	Update(key, value []byte, flags uint64) error
	// Delete removes key; a missing key returns an error wrapping
	// ErrKeyNotExist.
	Delete(key []byte) error
	// Iterate calls f for each entry (any order) until f returns false. f
	// must not keep key or value.
	Iterate(f func(key, value []byte) bool) error
}

// The flags of Map.Update, as BPF_ANY, BPF_NOEXIST and BPF_EXIST.
const (
	UpdateAny     uint64 = 0
	UpdateNoExist uint64 = 1
	UpdateExist   uint64 = 2
)

// Errors of the in-memory maps. Each wraps the errno the kernel returns in
// the same case, so that helpers can hand it to the program.
var (
	// ErrMapFull is returned when a new key does not fit; helpers report it
	// as -E2BIG.
	ErrMapFull = fmt.Errorf("map is full: %w", unix.E2BIG)
	// ErrKeyNotExist is returned for a missing key (-ENOENT).
	ErrKeyNotExist = fmt.Errorf("key does not exist: %w", unix.ENOENT)
	// ErrKeyExist is returned by UpdateNoExist for a present key (-EEXIST).
	ErrKeyExist = fmt.Errorf("key already exists: %w", unix.EEXIST)
)

var errBadFlags = fmt.Errorf("invalid update flags: %w", unix.EINVAL)

// sharedValues marks the in-memory maps: their Lookup returns the stored
// value itself, so stores through a looked-up pointer need no write-back.
type sharedValues interface {
	sharesValues()
}

func checkSizes(m Map, key, value []byte) error {
	if len(key) != m.KeySize() {
		return fmt.Errorf("key of %d bytes, map has %d: %w", len(key), m.KeySize(), unix.EINVAL)
	}
	if value != nil && len(value) != m.ValueSize() {
		return fmt.Errorf("value of %d bytes, map has %d: %w", len(value), m.ValueSize(), unix.EINVAL)
	}
	return nil
}

// arrayMap is BPF_MAP_TYPE_ARRAY: every index below maxEntries exists and
// starts zeroed; entries cannot be deleted.
type arrayMap struct {
	valueSize, maxEntries int
	values                []byte
}

// NewArrayMap returns an in-memory map with u32 keys and maxEntries
// zero-filled values, like BPF_MAP_TYPE_ARRAY. Lookup returns the stored
// value itself: writing to it changes the map. It is not safe for concurrent
// use.
func NewArrayMap(valueSize, maxEntries int) Map {
	return &arrayMap{valueSize: valueSize, maxEntries: maxEntries, values: make([]byte, valueSize*maxEntries)}
}

func (a *arrayMap) sharesValues() {}

func (a *arrayMap) KeySize() int   { return 4 }
func (a *arrayMap) ValueSize() int { return a.valueSize }

// slot returns the value at the index key names, or nil past the end.
func (a *arrayMap) slot(key []byte) []byte {
	i := int(binary.LittleEndian.Uint32(key))
	if i >= a.maxEntries {
		return nil
	}
	return a.values[i*a.valueSize : (i+1)*a.valueSize : (i+1)*a.valueSize]
}

func (a *arrayMap) Lookup(key []byte) ([]byte, bool, error) {
	if err := checkSizes(a, key, nil); err != nil {
		return nil, false, err
	}
	v := a.slot(key)
	return v, v != nil, nil
}

func (a *arrayMap) Update(key, value []byte, flags uint64) error {
	if err := checkSizes(a, key, value); err != nil {
		return err
	}
	switch flags {
	case UpdateAny, UpdateExist:
	case UpdateNoExist:
		// Array elements always exist, as in the kernel.
		return ErrKeyExist
	default:
		return errBadFlags
	}
	v := a.slot(key)
	if v == nil {
		return fmt.Errorf("index %d out of range: %w", binary.LittleEndian.Uint32(key), unix.E2BIG)
	}
	copy(v, value)
	return nil
}

func (a *arrayMap) Delete(key []byte) error {
	return fmt.Errorf("array elements cannot be deleted: %w", unix.EINVAL)
}

func (a *arrayMap) Iterate(f func(key, value []byte) bool) error {
	var key [4]byte
	for i := range a.maxEntries {
		binary.LittleEndian.PutUint32(key[:], uint32(i))
		if !f(key[:], a.values[i*a.valueSize:(i+1)*a.valueSize]) {
			break
		}
	}
	return nil
}

// hashMap is BPF_MAP_TYPE_HASH.
type hashMap struct {
	keySize, valueSize, maxEntries int
	entries                        map[string][]byte
	// lru is set for an LRU hash: used holds when each key was last
	// looked up or updated, by a counter.
	lru  bool
	used map[string]uint64
	now  uint64
}

// NewHashMap returns an in-memory map like BPF_MAP_TYPE_HASH. Lookup returns
// the stored value itself: writing to it changes the map. It is not safe for
// concurrent use.
func NewHashMap(keySize, valueSize, maxEntries int) Map {
	return &hashMap{keySize: keySize, valueSize: valueSize, maxEntries: maxEntries, entries: make(map[string][]byte)}
}

// NewLRUHashMap returns an in-memory map like BPF_MAP_TYPE_LRU_HASH: when
// it is full, a new key evicts the key least recently looked up or
// updated. It is not safe for concurrent use.
func NewLRUHashMap(keySize, valueSize, maxEntries int) Map {
	return &hashMap{
		keySize: keySize, valueSize: valueSize, maxEntries: maxEntries, entries: make(map[string][]byte),
		lru: true, used: make(map[string]uint64),
	}
}

// touch marks key as just used in an LRU map.
func (h *hashMap) touch(key string) {
	if h.lru {
		h.now++
		h.used[key] = h.now
	}
}

// evict makes room in a full LRU map.
func (h *hashMap) evict() {
	oldest, at := "", uint64(0)
	for k, t := range h.used {
		if oldest == "" || t < at {
			oldest, at = k, t
		}
	}
	delete(h.entries, oldest)
	delete(h.used, oldest)
}

func (h *hashMap) sharesValues() {}

func (h *hashMap) KeySize() int   { return h.keySize }
func (h *hashMap) ValueSize() int { return h.valueSize }

func (h *hashMap) Lookup(key []byte) ([]byte, bool, error) {
	if err := checkSizes(h, key, nil); err != nil {
		return nil, false, err
	}
	v, ok := h.entries[string(key)]
	if ok {
		h.touch(string(key))
	}
	return v, ok, nil
}

func (h *hashMap) Update(key, value []byte, flags uint64) error {
	if err := checkSizes(h, key, value); err != nil {
		return err
	}
	if flags > UpdateExist {
		return errBadFlags
	}
	if v, ok := h.entries[string(key)]; ok {
		if flags == UpdateNoExist {
			return ErrKeyExist
		}
		// In place, so that pointers from earlier lookups see the update.
		copy(v, value)
		h.touch(string(key))
		return nil
	}
	if flags == UpdateExist {
		return ErrKeyNotExist
	}
	if len(h.entries) >= h.maxEntries {
		if !h.lru {
			return ErrMapFull
		}
		h.evict()
	}
	h.entries[string(key)] = append([]byte(nil), value...)
	h.touch(string(key))
	return nil
}

func (h *hashMap) Delete(key []byte) error {
	if err := checkSizes(h, key, nil); err != nil {
		return err
	}
	if _, ok := h.entries[string(key)]; !ok {
		return ErrKeyNotExist
	}
	delete(h.entries, string(key))
	if h.lru {
		delete(h.used, string(key))
	}
	return nil
}

func (h *hashMap) Iterate(f func(key, value []byte) bool) error {
	for k, v := range h.entries {
		if !f([]byte(k), v) {
			break
		}
	}
	return nil
}

// errnoOf returns the errno an error from a Map carries.
func errnoOf(err error) (unix.Errno, bool) {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return errno, true
	}
	return 0, false
}
