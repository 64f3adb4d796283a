package bpf

import (
	"github.com/cilium/ebpf/asm"

	"etap/lang/ast"
	"etap/sema"
)

// The string functions of stap's string tapset. Their loops run over the
// bytes of a string slot, at most MAXSTRINGLEN rounds of bpf_loop (see
// loop.go), and keep what a round computes for the next in scratch words.

// stringFuncs returns the builtins of the string tapset.
func stringFuncs() []*builtin {
	s, l := sema.String, sema.Long
	return []*builtin{
		{Builtin: sema.Builtin{Name: "strpos", Params: []sema.Type{s, s}, Result: l}, emit: func(g *gen, call *ast.CallExpr) {
			g.strpos(call)
		}},
		{Builtin: sema.Builtin{Name: "isinstr", Params: []sema.Type{s, s}, Result: l}, emit: func(g *gen, call *ast.CallExpr) {
			g.strpos(call)
			end := g.newLabel("isinstr")
			g.emit(asm.Mov.Reg(asm.R1, asm.R0), asm.Mov.Imm(asm.R0, 1), asm.JSGE.Imm(asm.R1, 0, end), asm.Mov.Imm(asm.R0, 0))
			g.setLabel(end)
		}},
		{Builtin: sema.Builtin{Name: "stringat", Params: []sema.Type{s, l}, Result: l}, emit: emitStringat},
		{Builtin: sema.Builtin{Name: "isdigit", Params: []sema.Type{s}, Result: l}, emit: emitIsdigit},
		{Builtin: sema.Builtin{Name: "strtol", Params: []sema.Type{s, l}, Result: l}, emit: emitStrtol},
		{Builtin: sema.Builtin{Name: "str_replace", Params: []sema.Type{s, s, s}, Result: s}, emit: emitStrReplace},
		{Builtin: sema.Builtin{Name: "text_str", Params: []sema.Type{s}, Result: s}, emit: func(g *gen, call *ast.CallExpr) {
			g.expr(call.Args[0])
			g.textStr(false, call)
		}},
		{Builtin: sema.Builtin{Name: "text_strn", Params: []sema.Type{s, l, l}, Result: s}, emit: emitTextStrn},
		{Builtin: sema.Builtin{Name: "string_quoted", Params: []sema.Type{s}, Result: s}, emit: func(g *gen, call *ast.CallExpr) {
			g.expr(call.Args[0])
			g.textStr(true, call)
		}},
	}
}

// copyPadded copies the string R0 points to into a fresh zeroed scratch
// area of 2*MAXSTRINGLEN+8 bytes and returns its offset: a word read at
// any position of the string then stays inside the area.
func (g *gen) copyPadded() int {
	n := g.c.opts.Params.StringLen
	a := g.allocScratch(2*n + 8)
	g.zeroScratch(a, 2*n+8)
	g.emit(asm.Mov.Reg(asm.R3, asm.R0))
	g.readString(a, n)
	return a
}

// matchAt jumps to match if the string R2 points to (a zero-padded slot)
// is a prefix of the text R1 points to, else to mismatch. It compares a
// word at a time, up to the pattern's NUL, with j a stack slot for the
// word count. It clobbers R0-R5.
func (g *gen) matchAt(j int, match, mismatch string) {
	n := g.c.opts.Params.StringLen
	word := g.newLabel("match_word")
	g.emit(storeDW(asm.R10, int16(j), 0))
	g.setLabel(word)
	g.emit(
		asm.LoadMem(asm.R0, asm.R1, 0, asm.DWord),
		asm.LoadMem(asm.R3, asm.R2, 0, asm.DWord),
		// R4 has the high bit of each byte of the pattern word that is
		// NUL set, exactly for the first such byte.
		asm.Mov.Reg(asm.R4, asm.R3),
		asm.LoadImm(asm.R5, 0x0101010101010101, asm.DWord),
		asm.Sub.Reg(asm.R4, asm.R5),
		asm.Mov.Reg(asm.R5, asm.R3),
		asm.Xor.Imm(asm.R5, -1),
		asm.And.Reg(asm.R4, asm.R5),
		asm.LoadImm(asm.R5, -0x7f7f7f7f7f7f7f80, asm.DWord),
		asm.And.Reg(asm.R4, asm.R5),
		// R5 masks the bytes before the first NUL (all of them if none).
		asm.Mov.Reg(asm.R5, asm.R4),
		asm.Neg.Imm(asm.R5, 0),
		asm.And.Reg(asm.R5, asm.R4),
		asm.RSh.Imm(asm.R5, 7),
		asm.Add.Imm(asm.R5, -1),
		asm.Xor.Reg(asm.R0, asm.R3),
		asm.And.Reg(asm.R0, asm.R5),
		asm.JNE.Imm(asm.R0, 0, mismatch),
		asm.JNE.Imm(asm.R4, 0, match),
		asm.Add.Imm(asm.R1, 8),
		asm.Add.Imm(asm.R2, 8),
		asm.LoadMem(asm.R0, asm.R10, int16(j), asm.DWord),
		asm.Add.Imm(asm.R0, 1),
		asm.StoreMem(asm.R10, int16(j), asm.R0, asm.DWord),
		asm.JLT.Imm(asm.R0, int32(n/8), word),
		asm.Ja.Label(match),
	)
}

