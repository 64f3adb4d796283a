package vm

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"unsafe"

	"github.com/cilium/ebpf/asm"
	"golang.org/x/sys/unix"

	"etap/maps"
)

// call runs helper fn with its arguments in R1-R5 and returns R0. An error
// ends the run; what a kernel helper reports to the program (a full map, a
// missing key) is returned as a negative errno instead.
func (m *machine) call(fn asm.BuiltinFunc) (uint64, error) {
	r := &m.regs
	switch fn {
	case asm.FnMapLookupElem:
		return m.mapLookup(r[1], r[2])
	case asm.FnMapUpdateElem:
		return m.mapUpdate(r[1], r[2], r[3], r[4])
	case asm.FnMapDeleteElem:
		return m.mapDelete(r[1], r[2])
	case asm.FnKtimeGetNs:
		return clockNs(unix.CLOCK_MONOTONIC)
	case asm.FnKtimeGetBootNs:
		return clockNs(unix.CLOCK_BOOTTIME)
	case asm.FnGetPrandomU32:
		return uint64(rand.Uint32()), nil
	case asm.FnGetSmpProcessorId:
		return currentCPU(), nil
	case asm.FnGetCurrentPidTgid:
		// The thread is whichever one the Go scheduler runs this Run
		// on; the pid is what scripts use.
		return uint64(unix.Getpid())<<32 | uint64(unix.Gettid()), nil
	case asm.FnGetCurrentUidGid:
		return uint64(unix.Getgid())<<32 | uint64(unix.Getuid()), nil
	case asm.FnGetCurrentComm:
		return m.currentComm(r[1], r[2])
	case asm.FnProbeRead, asm.FnProbeReadKernel, asm.FnProbeReadUser:
		return m.probeRead(r[1], r[2], r[3])
	case asm.FnProbeReadStr, asm.FnProbeReadKernelStr, asm.FnProbeReadUserStr:
		return m.probeReadStr(r[1], r[2], r[3])
	case asm.FnRingbufOutput:
		return m.ringbufOutput(r[1], r[2], r[3])
	case asm.FnLoop:
		return m.loop(r[1], r[2], r[3], r[4])
	case maps.HelperForeachStart:
		return m.foreachStart(r[1], r[2], int64(r[3]))
	case maps.HelperForeachNext:
		return m.foreachNext(r[1], r[2])
	case maps.HelperStatExtract:
		return m.statExtract(r[1], r[2], r[3], r[4])
	case maps.HelperHistPrint:
		return m.histPrint(r[1], r[2], r[3])
	}
	return 0, fmt.Errorf("helper %v (id %d) is not available in user space", fn, uint32(fn))
}

// errnoResult turns a map error into a helper's return value: 0, or the
// negative errno the error carries. Errors without one end the run.
func errnoResult(err error) (uint64, error) {
	if err == nil {
		return 0, nil
	}
	if errno, ok := errnoOf(err); ok {
		return negErrno(errno), nil
	}
	return 0, err
}

func negErrno(e unix.Errno) uint64 { return uint64(-int64(e)) }

// mapArg returns the map a handle argument names; the ring buffer has a
// nil m.
func (m *machine) mapArg(h uint64) (*progMap, error) {
	idx := h &^ mapHandleTag
	if h&^0xffffffff != mapHandleTag || idx >= uint64(len(m.p.maps)) {
		return nil, fmt.Errorf("argument %#x is not a map", h)
	}
	return &m.p.maps[idx], nil
}

// kvMap is mapArg for helpers that need keys and values.
func (m *machine) kvMap(h uint64) (*progMap, error) {
	pm, err := m.mapArg(h)
	if err == nil && pm.m == nil {
		err = fmt.Errorf("map %q is a ring buffer, not a key/value map", pm.name)
	}
	return pm, err
}

func (m *machine) mapLookup(h, keyPtr uint64) (uint64, error) {
	pm, err := m.kvMap(h)
	if err != nil {
		return 0, err
	}
	key, err := m.loadArg(keyPtr, uint64(pm.m.KeySize()), "key")
	if err != nil {
		return 0, err
	}
	return m.valuePointer(pm, key, 0)
}

