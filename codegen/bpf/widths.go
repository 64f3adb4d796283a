package bpf

import (
	"github.com/cilium/ebpf/asm"

	"etap/diag"
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
// from every index expression of the program, and sets c.varLen.
//
// A string local's length is bounded by what is assigned to it, and a
// foreach key variable by the column it comes from, so the common
//
//	foreach (k in c-) printf("%s %d\n", k, c[k])
//
// keeps c as narrow as its execname() writers. Both bounds feed each other:
// they grow together to a fixed point.
func (c *compiler) keySizes() map[*sema.Var][]int {
	top := c.opts.Params.StringLen - 1
	colLen := map[*sema.Var][]int{}
	for _, v := range c.prog.Globals {
		if v.IsArray {
			colLen[v] = make([]int, len(v.Keys))
		}
	}
	c.varLen = map[*sema.Var]int{}
	for _, p := range c.prog.Probes {
		c.trackLocals(p.Locals)
	}
	for _, f := range c.prog.Functions {
		c.trackLocals(f.Locals)
	}
	for changed := true; changed; {
		changed = false
		grow := func(at *int, n int) {
			if n < 0 || n > top {
				n = top
			}
			if n > *at {
				*at, changed = n, true
			}
		}
		widen := func(array *ast.Ident, index []ast.Expr) {
			cols := colLen[c.prog.Refs[array]]
			for i, k := range index {
				// nil is a wildcard `*`, which writes no key.
				if k != nil && i < len(cols) && c.prog.Types[k] == sema.String {
					grow(&cols[i], c.maxLen(k))
				}
			}
		}
		// write bounds a tracked local written at id by what n says.
		write := func(id *ast.Ident, n int) {
			if v := c.prog.Refs[id]; c.tracked(v) {
				at := c.varLen[v]
				grow(&at, n)
				c.varLen[v] = at
			}
		}
		var parents []ast.Node
		visit := func(n ast.Node) bool {
			if n == nil {
				parents = parents[:len(parents)-1]
				return true
			}
			switch n := n.(type) {
			case *ast.IndexExpr:
				widen(n.Array, n.Index)
			case *ast.InExpr:
				widen(n.Array, n.Keys)
			case *ast.ForeachStmt:
				widen(n.Array, n.Slice)
				if cols := colLen[c.prog.Refs[n.Array]]; cols != nil {
					for i, k := range n.Keys {
						if i < len(cols) {
							write(k, cols[i])
						}
					}
				}
			case *ast.AssignExpr:
				if id, ok := unparen(n.X).(*ast.Ident); ok {
					if n.Op == "=" {
						write(id, c.maxLen(n.Y))
					} else {
						write(id, -1)
					}
				}
			case *ast.Ident:
				if !readOrSeen(n, parents[len(parents)-1]) {
					write(n, -1)
				}
			}
			parents = append(parents, n)
			return true
		}
		for _, p := range c.prog.Probes {
			ast.Inspect(p.Decl, visit)
		}
		for _, f := range c.prog.Functions {
			ast.Inspect(f.Decl, visit)
		}
	}
	sizes := map[*sema.Var][]int{}
	for v, cols := range colLen {
		s := make([]int, len(cols))
		for i, t := range v.Keys {
			s[i] = maps.LongSize
			if t == sema.String {
				s[i] = maps.KeyStringSize(cols[i], c.opts.Params.StringLen)
			}
		}
		sizes[v] = s
	}
	return sizes
}

// trackLocals starts the length bound of string locals at 0: they start
// out empty.
func (c *compiler) trackLocals(locals []*sema.Var) {
	for _, v := range locals {
		if v.Type == sema.String && !v.IsArray {
			c.varLen[v] = 0
		}
	}
}

// tracked reports whether v is a string local whose length is bounded.
// Parameters are not: they take whatever a caller passes.
func (c *compiler) tracked(v *sema.Var) bool {
	_, ok := c.varLen[v]
	return ok
}

// readOrSeen reports whether the identifier id, under parent, is read, or
// written in a way keySizes bounds (assignment, foreach key). Anything
// else, such as a foreach value or a catch variable, may write any string.
func readOrSeen(id *ast.Ident, parent ast.Node) bool {
	switch p := parent.(type) {
	case *ast.ForeachStmt:
		return p.Value != id
	case *ast.BinaryExpr, *ast.UnaryExpr, *ast.CallExpr, *ast.IndexExpr, *ast.InExpr,
		*ast.TernaryExpr, *ast.ParenExpr, *ast.AssignExpr, *ast.DeleteStmt,
		*ast.ExprStmt, *ast.IfStmt, *ast.WhileStmt, *ast.ForStmt, *ast.ReturnStmt:
		return true
	}
	return false
}

// maxLen returns the most bytes the string expression e can give, without
// its NUL, or -1 when that is not known.
func (c *compiler) maxLen(e ast.Expr) int {
	switch e := e.(type) {
	case *ast.StringLit:
		return len(e.Value)
	case *ast.ParenExpr:
		return c.maxLen(e.X)
	case *ast.Ident:
		if n, ok := c.varLen[c.prog.Refs[e]]; ok {
			return n
		}
	case *ast.TernaryExpr:
		x, y := c.maxLen(e.X), c.maxLen(e.Y)
		if x < 0 || y < 0 {
			return -1
		}
		return max(x, y)
	case *ast.CallExpr:
		if b := builtins[e.Name]; c.prog.FuncCalls[e] == nil && b != nil && b.maxLen != nil {
			return b.maxLen(c, e)
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
		if !padded {
			// A reader stops at the NUL: the words after it can stay.
			size = min(size, roundUp8(len(x.Value)+1))
		}
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

// checkColumn reports an index k of key column i of glob whose strings
// may not fit the column: keySizes did not see it, and a key cut short
// could match another.
func (g *gen) checkColumn(glob *maps.Global, i int, k ast.Expr) {
	if g.stringSize(k) > glob.KeySizes[i] {
		g.c.diags.Add(diag.Errorf(diag.Codegen, "C015", k.Span(),
			"internal error: key column %d of %s is %d bytes wide, too narrow for this index", i+1, glob.Name, glob.KeySizes[i]))
	}
}

// widenString turns the address in R0 of a size-byte string slot (a key
// column, in scratch or in a map's key) into that of a full string slot
// holding the same string: a key column read back into a variable.
func (g *gen) widenString(size int) {
	n := g.c.opts.Params.StringLen
	if size == n {
		return
	}
	slot := g.allocScratch(n)
	g.zeroScratch(slot+size, n-size)
	g.copyStringN(regScratch, slot, asm.R0, size)
	g.scratchPtr(asm.R0, slot)
}
