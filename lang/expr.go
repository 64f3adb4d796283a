package lang

import (
	"maps"
	"slices"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"

	"etap/diag"
	"etap/lang/ast"
)

// Expressions follow stap's grammar level by level, loosest first:
//
//	assignment (right associative)     = += -= *= /= %= <<= >>= &= ^= |= .= <<<
//	ternary (right associative)        c ? x : y
//	looseLevel 1..5                     || && | ^ &
//	membership                          k in a, [k1, k2] in a
//	comparison                          == != < <= > >=, or one =~ / !~ "re"
//	tightLevel 1..4                     << >> >>>, ., + -, * / %
//	unary                               + - ! ~
//	increment                           ++x --x x++ x--
//	context value                       &v, v->f, v[i], v$, v$$
//	value                               literals, names, calls, a[i], (e), @ops
//
// Unlike C, the bitwise operators bind looser than `in` and the
// comparisons, and `.` has a level of its own just below + and -:
// "n=" . x + 1 is "n=" . (x + 1). `in` and `=~` do not chain: after
// `k in a` or `s =~ "re"` only a looser operator may follow.

// looseLevel and tightLevel give the level of the left-associative binary
// operators above and below membership and comparison.
var (
	looseLevel = map[string]int{"||": 1, "&&": 2, "|": 3, "^": 4, "&": 5}
	tightLevel = map[string]int{"<<": 1, ">>": 1, ">>>": 1, ".": 2, "+": 3, "-": 3, "*": 4, "/": 4, "%": 4}
)

const (
	looseLevels = 5
	tightLevels = 4
)

// isBinaryOp reports whether op is a binary operator.
func isBinaryOp(op string) bool {
	return looseLevel[op] > 0 || tightLevel[op] > 0 || compareOps[op] || op == "=~" || op == "!~"
}

var assignOps = map[string]bool{
	"=": true, "+=": true, "-=": true, "*=": true, "/=": true, "%=": true,
	"<<=": true, ">>=": true, "&=": true, "^=": true, "|=": true, ".=": true, "<<<": true,
}

// atOps are the built-in @operators, stap's @words.
var atOps = map[string]bool{
	"count": true, "sum": true, "min": true, "max": true, "avg": true, "variance": true,
	"hist_log": true, "hist_linear": true,
	"cast": true, "var": true, "defined": true, "entry": true, "probewrite": true,
	"const": true, "perf": true, "kregister": true, "uregister": true, "kderef": true, "uderef": true,
}

// atOpNames lists atOps in order, for "did you mean".
var atOpNames = slices.Sorted(maps.Keys(atOps))

// statOps are the extractors of a statistic; sortAggregates those a
// foreach can sort on, which are the same.
var statOps = map[string]bool{"count": true, "sum": true, "min": true, "max": true, "avg": true, "variance": true}

// histPrinters take a whole histogram as their argument: print(@hist_log(s)).
var histPrinters = map[string]bool{"print": true, "println": true, "sprint": true, "sprintln": true}

// printers are the printing functions, which stap's grammar knows by
// name: they can only be called.
var printers = map[string]bool{
	"print": true, "println": true, "printf": true, "printd": true, "printdln": true,
	"sprint": true, "sprintln": true, "sprintf": true, "sprintd": true, "sprintdln": true,
}

// startsExpr reports whether t can begin an expression.
func startsExpr(t *lexer.Token) bool {
	switch t.Type {
	case tokInt, tokString, tokIdent, tokTargetVar, tokAt, tokEmbedded:
		return true
	case tokOp:
		switch t.Value {
		case "(", "[", "!", "~", "-", "+", "++", "--", "&":
			return true
		}
	}
	return false
}

// expr parses a full expression, assignment included.
func (p *parser) expr() ast.Expr {
	x := p.ternary()
	t := p.peek()
	if t.Type != tokOp || !assignOps[t.Value] {
		return x
	}
	p.checkAssignable(x, t)
	p.next()
	p.enter()
	y := p.expr() // right associative: a = b = c
	p.leave()
	return &ast.AssignExpr{Base: span(x, y), Op: t.Value, OpPos: toPos(t.Pos), X: x, Y: y}
}

// ternary parses `cond ? x : y`. The true branch is a full expression and
// the false one a ternary, as in stap (and C): a ? b : c = d assigns to
// the whole conditional.
func (p *parser) ternary() ast.Expr {
	cond := p.loose(1)
	if !p.acceptOp("?") {
		return cond
	}
	p.enter()
	x := p.expr()
	p.expectOp(":")
	y := p.ternary()
	p.leave()
	return &ast.TernaryExpr{Base: span(cond, y), Cond: cond, X: x, Y: y}
}