// valuePointer looks key up in pm and returns a pointer off bytes into the
// value, or 0 when there is none.
func (m *machine) valuePointer(pm *progMap, key []byte, off uint32) (uint64, error) {
	v, ok, err := pm.m.Lookup(key)
	if errno, isErrno := errnoOf(err); isErrno && errno == unix.ENOENT {
		ok, err = false, nil
	}
	if err != nil {
		return 0, fmt.Errorf("lookup in map %q: %w", pm.name, err)
	}
	if !ok {
		return 0, nil
	}
	// One region per key and run: looking a key up again gives the same
	// pointer, as in the kernel, and loops do not pile up regions. The
	// region takes the value just looked up, so that pointers into a copy
	// see the map as it is now.
	byKey := m.values[pm.index]
	if byKey == nil {
		byKey = make(map[string]int)
		m.values[pm.index] = byKey
	}
	if id, ok := byKey[string(key)]; ok {
		m.regions[id].data = v
		return pointer(id, off), nil
	}
	rg := region{data: v, kind: kindMapValue, mp: pm, writeBack: pm.writeBack}
	if pm.writeBack {
		// Keep the key to write stores back under.
		rg.key = m.alloc(len(key))
		copy(rg.key, key)
	}
	id, err := m.newRegion(rg)
	if err != nil {
		return 0, err
	}
	byKey[string(key)] = id
	return pointer(id, off), nil
}

// directValue serves LoadMapValue: a pointer into the value at index 0 of
// an array map, which codegen may use for global data.
func (m *machine) directValue(idx int, off uint32) (uint64, error) {
	pm := &m.p.maps[idx]
	var key [4]byte
	if pm.m.KeySize() != len(key) {
		return 0, fmt.Errorf("direct value access to map %q, which has %d-byte keys, not an array's 4", pm.name, pm.m.KeySize())
	}
	p, err := m.valuePointer(pm, key[:], off)
	if err == nil && p == 0 {
		err = fmt.Errorf("map %q has no element 0", pm.name)
	}
	return p, err
}

func (m *machine) mapUpdate(h, keyPtr, valPtr, flags uint64) (uint64, error) {
	pm, err := m.kvMap(h)
	if err != nil {
		return 0, err
	}
	key, err := m.loadArg(keyPtr, uint64(pm.m.KeySize()), "key")
	if err != nil {
		return 0, err
	}
	val, err := m.loadArg(valPtr, uint64(pm.m.ValueSize()), "value")
	if err != nil {
		return 0, err
	}
	return errnoResult(pm.m.Update(key, val, flags))
}

func (m *machine) mapDelete(h, keyPtr uint64) (uint64, error) {
	pm, err := m.kvMap(h)
	if err != nil {
		return 0, err
	}
	key, err := m.loadArg(keyPtr, uint64(pm.m.KeySize()), "key")
	if err != nil {
		return 0, err
	}
	return errnoResult(pm.m.Delete(key))
}

func clockNs(clock int32) (uint64, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(clock, &ts); err != nil {
		return 0, fmt.Errorf("clock_gettime: %w", err)
	}
	return uint64(ts.Nano()), nil
}

// currentCPU is the CPU this thread runs on now; the scheduler may move it
// at any time, as the helper's users know.
func currentCPU() uint64 {
	var cpu uint32
	if _, _, e := unix.RawSyscall(unix.SYS_GETCPU, uintptr(unsafe.Pointer(&cpu)), 0, 0); e != 0 {
		return 0
	}
	return uint64(cpu)
}

// comm is this process's name. It is read once: a process rarely renames
// itself, and the helper runs in every probe that prints execname().
var comm = sync.OnceValue(func() []byte {
	b, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		return nil
	}
	return bytes.TrimSuffix(b, []byte("\n"))
})

func (m *machine) currentComm(buf, size uint64) (uint64, error) {
	if size == 0 {
		return negErrno(unix.EINVAL), nil
	}
	dst, rg, err := m.storeArg(buf, size, "buffer")
	if err != nil {
		return 0, err
	}
	clear(dst)
	copy(dst[:size-1], comm())
	return m.helperWrote(rg, 0)
}

