package lang

import (
	"sort"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"

	"etap/diag"
	"etap/lang/ast"
)

// Binding powers of the binary operators, loosest first, in stap's order
// rather than C's: the bitwise operators bind looser than `in` and the
// comparisons (a & b == c is a & (b == c), as in C, but a | b in c is
// a | (b in c)), and string concatenation `.` has a level of its own just
// below + and - ("n=" . x + 1 is "n=" . (x + 1)). Assignment and ?: sit
// below all of these and are parsed by their own functions.
const (
	precOr = 1 + iota
	precAnd
	precBitOr
	precBitXor
	precBitAnd
	precIn
	precCompare
	precShift
	precConcat
	precAdd
	precMul
)

var binaryPrec = map[string]int{
	"||": precOr, "&&": precAnd,
	"|": precBitOr, "^": precBitXor, "&": precBitAnd,
	"==": precCompare, "!=": precCompare, "<": precCompare, "<=": precCompare,
	">": precCompare, ">=": precCompare, "=~": precCompare, "!~": precCompare,
	"<<": precShift, ">>": precShift,
	".": precConcat,
	"+": precAdd, "-": precAdd,
	"*": precMul, "/": precMul, "%": precMul,
}

var assignOps = map[string]bool{
	"=": true, "+=": true, "-=": true, "*=": true, "/=": true, "%=": true,
	"<<=": true, ">>=": true, "&=": true, "^=": true, "|=": true, ".=": true, "<<<": true,
}

// atOps are the @words that take a parenthesised argument list.
var atOps = map[string]bool{
	"count": true, "sum": true, "min": true, "max": true, "avg": true, "variance": true,
	"hist_log": true, "hist_linear": true,
	"cast": true, "defined": true, "entry": true, "var": true, "probewrite": true,
	"const": true, "kregister": true, "uregister": true, "kderef": true, "uderef": true,
	"perf": true, "errno": true, "enum": true,
}

// sortAggregates are the aggregates a foreach can sort a statistic on.
var sortAggregates = map[string]bool{"count": true, "sum": true, "min": true, "max": true, "avg": true}