// strpos is strpos(s1, s2): where s2 first occurs in s1, or -1.
func (g *gen) strpos(call *ast.CallExpr) {
	n := int32(g.c.opts.Params.StringLen)
	g.operands(call.Args[0], call.Args[1])
	pattern := g.copyOut(asm.R1)
	text := g.copyPadded()
	result := g.word()
	g.setWord(result, -1)
	g.bpfLoop(n, call, func() {
		g.loopIndex(n)
		i, j := g.pushStack(), g.pushStack()
		defer g.popStack()
		defer g.popStack()
		found, next := g.newLabel("strpos_found"), g.newLabel("strpos_next")
		g.emit(asm.StoreMem(asm.R10, int16(i), asm.R1, asm.DWord))
		g.scratchPtr(asm.R3, text)
		g.emit(asm.Add.Reg(asm.R1, asm.R3))
		g.scratchPtr(asm.R2, pattern)
		g.matchAt(j, found, next)
		g.setLabel(found)
		g.emit(asm.LoadMem(asm.R0, asm.R10, int16(i), asm.DWord))
		g.storeWord(result, asm.R0)
		g.loopStop()
		// Where the text ends, no later position can match.
		g.setLabel(next)
		g.textByte(text, i)
		stop := g.newLabel("go_on")
		g.emit(asm.JNE.Imm(asm.R3, 0, stop))
		g.loopStop()
		g.setLabel(stop)
	})
	g.loadWord(asm.R0, result)
}

// copyOut copies the string reg points to into a fresh scratch slot, for
// a loop body to read, and returns the slot's offset.
func (g *gen) copyOut(reg asm.Register) int {
	slot := g.allocScratch(g.c.opts.Params.StringLen)
	g.emit(asm.Mov.Reg(asm.R2, reg))
	g.copyString(regScratch, slot, asm.R2)
	return slot
}

// textByte loads into R3 the byte of the padded text at the position in
// stack slot at, clobbering R1 and R2.
func (g *gen) textByte(text, at int) {
	g.emit(asm.LoadMem(asm.R2, asm.R10, int16(at), asm.DWord))
	g.clampLength(asm.R2, 0)
	g.scratchPtr(asm.R1, text)
	g.emit(asm.Add.Reg(asm.R1, asm.R2), asm.LoadMem(asm.R3, asm.R1, 0, asm.Byte))
}