// loose parses the operators of looseLevel level and tighter.
func (p *parser) loose(level int) ast.Expr {
	return p.leftAssociative(looseLevel, looseLevels, level, p.membership)
}

// leftAssociative parses the left-associative binary operators that table
// puts at level, down to the last of levels, whose operands operand parses.
func (p *parser) leftAssociative(table map[string]int, levels, level int, operand func() ast.Expr) ast.Expr {
	if level > levels {
		return operand()
	}
	x := p.leftAssociative(table, levels, level+1, operand)
	for t := p.peek(); t.Type == tokOp && table[t.Value] == level; t = p.peek() {
		p.next()
		x = binaryExpr(t, x, p.leftAssociative(table, levels, level+1, operand))
	}
	return x
}

// binaryExpr joins x and y with the operator token t.
func binaryExpr(t *lexer.Token, x, y ast.Expr) *ast.BinaryExpr {
	return &ast.BinaryExpr{Base: span(x, y), Op: t.Value, OpPos: toPos(t.Pos), X: x, Y: y}
}

// membership parses `k in a`, `[k1, *] in a` (`*` matching any key) and
// what binds tighter. A bracketed list of one key without `in` is that
// key, as in stap.
func (p *parser) membership() ast.Expr {
	start := p.peek()
	var keys []ast.Expr
	if isOp(start, "[") {
		p.next()
		p.enter()
		keys = p.keyList(true)
		p.leave()
		p.expectOp("]")
		if !p.atKeyword("in") {
			if len(keys) == 1 && keys[0] != nil {
				return keys[0]
			}
			p.failExpected("'in'")
		}
	} else {
		x := p.comparison()
		if !p.atKeyword("in") {
			return x
		}
		keys = []ast.Expr{x}
	}
	p.next()
	if h := p.peek(); h.Type == tokAt && isHist(h) {
		hist := p.hist()
		return &ast.HistInExpr{Base: p.base(start), Keys: keys, Hist: hist}
	}
	arr := p.expectIdent("an array name")
	return &ast.InExpr{Base: p.base(start), Keys: keys, Array: arr}
}

// comparison parses comparisons, which chain to the left, or one regular
// expression match, whose pattern must be a literal.
func (p *parser) comparison() ast.Expr {
	x := p.tight(1)
	if t := p.peek(); isOp(t, "=~") || isOp(t, "!~") {
		p.next()
		if p.peek().Type != tokString {
			bailAtLexError(p.peek())
			p.fail(p.errorAt(p.peek(), CodeUnexpected, "expected a string literal after '%s'; saw %s", t.Value, describe(p.peek())).
				WithHint("the regular expression of '%s' must be written as a literal", t.Value))
		}
		return binaryExpr(t, x, p.stringLit())
	}
	for t := p.peek(); t.Type == tokOp && compareOps[t.Value]; t = p.peek() {
		p.next()
		x = binaryExpr(t, x, p.tight(1))
	}
	return x
}

// tight parses the operators of tightLevel level and tighter.
func (p *parser) tight(level int) ast.Expr {
	return p.leftAssociative(tightLevel, tightLevels, level, p.unary)
}

// unary parses prefix `+ - ! ~`, then an increment.
func (p *parser) unary() ast.Expr {
	t := p.peek()
	if t.Type == tokOp && (t.Value == "!" || t.Value == "~" || t.Value == "-" || t.Value == "+") {
		p.next()
		p.enter()
		x := p.unary()
		p.leave()
		return &ast.UnaryExpr{Base: ast.Base{Start: toPos(t.Pos), End: x.Span().End}, Op: t.Value, X: x}
	}
	return p.increment()
}

// increment parses `++x`, `--x`, `x++`, `x--` or a plain context value.
// As in stap, the operand of a prefix `++` is a value, not a unary
// expression: ++-x is an error, -++x is not.
func (p *parser) increment() ast.Expr {
	t := p.peek()
	if isOp(t, "++") || isOp(t, "--") {
		p.next()
		x := p.contextValue()
		p.checkAssignable(x, t)
		return &ast.IncDecExpr{Base: ast.Base{Start: toPos(t.Pos), End: x.Span().End}, Op: t.Value, X: x}
	}
	x := p.contextValue()
	if t := p.peek(); isOp(t, "++") || isOp(t, "--") {
		p.checkAssignable(x, t)
		p.next()
		return &ast.IncDecExpr{Base: p.from(x.Span().Start), Op: t.Value, Postfix: true, X: x}
	}
	return x
}

