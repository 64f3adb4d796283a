package vm

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// PerCPU is a Map that holds one value per CPU under each key, as the
// kernel's per-CPU maps do. Lookup, Update and Iterate see the values of the
// CPU the program runs on; Delete removes a key from every CPU, and on a
// per-CPU array, whose elements always exist, zeroes it on every CPU. The
// statistics helpers merge what LookupCPUs gives.
type PerCPU interface {
	Map
	// LookupCPUs returns every CPU's value for key, or ok=false.
	LookupCPUs(key []byte) (values [][]byte, ok bool, err error)
}

// PerCPUMap is an in-memory per-CPU map: each key's element holds one
// value per CPU, side by side. View gives the map as a program on one CPU
// sees it; tests run user-space and kernel probes on different CPUs to see
// their values merge.
type PerCPUMap struct {
	// all holds each key's values of every CPU in one element.
	all              Map
	array            bool
	valueSize, ncpus int
}

// NewPerCPUArrayMap returns an in-memory map like
// BPF_MAP_TYPE_PERCPU_ARRAY for ncpus CPUs. It is not safe for concurrent
// use.
func NewPerCPUArrayMap(valueSize, maxEntries, ncpus int) *PerCPUMap {
	return &PerCPUMap{all: NewArrayMap(valueSize*ncpus, maxEntries), array: true, valueSize: valueSize, ncpus: ncpus}
}

// NewPerCPUHashMap returns an in-memory map like BPF_MAP_TYPE_PERCPU_HASH
// for ncpus CPUs. It is not safe for concurrent use.
func NewPerCPUHashMap(keySize, valueSize, maxEntries, ncpus int) *PerCPUMap {
	return &PerCPUMap{all: NewHashMap(keySize, valueSize*ncpus, maxEntries), valueSize: valueSize, ncpus: ncpus}
}

// NewPerCPULRUHashMap returns an in-memory map like
// BPF_MAP_TYPE_LRU_PERCPU_HASH for ncpus CPUs: a full map evicts its
// least recently used key. It is not safe for concurrent use.
func NewPerCPULRUHashMap(keySize, valueSize, maxEntries, ncpus int) *PerCPUMap {
	return &PerCPUMap{all: NewLRUHashMap(keySize, valueSize*ncpus, maxEntries), valueSize: valueSize, ncpus: ncpus}
}

// View returns the map as a program running on cpu sees it.
func (p *PerCPUMap) View(cpu int) PerCPU { return &perCPUView{p: p, cpu: cpu} }

type perCPUView struct {
	p   *PerCPUMap
	cpu int
}

func (v *perCPUView) sharesValues() {}

func (v *perCPUView) KeySize() int   { return v.p.all.KeySize() }
func (v *perCPUView) ValueSize() int { return v.p.valueSize }

// slot cuts this CPU's value out of an element of all.
func (v *perCPUView) slot(all []byte) []byte {
	n := v.p.valueSize
	return all[v.cpu*n : (v.cpu+1)*n : (v.cpu+1)*n]
}

func (v *perCPUView) Lookup(key []byte) ([]byte, bool, error) {
	all, ok, err := v.p.all.Lookup(key)
	if !ok || err != nil {
		return nil, ok, err
	}
	return v.slot(all), true, nil
}

// Update sets this CPU's value; a new key's other CPUs start zeroed, as
// the kernel's pcpu_init_value does for updates from programs.
func (v *perCPUView) Update(key, value []byte, flags uint64) error {
	if len(value) != v.p.valueSize {
		return fmt.Errorf("value of %d bytes, map has %d: %w", len(value), v.p.valueSize, unix.EINVAL)
	}
	all, ok, err := v.p.all.Lookup(key)
	if err != nil {
		return err
	}
	if !ok || v.p.array {
		if ok && flags == UpdateNoExist {
			return ErrKeyExist
		}
		fresh := make([]byte, v.p.valueSize*v.p.ncpus)
		if ok {
			copy(fresh, all)
		}
		copy(v.slot(fresh), value)
		return v.p.all.Update(key, fresh, flags)
	}
	if flags == UpdateNoExist {
		return ErrKeyExist
	}
	copy(v.slot(all), value)
	return nil
}

func (v *perCPUView) Delete(key []byte) error {
	if v.p.array {
		return v.p.all.Update(key, make([]byte, v.p.valueSize*v.p.ncpus), UpdateExist)
	}
	return v.p.all.Delete(key)
}

func (v *perCPUView) Iterate(f func(key, value []byte) bool) error {
	return v.p.all.Iterate(func(key, all []byte) bool { return f(key, v.slot(all)) })
}

func (v *perCPUView) LookupCPUs(key []byte) ([][]byte, bool, error) {
	all, ok, err := v.p.all.Lookup(key)
	if !ok || err != nil {
		return nil, ok, err
	}
	vals := make([][]byte, v.p.ncpus)
	for i := range vals {
		n := v.p.valueSize
		vals[i] = all[i*n : (i+1)*n]
	}
	return vals, true, nil
}
