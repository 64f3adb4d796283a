package lang

import (
	"strings"

	"github.com/alecthomas/participle/v2/lexer"

	"etap/diag"
	"etap/lang/ast"
)

// decl parses one top-level declaration; it returns nil for a stray `;`,
// which stap accepts between declarations (`global x;`).
func (p *parser) decl() ast.Decl {
	t := p.peek()
	switch {
	case isKeyword(t, "probe"):
		return p.probe()
	case isKeyword(t, "global"):
		p.next()
		return p.global(t, false)
	case isKeyword(t, "function"):
		return p.function(t, false)
	case isKeyword(t, "private"):
		return p.private()
	case t.Type == tokEmbedded:
		p.next()
		return &ast.EmbeddedCDecl{Base: p.base(t), Code: embeddedCode(t)}
	case isOp(t, ";"):
		p.next()
		return nil
	case isOp(t, "}"):
		p.fail(p.errorAt(t, CodeStrayBrace, "unexpected '}' outside any probe or function").
			WithHint("remove it, or look for a missing '{' before it"))
	case (t.Type == tokIdent || isOp(t, "*")) && followsPointStart(p.peek2()):
		p.fail(p.errorAt(t, CodeMissingProbe, "expected a declaration; saw probe point %s", describe(t)).
			WithHint("did you forget 'probe'?"))
	}
	p.failExpected("'probe'", "'global'", "'function'", "'private'")
	return nil
}

// followsPointStart reports whether t can follow the first word of a probe
// point (`begin {`, `kernel.trace`, `timer.s(1)`, `begin, end`), which
// makes a top-level word look like a probe without its keyword.
func followsPointStart(t *lexer.Token) bool {
	if t.Type != tokOp {
		return false
	}
	switch t.Value {
	case "{", ".", "(", ",", "?", "!":
		return true
	}
	return false
}

// private parses `private global x`, `private x` and `private function f`.
func (p *parser) private() ast.Decl {
	start := p.next()
	switch t := p.peek(); {
	case isKeyword(t, "global"):
		p.next()
		return p.global(start, true)
	case isKeyword(t, "function"):
		return p.function(start, true)
	case t.Type == tokIdent:
		return p.global(start, true)
	}
	p.failExpected("'global'", "'function'", "a variable name")
	return nil
}

// embeddedCode is the text between %{ and %}.
func embeddedCode(t *lexer.Token) string { return t.Value[2 : len(t.Value)-2] }

// ---- probes ----

// probe parses a probe or a probe alias; start is the `probe` keyword.
func (p *parser) probe() ast.Decl {
	start := p.next()
	points := p.pointList()
	if t := p.peek(); isOp(t, "=") || isOp(t, "+=") {
		p.next()
		a := &ast.AliasDecl{Names: points, Epilogue: t.Value == "+=", Points: p.pointList()}
		p.semicolonAfterPoints()
		a.Body = p.block()
		a.Base = p.base(start)
		return a
	}
	p.semicolonAfterPoints()
	body := p.block()
	return &ast.ProbeDecl{Base: p.base(start), Points: points, Body: body}
}

// semicolonAfterPoints reports and skips `;` in `probe begin; { }`, a
// habit from C declarations, and parses on as if it were not there.
func (p *parser) semicolonAfterPoints() {
	if t := p.peek(); isOp(t, ";") {
		p.report(p.errorAt(t, CodeSemicolonAfterPoint, "unexpected ';' after the probe point").
			WithHint("remove the ';': the probe's body follows its points directly"))
		p.next()
	}
}

func (p *parser) pointList() []*ast.ProbePoint {
	points := []*ast.ProbePoint{p.point()}
	for p.acceptOp(",") {
		points = append(points, p.point())
	}
	return points
}

// point parses `comp.comp(arg)...[?][!] [if (cond)]`.
func (p *parser) point() *ast.ProbePoint {
	start := p.peek()
	pp := &ast.ProbePoint{}
	var parens []diag.Pos // where each component's `(` is
	for {
		c, lparen := p.component()
		pp.Components = append(pp.Components, c)
		parens = append(parens, lparen)
		if !p.acceptOp(".") {
			break
		}
	}
	for suffix := true; suffix; {
		switch {
		case p.acceptOp("?"):
			pp.Optional = true
		case p.acceptOp("!"):
			pp.Sufficient = true
		default:
			suffix = false
		}
	}
	if p.atKeyword("if") {
		p.next()
		pp.Cond = p.parenExpr()
	}
	pp.Base = p.base(start)
	p.checkEmptyArgs(pp, parens)
	return pp
}