// helperWrote finishes a helper that wrote into rg: it writes a map value
// copy back, and returns ret.
func (m *machine) helperWrote(rg *region, ret uint64) (uint64, error) {
	if rg.writeBack {
		if err := m.written(rg); err != nil {
			return 0, err
		}
	}
	return ret, nil
}

// probeRead copies size bytes from any region into dst. Reading from a bad
// address is not a fault but -EFAULT, with dst zeroed, as in the kernel;
// dst itself must be valid, as the verifier demands.
func (m *machine) probeRead(dstPtr, size, src uint64) (uint64, error) {
	dst, rg, err := m.storeArg(dstPtr, size, "destination")
	if err != nil {
		return 0, err
	}
	ret := uint64(0)
	if b := m.load(src, size); b != nil {
		copy(dst, b)
	} else {
		clear(dst)
		ret = negErrno(unix.EFAULT)
	}
	return m.helperWrote(rg, ret)
}

// probeReadStr copies a NUL-terminated string of at most size bytes,
// terminator included, and returns its length with the terminator. A
// string cut short by size is still terminated; one cut short by the end of
// its region is -EFAULT, with dst zeroed.
func (m *machine) probeReadStr(dstPtr, size, src uint64) (uint64, error) {
	if size == 0 {
		return 0, nil
	}
	dst, rg, err := m.storeArg(dstPtr, size, "destination")
	if err != nil {
		return 0, err
	}
	var s []byte
	if id := src >> 32; id >= regionStack && id < uint64(len(m.regions)) {
		if data, off := m.regions[id].data, src&0xffffffff; off < uint64(len(data)) {
			s = data[off:]
		}
	}
	s = s[:min(uint64(len(s)), size-1)]
	n := bytes.IndexByte(s, 0)
	switch {
	case n >= 0:
	case uint64(len(s)) == size-1:
		n = len(s)
	default:
		clear(dst)
		return m.helperWrote(rg, negErrno(unix.EFAULT))
	}
	copy(dst, s[:n])
	dst[n] = 0
	return m.helperWrote(rg, uint64(n+1))
}

func (m *machine) ringbufOutput(h, data, size uint64) (uint64, error) {
	if _, err := m.mapArg(h); err != nil {
		return 0, err
	}
	b, err := m.loadArg(data, size, "data")
	if err != nil {
		return 0, err
	}
	if m.p.output != nil {
		m.p.output(bytes.Clone(b))
	}
	return 0, nil
}

// maxLoops is the most rounds bpf_loop runs, as in the kernel.
const maxLoops = 1 << 23

// loop is bpf_loop: it calls the function fn with each index below nr and
// ctx, until the function returns 1, and returns how many calls it made.
func (m *machine) loop(nr, fn, ctx, flags uint64) (uint64, error) {
	if flags != 0 {
		return negErrno(unix.EINVAL), nil
	}
	if nr > maxLoops {
		return negErrno(unix.E2BIG), nil
	}
	if fn&^0xffffffff != funcHandleTag || fn&0xffffffff >= uint64(len(m.p.code)) {
		return 0, fmt.Errorf("argument %#x is not a function", fn)
	}
	r := &m.regs
	for i := uint64(0); i < nr; i++ {
		if m.depth+1 == maxFrames {
			return 0, fmt.Errorf("call nests deeper than %d frames", maxFrames)
		}
		m.frames[m.depth] = frame{ret: -1, saved: [4]uint64{r[6], r[7], r[8], r[9]}}
		m.depth++
		clear(m.regions[regionStack+m.depth].data)
		r[10] = pointer(regionStack+m.depth, stackSize)
		r[1], r[2] = i, ctx
		r[3], r[4], r[5] = poison, poison, poison
		ret, err := m.run(int(fn & 0xffffffff))
		if err != nil {
			return 0, err
		}
		if ret == 1 {
			return i + 1, nil
		}
	}
	return nr, nil
}
