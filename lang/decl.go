package lang

import (
	"math"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"

	"etap/diag"
	"etap/lang/ast"
)

// decl parses one top-level declaration.
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
		p.fail(p.errorAt(t, CodeUnexpected, "unexpected ';' between declarations").
			WithHint("remove it: only a global declaration may end with ';'"))
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

// startsDecl reports whether t begins a declaration: where the parser
// resynchronises after an error.
func startsDecl(t *lexer.Token) bool {
	if t.Type == tokEmbedded {
		return true
	}
	if t.Type != tokKeyword {
		return false
	}
	switch t.Value {
	case "probe", "global", "function", "private":
		return true
	}
	return false
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

// probe parses a probe or a probe alias; start is the `probe` keyword. An
// alias may define several names, `probe a = b = PP { }`, as in stap.
func (p *parser) probe() ast.Decl {
	start := p.next()
	var names []*ast.ProbePoint
	epilogue := false
	for {
		points := p.pointList()
		t := p.peek()
		if !isOp(t, "=") && !isOp(t, "+=") {
			p.semicolonAfterPoints()
			if names == nil {
				body := p.block()
				return &ast.ProbeDecl{Base: p.base(start), Points: points, Body: body}
			}
			a := &ast.AliasDecl{Names: names, Epilogue: epilogue, Points: points, Body: p.block()}
			if comma := p.peek(); isOp(comma, ",") {
				if epilogue {
					p.fail(p.errorAt(comma, CodeProbePoint, "an alias with '+=' has one body").
						WithHint("a prologue and an epilogue together are written NAME = PP { prologue }, { epilogue }"))
				}
				p.next()
				a.EpilogueBody = p.block()
			}
			a.Base = p.base(start)
			return a
		}
		if len(points) != 1 {
			p.fail(p.errorAt(t, CodeProbePoint, "an alias defines one name at a time; saw %d probe points before '%s'", len(points), t.Value).
				WithHint("write one 'probe NAME = ...' for each name"))
		}
		if pp := points[0]; pp.Optional || pp.Sufficient {
			p.fail(diag.Errorf(diag.Parse, CodeProbePoint, pp.Span(), "an alias name cannot be optional ('?') or sufficient ('!')").
				WithHint("mark the points after '%s' instead", t.Value))
		}
		names = append(names, points[0])
		epilogue = epilogue || t.Value == "+="
		p.next()
	}
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

// pointList parses `PP, PP, ...`, each point expanded to the points its
// braces stand for, and checks the finished points.
func (p *parser) pointList() []*ast.ProbePoint {
	points := p.points()
	for _, pp := range points {
		p.checkEmptyArgs(pp)
	}
	return points
}

// points parses a comma list of probe points, expanding braces.
func (p *parser) points() []*ast.ProbePoint {
	var points []*ast.ProbePoint
	for {
		points = append(points, p.point()...)
		if !p.acceptOp(",") {
			return points
		}
	}
}

// point parses one written probe point, `comp.comp(arg)...[?|!] [if
// (cond)]`, where a component may be a brace group `{PP, PP}`, and returns
// the points it stands for: stap expands `a.{b,c}.d` to a.b.d and a.c.d in
// its parser, and so do we, so that later passes see plain points.
func (p *parser) point() []*ast.ProbePoint {
	start := p.peek()
	var points []*ast.ProbePoint
	for {
		alts := p.componentAlts()
		if points == nil {
			points = alts
		} else {
			points = p.product(points, alts)
		}
		if !p.acceptOp(".") {
			break
		}
	}
	if t := p.peek(); isOp(t, "?") || isOp(t, "!") {
		p.next()
		for _, pp := range points {
			if pp.Optional || pp.Sufficient {
				p.fail(p.errorAt(t, CodeProbePoint, "'%s' after a point that is already marked '?' or '!'", t.Value))
			}
			pp.Optional, pp.Sufficient = t.Value == "?", t.Value == "!"
		}
	}
	if t := p.peek(); isKeyword(t, "if") {
		p.next()
		cond := p.parenExpr()
		for _, pp := range points {
			if pp.Cond != nil {
				p.fail(p.errorAt(t, CodeProbePoint, "a second condition for a probe point").
					WithHint("join the conditions with &&"))
			}
			pp.Cond = cond
		}
	}
	for _, pp := range points {
		pp.Base = p.base(start)
	}
	return points
}

// componentAlts parses one component, or a brace group of points, and
// returns the points that continue from it: one, or one per alternative.
func (p *parser) componentAlts() []*ast.ProbePoint {
	if t := p.peek(); isOp(t, "{") {
		p.next()
		p.enter()
		points := p.points()
		p.leave()
		p.expectOp("}")
		return points
	}
	c := p.component()
	return []*ast.ProbePoint{{Base: c.Base, Components: []*ast.Component{c}}}
}

// product joins each of the heads with each of the tails, as the
// components of `{a,b}.{c,d}` do; only the last part of a point may carry
// `?`, `!` or a condition.
func (p *parser) product(heads, tails []*ast.ProbePoint) []*ast.ProbePoint {
	out := make([]*ast.ProbePoint, 0, len(heads)*len(tails))
	for _, h := range heads {
		if h.Optional || h.Sufficient || h.Cond != nil {
			p.fail(diag.Errorf(diag.Parse, CodeProbePoint, h.Span(), "'?', '!' and 'if' may follow only the last part of a probe point").
				WithHint("move it after the whole point"))
		}
		for _, t := range tails {
			comps := make([]*ast.Component, 0, len(h.Components)+len(t.Components))
			for _, c := range append(h.Components, t.Components...) {
				copied := *c
				copied.Arg = copyLiteral(c.Arg)
				comps = append(comps, &copied)
			}
			// The joined point spans from its head to its tail, so that a
			// diagnostic about it, even from a nested group, has a place.
			span := ast.Base{Start: h.Start, End: t.End}
			out = append(out, &ast.ProbePoint{Base: span, Components: comps, Optional: t.Optional, Sufficient: t.Sufficient, Cond: t.Cond})
		}
	}
	return out
}

// copyLiteral copies a component's literal argument, so that the points a
// brace group expands to share no nodes but their condition.
func copyLiteral(x ast.Expr) ast.Expr {
	switch x := x.(type) {
	case *ast.IntLit:
		c := *x
		return &c
	case *ast.StringLit:
		c := *x
		return &c
	}
	return x
}

// checkEmptyArgs reports components written with `()`, such as begin():
// stap gives them no meaning, and the user usually meant no parentheses
// or forgot the number. A component that a brace group copied into
// several points is reported once.
func (p *parser) checkEmptyArgs(pp *ast.ProbePoint) {
	for i, c := range pp.Components {
		lparen, ok := p.emptyParens[c.Start]
		if !c.HasParens || c.Arg != nil || !ok {
			continue
		}
		delete(p.emptyParens, c.Start)
		name := pointName(append(pp.Components[:i:i], &ast.Component{Name: c.Name}))
		span := diag.Span{Start: lparen, End: c.End}
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

// component parses one dotted part. Its name is every identifier, keyword
// and `*` written without space between them, so that `sys_*_at`, `**`
// and `.return` are names. An empty `()` is recorded in emptyParens for
// checkEmptyArgs, which reports it once the whole point is known.
func (p *parser) component() *ast.Component {
	start := p.peek()
	if !isComponentPart(start) {
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
	c := &ast.Component{Name: name.String()}
	if t := p.peek(); isOp(t, "(") {
		p.next()
		c.HasParens = true
		if !p.atOp(")") {
			c.Arg = p.pointArg()
		}
		p.expectOp(")")
		if c.Arg == nil {
			if p.emptyParens == nil {
				p.emptyParens = map[diag.Pos]diag.Pos{}
			}
			p.emptyParens[toPos(start.Pos)] = toPos(t.Pos)
		}
	}
	c.Base = p.base(start)
	return c
}

func isComponentPart(t *lexer.Token) bool {
	return t.Type == tokIdent || t.Type == tokKeyword || t.Type == tokTargetVar || isOp(t, "*")
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
	case t.Type == tokInt || isOp(t, "-") && p.peek2().Type == tokInt:
		return p.number()
	}
	return nil
}

// number parses an integer literal with an optional `-`, where stap wants
// a number and no expression: in a global's initialiser, a probe point's
// argument, a function's priority, the parameters of @hist_linear. Like
// stap it takes -9223372036854775808 but no smaller.
func (p *parser) number() *ast.IntLit {
	t := p.peek()
	neg := isOp(t, "-")
	if neg {
		p.next()
	}
	if p.peek().Type != tokInt {
		p.failExpected("a number")
	}
	lit := p.intLit()
	if neg {
		if uint64(lit.Value) > 1<<63 {
			p.report(diag.Errorf(diag.Parse, CodeIntRange, p.from(toPos(t.Pos)).Span(), "integer literal -%s is out of range", lit.Text).
				WithHint("the smallest integer is -9223372036854775808 (-2^63)"))
		}
		lit.Base.Start = toPos(t.Pos)
		lit.Value = -lit.Value
		lit.Text = "-" + lit.Text
	}
	return lit
}

// ---- globals ----

// global parses the variables of `global a, b = 5, c[10], d%[10], e%`;
// start is `global` or `private`. A `;` may end the declaration.
func (p *parser) global(start *lexer.Token, private bool) *ast.GlobalDecl {
	g := &ast.GlobalDecl{Private: private}
	for {
		g.Vars = append(g.Vars, p.globalVar())
		if !p.acceptOp(",") {
			break
		}
	}
	p.acceptOp(";")
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
		v.Size = p.arraySize()
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
		if t := p.peek(); t.Type == tokOp && isBinaryOp(t.Value) {
			p.fail(p.errorAt(t, CodeGlobalInit, "a global's initial value must be a single literal").
				WithHint("assign computed values in 'probe begin'"))
		}
		if v.IsArray {
			p.report(diag.Errorf(diag.Parse, CodeGlobalInit, v.Init.Span(), "array '%s' cannot have an initial value", v.Name).
				WithHint("fill the array in 'probe begin'"))
		}
	}
	v.Base = p.from(name.Start)
	return v
}

// arraySize parses the N of `global a[N]`: a number from 1 to 2^31-1, as
// stap takes. `a[]` is not stp: an array needs no brackets to be one.
func (p *parser) arraySize() int64 {
	t := p.peek()
	if isOp(t, "]") {
		p.fail(p.errorAt(t, CodeBadArraySize, "expected an array size; saw ']'").
			WithHint("declare 'global a' (its uses make it an array) or give a size: 'global a[100]'"))
	}
	if t.Type != tokInt && !isOp(t, "-") {
		p.failExpected("an array size")
	}
	lit := p.number()
	if lit.Value <= 0 || lit.Value > math.MaxInt32 {
		p.report(diag.Errorf(diag.Parse, CodeBadArraySize, lit.Span(), "array size %s is out of range", lit.Text).
			WithHint("a size is from 1 to 2147483647"))
	}
	return lit.Value
}

// ---- functions ----

// function parses `function name[:type] (params) [:priority] { body }` or
// with a `%{ ... %}` body; start is `function` or `private`.
func (p *parser) function(start *lexer.Token, private bool) *ast.FunctionDecl {
	p.expectKeyword("function")
	f := &ast.FunctionDecl{Private: private}
	// The type names are keywords, but stap takes them as function names.
	if t := p.peek(); isKeyword(t, "long") || isKeyword(t, "string") {
		p.next()
		f.Name = t.Value
	} else {
		f.Name = p.expectIdent("a function name").Name
	}
	f.Result = p.optType()
	p.expectOp("(")
	if !p.atOp(")") {
		seen := map[string]diag.Span{}
		for {
			name := p.expectIdent("a parameter name")
			if first, dup := seen[name.Name]; dup {
				p.report(diag.Errorf(diag.Parse, CodeDuplicateParam, name.Span(), "function '%s' has two parameters named '%s'", f.Name, name.Name).
					WithNote(first, "the first is here"))
			}
			seen[name.Name] = name.Span()
			param := &ast.Param{Name: name.Name, Type: p.optType()}
			param.Base = p.from(name.Start)
			f.Params = append(f.Params, param)
			if !p.acceptOp(",") {
				break
			}
		}
	}
	p.expectOp(")")
	if p.acceptOp(":") {
		f.Priority = p.priority()
	}
	if t := p.peek(); t.Type == tokEmbedded {
		p.next()
		f.EmbeddedC = embeddedCode(t)
	} else {
		f.Body = p.block()
	}
	f.Base = p.base(start)
	return f
}

// priority parses the N of `function f() :N`, a positive number.
func (p *parser) priority() int64 {
	t := p.peek()
	if t.Type != tokInt && !isOp(t, "-") {
		bailAtLexError(t)
		p.fail(p.errorAt(t, CodePriority, "expected a priority number after ':'; saw %s", describe(t)).
			WithHint("a function's type goes before its parameters: function f:long ()"))
	}
	lit := p.number()
	if lit.Value < 1 {
		p.report(diag.Errorf(diag.Parse, CodePriority, lit.Span(), "function priority %s must be 1 or more", lit.Text).
			WithHint("priority 0 is the script's own definition"))
	}
	return lit.Value
}

// optType parses an optional `:long` or `:string`.
func (p *parser) optType() ast.TypeName {
	if !p.acceptOp(":") {
		return ""
	}
	t := p.peek()
	switch {
	case isKeyword(t, "long") || isKeyword(t, "string"):
	case t.Type == tokIdent:
		p.report(p.errorAt(t, CodeBadType, "unknown type '%s'", t.Value).WithHint("use 'long' or 'string'"))
	default:
		p.failExpected("'long'", "'string'")
	}
	p.next()
	return ast.TypeName(t.Value)
}