// emitStrReplace is str_replace(s, old, new): s with every occurrence of
// old, left to right, replaced by new; s itself when old is empty.
func emitStrReplace(g *gen, call *ast.CallExpr) {
	n := g.c.opts.Params.StringLen
	g.expr(call.Args[0])
	text := g.copyPadded()
	g.operands(call.Args[1], call.Args[2])
	repl := g.copyOut(asm.R1)
	old := g.copyOut(asm.R0)
	// oldLen is old's length, pos where in s the next round looks.
	oldLen, pos := g.word(), g.word()
	g.scratchPtr(asm.R3, old)
	g.readString(g.allocScratch(n), n)
	g.emit(asm.Add.Imm(asm.R0, -1))
	g.storeWord(oldLen, asm.R0)
	g.setWord(pos, 0)
	b := g.newBuilder()
	g.bpfLoop(int32(n), call, func() {
		at, j := g.pushStack(), g.pushStack()
		defer g.popStack()
		defer g.popStack()
		matched, next, goOn := g.newLabel("replace_match"), g.newLabel("replace_next"), g.newLabel("replace_go_on")
		g.loadWord(asm.R0, pos)
		g.emit(asm.StoreMem(asm.R10, int16(at), asm.R0, asm.DWord))
		g.textByte(text, at)
		g.emit(asm.JNE.Imm(asm.R3, 0, goOn))
		g.loopStop()
		g.setLabel(goOn)
		g.loadWord(asm.R0, oldLen)
		g.emit(asm.JEq.Imm(asm.R0, 0, next))
		g.scratchPtr(asm.R2, old)
		g.matchAt(j, matched, next)
		g.setLabel(matched)
		g.scratchPtr(asm.R3, repl)
		b.appendString()
		g.loadWord(asm.R0, oldLen)
		g.emit(asm.AddAtomic.Mem(regScratch, asm.R0, asm.DWord, int16(pos)))
		g.emit(asm.Mov.Imm(asm.R0, 0), asm.Return())
		// No match here: copy one byte of s.
		g.setLabel(next)
		g.textByte(text, at)
		b.appendByte()
		g.emit(asm.Mov.Imm(asm.R0, 1), asm.AddAtomic.Mem(regScratch, asm.R0, asm.DWord, int16(pos)))
	})
	b.finish()
}

// textStr escapes the string R0 points to as stap's text_str does:
// printable ASCII other than `"` and backslash as itself, the rest as C
// escapes. An escape that does not fit ends the text. quoted puts the
// text in double quotes, as string_quoted does.
func (g *gen) textStr(quoted bool, pos ast.Node) {
	src := g.copyOut(asm.R0)
	q, limit := g.word(), g.word()
	g.setWord(q, 0)
	if quoted {
		g.setWord(q, 1)
	}
	g.setWord(limit, 0)
	g.escapeText(src, q, limit, pos)
}

// emitTextStrn is text_strn(s, len, quoted): text_str of at most len
// bytes of s (all of them if len is not positive), in double quotes if
// quoted is not 0.
func emitTextStrn(g *gen, call *ast.CallExpr) {
	g.expr(call.Args[0])
	src := g.copyOut(asm.R0)
	q, limit := g.word(), g.word()
	g.expr(call.Args[1])
	g.storeWord(limit, asm.R0)
	g.expr(call.Args[2])
	g.storeWord(q, asm.R0)
	g.escapeText(src, q, limit, call)
}

// escapeText is text_str of the string in the scratch slot src, quoted if
// the scratch word q is not 0, and of no more than the number of bytes the
// scratch word limit says if it is positive.
func (g *gen) escapeText(src, q, limit int, pos ast.Node) {
	n := int32(g.c.opts.Params.StringLen)
	f := &fieldWords{count: g.word(), tmp: g.allocScratch(tmpSize)}
	// room is how long the text may grow: to the longest string, less
	// the closing quote.
	room := g.word()
	b := g.newBuilder()
	g.setWord(room, int64(g.c.opts.Params.Longest()))
	open, whole := g.newLabel("unquoted"), g.newLabel("whole")
	g.loadWord(asm.R1, q)
	g.emit(asm.JEq.Imm(asm.R1, 0, open), asm.Mov.Imm(asm.R3, '"'))
	b.appendByte()
	g.setWord(room, int64(g.c.opts.Params.Longest()-1))
	g.setLabel(open)
	g.loadWord(asm.R1, limit)
	g.emit(asm.JSGT.Imm(asm.R1, 0, whole))
	g.setWord(limit, int64(n))
	g.setLabel(whole)
	g.bpfLoop(n, pos, func() {
		g.loopIndex(n)
		goOn, fits, inLimit := g.newLabel("text_go_on"), g.newLabel("text_fits"), g.newLabel("text_in_limit")
		g.loadWord(asm.R2, limit)
		g.emit(asm.JLT.Reg(asm.R1, asm.R2, inLimit))
		g.loopStop()
		g.setLabel(inLimit)
		g.scratchPtr(asm.R2, src)
		g.emit(
			asm.Add.Reg(asm.R2, asm.R1),
			asm.LoadMem(asm.R3, asm.R2, 0, asm.Byte),
			asm.JNE.Imm(asm.R3, 0, goOn),
		)
		g.loopStop()
		g.setLabel(goOn)
		g.escapeChar(f, '"')
		b.length(asm.R1)
		g.loadWord(asm.R2, f.count)
		g.emit(asm.Add.Reg(asm.R1, asm.R2))
		g.loadWord(asm.R2, room)
		g.emit(asm.JLE.Reg(asm.R1, asm.R2, fits))
		g.loopStop()
		g.setLabel(fits)
		b.appendTmp(f)
	})
	closed := g.newLabel("closed")
	g.loadWord(asm.R1, q)
	g.emit(asm.JEq.Imm(asm.R1, 0, closed), asm.Mov.Imm(asm.R3, '"'))
	b.appendByte()
	g.setLabel(closed)
	b.finish()
}