// contextValue parses a value with the suffixes of stap's target symbols:
// `&` before it, `->member` and `[index]` after it, and a final `$` or
// `$$` to pretty-print it. Any value may take them (stap then reads it as
// a typed pointer); a context variable, @cast or @var is the usual base.
func (p *parser) contextValue() ast.Expr {
	start := p.peek()
	addr := isOp(start, "&")
	if addr {
		p.next()
	}
	var x ast.Expr
	pretty := ""
	switch t := p.peek(); {
	case t.Type == tokTargetVar:
		p.next()
		name := t.Value
		if i := strings.TrimRight(name, "$"); len(i) > 1 && len(i) < len(name) {
			name, pretty = i, name[len(i):] // $var$ and $var$$
		}
		x = &ast.TargetVar{Base: p.base(t), Name: name[1:]}
	case t.Type == tokAt && t.Value == "@cast":
		x = p.castExpr()
	case t.Type == tokAt && t.Value == "@var":
		x = p.atVarExpr()
	default:
		x = p.value()
		if te, ok := unparen(x).(*ast.TargetExpr); ok && addr && te.AddrOf {
			p.fail(p.errorAt(start, CodeTargetSuffix, "cannot take the address of an address").
				WithHint("remove one '&'"))
		}
	}
	var path []*ast.TargetStep
	if pretty == "" {
		path, pretty = p.targetPath()
	}
	if pretty != "" {
		if t := p.peek(); isOp(t, "->") || isOp(t, "[") {
			p.fail(p.errorAt(t, CodeTargetSuffix, "'%s' cannot follow a pretty-printing '%s'", t.Value, pretty).
				WithHint("put the '%s' at the end: $p->f%s", pretty, pretty))
		}
	}
	if !addr && path == nil && pretty == "" {
		return x
	}
	if tv, ok := x.(*ast.TargetVar); ok && !addr && pretty == "" && allMembers(path) {
		for _, st := range path {
			tv.Fields = append(tv.Fields, st.Member)
		}
		tv.Base = p.from(tv.Start)
		return tv
	}
	return &ast.TargetExpr{Base: p.base(start), AddrOf: addr, X: x, Path: path, Pretty: pretty}
}

// targetPath parses `->member` and `[index]` suffixes, and the pretty
// printing that may end them: `->f$`, `->$$`, or `$` as a token of its own.
func (p *parser) targetPath() (path []*ast.TargetStep, pretty string) {
	for {
		t := p.peek()
		switch {
		case isOp(t, "->"):
			p.next()
			m := p.peek()
			if m.Type != tokIdent && m.Type != tokKeyword && m.Type != tokTargetVar {
				p.failExpected("a member name")
			}
			p.next()
			member := strings.TrimRight(m.Value, "$")
			if member != "" {
				path = append(path, &ast.TargetStep{Base: p.base(t), Member: member})
			}
			if len(member) < len(m.Value) {
				return path, m.Value[len(member):]
			}
		case isOp(t, "["):
			p.next()
			p.enter()
			x := p.expr()
			p.leave()
			p.expectOp("]")
			path = append(path, &ast.TargetStep{Base: p.base(t), Index: x})
		case t.Type == tokTargetVar && strings.Trim(t.Value, "$") == "":
			p.next()
			return path, t.Value
		default:
			return path, ""
		}
	}
}

func allMembers(path []*ast.TargetStep) bool {
	for _, st := range path {
		if st.Member == "" {
			return false
		}
	}
	return true
}

func unparen(x ast.Expr) ast.Expr {
	for {
		pe, ok := x.(*ast.ParenExpr)
		if !ok {
			return x
		}
		x = pe.X
	}
}

// value parses literals, names, calls, indexing, @operators, embedded C
// and `(e)`.
func (p *parser) value() ast.Expr {
	t := p.peek()
	switch t.Type {
	case tokInt:
		return p.intLit()
	case tokString:
		return p.stringLit()
	case tokEmbedded:
		p.next()
		return &ast.EmbeddedExpr{Base: p.base(t), Code: embeddedCode(t)}
	case tokIdent:
		return p.symbol()
	case tokAt:
		return p.atExpr()
	case tokOp:
		if t.Value == "(" {
			p.next()
			p.enter()
			x := p.expr()
			p.leave()
			p.expectOp(")")
			return &ast.ParenExpr{Base: p.base(t), X: x}
		}
	}
	p.failExpected("an expression")
	return nil
}