// startsExpr reports whether t can begin an expression.
func startsExpr(t *lexer.Token) bool {
	switch t.Type {
	case tokInt, tokString, tokIdent, tokTargetVar, tokAt:
		return true
	case tokOp:
		switch t.Value {
		case "(", "[", "!", "~", "-", "+", "++", "--":
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

// ternary parses `cond ? x : y`. Both branches are full expressions, as
// in stap: a ? b : c = d assigns in the false branch.
func (p *parser) ternary() ast.Expr {
	cond := p.binary(precOr)
	if !p.acceptOp("?") {
		return cond
	}
	p.enter()
	x := p.expr()
	p.expectOp(":")
	y := p.expr()
	p.leave()
	return &ast.TernaryExpr{Base: span(cond, y), Cond: cond, X: x, Y: y}
}

// binary parses operators of binding power minPrec and above by precedence
// climbing: each loop folds one operator, whose right operand takes only
// operators that bind tighter, so that all of them associate to the left.
func (p *parser) binary(minPrec int) ast.Expr {
	x := p.unary()
	for {
		t := p.peek()
		prec := 0
		switch {
		case t.Type == tokOp:
			prec = binaryPrec[t.Value]
		case isKeyword(t, "in"):
			prec = precIn
		}
		if prec == 0 || prec < minPrec {
			return x
		}
		p.next()
		if t.Type == tokKeyword {
			arr := p.expectIdent("an array name")
			x = &ast.InExpr{Base: ast.Base{Start: x.Span().Start, End: arr.End}, Keys: []ast.Expr{x}, Array: arr}
			continue
		}
		y := p.binary(prec + 1)
		x = &ast.BinaryExpr{Base: span(x, y), Op: t.Value, OpPos: toPos(t.Pos), X: x, Y: y}
	}
}

// unary parses prefix operators, then a postfix expression.
func (p *parser) unary() ast.Expr {
	t := p.peek()
	if t.Type != tokOp {
		return p.postfix()
	}
	switch t.Value {
	case "!", "~", "-", "+":
		p.next()
		p.enter()
		x := p.unary()
		p.leave()
		return &ast.UnaryExpr{Base: ast.Base{Start: toPos(t.Pos), End: x.Span().End}, Op: t.Value, X: x}
	case "++", "--":
		p.next()
		p.enter()
		x := p.unary()
		p.leave()
		p.checkAssignable(x, t)
		return &ast.IncDecExpr{Base: ast.Base{Start: toPos(t.Pos), End: x.Span().End}, Op: t.Value, X: x}
	}
	return p.postfix()
}

// postfix parses a primary expression and a trailing `++` or `--`.
func (p *parser) postfix() ast.Expr {
	x := p.primary()
	t := p.peek()
	switch {
	case isOp(t, "++") || isOp(t, "--"):
		p.checkAssignable(x, t)
		p.next()
		return &ast.IncDecExpr{Base: p.from(x.Span().Start), Op: t.Value, Postfix: true, X: x}
	case isOp(t, "["):
		p.fail(p.errorAt(t, CodeNotIndexable, "only array variables can be indexed").
			WithHint("index an array by its name, as in a[k]"))
	case isOp(t, "->"):
		p.fail(p.errorAt(t, CodeNotIndexable, "'->' must follow a context variable such as $task").
			WithHint("@cast(...)->field is not supported yet"))
	}
	return x
}

// primary parses literals, names, calls, indexing, context variables,
// @operators, `(e)` and `[k1, k2] in a`.
func (p *parser) primary() ast.Expr {
	t := p.peek()
	switch t.Type {
	case tokInt:
		return p.intLit()
	case tokString:
		return p.stringLit()
	case tokIdent:
		p.next()
		id := &ast.Ident{Base: p.base(t), Name: t.Value}
		switch {
		case p.atOp("("):
			call := &ast.CallExpr{Name: t.Value, Args: p.args()}
			call.Base = p.base(t)
			return call
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
	case tokTargetVar:
		p.next()
		v := &ast.TargetVar{Name: t.Value[1:]}
		for p.acceptOp("->") {
			f := p.peek()
			if f.Type != tokIdent && f.Type != tokKeyword {
				p.failExpected("a field name")
			}
			p.next()
			v.Fields = append(v.Fields, f.Value)
		}
		v.Base = p.base(t)
		return v
	case tokAt:
		return p.atExpr()
	case tokOp:
		switch t.Value {
		case "(":
			p.next()
			p.enter()
			x := p.expr()
			p.leave()
			p.expectOp(")")
			return &ast.ParenExpr{Base: p.base(t), X: x}
		case "[":
			p.next()
			p.enter()
			keys := p.keyList(true)
			p.leave()
			p.expectOp("]")
			p.expectKeyword("in")
			in := &ast.InExpr{Keys: keys, Array: p.expectIdent("an array name")}
			in.Base = p.base(t)
			return in
		}
	}
	p.failExpected("an expression")
	return nil
}

// args parses a parenthesised, possibly empty, argument list.
func (p *parser) args() []ast.Expr {
	p.expectOp("(")
	p.enter()
	defer p.leave()
	var args []ast.Expr
	if p.acceptOp(")") {
		return args
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
		if star && p.acceptOp("*") {
			keys = append(keys, nil)
		} else {
			keys = append(keys, p.expr())
		}
		if !p.acceptOp(",") {
			return keys
		}
	}
}

// atExpr parses `@op(x, args...)`.
func (p *parser) atExpr() ast.Expr {
	t := p.next()
	op := t.Value[1:]
	if !atOps[op] {
		d := p.errorAt(t, CodeUnknownAt, "unknown operator '%s'", t.Value)
		if near := diag.Closest(op, sortedKeys(atOps)); near != "" {
			d.WithHint("did you mean '@%s'?", near)
		}
		p.fail(d)
	}
	if !p.atOp("(") {
		p.failExpected("'('")
	}
	args := p.args()
	if len(args) == 0 {
		p.fail(diag.Errorf(diag.Parse, CodeUnexpected, diag.Span{Start: toPos(t.Pos), End: p.prevEnd},
			"'%s' needs an argument", t.Value))
	}
	return &ast.AggregateExpr{Base: p.base(t), Op: op, X: args[0], Args: args[1:]}
}

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
// cannot be stored to. The tree stays well formed, so parsing goes on.
func (p *parser) checkAssignable(x ast.Expr, op *lexer.Token) {
	what := "this expression"
	switch x.(type) {
	case *ast.Ident, *ast.IndexExpr, *ast.TargetVar:
		return
	case *ast.IntLit, *ast.StringLit:
		what = "a literal"
	case *ast.CallExpr:
		what = "a function call"
	case *ast.ParenExpr:
		what = "a parenthesised expression"
	}
	p.report(diag.Errorf(diag.Parse, CodeNotAssignable, x.Span(), "cannot apply '%s' to %s", op.Value, what).
		WithHint("'%s' needs a variable or an array element", op.Value))
}

// span is the extent from the start of a to the end of b.
func span(a, b ast.Node) ast.Base {
	return ast.Base{Start: a.Span().Start, End: b.Span().End}
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
