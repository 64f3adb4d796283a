package loader

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"etap/maps"
	"etap/vm"
)

// vmMaps binds the interpreter to the session's maps: the live kernel maps
// for globals, and a private scratch area (user-space probes run one at a
// time on this side).
func (s *Session) vmMaps() map[string]vm.Map {
	out := map[string]vm.Map{}
	for name, m := range s.coll.Maps {
		switch name {
		case maps.EventsMap:
		case maps.ScalarsMap:
			out[name] = liveArray{buf: s.scalars}
		case maps.ScratchMap:
			out[name] = vm.NewArrayMap(int(m.ValueSize()), 1)
		default:
			out[name] = s.kvMap(name)
		}
	}
	return out
}

// kvMap adapts the key/value map name: a per-CPU counter array
// (maps.Global.PerCPU) with its values summed over CPUs, a statistic's
// per-CPU map as it is, for the statistics helpers to merge, and a hash
// map as it is. The end-of-run display reads arrays through it too, so
// that it sees what user-space probes see.
func (s *Session) kvMap(name string) vm.Map {
	m := s.coll.Maps[name]
	switch m.Type() {
	case ebpf.PerCPUArray, ebpf.PerCPUHash, ebpf.LRUCPUHash:
		for _, g := range s.out.ABI.Globals {
			if g.PerCPU && g.MapName == name {
				return vm.NewSummed(kernelPerCPUMap{m})
			}
		}
		return kernelPerCPUMap{m}
	}
	return kernelMap{m}
}

// liveArray is the one-entry scalars map seen through its memory mapping:
// stores land in the kernel's memory at once, and only the bytes a probe
// writes change, so kernel probes' concurrent updates of other globals
// survive.
type liveArray struct{ buf []byte }

func (a liveArray) KeySize() int   { return 4 }
func (a liveArray) ValueSize() int { return len(a.buf) }

func (a liveArray) Lookup(key []byte) ([]byte, bool, error) {
	if binary.LittleEndian.Uint32(key) != 0 {
		return nil, false, nil
	}
	return a.buf, true, nil
}

// Update copies value in; the interpreter writes back through the slice
// Lookup gave it, which is the mapping itself, so this copies nothing then.
func (a liveArray) Update(key, value []byte, _ uint64) error {
	if binary.LittleEndian.Uint32(key) != 0 {
		return fmt.Errorf("index out of range: %w", unix.E2BIG)
	}
	if len(value) > 0 && &value[0] != &a.buf[0] {
		copy(a.buf, value)
	}
	return nil
}

func (a liveArray) Delete([]byte) error { return fmt.Errorf("delete from an array: %w", unix.EINVAL) }

func (a liveArray) Iterate(f func(key, value []byte) bool) error {
	f(make([]byte, 4), a.buf)
	return nil
}

// kernelMap adapts a kernel hash map: lookups copy the value out.
type kernelMap struct{ m *ebpf.Map }

func (k kernelMap) KeySize() int   { return int(k.m.KeySize()) }
func (k kernelMap) ValueSize() int { return int(k.m.ValueSize()) }

func (k kernelMap) Lookup(key []byte) ([]byte, bool, error) {
	val := make([]byte, k.m.ValueSize())
	err := k.m.Lookup(key, val)
	if errors.Is(err, ebpf.ErrKeyNotExist) {
		return nil, false, nil
	}
	return val, err == nil, err
}

func (k kernelMap) Update(key, value []byte, flags uint64) error {
	return k.m.Update(key, value, ebpf.MapUpdateFlags(flags))
}

func (k kernelMap) Delete(key []byte) error { return k.m.Delete(key) }

func (k kernelMap) Iterate(f func(key, value []byte) bool) error {
	var key, val []byte
	it := k.m.Iterate()
	for it.Next(&key, &val) {
		if !f(key, val) {
			break
		}
	}
	return it.Err()
}

// kernelPerCPUMap adapts a kernel per-CPU map, a statistic's: user-space
// probes act as CPU 0, whose value Lookup copies out, and the statistics
// helpers merge every CPU's through LookupCPUs. A per-CPU counter array's
// is seen through vm.Summed instead, which sums what LookupCPUs and
// IterateCPUs give and writes through UpdateCPUs.
//
// The kernel updates a per-CPU element on all CPUs at once, so Update
// writes back the other CPUs' values as it read them: an event that a
// kernel probe adds on another CPU between the two system calls is lost.
// Only `<<<` in a user-space probe, racing kernel probes feeding the same
// statistic, meets that window.
type kernelPerCPUMap struct{ m *ebpf.Map }

func (k kernelPerCPUMap) KeySize() int   { return int(k.m.KeySize()) }
func (k kernelPerCPUMap) ValueSize() int { return int(k.m.ValueSize()) }

func (k kernelPerCPUMap) LookupCPUs(key []byte) ([][]byte, bool, error) {
	var vals [][]byte
	err := k.m.Lookup(key, &vals)
	if errors.Is(err, ebpf.ErrKeyNotExist) {
		return nil, false, nil
	}
	return vals, err == nil, err
}

func (k kernelPerCPUMap) Lookup(key []byte) ([]byte, bool, error) {
	vals, ok, err := k.LookupCPUs(key)
	if !ok {
		return nil, ok, err
	}
	return vals[0], true, nil
}

// Update sets CPU 0's value; a new element's other CPUs start zeroed.
func (k kernelPerCPUMap) Update(key, value []byte, flags uint64) error {
	vals, ok, err := k.LookupCPUs(key)
	if err != nil {
		return err
	}
	if !ok {
		vals = [][]byte{value}
	}
	vals[0] = value
	return k.UpdateCPUs(key, vals, flags)
}

// UpdateCPUs sets every CPU's value; cilium/ebpf zeroes the CPUs past the
// end of vals.
func (k kernelPerCPUMap) UpdateCPUs(key []byte, vals [][]byte, flags uint64) error {
	return k.m.Update(key, vals, ebpf.MapUpdateFlags(flags))
}

// Delete removes a hash element from every CPU, and zeroes an array
// element, which cannot be removed, on every CPU: `delete s` of a scalar
// statistic.
func (k kernelPerCPUMap) Delete(key []byte) error {
	if k.m.Type() == ebpf.PerCPUArray {
		return k.m.Update(key, [][]byte{make([]byte, k.m.ValueSize())}, ebpf.UpdateExist)
	}
	return k.m.Delete(key)
}

func (k kernelPerCPUMap) Iterate(f func(key, value []byte) bool) error {
	return k.IterateCPUs(func(key []byte, vals [][]byte) bool { return f(key, vals[0]) })
}

// IterateCPUs calls f with every element's values of every CPU.
func (k kernelPerCPUMap) IterateCPUs(f func(key []byte, vals [][]byte) bool) error {
	var key []byte
	var vals [][]byte
	it := k.m.Iterate()
	for it.Next(&key, &vals) {
		if !f(key, vals) {
			break
		}
	}
	return it.Err()
}