// emitStringat is stringat(s, pos): the byte at pos, an error if pos is
// not inside s.
func emitStringat(g *gen, call *ast.CallExpr) {
	n := g.c.opts.Params.StringLen
	pos := g.pushStack()
	defer g.popStack()
	g.operands(call.Args[0], call.Args[1])
	g.emit(asm.StoreMem(asm.R10, int16(pos), asm.R1, asm.DWord))
	text := g.copyPadded()
	ok, bad := g.newLabel("in_bounds"), g.newLabel("out_of_bounds")
	g.emit(
		asm.Add.Imm(asm.R0, -1),
		asm.LoadMem(asm.R1, asm.R10, int16(pos), asm.DWord),
		asm.JSLT.Imm(asm.R1, 0, bad),
		asm.JSLT.Reg(asm.R1, asm.R0, ok),
	)
	g.setLabel(bad)
	g.raise(g.errorSite("Position out of bounds", "identifier 'stringat'", call.Span().Start))
	g.setLabel(ok)
	g.emit(asm.Mov.Reg(asm.R2, asm.R1))
	g.clampReg(asm.R2, int32(n-1))
	g.scratchPtr(asm.R0, text)
	g.emit(asm.Add.Reg(asm.R0, asm.R2), asm.LoadMem(asm.R0, asm.R0, 0, asm.Byte))
}

// emitIsdigit is isdigit(s): whether s starts with a decimal digit.
func emitIsdigit(g *gen, call *ast.CallExpr) {
	g.expr(call.Args[0])
	no := g.newLabel("not_digit")
	g.emit(
		asm.LoadMem(asm.R1, asm.R0, 0, asm.Byte),
		asm.Mov.Imm(asm.R0, 0),
		asm.JLT.Imm(asm.R1, '0', no),
		asm.JGT.Imm(asm.R1, '9', no),
		asm.Mov.Imm(asm.R0, 1),
	)
	g.setLabel(no)
}

