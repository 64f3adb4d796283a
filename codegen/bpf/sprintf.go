package bpf

import (
	"strings"

	"github.com/cilium/ebpf/asm"

	"etap/diag"
	"etap/lang/ast"
	"etap/maps"
	"etap/sema"
)

// sprintf, sprint and sprintln format in the probe itself, kernel probes
// included, so that their result is a string like any other: assigned,
// joined, compared, used as a key. The rules are output.AppendFormat's,
// which formats printf records in user space; TestSprintfMatchesPrintf
// holds the two to the same text.

// sprintfBuiltin is sprintf(fmt, args...).
func sprintfBuiltin() *builtin {
	return &builtin{
		Builtin: sema.Builtin{Name: "sprintf", Variadic: true, Result: sema.String, ArgTypes: formatArgTypes("sprintf")},
		emit: func(g *gen, call *ast.CallExpr) {
			dirs, _ := maps.ParseFormat(call.Args[0].(*ast.StringLit).Value)
			g.sprintf(dirs, call.Args[1:])
		},
	}
}

// sprintBuiltin is sprint or sprintln: the arguments in their natural
// format, one after the other, then suffix.
func sprintBuiltin(name, suffix string) *builtin {
	return &builtin{
		Builtin: sema.Builtin{Name: name, Variadic: true, Result: sema.String, ArgTypes: scalarArgs(name)},
		emit: func(g *gen, call *ast.CallExpr) {
			dirs, _ := maps.ParseFormat(g.naturalFormat(call.Args, "", suffix))
			g.sprintf(dirs, call.Args)
		},
	}
}

// scalarArgs accepts any number of longs and strings for name: a
// histogram has no text of its own outside print.
func scalarArgs(name string) func(call *ast.CallExpr) ([]sema.Type, *diag.Diagnostic) {
	return func(call *ast.CallExpr) ([]sema.Type, *diag.Diagnostic) {
		for _, a := range call.Args {
			if h, ok := a.(*ast.AggregateExpr); ok {
				if _, stat := sema.StatOp(h); !stat {
					return nil, diag.Errorf(diag.Semantic, "S056", a.Span(), "%s cannot format a histogram", name).
						WithHint("print it with print(), which draws it")
				}
			}
		}
		return anyArgs(call)
	}
}

// anyArgs accepts any number of arguments of any scalar type.
func anyArgs(call *ast.CallExpr) ([]sema.Type, *diag.Diagnostic) {
	return make([]sema.Type, len(call.Args)), nil
}

// fieldWords are the scratch words one conversion works in.
type fieldWords struct {
	value, width, prec, minus int
	sign, count, zeros, pad   int
	// tmp holds the bytes of a number or character, right-aligned for
	// numbers; str a copy of a %s argument, to measure it.
	tmp, str int
}

// tmpSize is the room for the digits of a 64-bit number in any base.
const tmpSize = 32

// fmtArg is an evaluated argument of a format: a scratch word that holds
// a long, or a stack slot that holds a string's address.
type fmtArg struct {
	off int
	str bool
}

// sprintf formats dirs with args into a new string slot, whose address it
// leaves in R0. The arguments are all evaluated first, in order, as stap
// does.
func (g *gen) sprintf(dirs []maps.Directive, args []ast.Expr) {
	vals := make([]fmtArg, len(args))
	for i, a := range args {
		g.expr(a)
		if g.typeOf(a) != sema.String {
			vals[i] = fmtArg{off: g.word()}
			g.storeWord(vals[i].off, asm.R0)
			continue
		}
		if anySideEffects(args[i+1:]) {
			off := g.allocScratch(g.c.opts.Params.StringLen)
			g.copyString(regScratch, off, asm.R0)
			g.scratchPtr(asm.R0, off)
		}
		vals[i] = fmtArg{off: g.pushStack(), str: true}
		defer g.popStack()
		g.emit(asm.StoreMem(asm.R10, int16(vals[i].off), asm.R0, asm.DWord))
	}
	g.format(dirs, vals)
}