// symbol parses a name, a call or an indexed array.
func (p *parser) symbol() ast.Expr {
	t := p.next()
	id := &ast.Ident{Base: p.base(t), Name: t.Value}
	switch {
	case p.atOp("("):
		call := &ast.CallExpr{Name: t.Value, Args: p.args(histPrinters[t.Value])}
		call.Base = p.base(t)
		return call
	case printers[t.Value]:
		p.fail(p.errorAt(t, CodeUnexpected, "expected '(' after '%s', a printing function; saw %s", t.Value, describe(p.peek())).
			WithHint("call it, as in %s(...); a variable needs another name", t.Value))
	case p.atOp("["):
		p.next()
		p.enter()
		ix := &ast.IndexExpr{Array: id, Index: p.keyList(false)}
		p.leave()
		p.expectOp("]")
		ix.Base = p.base(t)
		return ix
	}
	return id
}

// args parses a parenthesised, possibly empty, argument list. A printer
// of histograms takes a whole histogram, or a bucket of one, first.
func (p *parser) args(histPrinter bool) []ast.Expr {
	p.expectOp("(")
	p.enter()
	defer p.leave()
	var args []ast.Expr
	if p.acceptOp(")") {
		return args
	}
	if t := p.peek(); histPrinter && t.Type == tokAt && isHist(t) {
		hist := p.hist()
		if !p.atOp("[") {
			p.expectOp(")") // a whole histogram is the only argument
			return []ast.Expr{hist}
		}
		args = append(args, p.histIndex(hist))
		if !p.atOp(",") && !p.atOp(")") {
			p.failExpected("','", "')'")
		}
		p.acceptOp(",")
		if p.acceptOp(")") {
			return args
		}
	}
	for {
		args = append(args, p.expr())
		if !p.acceptOp(",") {
			break
		}
	}
	p.expectOp(")")
	return args
}

// keyList parses the comma-separated indexes of a[...] or [...] in a;
// with star, `*` stands for any value and becomes a nil entry.
func (p *parser) keyList(star bool) []ast.Expr {
	var keys []ast.Expr
	for {
		if t := p.peek(); isOp(t, "*") {
			if !star {
				p.fail(p.errorAt(t, CodeStarIndex, "'*' matches any index only in delete, in and foreach").
					WithHint("write delete a[k, *], [k, *] in a or foreach (x in a[k, *])"))
			}
			p.next()
			keys = append(keys, nil)
		} else {
			keys = append(keys, p.expr())
		}
		if !p.acceptOp(",") {
			return keys
		}
	}
}

// ---- @operators ----

func isHist(t *lexer.Token) bool { return t.Value == "@hist_log" || t.Value == "@hist_linear" }

// atExpr parses the @operators that stand as values: statistics,
// histograms (which must be indexed here) and the context operators.
func (p *parser) atExpr() ast.Expr {
	t := p.peek()
	op := t.Value[1:]
	switch {
	case isHist(t):
		hist := p.hist()
		if !p.atOp("[") {
			p.fail(diag.Errorf(diag.Parse, CodeHistogram, hist.Span(), "a histogram can only be printed, indexed or iterated").
				WithHint("print it with print(%s(...)), read a bucket with %s(...)[i]", t.Value, t.Value))
		}
		return p.histIndex(hist)
	case statOps[op]:
		p.next()
		p.expectOp("(")
		p.enter()
		agg := &ast.AggregateExpr{Op: op, X: p.expr()}
		p.leave()
		for p.atOp(",") {
			comma := p.next()
			if op != "variance" || len(agg.Args) == 1 {
				p.fail(p.errorAt(comma, CodeAtArgs, "too many arguments for '%s'", t.Value).
					WithHint("@variance takes a statistic and a shift; the other extractors a statistic"))
			}
			agg.Args = append(agg.Args, p.number())
		}
		p.expectOp(")")
		agg.Base = p.base(t)
		return agg
	}
	if !atOps[op] {
		d := p.errorAt(t, CodeUnknownAt, "unknown operator '%s'", t.Value)
		if near := diag.Closest(op, atOpNames); near != "" {
			d.WithHint("did you mean '@%s'?", near)
		} else {
			d.WithHint("a macro must be defined with @define before it is used")
		}
		p.fail(d)
	}
	p.next()
	x := &ast.AtExpr{Op: op}
	p.expectOp("(")
	p.enter()
	switch op {
	case "defined", "entry":
		x.Args = []ast.Expr{p.expr()}
	case "probewrite":
		x.Args = []ast.Expr{p.expectIdent("a variable name")}
	case "const", "perf":
		x.Args = []ast.Expr{p.nonEmptyString("a name")}
	case "kregister", "uregister":
		x.Args = []ast.Expr{p.number()}
	case "kderef", "uderef":
		x.Args = []ast.Expr{p.number()}
		p.expectOp(",")
		x.Args = append(x.Args, p.expr())
	default: // cast and var, which contextValue parses, never get here
		p.failExpected("an argument")
	}
	p.leave()
	p.expectOp(")")
	x.Base = p.base(t)
	return x
}