// emitStrtol is strtol(s, base), as the kernel's simple_strtol that stap
// calls: an optional `-`; base 0 means 16 after "0x" and a hex digit, 8
// after another leading 0, else 10; base 16 skips a "0x"; then digits
// (0-9, a-f in either case) below the base, up to the first that is not.
func emitStrtol(g *gen, call *ast.CallExpr) {
	n := g.c.opts.Params.StringLen
	g.operands(call.Args[0], call.Args[1])
	base, neg, result, start := g.word(), g.word(), g.word(), g.word()
	g.storeWord(base, asm.R1)
	text := g.copyPadded()
	g.setWord(neg, 0)
	g.setWord(result, 0)

	// R1 walks the text, past the sign and the prefix.
	g.scratchPtr(asm.R1, text)
	plus := g.newLabel("no_minus")
	g.emit(asm.LoadMem(asm.R2, asm.R1, 0, asm.Byte), asm.JNE.Imm(asm.R2, '-', plus), asm.Add.Imm(asm.R1, 1))
	g.setWord(neg, 1)
	g.setLabel(plus)

	// R2, R3, R4: the first three bytes, the second lower-cased.
	g.emit(
		asm.LoadMem(asm.R2, asm.R1, 0, asm.Byte),
		asm.LoadMem(asm.R3, asm.R1, 1, asm.Byte),
		asm.Or.Imm(asm.R3, 0x20),
		asm.LoadMem(asm.R4, asm.R1, 2, asm.Byte),
	)
	radixDone, notZero, octal := g.newLabel("radix_done"), g.newLabel("radix_ten"), g.newLabel("radix_octal")
	g.loadWord(asm.R0, base)
	g.emit(
		asm.JNE.Imm(asm.R0, 0, radixDone),
		asm.JNE.Imm(asm.R2, '0', notZero),
		asm.JNE.Imm(asm.R3, 'x', octal),
	)
	// "0x" and a hex digit.
	g.emit(asm.Mov.Reg(asm.R5, asm.R4))
	isHex := g.newLabel("is_hex")
	g.emit(
		asm.JLT.Imm(asm.R5, '0', octal),
		asm.JLE.Imm(asm.R5, '9', isHex),
		asm.Or.Imm(asm.R5, 0x20),
		asm.JLT.Imm(asm.R5, 'a', octal),
		asm.JGT.Imm(asm.R5, 'f', octal),
	)
	g.setLabel(isHex)
	g.setWord(base, 16)
	g.emit(asm.Ja.Label(radixDone))
	g.setLabel(octal)
	g.setWord(base, 8)
	g.emit(asm.Ja.Label(radixDone))
	g.setLabel(notZero)
	g.setWord(base, 10)
	g.setLabel(radixDone)
	skipped := g.newLabel("prefix_done")
	g.loadWord(asm.R0, base)
	g.emit(
		asm.JNE.Imm(asm.R0, 16, skipped),
		asm.JNE.Imm(asm.R2, '0', skipped),
		asm.JNE.Imm(asm.R3, 'x', skipped),
		asm.Add.Imm(asm.R1, 2),
	)
	g.setLabel(skipped)

	// The digits start there; each round reads one, and the value lives
	// in the result word.
	g.scratchPtr(asm.R2, text)
	g.emit(asm.Sub.Reg(asm.R1, asm.R2))
	g.storeWord(start, asm.R1)
	g.bpfLoop(int32(n), call, func() {
		g.loopIndex(int32(n))
		digit, notDigit := g.newLabel("strtol_digit"), g.newLabel("strtol_not_digit")
		g.loadWord(asm.R2, start)
		g.clampReg(asm.R2, 3)
		g.emit(asm.Add.Reg(asm.R1, asm.R2))
		g.scratchPtr(asm.R2, text)
		g.emit(
			asm.Add.Reg(asm.R2, asm.R1),
			asm.LoadMem(asm.R2, asm.R2, 0, asm.Byte),
			asm.Mov.Reg(asm.R3, asm.R2),
			asm.Add.Imm(asm.R3, -'0'),
			asm.JLE.Imm(asm.R3, 9, digit),
			asm.Or.Imm(asm.R2, 0x20),
			asm.JLT.Imm(asm.R2, 'a', notDigit),
			asm.JGT.Imm(asm.R2, 'f', notDigit),
			asm.Mov.Reg(asm.R3, asm.R2),
			asm.Add.Imm(asm.R3, 10-'a'),
			asm.Ja.Label(digit),
		)
		g.setLabel(notDigit)
		g.loopStop()
		g.setLabel(digit)
		above := g.newLabel("strtol_below")
		g.loadWord(asm.R5, base)
		g.emit(asm.JLT.Reg(asm.R3, asm.R5, above))
		g.loopStop()
		g.setLabel(above)
		g.loadWord(asm.R0, result)
		g.emit(asm.Mul.Reg(asm.R0, asm.R5), asm.Add.Reg(asm.R0, asm.R3))
		g.storeWord(result, asm.R0)
	})
	positive := g.newLabel("strtol_positive")
	g.loadWord(asm.R0, result)
	g.loadWord(asm.R1, neg)
	g.emit(asm.JEq.Imm(asm.R1, 0, positive), asm.Neg.Imm(asm.R0, 0))
	g.setLabel(positive)
}
