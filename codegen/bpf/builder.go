package bpf

import (
	"math"

	"github.com/cilium/ebpf/asm"
)

// A builder makes a string piece by piece in a scratch buffer, for sprintf
// and the string functions that rewrite their input (str_replace,
// text_str).
//
// Every value that lives from one piece to the next, the length written so
// far first of all, is kept in scratch words rather than in registers or on
// the stack. The verifier does not track what a map value holds, so the
// paths that wrote different lengths look alike to it when they meet, and
// it checks the code after them once rather than once per path: the
// handlers stay linear to verify however many pieces they append. Each
// use of such a value bounds it afresh.
//
// The buffer has room for a piece of up to MAXSTRINGLEN bytes written at
// the last position, so appends need no bounds of their own: the length
// saturates at MAXSTRINGLEN-1 where it is read, and finish cuts the result
// there.
type builder struct {
	g *gen
	// buf is the buffer's scratch offset, pos that of the length word.
	buf, pos int
	// pads holds the scratch offsets of the areas padWith wrote.
	pads map[byte]int
}

// builderSlack is room past two slots, for the last word of a literal
// appended at the last position.
const builderSlack = 32

// newBuilder starts an empty string.
func (g *gen) newBuilder() *builder {
	n := g.c.opts.Params.StringLen
	b := &builder{g: g, buf: g.allocScratch(2*n + builderSlack), pos: g.allocScratch(8)}
	g.emit(storeDW(regScratch, int16(b.pos), 0))
	return b
}

// word reserves a scratch word for a value that lives across pieces.
func (g *gen) word() int { return g.allocScratch(8) }

// cursor sets R1 to where the next byte goes, clobbering R2.
func (b *builder) cursor() {
	g := b.g
	g.emit(asm.LoadMem(asm.R2, regScratch, int16(b.pos), asm.DWord))
	g.clampLength(asm.R2, 0)
	g.scratchPtr(asm.R1, b.buf)
	g.emit(asm.Add.Reg(asm.R1, asm.R2))
}

// advance adds reg to the length.
func (b *builder) advance(reg asm.Register) {
	b.g.emit(asm.AddAtomic.Mem(regScratch, reg, asm.DWord, int16(b.pos)))
}

// advanceBy adds n to the length, clobbering R2.
func (b *builder) advanceBy(n int32) {
	b.g.emit(asm.Mov.Imm(asm.R2, n))
	b.advance(asm.R2)
}

// length loads the length so far into reg.
func (b *builder) length(reg asm.Register) {
	b.g.emit(asm.LoadMem(reg, regScratch, int16(b.pos), asm.DWord))
}

// appendString appends the string R3 points to, clobbering R0-R5.
func (b *builder) appendString() {
	g := b.g
	b.cursor()
	g.emit(
		asm.Mov.Imm(asm.R2, int32(g.c.opts.Params.StringLen)),
		asm.FnProbeReadKernelStr.Call(),
		asm.Add.Imm(asm.R0, -1),
	)
	b.advance(asm.R0)
}

// appendBytes appends the count in R4 (bounded to limit, at most
// MAXSTRINGLEN) of bytes R3 points to, clobbering R0-R5.
func (b *builder) appendBytes(limit int) {
	g := b.g
	b.cursor()
	g.emit(asm.Mov.Reg(asm.R2, asm.R4))
	g.clampReg(asm.R2, int32(limit))
	b.advance(asm.R2)
	g.emit(asm.FnProbeReadKernel.Call())
}

// appendByte appends the byte in R3, clobbering R1 and R2.
func (b *builder) appendByte() {
	b.cursor()
	b.g.emit(asm.StoreMem(asm.R1, 0, asm.R3, asm.Byte))
	b.advanceBy(1)
}

// appendLiteral appends s, a word at a time, clobbering R1-R3.
func (b *builder) appendLiteral(s string) {
	g := b.g
	if len(s) > g.c.opts.Params.Longest() {
		s = s[:g.c.opts.Params.Longest()]
	}
	if s == "" {
		return
	}
	b.cursor()
	for i := 0; i < len(s); i += 8 {
		var word int64
		for j := 0; j < 8 && i+j < len(s); j++ {
			word |= int64(s[i+j]) << (8 * j)
		}
		g.loadConst(asm.R3, word)
		g.emit(asm.StoreMem(asm.R1, int16(i), asm.R3, asm.DWord))
	}
	b.advanceBy(int32(len(s)))
}