// hist parses `@hist_log(s)` or `@hist_linear(s, lo, hi, width)`, whose
// bounds and width are numbers.
func (p *parser) hist() *ast.AggregateExpr {
	t := p.next()
	h := &ast.AggregateExpr{Op: t.Value[1:]}
	p.expectOp("(")
	p.enter()
	h.X = p.expr()
	p.leave()
	if h.Op == "hist_linear" {
		for range 3 {
			p.expectOp(",")
			h.Args = append(h.Args, p.number())
		}
	}
	p.expectOp(")")
	h.Base = p.base(t)
	return h
}

// histIndex parses `[i]` after a histogram.
func (p *parser) histIndex(h *ast.AggregateExpr) *ast.HistIndexExpr {
	p.expectOp("[")
	p.enter()
	x := &ast.HistIndexExpr{Hist: h, Index: p.keyList(false)}
	p.leave()
	p.expectOp("]")
	x.Base = p.from(h.Start)
	return x
}

// castExpr parses `@cast(p, "type"[, "module"])`.
func (p *parser) castExpr() *ast.CastExpr {
	t := p.next()
	p.expectOp("(")
	p.enter()
	c := &ast.CastExpr{X: p.expr()}
	p.leave()
	p.expectOp(",")
	c.Type = p.nonEmptyString("a type name such as \"task_struct\"").Value
	if p.acceptOp(",") {
		c.Module = p.stringArg("a module name such as \"kernel\"").Value
	}
	p.expectOp(")")
	c.Base = p.base(t)
	return c
}

// atVarExpr parses `@var("name[@file]"[, "module"])`.
func (p *parser) atVarExpr() *ast.AtVarExpr {
	t := p.next()
	p.expectOp("(")
	v := &ast.AtVarExpr{Name: p.stringArg("a variable name such as \"jiffies\"").Value}
	if p.acceptOp(",") {
		v.Module = p.stringArg("a module name").Value
	}
	p.expectOp(")")
	v.Base = p.base(t)
	return v
}

// stringArg parses a string literal argument of an @operator.
func (p *parser) stringArg(what string) *ast.StringLit {
	if p.peek().Type != tokString {
		p.failExpected(what + " in quotes")
	}
	return p.stringLit()
}

// nonEmptyString parses a string literal argument that may not be empty.
func (p *parser) nonEmptyString(what string) *ast.StringLit {
	s := p.stringArg(what)
	if s.Value == "" {
		p.fail(diag.Errorf(diag.Parse, CodeAtArgs, s.Span(), "expected %s; saw an empty string", what))
	}
	return s
}

// ---- literals ----

func (p *parser) intLit() *ast.IntLit {
	t := p.next()
	v, _ := parseUint(t.Value) // the lexer reported a bad literal already
	return &ast.IntLit{Base: p.base(t), Value: int64(v), Text: t.Value}
}

// stringLit parses a string literal and the literals right after it, which
// stap joins: "a" "b" is "ab".
func (p *parser) stringLit() *ast.StringLit {
	first := p.peek()
	var b strings.Builder
	for p.peek().Type == tokString {
		raw := p.next().Value
		b.WriteString(unescape(raw[1:len(raw)-1], nil))
	}
	return &ast.StringLit{Base: p.base(first), Value: b.String()}
}

// checkAssignable reports an operand of an assignment, <<<, ++ or -- that
// cannot be stored to. stap leaves this to its second pass; saying it
// here is clearer, and the tree stays well formed, so parsing goes on.
func (p *parser) checkAssignable(x ast.Expr, op *lexer.Token) {
	what := "this expression"
	switch unparen(x).(type) {
	case *ast.Ident, *ast.IndexExpr, *ast.TargetVar, *ast.TargetExpr, *ast.CastExpr, *ast.AtVarExpr:
		return
	case *ast.IntLit, *ast.StringLit:
		what = "a literal"
	case *ast.CallExpr:
		what = "a function call"
	}
	p.report(diag.Errorf(diag.Parse, CodeNotAssignable, x.Span(), "cannot apply '%s' to %s", op.Value, what).
		WithHint("'%s' needs a variable or an array element", op.Value))
}

// span is the extent from the start of a to the end of b.
func span(a, b ast.Node) ast.Base {
	return ast.Base{Start: a.Span().Start, End: b.Span().End}
}