// format formats dirs with evaluated arguments into a new string slot,
// whose address it leaves in R0.
func (g *gen) format(dirs []maps.Directive, vals []fmtArg) {
	f := &fieldWords{
		value: g.word(), width: g.word(), prec: g.word(), minus: g.word(),
		sign: g.word(), count: g.word(), zeros: g.word(), pad: g.word(),
		tmp: g.allocScratch(tmpSize), str: g.allocScratch(g.c.opts.Params.StringLen),
	}
	b := g.newBuilder()
	// Runs of padding: spaces or NULs up to a width, zeros up to a
	// number's precision or, with the 0 flag, its width.
	for _, d := range dirs {
		width := d.Width >= 0 || d.WidthStar
		number := d.Verb != 0 && !strings.ContainsRune("scb", rune(d.Verb))
		switch {
		case d.Verb == 'b' && width:
			b.padWith(0)
		case d.Verb != 0 && width:
			b.padWith(' ')
		}
		if number && (d.Prec >= 0 || d.PrecStar || d.Zero && width) {
			b.padWith('0')
		}
	}
	next := 0
	arg := func() int { next++; return vals[next-1].off }
	for _, d := range dirs {
		if d.Verb == 0 {
			b.appendLiteral(d.Literal)
			continue
		}
		g.setWord(f.width, int64(d.Width))
		g.setWord(f.prec, int64(d.Prec))
		minus := int64(0)
		if d.Minus {
			minus = 1
		}
		g.setWord(f.minus, minus)
		if d.WidthStar {
			g.loadWord(asm.R0, arg())
			g.starWidth(f)
		}
		if d.PrecStar {
			g.loadWord(asm.R0, arg())
			g.maxZero(asm.R0)
			g.clampReg(asm.R0, maps.MaxFieldWidth)
			g.storeWord(f.prec, asm.R0)
		}
		at := arg()
		if d.Verb == 's' {
			g.emit(asm.LoadMem(asm.R3, asm.R10, int16(at), asm.DWord))
			b.stringField(&d, f)
			continue
		}
		g.loadWord(asm.R0, at)
		g.storeWord(f.value, asm.R0)
		switch d.Verb {
		case 'c':
			b.charField(&d, f)
		case 'b':
			b.binaryField(f)
		default:
			b.numberField(&d, f)
		}
	}
	b.finish()
}

// anySideEffects reports whether evaluating any of es could change a
// variable.
func anySideEffects(es []ast.Expr) bool {
	for _, e := range es {
		if hasSideEffects(e) {
			return true
		}
	}
	return false
}

// starWidth stores a `*` width from R0: a negative one left-justifies,
// as in C, and both are bounded as output.AppendFormat bounds them.
func (g *gen) starWidth(f *fieldWords) {
	positive, neg := g.newLabel("width_positive"), g.newLabel("width_neg")
	g.emit(asm.JSGE.Imm(asm.R0, 0, positive), asm.JSGE.Imm(asm.R0, -maps.MaxFieldWidth, neg))
	g.emit(asm.Mov.Imm(asm.R0, -maps.MaxFieldWidth))
	g.setLabel(neg)
	g.emit(asm.Neg.Imm(asm.R0, 0))
	g.setWord(f.minus, 1)
	g.setLabel(positive)
	g.clampReg(asm.R0, maps.MaxFieldWidth)
	g.storeWord(f.width, asm.R0)
}

// padFor sets the pad word to the field width less the count word (less
// R3 too with extra), or 0.
func (g *gen) padFor(f *fieldWords, extra bool) {
	g.loadWord(asm.R1, f.width)
	g.loadWord(asm.R2, f.count)
	g.emit(asm.Sub.Reg(asm.R1, asm.R2))
	if extra {
		g.emit(asm.Sub.Reg(asm.R1, asm.R3))
	}
	g.maxZero(asm.R1)
	g.storeWord(f.pad, asm.R1)
}

