package bpf

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
)

// btfLines gives each instruction that starts a statement a BTF line (file,
// line number, column and text) in place of its plain source text. The
// kernel's verifier prints a line in its log where the line number changes,
// so that the log of a rejected program (-v) shows the script line of each
// instruction; with plain text, which has no line number, it shows only the
// first.
//
// cilium/ebpf makes btf.Line values only from BTF wire records, so this
// writes a string table and one record per line and has cilium read them.
func btfLines(insns asm.Instructions) error {
	var sources []*sourceLine
	for _, ins := range insns {
		if src, ok := ins.Source().(*sourceLine); ok {
			sources = append(sources, src)
		}
	}
	if len(sources) == 0 {
		return nil
	}
	strs := []byte{0}
	offs := map[string]uint32{}
	str := func(s string) uint32 {
		off, ok := offs[s]
		if !ok {
			off = uint32(len(strs))
			offs[s] = off
			strs = append(append(strs, s...), 0)
		}
		return off
	}
	var records bytes.Buffer
	for i, src := range sources {
		rec := struct{ InsnOff, FileNameOff, LineOff, LineCol uint32 }{
			InsnOff:     uint32(i),
			FileNameOff: str(src.pos.File),
			LineOff:     str(src.String()),
			LineCol:     uint32(min(src.pos.Line, maxBTFLine))<<btfLineShift | uint32(min(src.pos.Col, maxBTFColumn)),
		}
		binary.Write(&records, binary.LittleEndian, rec)
	}
	// A raw BTF blob without types: the header, then the strings.
	header := struct {
		Magic                uint16
		Version, Flags       uint8
		HdrLen               uint32
		TypeOff, TypeLen     uint32
		StringOff, StringLen uint32
	}{Magic: 0xeb9f, Version: 1, HdrLen: 24, StringLen: uint32(len(strs))}
	var raw bytes.Buffer
	binary.Write(&raw, binary.LittleEndian, header)
	raw.Write(strs)
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(raw.Bytes()))
	if err != nil {
		return fmt.Errorf("line info: %w", err)
	}
	lines, err := btf.LoadLineInfos(&records, binary.LittleEndian, uint32(len(sources)), spec)
	if err != nil {
		return fmt.Errorf("line info: %w", err)
	}
	n := 0
	for i, ins := range insns {
		if _, ok := ins.Source().(*sourceLine); ok {
			insns[i] = ins.WithSource(lines[n].Line)
			n++
		}
	}
	return nil
}

// The widths of a BTF line info's line and column.
const (
	btfLineShift = 10
	maxBTFColumn = 1<<btfLineShift - 1
	maxBTFLine   = 1<<(32-btfLineShift) - 1
)