// padWith prepares fill to append copies of c: it writes MAXSTRINGLEN of
// them to a scratch area. It must run on every path to the fills, and
// for every c a fill may be asked for a run of.
func (b *builder) padWith(c byte) {
	g := b.g
	n := g.c.opts.Params.StringLen
	if b.pads == nil {
		b.pads = map[byte]int{}
	}
	if _, ok := b.pads[c]; ok {
		return
	}
	off := g.allocScratch(n)
	b.pads[c] = off
	if c == 0 {
		g.zeroScratch(off, n)
		return
	}
	g.loadConst(asm.R1, int64(0x0101010101010101*uint64(c)))
	for i := 0; i < n; i += 8 {
		g.emit(asm.StoreMem(regScratch, int16(off+i), asm.R1, asm.DWord))
	}
}

// fill appends as many copies of the byte c as the scratch word at count
// says (none if it is negative), clobbering R0-R5. A run longer than the
// string is cut: nothing past MAXSTRINGLEN-1 survives. It copies from the
// area padWith wrote rather than looping, so costs the verifier nothing.
func (b *builder) fill(c byte, count int) {
	g := b.g
	area, ok := b.pads[c]
	if !ok {
		// No field asked for such a run: the count is always 0.
		return
	}
	g.emit(asm.LoadMem(asm.R4, regScratch, int16(count), asm.DWord))
	g.clampLength(asm.R4, 0)
	g.scratchPtr(asm.R3, area)
	b.appendBytes(g.c.opts.Params.StringLen - 1)
}

// finish ends the string: it terminates the buffer and copies it into a
// fresh zero-padded slot, whose address it leaves in R0.
func (b *builder) finish() {
	g := b.g
	n := g.c.opts.Params.StringLen
	b.cursor()
	g.emit(asm.StoreImm(asm.R1, 0, 0, asm.Byte))
	slot := g.allocScratch(n)
	g.zeroScratch(slot, n)
	g.scratchPtr(asm.R1, slot)
	g.scratchPtr(asm.R3, b.buf)
	g.emit(asm.Mov.Imm(asm.R2, int32(n)), asm.FnProbeReadKernelStr.Call())
	g.scratchPtr(asm.R0, slot)
}

// clampReg bounds reg, a signed value, to [0, hi].
func (g *gen) clampReg(reg asm.Register, hi int32) {
	low, high := g.newLabel("not_negative"), g.newLabel("in_range")
	g.emit(asm.JSGE.Imm(reg, 0, low), asm.Mov.Imm(reg, 0))
	g.setLabel(low)
	g.emit(asm.JLE.Imm(reg, hi, high), asm.Mov.Imm(reg, hi))
	g.setLabel(high)
}

// maxZero sets reg, a signed value, to 0 if it is negative.
func (g *gen) maxZero(reg asm.Register) {
	ok := g.newLabel("not_negative")
	g.emit(asm.JSGE.Imm(reg, 0, ok), asm.Mov.Imm(reg, 0))
	g.setLabel(ok)
}

// storeWord stores reg into a scratch word.
func (g *gen) storeWord(off int, reg asm.Register) {
	g.emit(asm.StoreMem(regScratch, int16(off), reg, asm.DWord))
}

// loadWord loads a scratch word into reg.
func (g *gen) loadWord(reg asm.Register, off int) {
	g.emit(asm.LoadMem(reg, regScratch, int16(off), asm.DWord))
}

// setWord stores a constant into a scratch word.
func (g *gen) setWord(off int, v int64) {
	if v >= math.MinInt32 && v <= math.MaxInt32 {
		g.emit(storeDW(regScratch, int16(off), int32(v)))
		return
	}
	g.loadConst(asm.R1, v)
	g.storeWord(off, asm.R1)
}