// field appends a padded field: pad copies of padChar before body, or
// after it when the field is left-justified. With zeroPad the padding
// goes into the zeros word instead, for body to write after a sign.
func (b *builder) field(f *fieldWords, padChar byte, zeroPad bool, body func()) {
	g := b.g
	left := g.newLabel("left_justified")
	g.loadWord(asm.R1, f.minus)
	g.emit(asm.JNE.Imm(asm.R1, 0, left))
	if zeroPad {
		g.loadWord(asm.R1, f.zeros)
		g.loadWord(asm.R2, f.pad)
		g.emit(asm.Add.Reg(asm.R1, asm.R2))
		g.storeWord(f.zeros, asm.R1)
	} else {
		b.fill(padChar, f.pad)
	}
	g.setWord(f.pad, 0)
	g.setLabel(left)
	body()
	b.fill(padChar, f.pad)
}

// numberField appends the value word as a number, following
// output.appendNumber: sign, prefix, zeros up to the precision, digits.
func (b *builder) numberField(d *maps.Directive, f *fieldWords) {
	g := b.g
	base, signed := int32(10), false
	switch d.Verb {
	case 'd', 'i':
		signed = true
	case 'o':
		base = 8
	case 'x', 'X', 'p':
		base = 16
	}
	prefix := ""
	if d.Hash || d.Verb == 'p' {
		switch {
		case d.Verb == 'X':
			prefix = "0X"
		case base == 16:
			prefix = "0x"
		case base == 8:
			prefix = "0"
		}
	}
	sign := int64(0)
	if signed && d.Plus {
		sign = '+'
	} else if signed && d.Space {
		sign = ' '
	}
	g.setWord(f.sign, sign)
	if signed {
		positive := g.newLabel("positive")
		g.loadWord(asm.R0, f.value)
		g.emit(asm.JSGE.Imm(asm.R0, 0, positive), asm.Neg.Imm(asm.R0, 0))
		g.storeWord(f.value, asm.R0)
		g.setWord(f.sign, '-')
		g.setLabel(positive)
	}
	b.digits(f, base, d.Verb == 'X')

	// zeros = max(prec - digits, 0); the field holds the sign, the
	// prefix, the zeros and the digits.
	g.loadWord(asm.R1, f.prec)
	g.loadWord(asm.R2, f.count)
	g.emit(asm.Sub.Reg(asm.R1, asm.R2))
	g.maxZero(asm.R1)
	g.storeWord(f.zeros, asm.R1)
	noSign := g.newLabel("no_sign")
	g.emit(asm.Mov.Imm(asm.R3, int32(len(prefix))))
	g.loadWord(asm.R4, f.sign)
	g.emit(asm.JEq.Imm(asm.R4, 0, noSign), asm.Add.Imm(asm.R3, 1))
	g.setLabel(noSign)
	g.loadWord(asm.R1, f.zeros)
	g.emit(asm.Add.Reg(asm.R3, asm.R1))
	g.padFor(f, true)

	b.field(f, ' ', d.Zero, func() {
		skip := g.newLabel("no_sign")
		g.loadWord(asm.R3, f.sign)
		g.emit(asm.JEq.Imm(asm.R3, 0, skip))
		b.appendByte()
		g.setLabel(skip)
		for i := 0; i < len(prefix); i++ {
			g.emit(asm.Mov.Imm(asm.R3, int32(prefix[i])))
			b.appendByte()
		}
		b.fill('0', f.zeros)
		b.appendTmp(f)
	})
}

