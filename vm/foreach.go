package vm

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"etap/maps"
)

// The foreach helpers give stp's sorted `foreach ([k] in a- limit 10)` to
// user-space probes: the kernel cannot sort a map. HelperForeachStart
// snapshots and sorts the keys; HelperForeachNext hands them out one by one,
// so the loop body is ordinary bytecode that looks values up itself.

// iteration is a sorted foreach in progress. Its handle is its index in
// machine.iters plus one, so that 0 is never a handle.
type iteration struct {
	entries []foreachEntry
	next    int
}

// foreachEntry is one key with what it sorts by, decoded once.
type foreachEntry struct {
	key []byte
	// num or str is the sort column or the value: num for a long, str
	// for a string (up to its NUL).
	num int64
	str []byte
}

// sortBy is what a foreach sorts by first.
type sortBy uint8

const (
	byKey sortBy = iota
	byLong
	byString
)

func (m *machine) foreachStart(h, siteIdx uint64, limit int64) (uint64, error) {
	pm, err := m.kvMap(h)
	if err != nil {
		return 0, err
	}
	abi := m.p.abi
	if abi == nil {
		return 0, errors.New("foreach needs Env.ABI")
	}
	if siteIdx >= uint64(len(abi.Foreach)) {
		return 0, fmt.Errorf("foreach site %d does not exist (%d sites)", siteIdx, len(abi.Foreach))
	}
	site := abi.Foreach[siteIdx]
	if site.Global < 0 || site.Global >= len(abi.Globals) {
		return 0, fmt.Errorf("foreach site %d: global %d does not exist", siteIdx, site.Global)
	}
	g := &abi.Globals[site.Global]
	switch {
	case !g.IsArray() || g.MapName != pm.name:
		return 0, fmt.Errorf("foreach site %d iterates %s, not map %q", siteIdx, g.Name, pm.name)
	case g.KeySize() != pm.m.KeySize():
		return 0, fmt.Errorf("foreach over %s: keys of %d bytes, map %q has %d", g.Name, g.KeySize(), pm.name, pm.m.KeySize())
	case site.SortColumn < -1 || site.SortColumn > len(g.Keys):
		return 0, fmt.Errorf("foreach over %s: no column %d to sort by", g.Name, site.SortColumn)
	}
	offs := g.KeyOffsets()

	// width is the sort field's slot size: a key column may be narrower
	// than a value's string.
	by, typ, width := byKey, maps.Long, abi.StringLen
	switch {
	case site.SortColumn > 0:
		typ, width = g.Keys[site.SortColumn-1], g.KeySizes[site.SortColumn-1]
	case site.SortColumn < 0 && g.Stat == nil:
		typ = g.Value
	}
	if site.SortColumn != 0 {
		by = byLong
		if typ == maps.String {
			by = byString
		}
	}

	var entries []foreachEntry
	err = pm.m.Iterate(func(k, v []byte) bool {
		e := foreachEntry{key: m.alloc(len(k))}
		copy(e.key, k)
		// Decode the sort field now, from the copy: the map may reuse
		// k and v for the next entry.
		field := v
		if site.SortColumn > 0 {
			field = e.key[offs[site.SortColumn-1]:]
		}
		switch {
		case g.Stat != nil && site.SortColumn < 0:
			// Merged below: the values are per CPU.
		case by == byLong:
			e.num = readLong(field)
		case by == byString:
			s := cString(field[:min(len(field), width)])
			if site.SortColumn < 0 {
				s = append(m.alloc(len(s))[:0], s...)
			}
			e.str = s
		}
		entries = append(entries, e)
		return true
	})
	if err != nil {
		return 0, fmt.Errorf("iterate map %q: %w", pm.name, err)
	}
	if g.Stat != nil && site.SortColumn < 0 {
		op := site.SortAggregate
		if op == 0 {
			op = maps.OpCount
		}
		for i := range entries {
			d, err := m.statOf(pm, g, entries[i].key)
			if err != nil {
				return 0, err
			}
			entries[i].num = d.Extract(op)
		}
	}

	keyCmp := func(a, b []byte) int {
		for i, t := range g.Keys {
			x, y := a[offs[i]:], b[offs[i]:]
			var c int
			if t == maps.String {
				c = bytes.Compare(cString(x[:g.KeySizes[i]]), cString(y[:g.KeySizes[i]]))
			} else {
				c = cmp.Compare(readLong(x), readLong(y))
			}
			if c != 0 {
				return c
			}
		}
		return 0
	}
	slices.SortFunc(entries, func(a, b foreachEntry) int {
		var c int
		switch by {
		case byKey:
			c = keyCmp(a.key, b.key)
		case byLong:
			c = cmp.Compare(a.num, b.num)
		case byString:
			c = bytes.Compare(a.str, b.str)
		}
		if site.SortDesc {
			c = -c
		}
		if c != 0 {
			return c
		}
		// Ties in key order, so that output does not depend on the
		// map's iteration order.
		return keyCmp(a.key, b.key)
	})
	if limit >= 0 && limit < int64(len(entries)) {
		entries = entries[:limit]
	}
	m.iters = append(m.iters, iteration{entries: entries})
	return uint64(len(m.iters)), nil
}

func (m *machine) foreachNext(h, buf uint64) (uint64, error) {
	if h == 0 || h > uint64(len(m.iters)) {
		return 0, fmt.Errorf("argument %#x is not a foreach handle", h)
	}
	it := &m.iters[h-1]
	if it.next == len(it.entries) {
		return 0, nil
	}
	key := it.entries[it.next].key
	dst, rg, err := m.storeArg(buf, uint64(len(key)), "key buffer")
	if err != nil {
		return 0, err
	}
	copy(dst, key)
	it.next++
	return m.helperWrote(rg, 1)
}

// readLong reads a little-endian long; a shorter field reads as 0.
func readLong(b []byte) int64 {
	if len(b) < maps.LongSize {
		return 0
	}
	return int64(binary.LittleEndian.Uint64(b))
}

// cString returns b up to its first NUL.
func cString(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}
