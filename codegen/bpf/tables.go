package bpf

import (
	"maps"
	"slices"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"etap/lang/ast"
	"etap/sema"
)

// Name tables: syscall_name(nr) and errno_str(n) look a number up in a
// read-only array map that the compile fills, one string slot per number.
// The map exists before any probe attaches, so the first event of a run
// already gets its name, which a table filled by a begin probe would not
// promise; a lookup costs one helper call where a chain of comparisons in
// a tapset would cost hundreds of instructions.

// table is one name table.
type table struct {
	mapName string
	names   map[int64]string
}

var (
	syscallTable = &table{mapName: "syscall_names", names: syscallNames}
	errnoTable   = &table{mapName: "errno_names", names: errnoNames}
)

// tableBuiltin is a builtin NAME(n) that gives table's name for n, or ""
// for a number the table does not name.
func tableBuiltin(name string, t *table) *builtin {
	return &builtin{
		Builtin: sema.Builtin{Name: name, Params: []sema.Type{sema.Long}, Result: sema.String},
		emit: func(g *gen, call *ast.CallExpr) {
			g.c.tables[t] = true
			g.expr(call.Args[0])
			n := g.c.opts.Params.StringLen
			slot := g.allocScratch(n)
			key := g.pushStack()
			defer g.popStack()
			missing, done := g.newLabel("name_missing"), g.newLabel("name_done")
			// A negative number would wrap to a large key: check it first.
			g.emit(
				asm.JSLT.Imm(asm.R0, 0, missing),
				asm.JSGE.Imm(asm.R0, int32(t.size()), missing),
				asm.StoreMem(asm.R10, int16(key), asm.R0, asm.Word),
				asm.LoadMapPtr(asm.R1, 0).WithReference(t.mapName),
				asm.Mov.Reg(asm.R2, asm.R10),
				asm.Add.Imm(asm.R2, int32(key)),
				asm.FnMapLookupElem.Call(),
				asm.JEq.Imm(asm.R0, 0, missing),
			)
			g.copyString(regScratch, slot, asm.R0)
			g.emit(asm.Ja.Label(done))
			g.setLabel(missing)
			g.zeroScratch(slot, n)
			g.setLabel(done)
			g.scratchPtr(asm.R0, slot)
		},
	}
}

// size is the number of entries: one more than the largest number named.
func (t *table) size() int {
	n := int64(0)
	for k := range t.names {
		n = max(n, k+1)
	}
	return int(n)
}

// addTableMaps adds the maps of the tables the probes use, filled.
func (c *compiler) addTableMaps(spec *ebpf.CollectionSpec) {
	n := c.opts.Params.StringLen
	for t := range c.tables {
		var contents []ebpf.MapKV
		for _, k := range slices.Sorted(maps.Keys(t.names)) {
			v := make([]byte, n)
			copy(v[:n-1], t.names[k])
			contents = append(contents, ebpf.MapKV{Key: uint32(k), Value: v})
		}
		spec.Maps[t.mapName] = &ebpf.MapSpec{
			Name: t.mapName, Type: ebpf.Array, KeySize: 4, ValueSize: uint32(n),
			MaxEntries: uint32(t.size()), Flags: rdonlyProg, Contents: contents,
		}
	}
}