// digits writes the value word in base, right-aligned at the end of tmp,
// and stores how many it wrote in the count word. A value is always at
// least one digit, so 0 is "0".
func (b *builder) digits(f *fieldWords, base int32, upper bool) {
	g := b.g
	// Hex digits above 9 are letters: adding this to '0'+d makes them so.
	letters := int32('a' - '0' - 10)
	if upper {
		letters = 'A' - '0' - 10
	}
	head, done := g.newLabel("digit"), g.newLabel("digits_done")
	g.loadWord(asm.R2, f.value)
	g.scratchPtr(asm.R1, f.tmp+tmpSize)
	g.emit(asm.Mov.Imm(asm.R4, 0))
	g.setLabel(head)
	g.emit(
		asm.Mov.Reg(asm.R3, asm.R2),
		asm.Mod.Imm(asm.R3, base),
		asm.Div.Imm(asm.R2, base),
	)
	if base == 16 {
		// Branch-free: (9-d)>>63 is all ones exactly when d > 9.
		g.emit(
			asm.Mov.Imm(asm.R0, 9),
			asm.Sub.Reg(asm.R0, asm.R3),
			asm.ArSh.Imm(asm.R0, 63),
			asm.And.Imm(asm.R0, letters),
			asm.Add.Reg(asm.R3, asm.R0),
		)
	}
	g.emit(
		asm.Add.Imm(asm.R3, '0'),
		asm.Add.Imm(asm.R1, -1),
		asm.StoreMem(asm.R1, 0, asm.R3, asm.Byte),
		asm.Add.Imm(asm.R4, 1),
		asm.JEq.Imm(asm.R2, 0, done),
		asm.JLT.Imm(asm.R4, tmpSize, head),
	)
	g.setLabel(done)
	g.storeWord(f.count, asm.R4)
}

// appendTmp appends the last count bytes of tmp.
func (b *builder) appendTmp(f *fieldWords) {
	g := b.g
	g.loadWord(asm.R4, f.count)
	g.clampReg(asm.R4, tmpSize)
	g.scratchPtr(asm.R3, f.tmp+tmpSize)
	g.emit(asm.Sub.Reg(asm.R3, asm.R4))
	b.appendBytes(tmpSize)
}

// stringField appends the string R3 points to, cut to the precision and
// padded with spaces; with the 0 flag a NUL ends the field, as in
// output.appendString, and so ends the string.
func (b *builder) stringField(d *maps.Directive, f *fieldWords) {
	g := b.g
	n := g.c.opts.Params.StringLen
	g.scratchPtr(asm.R1, f.str)
	g.emit(asm.Mov.Imm(asm.R2, int32(n)), asm.FnProbeReadKernelStr.Call(), asm.Add.Imm(asm.R0, -1))
	g.maxZero(asm.R0)
	whole := g.newLabel("whole")
	g.loadWord(asm.R1, f.prec)
	g.emit(
		asm.JSLT.Imm(asm.R1, 0, whole),
		asm.JGE.Reg(asm.R1, asm.R0, whole),
		asm.Mov.Reg(asm.R0, asm.R1),
	)
	g.setLabel(whole)
	g.storeWord(f.count, asm.R0)
	g.padFor(f, false)
	b.field(f, ' ', false, func() {
		g.loadWord(asm.R4, f.count)
		g.scratchPtr(asm.R3, f.str)
		b.appendBytes(n)
	})
	if d.Zero {
		g.emit(asm.Mov.Imm(asm.R3, 0))
		b.appendByte()
	}
}

// charField appends the low byte of the value word, padded with spaces;
// with `#` escaped as output.appendChar escapes it.
func (b *builder) charField(d *maps.Directive, f *fieldWords) {
	g := b.g
	g.loadWord(asm.R3, f.value)
	g.emit(asm.And.Imm(asm.R3, 0xff))
	if d.Hash {
		g.escapeChar(f, '\'')
	} else {
		g.emit(asm.StoreMem(regScratch, int16(f.tmp+tmpSize-1), asm.R3, asm.Byte))
		g.setWord(f.count, 1)
	}
	g.padFor(f, false)
	b.field(f, ' ', false, func() { b.appendTmp(f) })
}

// escapeLetters are the letters of the C escapes of bytes 7 to 13, in
// order: \a \b \t \n \v \f \r.
const escapeLetters = "abtnvfr"

