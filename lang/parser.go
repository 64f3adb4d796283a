// Package lang reads stp scripts: its own lexer (which pastes script
// arguments), stap's preprocessor (@define macros and %( %? %: %)
// conditionals, decided by Facts), a recursive-descent parser over
// participle's PeekingLexer that follows stap's grammar level by level,
// and the -p1 printer. Parse and ParseWith turn one file into an ast.File
// plus diagnostics.
package lang

import (
	"sort"
	"sync"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"

	"etap/diag"
	"etap/lang/ast"
)

// grammar plugs the stp parser into participle as a Parseable root, so
// participle checks the lexer's symbols and that the input is used up.
var grammar = participle.MustBuild[root](participle.Lexer(Lexer))

// root is the value participle makes for a parse. participle builds it
// itself, so the parse's state reaches it through parses, keyed by the
// first token: every copy participle makes of the PeekingLexer shares the
// array of tokens.
type root struct{}

var parses sync.Map // *lexer.Token -> *parser

// Parse implements participle.Parseable: it runs the parser that
// ParseWith registered for these tokens.
func (*root) Parse(lex *lexer.PeekingLexer) error {
	p, _ := parses.Load(&lex.Range(0, 1)[0])
	p.(*parser).parse(lex)
	return nil
}

// maxDepth bounds the nesting of statements and expressions; deeper input
// gets an error instead of exhausting the stack.
const maxDepth = 1000

// Options configure a parse beyond the file's text.
type Options struct {
	// Args are the script arguments: $N stands for the text of Args[N-1],
	// @N for it as a string literal, $# and @# for their count.
	Args []string
	// Facts decide the conditions of %( %? %: %); nil means HostFacts,
	// read when a condition first needs them.
	Facts *Facts
	// Macros are library macros the file may invoke; nil means none.
	Macros *Macros
	// Library marks a tapset file, which may be empty after
	// preprocessing; a user's script may not, as in stap.
	Library bool
}

// Parse parses one stp file with the script arguments args; it is
// ParseWith with no other options.
func Parse(filename, src string, args []string) (*ast.File, *diag.List) {
	return ParseWith(filename, src, Options{Args: args})
}

// ParseWith parses one stp file: lexing with script arguments substituted,
// preprocessing (macros and conditionals), parsing. The file holds every
// declaration that parsed; the list (never nil) holds at most maxErrors
// diagnostics, sorted by position.
func ParseWith(filename, src string, opts Options) (*ast.File, *diag.List) {
	s := scan(filename, src, opts.Args)
	diags := &diag.List{Items: s.diags}
	pp := preprocess(s, opts)
	toks, origins := pp.out, pp.outOrg
	diags.Items = append(diags.Items, pp.diags...)
	file := &ast.File{Name: filename, Expansions: append(s.expansions, pp.expansions...)}
	sort.SliceStable(file.Expansions, func(i, j int) bool {
		return file.Expansions[i].Span.Start.Offset < file.Expansions[j].Span.Start.Offset
	})
	peek, err := lexer.Upgrade(&tokenList{toks: toks})
	if err == nil {
		p := &parser{toks: peek.Range(0, lexer.RawCursor(len(toks))), origins: origins}
		key := &p.toks[0]
		parses.Store(key, p)
		_, err = grammar.ParseFromLexer(peek)
		parses.Delete(key)
		file.Decls = p.decls
		diags.Items = append(diags.Items, p.diags...)
		if len(file.Decls) == 0 && !opts.Library && len(src) <= maxScriptSize && !diags.HasErrors() {
			diags.Add(emptyScript(filename, toks, s))
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

// emptyScript reports a script without declarations, which stap refuses:
// a script that does nothing is a mistake, such as a wrong file name or a
// conditional that removed everything.
func emptyScript(filename string, toks []lexer.Token, s *scanner) *diag.Diagnostic {
	at := toPos(toks[len(toks)-1].Pos)
	if len(s.toks) > 1 {
		return diag.Errorf(diag.Parse, CodeEmpty, diag.Span{Start: at, End: at}, "the script is empty after preprocessing").
			WithHint("check the conditions of its %%( %%? %%: %%) blocks")
	}
	at = diag.Pos{File: filename, Line: 1, Col: 1}
	return diag.Errorf(diag.Parse, CodeEmpty, diag.Span{Start: at, End: at}, "the script is empty").
		WithHint("a script needs at least one probe, such as: probe begin { println(\"hello\") }")
}

// parser holds the state of one parse. Its methods consume tokens from
// lex; on an error they record a diagnostic and unwind to the declaration
// loop with a bailout panic, which resynchronises at the next declaration.
type parser struct {
	lex     *lexer.PeekingLexer
	toks    []lexer.Token // the lexer's tokens, to find a token's index
	origins []*origin     // nil, or where each token came from
	prevEnd diag.Pos      // end of the last token consumed
	depth   int
	decls   []ast.Decl
	diags   []*diag.Diagnostic
	// emptyParens maps the start of each component written with `()` to
	// its `(`, for checkEmptyArgs.
	emptyParens map[diag.Pos]diag.Pos
}

// bailout is the panic value that abandons the current declaration.
type bailout struct{}

// parse parses a whole file from lex.
func (p *parser) parse(lex *lexer.PeekingLexer) {
	p.lex = lex
	for !p.peek().EOF() && len(p.diags) < maxErrors {
		start := p.lex.Cursor()
		if d, ok := p.declOrBail(); ok {
			p.decls = append(p.decls, d)
		} else {
			p.resync(start)
		}
	}
	for !p.peek().EOF() {
		p.lex.Next()
	}
}

// declOrBail parses one declaration; ok is false after an error.
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
		if startsDecl(t) {
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
	i := p.lex.Cursor()
	t := p.lex.Next()
	if !t.EOF() {
		p.prevEnd = p.end(i, t)
	}
	return t
}

// end is where token i, t, ends as the user sees it.
func (p *parser) end(i int, t *lexer.Token) diag.Pos {
	if p.origins != nil && p.origins[i] != nil {
		return p.origins[i].end
	}
	return tokenEnd(t)
}

// index finds the position of t in the token list; t is usually the next
// token or one close before it.
func (p *parser) index(t *lexer.Token) int {
	for i := min(p.lex.Cursor(), len(p.toks)-1); i >= 0; i-- {
		if &p.toks[i] == t {
			return i
		}
	}
	return -1
}

// span is the extent of t in the source and the notes on where it was
// expanded from, if it was.
func (p *parser) span(t *lexer.Token) (diag.Span, []diag.Related) {
	i := p.index(t)
	if i < 0 {
		return diag.Span{Start: toPos(t.Pos), End: tokenEnd(t)}, nil
	}
	s := diag.Span{Start: toPos(t.Pos), End: p.end(i, t)}
	if p.origins != nil && p.origins[i] != nil {
		return s, p.origins[i].notes()
	}
	return s, nil
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

// errorAt builds a diagnostic at token t; a token that an expansion made
// gets the notes that say what it was expanded from.
func (p *parser) errorAt(t *lexer.Token, code, format string, args ...any) *diag.Diagnostic {
	span, notes := p.span(t)
	d := diag.Errorf(diag.Parse, code, span, format, args...)
	d.Related = append(d.Related, notes...)
	return d
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
