package vm

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"etap/maps"
)

// The statistics helpers give user-space probes what a kernel program
// cannot do: read every CPU's value of a per-CPU map and merge them, as
// stap's extractors and histogram printing do.

// statValues returns the statistic of global g under the key at keyPtr,
// merged over every CPU: empty when the key has no element.
func (m *machine) statValues(h, keyPtr uint64, g *maps.Global) (maps.StatData, error) {
	pm, err := m.kvMap(h)
	if err != nil {
		return maps.StatData{}, err
	}
	if g.Stat == nil || g.MapName != pm.name {
		return maps.StatData{}, fmt.Errorf("global %s is not a statistic in map %q", g.Name, pm.name)
	}
	if size := g.Stat.Size(); pm.m.ValueSize() != size {
		return maps.StatData{}, fmt.Errorf("statistic %s: values of %d bytes, map %q has %d", g.Name, size, pm.name, pm.m.ValueSize())
	}
	key, err := m.loadArg(keyPtr, uint64(pm.m.KeySize()), "key")
	if err != nil {
		return maps.StatData{}, err
	}
	return m.statOf(pm, g, key)
}

// statOf returns the statistic of global g under key in pm, merged over
// every CPU.
func (m *machine) statOf(pm *progMap, g *maps.Global, key []byte) (maps.StatData, error) {
	var err error
	var cpus [][]byte
	var ok bool
	if pc, isPerCPU := pm.m.(PerCPU); isPerCPU {
		cpus, ok, err = pc.LookupCPUs(key)
	} else {
		// A plain map is one CPU's worth.
		var v []byte
		v, ok, err = pm.m.Lookup(key)
		cpus = [][]byte{v}
	}
	if errno, isErrno := errnoOf(err); isErrno && errno == unix.ENOENT {
		ok, err = false, nil
	}
	if err != nil {
		return maps.StatData{}, fmt.Errorf("lookup in map %q: %w", pm.name, err)
	}
	if !ok {
		cpus = nil
	}
	return maps.MergeStat(g.Stat, cpus), nil
}

// global returns ABI.Globals[i].
func (m *machine) global(i uint64) (*maps.Global, error) {
	abi := m.p.abi
	if abi == nil {
		return nil, errors.New("statistics need Env.ABI")
	}
	if i >= uint64(len(abi.Globals)) {
		return nil, fmt.Errorf("global %d does not exist (%d globals)", i, len(abi.Globals))
	}
	return &abi.Globals[i], nil
}

func (m *machine) statExtract(h, keyPtr, siteIdx, outPtr uint64) (uint64, error) {
	abi := m.p.abi
	if abi == nil || siteIdx >= uint64(len(abi.Stats)) {
		return 0, fmt.Errorf("statistic site %d does not exist", siteIdx)
	}
	site := abi.Stats[siteIdx]
	g, err := m.global(uint64(site.Global))
	if err != nil {
		return 0, err
	}
	d, err := m.statValues(h, keyPtr, g)
	if err != nil {
		return 0, err
	}
	out, rg, err := m.storeArg(outPtr, maps.LongSize, "result")
	if err != nil {
		return 0, err
	}
	ret := uint64(0)
	if d.Count == 0 && site.Op.NeedsData() {
		ret = 1
	}
	v := d.Extract(site.Op)
	if site.Op == maps.OpBucket {
		i := binary.LittleEndian.Uint64(out)
		if i >= uint64(len(d.Buckets)) {
			return 0, fmt.Errorf("histogram bucket %d of %s does not exist (%d buckets)", int64(i), g.Name, len(d.Buckets))
		}
		v = d.Buckets[i]
	}
	binary.LittleEndian.PutUint64(out, uint64(v))
	return m.helperWrote(rg, ret)
}

func (m *machine) histPrint(h, keyPtr, global uint64) (uint64, error) {
	g, err := m.global(global)
	if err != nil {
		return 0, err
	}
	d, err := m.statValues(h, keyPtr, g)
	if err != nil {
		return 0, err
	}
	if d.Count == 0 {
		return 1, nil
	}
	rec := make([]byte, maps.HeaderSize+maps.LongSize*len(d.Buckets))
	binary.LittleEndian.PutUint32(rec, maps.KindHist)
	binary.LittleEndian.PutUint32(rec[4:], uint32(global))
	for i, n := range d.Buckets {
		binary.LittleEndian.PutUint64(rec[maps.HeaderSize+maps.LongSize*i:], uint64(n))
	}
	if m.p.output != nil {
		m.p.output(rec)
	}
	return 0, nil
}
