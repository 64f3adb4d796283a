package vm

import (
	"encoding/binary"
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
	// UpdateCPUs stores every CPU's value under key with BPF update flags:
	// values[i] for CPU i, zeros for the CPUs past the end of values.
	UpdateCPUs(key []byte, values [][]byte, flags uint64) error
	// IterateCPUs calls f with each key and every CPU's value for it
	// (any order) until f returns false. f must not keep them.
	IterateCPUs(f func(key []byte, values [][]byte) bool) error
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
	return v.p.split(all), true, nil
}

// split cuts an element of all into its CPUs' values.
func (p *PerCPUMap) split(all []byte) [][]byte {
	vals := make([][]byte, p.ncpus)
	for i := range vals {
		n := p.valueSize
		vals[i] = all[i*n : (i+1)*n : (i+1)*n]
	}
	return vals
}

func (v *perCPUView) UpdateCPUs(key []byte, values [][]byte, flags uint64) error {
	if len(values) > v.p.ncpus {
		return fmt.Errorf("%d values for %d CPUs: %w", len(values), v.p.ncpus, unix.EINVAL)
	}
	all := make([]byte, v.p.valueSize*v.p.ncpus)
	for i, val := range values {
		if len(val) != v.p.valueSize {
			return fmt.Errorf("value of %d bytes, map has %d: %w", len(val), v.p.valueSize, unix.EINVAL)
		}
		copy(all[i*v.p.valueSize:], val)
	}
	return v.p.all.Update(key, all, flags)
}

func (v *perCPUView) IterateCPUs(f func(key []byte, values [][]byte) bool) error {
	return v.p.all.Iterate(func(key, all []byte) bool { return f(key, v.p.split(all)) })
}

// Summed is a per-CPU map of longs seen as one map whose values are the
// sums over every CPU: a counter that kernel probes add to on their own
// CPUs (maps.Global.PerCPU), as user-space probes and the end-of-run display
// see it. Update stores the whole value in CPU 0's and zeroes the other
// CPUs', so that the sum is what was written; a kernel probe that adds on
// another CPU between the read and the write of `c[k]++` in a user-space
// probe loses its add, as with statistics (see the loader's adapter).
type Summed struct{ p PerCPU }

// NewSummed returns p with its values summed over CPUs. p's values must
// be longs.
func NewSummed(p PerCPU) *Summed { return &Summed{p: p} }

func (s *Summed) KeySize() int   { return s.p.KeySize() }
func (s *Summed) ValueSize() int { return s.p.ValueSize() }

// sum returns a fresh value holding the sum of the CPUs' longs.
func (s *Summed) sum(values [][]byte) []byte {
	var total uint64
	for _, v := range values {
		total += binary.LittleEndian.Uint64(v)
	}
	out := make([]byte, s.p.ValueSize())
	binary.LittleEndian.PutUint64(out, total)
	return out
}

// Lookup returns a copy: stores into it are written back with Update.
func (s *Summed) Lookup(key []byte) ([]byte, bool, error) {
	values, ok, err := s.p.LookupCPUs(key)
	if !ok || err != nil {
		return nil, ok, err
	}
	return s.sum(values), true, nil
}

func (s *Summed) Update(key, value []byte, flags uint64) error {
	if len(value) != s.p.ValueSize() {
		return fmt.Errorf("value of %d bytes, map has %d: %w", len(value), s.p.ValueSize(), unix.EINVAL)
	}
	return s.p.UpdateCPUs(key, [][]byte{value}, flags)
}

func (s *Summed) Delete(key []byte) error { return s.p.Delete(key) }

func (s *Summed) Iterate(f func(key, value []byte) bool) error {
	return s.p.IterateCPUs(func(key []byte, values [][]byte) bool { return f(key, s.sum(values)) })
}
