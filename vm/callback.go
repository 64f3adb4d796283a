package vm

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Helpers that call back into the program: bpf_loop, and
// bpf_for_each_map_elem, which
// codegen uses for what touches every element of an array (foreach in
// kernel probes, whole-array and wildcard deletes, `[k, *] in a`), and
// bpf_map_lookup_percpu_elem, with which kernel probes read aggregates.

// forEachElem calls the callback at fn for each element of the map h
// names, with (map, key, value, ctx), until it returns 1, and returns how
// many elements it visited. As in the kernel, the callback may delete
// elements, the one it is given included; it visits the elements the map
// held when the call began and still holds when their turn comes.
func (m *machine) forEachElem(h, fn, ctx, flags uint64) (uint64, error) {
	pm, err := m.kvMap(h)
	if err != nil {
		return 0, err
	}
	if fn&^0xffffffff != funcTag || fn&0xffffffff >= uint64(len(m.p.code)) {
		return 0, fmt.Errorf("argument %#x is not a callback", fn)
	}
	if flags != 0 {
		return negErrno(unix.EINVAL), nil
	}
	var keys [][]byte
	err = pm.m.Iterate(func(k, _ []byte) bool {
		key := m.alloc(len(k))
		copy(key, k)
		keys = append(keys, key)
		return true
	})
	if err != nil {
		return 0, fmt.Errorf("iterate map %q: %w", pm.name, err)
	}
	n := uint64(0)
	for _, key := range keys {
		val, err := m.valuePointer(pm, key, 0)
		if err != nil {
			return 0, err
		}
		if val == 0 {
			continue // deleted by an earlier callback
		}
		kp, err := m.newRegion(region{data: key, kind: kindMapKey, readOnly: true, mp: pm})
		if err != nil {
			return 0, err
		}
		n++
		stop, err := m.callback(int(fn&0xffffffff), h, pointer(kp, 0), val, ctx)
		if err != nil {
			return 0, err
		}
		if stop != 0 {
			break
		}
	}
	return n, nil
}

// loop calls the callback at fn with (index, ctx) for index 0 to n-1,
// until it returns 1, and returns how many calls it made, as bpf_loop.
func (m *machine) loop(n, fn, ctx, flags uint64) (uint64, error) {
	if fn&^0xffffffff != funcTag || fn&0xffffffff >= uint64(len(m.p.code)) {
		return 0, fmt.Errorf("argument %#x is not a callback", fn)
	}
	if flags != 0 {
		return negErrno(unix.EINVAL), nil
	}
	if n > maxLoops {
		return negErrno(unix.E2BIG), nil
	}
	for i := range n {
		stop, err := m.callback(int(fn&0xffffffff), i, ctx)
		if err != nil {
			return 0, err
		}
		if stop != 0 {
			return i + 1, nil
		}
	}
	return n, nil
}

// maxLoops is the kernel's BPF_MAX_LOOPS.
const maxLoops = 1 << 23

// callback runs the subprogram at pc with arguments in R1-R4 in a new
// frame, as a bpf-to-bpf call would, and returns its R0.
func (m *machine) callback(pc int, args ...uint64) (uint64, error) {
	if m.depth+1 == maxFrames {
		return 0, fmt.Errorf("callback nests deeper than %d frames", maxFrames)
	}
	r := &m.regs
	m.frames[m.depth] = frame{saved: [4]uint64{r[6], r[7], r[8], r[9]}}
	m.depth++
	clear(m.regions[regionStack+m.depth].data)
	r[10] = pointer(regionStack+m.depth, stackSize)
	copy(r[1:], args)
	for i := len(args) + 1; i <= 5; i++ {
		r[i] = poison // not arguments: the verifier forbids reading them
	}
	r0, err := m.run(pc, m.depth)
	if err != nil {
		return 0, err
	}
	m.depth--
	f := &m.frames[m.depth]
	r[6], r[7], r[8], r[9] = f.saved[0], f.saved[1], f.saved[2], f.saved[3]
	r[10] = pointer(regionStack+m.depth, stackSize)
	return r0, nil
}

// lookupPercpu returns a pointer to cpu's value under key, or 0 when the
// key or the CPU does not exist, as bpf_map_lookup_percpu_elem does.
func (m *machine) lookupPercpu(h, keyPtr, cpu uint64) (uint64, error) {
	pm, err := m.kvMap(h)
	if err != nil {
		return 0, err
	}
	pc, ok := pm.m.(PerCPU)
	if !ok {
		return 0, fmt.Errorf("map %q is not a per-CPU map", pm.name)
	}
	key, err := m.loadArg(keyPtr, uint64(pm.m.KeySize()), "key")
	if err != nil {
		return 0, err
	}
	cpus, found, err := pc.LookupCPUs(key)
	if errno, isErrno := errnoOf(err); isErrno && errno == unix.ENOENT {
		found, err = false, nil
	}
	if err != nil {
		return 0, fmt.Errorf("lookup in map %q: %w", pm.name, err)
	}
	if !found || cpu >= uint64(len(cpus)) {
		return 0, nil
	}
	// A read-only snapshot: programs only read other CPUs' values.
	id, err := m.newRegion(region{data: cpus[cpu], kind: kindMapValue, readOnly: true, mp: pm})
	if err != nil {
		return 0, err
	}
	return pointer(id, 0), nil
}
