// Package lang reads stp scripts: its own lexer, a recursive-descent
// parser for declarations and statements and a precedence-climbing parser
// for expressions, both driving participle's PeekingLexer, and the -p1
// printer. Parse turns one file into an ast.File plus diagnostics.
package lang

import (
	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"

	"etap/diag"
	"etap/lang/ast"
)

// grammar plugs the stp parser into participle as a Parseable root, so
// participle checks the lexer's symbols and that the input is used up.
var grammar = participle.MustBuild[parser](participle.Lexer(Lexer))

// maxDepth bounds the nesting of statements and expressions; deeper input
// gets an error instead of exhausting the stack.
const maxDepth = 1000

// Parse parses one stp file. args are the script arguments: $N stands for
// the tokens of args[N-1], @N for it as a string literal, $# and @# for
// their count. The file holds every declaration that parsed; the list
// (never nil) holds at most maxErrors diagnostics, sorted by position.
func Parse(filename, src string, args []string) (*ast.File, *diag.List) {
	s := scan(filename, src, args)
	diags := &diag.List{Items: s.diags}
	file := &ast.File{Name: filename}
	peek, err := lexer.Upgrade(&tokenList{toks: s.toks})
	if err == nil {
		var p *parser
		p, err = grammar.ParseFromLexer(peek)
		if p != nil {
			file.Decls = p.decls
			diags.Items = append(diags.Items, p.diags...)
		}
	}
	if err != nil {
		// Our parser consumes every token and reports through p.diags, so
		// this is participle disagreeing with it: an internal error.
		diags.Add(diag.Errorf(diag.Parse, CodeUnexpected, diag.Span{}, "internal error: %v", err))
	}
	diags.Sort()
	if len(diags.Items) > maxErrors {
		diags.Items = diags.Items[:maxErrors]
	}
	return file, diags
}

// parser holds the state of one parse. Its methods consume tokens from
// lex; on an error they record a diagnostic and unwind to the declaration
// loop with a bailout panic, which resynchronises at the next declaration.
type parser struct {
	lex     *lexer.PeekingLexer
	prevEnd diag.Pos // end of the last token consumed
	depth   int
	decls   []ast.Decl
	diags   []*diag.Diagnostic
}

// bailout is the panic value that abandons the current declaration.
type bailout struct{}

// Parse implements participle.Parseable: it parses a whole file.
func (p *parser) Parse(lex *lexer.PeekingLexer) error {
	p.lex = lex
	for !p.peek().EOF() && len(p.diags) < maxErrors {
		start := p.lex.Cursor()
		d, ok := p.declOrBail()
		switch {
		case !ok:
			p.resync(start)
		case d != nil:
			p.decls = append(p.decls, d)
		}
	}
	for !p.peek().EOF() {
		p.lex.Next()
	}
	return nil
}

// declOrBail parses one declaration; ok is false after an error. A
// declaration may be nil, for a stray top-level `;`.
func (p *parser) declOrBail() (d ast.Decl, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			if _, isBailout := r.(bailout); !isBailout {
				panic(r)
			}
			d, ok = nil, false
		}
	}()
	p.depth = 0
	return p.decl(), true
}

// resync skips to the next token that can start a declaration, so that one
// mistake does not cause a cascade of errors in the code after it.
func (p *parser) resync(start int) {
	if p.lex.Cursor() == start {
		p.next()
	}
	for t := p.peek(); !t.EOF(); t = p.peek() {
		if t.Type == tokKeyword && (t.Value == "probe" || t.Value == "global" ||
			t.Value == "function" || t.Value == "private") {
			return
		}
		p.next()
	}
}

// ---- tokens ----

func (p *parser) peek() *lexer.Token { return p.lex.Peek() }

// peek2 looks one token past the next one.
func (p *parser) peek2() *lexer.Token {
	save := p.lex.MakeCheckpoint()
	p.lex.Next()
	t := p.lex.Peek()
	p.lex.LoadCheckpoint(save)
	return t
}