// checkEmptyArgs reports components written with `()`, such as begin():
// stap gives them no meaning, and the user usually meant no parentheses
// or forgot the number.
func (p *parser) checkEmptyArgs(pp *ast.ProbePoint, parens []diag.Pos) {
	for i, c := range pp.Components {
		if !c.HasParens || c.Arg != nil {
			continue
		}
		name := pointName(append(pp.Components[:i:i], &ast.Component{Name: c.Name}))
		span := diag.Span{Start: parens[i], End: c.End}
		if pp.Components[0].Name == "timer" && timerNumbers[c.Name] {
			fixed := *c
			fixed.Arg = &ast.IntLit{Value: 1, Text: "1"}
			p.report(diag.Errorf(diag.Parse, CodeEmptyProbeArgs, span, "probe point '%s' needs a number", name).
				WithHint("write 'probe %s { ... }'", pointName(replaced(pp.Components, i, &fixed))))
			continue
		}
		fixed := *c
		fixed.HasParens = false
		p.report(diag.Errorf(diag.Parse, CodeEmptyProbeArgs, span,
			"probe point '%s' does not take an empty argument list", name).
			WithHint("write 'probe %s { ... }'", pointName(replaced(pp.Components, i, &fixed))))
	}
}

// timerNumbers are the timer components whose argument is a number:
// timer.s(N), timer.ms(N).randomize(M) and the like.
var timerNumbers = map[string]bool{
	"s": true, "sec": true, "ms": true, "msec": true, "us": true, "usec": true,
	"ns": true, "nsec": true, "hz": true, "jiffies": true, "randomize": true,
}

// replaced returns a copy of comps with comps[i] replaced by c.
func replaced(comps []*ast.Component, i int, c *ast.Component) []*ast.Component {
	out := append([]*ast.Component(nil), comps...)
	out[i] = c
	return out
}

// pointName renders components as written: kernel.trace("x").
func pointName(comps []*ast.Component) string {
	var b strings.Builder
	for i, c := range comps {
		if i > 0 {
			b.WriteByte('.')
		}
		writeComponent(&b, c)
	}
	return b.String()
}

// component parses one dotted part. Its name is every identifier, keyword,
// number and `*` written without space between them, so that `sys_*_at`,
// `**` and `.return` are names. lparen is the position of its `(`, if any.
func (p *parser) component() (c *ast.Component, lparen diag.Pos) {
	start := p.peek()
	if !isComponentPart(start) || start.Type == tokInt {
		p.failExpected("a probe point")
	}
	var name strings.Builder
	for {
		t := p.next()
		name.WriteString(t.Value)
		if n := p.peek(); !isComponentPart(n) || n.Pos.Offset != p.prevEnd.Offset {
			break
		}
	}
	c = &ast.Component{Name: name.String()}
	if t := p.peek(); isOp(t, "(") {
		p.next()
		lparen = toPos(t.Pos)
		c.HasParens = true
		if !p.atOp(")") {
			c.Arg = p.pointArg()
		}
		p.expectOp(")")
	}
	c.Base = p.base(start)
	return c, lparen
}

func isComponentPart(t *lexer.Token) bool {
	return t.Type == tokIdent || t.Type == tokKeyword || t.Type == tokInt || isOp(t, "*")
}

// pointArg parses the literal argument of a component: a number, possibly
// negative, or a string.
func (p *parser) pointArg() ast.Expr {
	if lit := p.literal(); lit != nil {
		return lit
	}
	p.failExpected("a number", "a string")
	return nil
}