// escapeChar writes the byte in R3 at the end of tmp, as itself if it is
// printable ASCII other than quote and backslash, else as a C escape, and
// stores how many bytes that took in the count word.
func (g *gen) escapeChar(f *fieldWords, quote byte) {
	end := f.tmp + tmpSize
	done, escape, letter, octal := g.newLabel("char_done"), g.newLabel("escape"), g.newLabel("letter"), g.newLabel("octal")
	g.emit(
		asm.JLT.Imm(asm.R3, ' ', letter),
		asm.JGT.Imm(asm.R3, '~', octal),
		asm.JEq.Imm(asm.R3, int32(quote), escape),
		asm.JEq.Imm(asm.R3, '\\', escape),
		asm.StoreMem(regScratch, int16(end-1), asm.R3, asm.Byte),
	)
	g.setWord(f.count, 1)
	g.emit(asm.Ja.Label(done))

	g.setLabel(letter)
	g.emit(asm.JLT.Imm(asm.R3, 7, octal), asm.JGT.Imm(asm.R3, 13, octal))
	var word int64
	for i := range len(escapeLetters) {
		word |= int64(escapeLetters[i]) << (8 * i)
	}
	g.emit(
		asm.Add.Imm(asm.R3, -7),
		asm.LSh.Imm(asm.R3, 3),
		asm.LoadImm(asm.R1, word, asm.DWord),
		asm.RSh.Reg(asm.R1, asm.R3),
		asm.Mov.Reg(asm.R3, asm.R1),
		asm.And.Imm(asm.R3, 0xff),
	)
	g.setLabel(escape)
	g.emit(
		asm.StoreMem(regScratch, int16(end-1), asm.R3, asm.Byte),
		asm.StoreImm(regScratch, int16(end-2), '\\', asm.Byte),
	)
	g.setWord(f.count, 2)
	g.emit(asm.Ja.Label(done))

	g.setLabel(octal)
	g.emit(asm.StoreImm(regScratch, int16(end-4), '\\', asm.Byte))
	for i := range 3 {
		g.emit(
			asm.Mov.Reg(asm.R1, asm.R3),
			asm.RSh.Imm(asm.R1, int32(6-3*i)),
			asm.And.Imm(asm.R1, 7),
			asm.Add.Imm(asm.R1, '0'),
			asm.StoreMem(regScratch, int16(end-3+i), asm.R1, asm.Byte),
		)
	}
	g.setWord(f.count, 4)
	g.setLabel(done)
}

// binaryField appends the value word's low bytes in native order, as %b
// does: as many as the precision says if it is 1, 2, 4 or 8, else the
// width if that is, else 8; the rest of the field is NUL bytes, and the
// first NUL ends the string.
func (b *builder) binaryField(f *fieldWords) {
	g := b.g
	chosen := g.newLabel("size_chosen")
	for _, w := range []int{f.prec, f.width} {
		next := g.newLabel("size_next")
		g.loadWord(asm.R1, w)
		for _, size := range []int32{1, 2, 4, 8} {
			g.emit(asm.JEq.Imm(asm.R1, size, chosen))
		}
		g.setLabel(next)
	}
	g.emit(asm.Mov.Imm(asm.R1, 8))
	g.setLabel(chosen)
	g.storeWord(f.count, asm.R1)
	// The value fills the last word of tmp, its low bytes first on the
	// little-endian machines etap runs on.
	g.loadWord(asm.R3, f.value)
	g.emit(asm.StoreMem(regScratch, int16(f.tmp+tmpSize-8), asm.R3, asm.DWord))
	g.padFor(f, false)
	b.field(f, 0, false, func() {
		g.loadWord(asm.R4, f.count)
		g.clampReg(asm.R4, 8)
		g.scratchPtr(asm.R3, f.tmp+tmpSize-8)
		b.appendBytes(8)
	})
}
