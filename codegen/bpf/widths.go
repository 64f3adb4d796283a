package bpf

import (
	"github.com/cilium/ebpf/asm"

	"etap/lang/ast"
	"etap/maps"
	"etap/sema"
)

// String slots are MAXSTRINGLEN bytes, but a string that goes into a map
// key or a ring-buffer record takes only the room its longest possible
// value needs: the kernel hashes and compares whole keys, and copies whole
// records. `c[execname()]++` keys c by 16 bytes rather than 128.
//
// A key column's width is the most any index expression of the array needs,
// reads and `in` tests included: a long literal looked up in a narrow
// column would otherwise be cut and match a key it is not. One expression
// of unknown length makes the column MAXSTRINGLEN wide.

// keySizes returns the slot sizes of the key columns of every global array,
// from every index expression of the program.
func (c *compiler) keySizes() map[*sema.Var][]int {
	sizes := map[*sema.Var][]int{}
	for _, v := range c.prog.Globals {
		if !v.IsArray {
			continue
		}
		s := make([]int, len(v.Keys))
		for i, t := range v.Keys {
			// A column nothing indexes is never written: any width does.
			s[i] = maps.LongSize
			if t == sema.String {
				s[i] = maps.KeyStringSize(0, c.opts.Params.StringLen)
			}
		}
		sizes[v] = s
	}
	widen := func(array *ast.Ident, index []ast.Expr) {
		s := sizes[c.prog.Refs[array]]
		for i, k := range index {
			// nil is a wildcard `*`, which writes no key.
			if k == nil || i >= len(s) || c.prog.Types[k] != sema.String {
				continue
			}
			s[i] = max(s[i], maps.KeyStringSize(c.maxLen(k), c.opts.Params.StringLen))
		}
	}
	visit := func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.IndexExpr:
			widen(n.Array, n.Index)
		case *ast.InExpr:
			widen(n.Array, n.Keys)
		case *ast.ForeachStmt:
			widen(n.Array, n.Slice)
		}
		return true
	}
	for _, p := range c.prog.Probes {
		ast.Inspect(p.Decl, visit)
	}
	for _, f := range c.prog.Functions {
		ast.Inspect(f.Decl, visit)
	}
	return sizes
}

// maxLen returns the most bytes the string expression e can give, without
// its NUL, or -1 when that is not known.
func (c *compiler) maxLen(e ast.Expr) int {
	switch e := e.(type) {
	case *ast.StringLit:
		return len(e.Value)
	case *ast.ParenExpr:
		return c.maxLen(e.X)
	case *ast.TernaryExpr:
		x, y := c.maxLen(e.X), c.maxLen(e.Y)
		if x < 0 || y < 0 {
			return -1
		}
		return max(x, y)
	case *ast.CallExpr:
		if c.prog.FuncCalls[e] == nil && builtins[e.Name] == builtins["execname"] {
			return commLen - 1
		}
	}
	return -1
}

// stringSize returns the slot size a string expression needs in a key
// column or record: see maxLen.
func (g *gen) stringSize(e ast.Expr) int {
	return maps.KeyStringSize(g.c.maxLen(e), g.c.opts.Params.StringLen)
}

// stringInto evaluates the string expression e into the size-byte slot at
// scratch offset off, NUL-terminated, and zero-padded when padded is set;
// e's strings fit (stringSize). Literals and builtins that can (execname,
// user_string) write in place, without a string temporary to fill and copy.
func (g *gen) stringInto(e ast.Expr, off, size int, padded bool) {
	switch x := unparen(e).(type) {
	case *ast.StringLit:
		g.literalWords(x.Value, off, size)
		return
	case *ast.CallExpr:
		if b := builtins[x.Name]; g.c.prog.FuncCalls[x] == nil && b != nil && b.into != nil {
			b.into(g, x, off, size, padded)
			return
		}
	}
	g.expr(e)
	g.copyStringN(regScratch, off, asm.R0, size)
}

// widenString leaves in R0 the address of a full string slot holding the
// string of the size-byte slot at scratch offset off: a key column read
// back into a variable.
func (g *gen) widenString(off, size int) {
	n := g.c.opts.Params.StringLen
	if size == n {
		g.scratchPtr(asm.R0, off)
		return
	}
	slot := g.allocScratch(n)
	g.zeroScratch(slot+size, n-size)
	g.scratchPtr(asm.R0, off)
	g.copyStringN(regScratch, slot, asm.R0, size)
	g.scratchPtr(asm.R0, slot)
}