// literal parses a string or a possibly negated integer, folding the sign
// into the IntLit; it returns nil, consuming nothing, at anything else.
func (p *parser) literal() ast.Expr {
	t := p.peek()
	switch {
	case t.Type == tokString:
		return p.stringLit()
	case t.Type == tokInt:
		return p.intLit()
	case isOp(t, "-") && p.peek2().Type == tokInt:
		p.next()
		lit := p.intLit()
		lit.Base.Start = toPos(t.Pos)
		lit.Value = -lit.Value
		lit.Text = "-" + lit.Text
		return lit
	}
	return nil
}

// ---- globals ----

// global parses the variables of `global a, b = 5, c[10], d%[10], e%`;
// start is `global` or `private`.
func (p *parser) global(start *lexer.Token, private bool) *ast.GlobalDecl {
	g := &ast.GlobalDecl{Private: private}
	for {
		g.Vars = append(g.Vars, p.globalVar())
		if !p.acceptOp(",") {
			break
		}
	}
	g.Base = p.base(start)
	return g
}

func (p *parser) globalVar() *ast.GlobalVar {
	name := p.expectIdent("a variable name")
	v := &ast.GlobalVar{Name: name.Name}
	if p.acceptOp("%") {
		v.Wrap = true
	}
	if p.acceptOp("[") {
		v.IsArray = true
		if !p.atOp("]") {
			v.Size = p.arraySize()
		}
		p.expectOp("]")
	}
	if t := p.peek(); isOp(t, "=") || isOp(t, "==") {
		if t.Value == "==" {
			p.report(p.errorAt(t, CodeGlobalEquals, "unexpected '==' in a global declaration").
				WithHint("use '=' to initialise a global"))
		}
		p.next()
		v.Init = p.literal()
		if v.Init == nil {
			bailAtLexError(p.peek())
			p.fail(p.errorAt(p.peek(), CodeGlobalInit, "a global's initial value must be a number or a string literal; saw %s",
				describe(p.peek())).WithHint("assign computed values in 'probe begin'"))
		}
		if t := p.peek(); t.Type == tokOp && binaryPrec[t.Value] != 0 {
			p.fail(p.errorAt(t, CodeGlobalInit, "a global's initial value must be a single literal").
				WithHint("assign computed values in 'probe begin'"))
		}
		if v.IsArray || v.Wrap {
			p.report(diag.Errorf(diag.Parse, CodeGlobalInit, v.Init.Span(), "array '%s' cannot have an initial value", v.Name).
				WithHint("fill the array in 'probe begin'"))
		}
	}
	v.Base = p.from(name.Start)
	return v
}

func (p *parser) arraySize() int64 {
	t := p.peek()
	if t.Type != tokInt {
		p.failExpected("an array size", "']'")
	}
	lit := p.intLit()
	if lit.Value <= 0 {
		p.report(p.errorAt(t, CodeBadArraySize, "array size %s must be a positive number", t.Value))
	}
	return lit.Value
}

// ---- functions ----

// function parses `function name[:type] (params) { body }` or with a
// `%{ ... %}` body; start is `function` or `private`.
func (p *parser) function(start *lexer.Token, private bool) *ast.FunctionDecl {
	p.expectKeyword("function")
	f := &ast.FunctionDecl{Private: private, Name: p.expectIdent("a function name").Name}
	f.Result = p.optType()
	p.expectOp("(")
	if !p.atOp(")") {
		for {
			name := p.expectIdent("a parameter name")
			param := &ast.Param{Name: name.Name, Type: p.optType()}
			param.Base = p.from(name.Start)
			f.Params = append(f.Params, param)
			if !p.acceptOp(",") {
				break
			}
		}
	}
	p.expectOp(")")
	if t := p.peek(); t.Type == tokEmbedded {
		p.next()
		f.EmbeddedC = embeddedCode(t)
	} else {
		f.Body = p.block()
	}
	f.Base = p.base(start)
	return f
}

// optType parses an optional `:long` or `:string`.
func (p *parser) optType() ast.TypeName {
	if !p.acceptOp(":") {
		return ""
	}
	t := p.peek()
	if t.Type != tokIdent {
		p.failExpected("'long'", "'string'")
	}
	p.next()
	if t.Value != "long" && t.Value != "string" {
		p.report(p.errorAt(t, CodeBadType, "unknown type '%s'", t.Value).WithHint("use 'long' or 'string'"))
	}
	return ast.TypeName(t.Value)
}