func (p *parser) next() *lexer.Token {
	t := p.lex.Next()
	if !t.EOF() {
		p.prevEnd = tokenEnd(t)
	}
	return t
}

func isOp(t *lexer.Token, op string) bool { return t.Type == tokOp && t.Value == op }

func isKeyword(t *lexer.Token, kw string) bool { return t.Type == tokKeyword && t.Value == kw }

func (p *parser) atOp(op string) bool { return isOp(p.peek(), op) }

func (p *parser) atKeyword(kw string) bool { return isKeyword(p.peek(), kw) }

// acceptOp consumes the next token if it is op.
func (p *parser) acceptOp(op string) bool {
	if p.atOp(op) {
		p.next()
		return true
	}
	return false
}

// expectOp consumes op or fails with "expected 'op'; saw X".
func (p *parser) expectOp(op string) *lexer.Token {
	if !p.atOp(op) {
		p.failExpected(quoted(op))
	}
	return p.next()
}

// expectKeyword consumes kw or fails.
func (p *parser) expectKeyword(kw string) *lexer.Token {
	if !p.atKeyword(kw) {
		p.failExpected(quoted(kw))
	}
	return p.next()
}

// expectIdent consumes an identifier and returns it as a node.
func (p *parser) expectIdent(what string) *ast.Ident {
	t := p.peek()
	if t.Type != tokIdent {
		p.failExpected(what)
	}
	p.next()
	return &ast.Ident{Base: p.base(t), Name: t.Value}
}

// base is the span from token t to the end of the last consumed token.
func (p *parser) base(t *lexer.Token) ast.Base {
	return ast.Base{Start: toPos(t.Pos), End: p.prevEnd}
}

// from is the span from pos to the end of the last consumed token.
func (p *parser) from(pos diag.Pos) ast.Base {
	return ast.Base{Start: pos, End: p.prevEnd}
}

// ---- nesting ----

// enter counts one level of nesting and fails beyond maxDepth; every
// recursive production calls it, so no input can overflow the stack.
func (p *parser) enter() {
	p.depth++
	if p.depth > maxDepth {
		t := p.peek()
		p.fail(p.errorAt(t, CodeTooDeep, "nesting is deeper than %d levels", maxDepth).
			WithHint("split the expression or statement into smaller ones"))
	}
}

func (p *parser) leave() { p.depth-- }

// ---- errors ----

func (p *parser) errorAt(t *lexer.Token, code, format string, args ...any) *diag.Diagnostic {
	return diag.Errorf(diag.Parse, code, diag.Span{Start: toPos(t.Pos), End: tokenEnd(t)}, format, args...)
}

// report records a diagnostic and lets the parse go on: the tree is still
// well formed, as after `probe begin()`.
func (p *parser) report(d *diag.Diagnostic) { p.diags = append(p.diags, d) }

// fail records d and abandons the declaration.
func (p *parser) fail(d *diag.Diagnostic) {
	p.report(d)
	panic(bailout{})
}

// failExpected fails with "expected WHAT; saw X" at the next token. A token
// the lexer already complained about gets no second message.
func (p *parser) failExpected(what ...string) {
	t := p.peek()
	bailAtLexError(t)
	d := p.errorAt(t, CodeUnexpected, "expected %s; saw %s", alternatives(what), describe(t))
	switch {
	case t.EOF() && p.depth > 0:
		d.WithHint("the file ends too early; is a '}' or ')' missing?")
	case p.depth > 0 && t.Type == tokKeyword && (t.Value == "probe" || t.Value == "global" || t.Value == "function"):
		d.WithHint("is a '}' missing before this %s?", quoted(t.Value))
	case isKeyword(t, "else"):
		d.WithHint("'else' must follow the body of an 'if'")
	}
	p.fail(d)
}

// bailAtLexError abandons the declaration without a message of its own
// when t is a token the lexer has already reported.
func bailAtLexError(t *lexer.Token) {
	if t.Type == tokError {
		panic(bailout{})
	}
}
