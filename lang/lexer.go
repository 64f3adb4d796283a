package lang

import (
	"io"
	"strconv"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"

	"etap/diag"
	"etap/lang/ast"
)

// Token types of the stp lexer. They are negative, like participle's EOF, so
// that they never collide with a rune.
const (
	tokIdent     lexer.TokenType = -2 - iota // plain identifier: a, printf
	tokTargetVar                             // context variable: $fd, $$vars, $ (all words that start with $)
	tokInt                                   // integer literal, raw text
	tokString                                // string literal, raw text with quotes
	tokKeyword                               // probe, if, in, string, ...
	tokOp                                    // operator, punctuation, %( %? %: %)
	tokAt                                    // @count, @cast, @define, @macro, ...
	tokEmbedded                              // %{ ... %}, raw text with delimiters
	// tokError stands where the lexer or the preprocessor already reported
	// a problem; the parser gives up on the declaration silently, so one
	// mistake yields one error.
	tokError
)

// keywords can never be identifiers; lexing them as their own type keeps the
// expression parser from taking `in` or `limit` for a variable. As in stap,
// the type names `string` and `long` are keywords too.
var keywords = map[string]bool{
	"probe": true, "global": true, "private": true, "function": true,
	"if": true, "else": true, "for": true, "foreach": true, "in": true,
	"limit": true, "return": true, "delete": true, "while": true,
	"break": true, "continue": true, "next": true, "try": true, "catch": true,
	"string": true, "long": true,
}

// operators holds every operator and punctuation mark, longest first, so
// that the first match is the longest: `<<<` before `<<` before `<`. The
// preprocessor's `%(`, `%?`, `%:` and `%)` are operators wherever they
// appear, as in stap: `a%(b)` does not mean `a % (b)`.
var operators = []string{
	"<<<", "<<=", ">>=", ">>>",
	"->", "++", "--", "&&", "||", "==", "!=", "<=", ">=", "<<", ">>",
	"+=", "-=", "*=", "/=", "%=", "&=", "^=", "|=", ".=", "=~", "!~",
	"%(", "%?", "%:", "%)",
	"+", "-", "*", "/", "%", "<", ">", "=", "!", "~", "&", "|", "^",
	".", ",", ";", ":", "?", "(", ")", "[", "]", "{", "}",
}

// maxScriptSize bounds the text that one parse reads, script arguments
// included: past it, a script gets an error instead of the memory it asks for.
const maxScriptSize = 16 << 20

// Lexer is the participle lexer definition of stp. It yields the tokens as
// written, before preprocessing and without script arguments; Parse uses
// the same scanner directly so that it can substitute arguments and keep
// the lexer's diagnostics.
var Lexer lexer.Definition = definition{}

type definition struct{}

// Symbols names the token types for participle.
func (definition) Symbols() map[string]lexer.TokenType {
	return map[string]lexer.TokenType{
		"EOF": lexer.EOF, "Ident": tokIdent, "TargetVar": tokTargetVar,
		"Int": tokInt, "String": tokString, "Keyword": tokKeyword,
		"Op": tokOp, "At": tokAt, "EmbeddedC": tokEmbedded, "Error": tokError,
	}
}

// Lex tokenises r without script arguments. A lexical problem, such as an
// unterminated string, is returned as the error, a *diag.Diagnostic.
func (d definition) Lex(filename string, r io.Reader) (lexer.Lexer, error) {
	src, err := io.ReadAll(io.LimitReader(r, maxScriptSize+1))
	if err != nil {
		return nil, err
	}
	return d.LexString(filename, string(src))
}

// LexString is the fast path of Lex for text already in memory.
func (definition) LexString(filename, src string) (lexer.Lexer, error) {
	s := scan(filename, src, nil)
	if len(s.diags) > 0 {
		return nil, s.diags[0]
	}
	return &tokenList{toks: s.toks}, nil
}

// tokenList replays scanned tokens through participle's lexer.Lexer.
type tokenList struct {
	toks []lexer.Token
}

// Next returns the next token; after the last one it keeps returning EOF.
func (l *tokenList) Next() (lexer.Token, error) {
	t := l.toks[0]
	if len(l.toks) > 1 {
		l.toks = l.toks[1:]
	}
	return t, nil
}

// origin records where a token made by an expansion stands in the source.
// Such a token takes the position of what it was expanded from (a `$1`,
// an `@macro(...)` call), so that every position points into text the
// user wrote; end is where that text ends. note says what the token was
// expanded from ("expanded from macro '@m'", at the token in the macro's
// body); inner is where the token came from inside that body, if it was
// expanded there already, and outer where the invocation came from, if it
// was itself expanded. The chain is kept as links, not copied per token:
// a deep expansion makes many tokens and few diagnostics.
type origin struct {
	end          diag.Pos
	note         diag.Related
	inner, outer *origin
}

// notes lists the "expanded from" notes of o, innermost first.
func (o *origin) notes() []diag.Related {
	if o == nil {
		return nil
	}
	return append(append(o.inner.notes(), o.note), o.outer.notes()...)
}

// paste describes the script argument a sub-scanner lexes: its text comes
// first in the sub-scanner's source, followed by some of the script after
// the `$1`, because stap pastes arguments as characters and a token may
// run on from the argument into the script (`$1_open`).
type paste struct {
	n    int // length of the argument's text
	at   lexer.Position
	end  diag.Pos // just after the `$1`
	name string   // "$1", "@2", "$#"
	note diag.Related
}

// scanner turns stp source into tokens. Token values are the raw source
// text, so that a token's end is its start advanced over its value.
type scanner struct {
	file      string
	src       string
	args      []string
	off       int
	line      int
	lineStart int
	toks      []lexer.Token
	origins   []*origin // nil, or (after run) one entry per token, nil for a token written as is
	diags     []*diag.Diagnostic
	paste     *paste // set in the sub-scanner of a script argument
	pasted    int    // bytes of script arguments substituted so far
	// expansions are the script arguments substituted, for ast.File.
	expansions []*ast.Expansion
}

// scan tokenises src. args are the script arguments that $N and @N name.
// The token list always ends with an EOF token.
func scan(file, src string, args []string) *scanner {
	s := &scanner{file: file, src: src, args: args, line: 1}
	if len(src) > maxScriptSize {
		s.tooLarge()
		return s
	}
	// Scripts average more than four bytes per token; sizing the slice up
	// front saves most of the copying of a growing one.
	s.toks = make([]lexer.Token, 0, len(src)/4+1)
	s.run()
	return s
}

// tooLarge reports a script over maxScriptSize at the first byte past the
// limit and yields no tokens: parsing the rest would cost what the limit
// is there to save.
func (s *scanner) tooLarge() {
	head := s.src[:maxScriptSize]
	s.line = 1 + strings.Count(head, "\n")
	s.lineStart = strings.LastIndexByte(head, '\n') + 1
	s.off = maxScriptSize
	at := s.pos()
	s.errorf(at, CodeTooLarge, "split it, or move data into script arguments or a file it reads",
		"the script is larger than %d MiB", maxScriptSize>>20)
	s.toks = append(s.toks, lexer.EOFToken(at))
}

func (s *scanner) pos() lexer.Position {
	return lexer.Position{Filename: s.file, Offset: s.off, Line: s.line, Column: s.off - s.lineStart + 1}
}

func (s *scanner) peekByte(i int) byte {
	if s.off+i < len(s.src) {
		return s.src[s.off+i]
	}
	return 0
}

// advance moves over n bytes, keeping line and column right.
func (s *scanner) advance(n int) {
	for end := s.off + n; s.off < end; s.off++ {
		if s.src[s.off] == '\n' {
			s.line++
			s.lineStart = s.off + 1
		}
	}
}

// at is where a token that starts at start stands: in a script argument's
// sub-scanner, every token that starts in the argument stands at the `$1`.
func (s *scanner) at(start lexer.Position) lexer.Position {
	if s.paste != nil {
		return s.paste.at
	}
	return start
}

func (s *scanner) emit(typ lexer.TokenType, start lexer.Position) {
	s.toks = append(s.toks, lexer.Token{Type: typ, Value: s.src[start.Offset:s.off], Pos: s.at(start)})
}

func (s *scanner) errorf(at lexer.Position, code, hint, format string, args ...any) {
	span := diag.Span{Start: toPos(at), End: toPos(s.pos())}
	if s.paste != nil {
		span = diag.Span{Start: toPos(s.paste.at), End: s.paste.end}
		format = "in script argument " + s.paste.name + ": " + format
	}
	d := diag.Errorf(diag.Parse, code, span, format, args...)
	if hint != "" {
		d.Hint = hint
	}
	s.diags = append(s.diags, d)
}

func (s *scanner) run() {
	for s.off < len(s.src) {
		if !s.skipOne() {
			s.token()
		}
	}
	s.toks = append(s.toks, lexer.EOFToken(s.pos()))
	if s.origins != nil {
		s.origins = append(s.origins, make([]*origin, len(s.toks)-len(s.origins))...)
	}
}

// skipOne skips one white space character or comment and reports whether
// there was one.
func (s *scanner) skipOne() bool {
	c := s.src[s.off]
	switch {
	case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
		s.advance(1)
	case c == '#' || (c == '/' && s.peekByte(1) == '/'):
		end := strings.IndexByte(s.src[s.off:], '\n')
		if end < 0 {
			end = len(s.src) - s.off
		}
		s.advance(end)
	case c == '/' && s.peekByte(1) == '*':
		start := s.pos()
		end := strings.Index(s.src[s.off+2:], "*/")
		if end < 0 {
			s.advance(len(s.src) - s.off)
			s.errorf(start, CodeUnterminatedComment, "close it with '*/'", "unterminated comment")
			s.emit(tokError, start)
			return true
		}
		s.advance(end + 4)
	default:
		return false
	}
	return true
}

func isIdentStart(c byte) bool {
	return c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlnum(c byte) bool { return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

func isIdentChar(c byte) bool { return isIdentStart(c) || isDigit(c) }

// token scans the one token that starts at s.off.
func (s *scanner) token() {
	start := s.pos()
	c := s.src[s.off]
	switch {
	case (c == '$' || c == '@') && (s.peekByte(1) == '#' || isDigit(s.peekByte(1))):
		s.scriptArg(start)
	case c == '$':
		s.advance(s.identLen(1))
		s.emit(tokTargetVar, start)
	case c == '@' && isIdentStart(s.peekByte(1)) && s.peekByte(1) != '$':
		s.advance(s.identLen(1))
		s.emit(tokAt, start)
	case isIdentStart(c):
		s.advance(s.identLen(0))
		if keywords[s.src[start.Offset:s.off]] {
			s.emit(tokKeyword, start)
		} else {
			s.emit(tokIdent, start)
		}
	case isDigit(c):
		s.number(start)
	case c == '"':
		s.stringLit(start)
	case c == '%' && s.peekByte(1) == '{':
		s.embedded(start)
	default:
		for _, op := range operators {
			if strings.HasPrefix(s.src[s.off:], op) {
				s.advance(len(op))
				s.emit(tokOp, start)
				return
			}
		}
		s.invalidChar(start)
	}
}

func (s *scanner) identLen(from int) int {
	n := from
	for s.off+n < len(s.src) && isIdentChar(s.src[s.off+n]) {
		n++
	}
	return n
}

func (s *scanner) invalidChar(start lexer.Position) {
	what, size := describeChar(s.src[s.off:])
	s.advance(size)
	s.errorf(start, CodeInvalidChar, "", "invalid character %s", what)
	s.emit(tokError, start)
}

// number scans an integer literal and checks that it fits in 64 bits; the
// parser decodes the raw text again, so a bad literal is reported once here.
// Like stap, a number runs on over letters and digits but not `_`.
func (s *scanner) number(start lexer.Position) {
	n := 1
	for isAlnum(s.peekByte(n)) {
		n++
	}
	s.advance(n)
	text := s.src[start.Offset:s.off]
	if _, err := parseUint(text); err != nil {
		if err == errRange {
			s.errorf(start, CodeIntRange, "the largest integer is 0xffffffffffffffff (2^64-1)",
				"integer literal %s is out of range", text)
			s.emit(tokInt, start)
			return
		}
		s.errorf(start, CodeBadNumber, "", "malformed number '%s': %v", text, err)
		s.emit(tokError, start)
		return
	}
	s.emit(tokInt, start)
}

// stringLit scans a string literal. A literal ends at its line: a missing
// quote is then reported where the string began, not at the end of the file.
func (s *scanner) stringLit(start lexer.Position) {
	i := s.off + 1
	for i < len(s.src) && s.src[i] != '"' && s.src[i] != '\n' {
		if s.src[i] == '\\' && i+1 < len(s.src) && s.src[i+1] != '\n' {
			i++
		}
		i++
	}
	if i >= len(s.src) || s.src[i] != '"' {
		s.advance(i - s.off)
		s.errorf(start, CodeUnterminatedString, `close it with '"' on the same line; write \n for a newline`,
			"unterminated string literal")
		s.emit(tokError, start)
		return
	}
	s.advance(i + 1 - s.off)
	raw := s.src[start.Offset:s.off]
	unescape(raw[1:len(raw)-1], func(off int, msg string) {
		at := start
		at.Offset += 1 + off
		at.Column += 1 + off
		if s.paste != nil {
			s.errorf(at, CodeBadEscape, "", "%s", msg)
			return
		}
		s.diags = append(s.diags, diag.Errorf(diag.Parse, CodeBadEscape, diag.Span{Start: toPos(at), End: toPos(at)}, "%s", msg))
	})
	s.emit(tokString, start)
}

func (s *scanner) embedded(start lexer.Position) {
	end := strings.Index(s.src[s.off+2:], "%}")
	if end < 0 {
		s.advance(len(s.src) - s.off)
		s.errorf(start, CodeUnterminatedEmbedded, "close it with '%}'", "unterminated embedded code block")
		s.emit(tokError, start)
		return
	}
	s.advance(end + 4)
	s.emit(tokEmbedded, start)
}

// scriptArg substitutes $N (the argument's text), @N (the argument as a
// string literal), $# and @# (the number of arguments, as a number or a
// string). Like stap, it pastes characters, not tokens: with $1 = "sys",
// `$1_open` is the identifier sys_open.
func (s *scanner) scriptArg(start lexer.Position) {
	n := 2
	if s.peekByte(1) != '#' {
		for isDigit(s.peekByte(n)) {
			n++
		}
	}
	s.advance(n)
	name := s.src[start.Offset:s.off]
	if s.paste != nil {
		s.errorf(start, CodeNestedArg, "", "%s cannot stand in a script argument: arguments are not substituted again", name)
		s.emit(tokError, start)
		return
	}
	var value string
	if name[1] == '#' {
		value = strconv.Itoa(len(s.args))
	} else {
		idx, err := strconv.Atoi(name[1:])
		if err != nil || idx < 1 || idx > len(s.args) {
			s.errorf(start, CodeArgRange, "pass script arguments after the script name",
				"script argument %s is out of range: %d given", name, len(s.args))
			s.emit(tokError, start)
			return
		}
		value = s.args[idx-1]
	}
	text := value
	if name[0] == '@' {
		text = quote(value)
	}
	s.pasted += len(text)
	if s.pasted > maxScriptSize {
		s.errorf(start, CodeTooLarge, "", "script arguments make the script larger than %d MiB", maxScriptSize>>20)
		s.emit(tokError, start)
		return
	}
	s.substitute(start, name, value, text)
}

// substitute lexes text, what the script argument name (whose value is
// value) written at start stands for, as if it stood in the source, which
// it continues.
func (s *scanner) substitute(start lexer.Position, name, value, text string) {
	end := toPos(s.pos())
	p := &paste{n: len(text), at: start, end: end, name: name,
		note: diag.Related{Span: diag.Span{Start: toPos(start), End: end},
			Message: "expanded from script argument " + name + " = " + quote(value)}}
	// The argument's last token may run on into the script. Lex the
	// argument followed by a few bytes of the script, twice as many while
	// that token reaches their end: copying the whole rest of the script
	// for every $1 would make a script with many of them quadratic.
	rest := s.src[s.off:]
	var sub *scanner
	for w := 16; ; w *= 2 {
		w = min(w, len(rest))
		sub = &scanner{file: s.file, src: text + rest[:w], args: s.args, line: 1, paste: p}
		for sub.off < p.n {
			if !sub.skipOne() {
				sub.token()
			}
		}
		if sub.off < len(sub.src) || w == len(rest) {
			break
		}
	}
	s.diags = append(s.diags, sub.diags...)
	s.advance(sub.off - p.n)
	s.expansions = append(s.expansions, &ast.Expansion{Span: diag.Span{Start: toPos(start), End: toPos(s.pos())}, Note: p.note})
	first := len(s.toks)
	s.toks = append(s.toks, sub.toks...)
	for i := first; i < len(s.toks); i++ {
		o := &origin{end: end, note: p.note}
		if i == len(s.toks)-1 && sub.off > p.n {
			o.end = toPos(s.pos()) // the token ran on into the script
		}
		s.setOrigin(i, o)
	}
}

// setOrigin records where token i came from, making room for origins the
// first time a script needs them.
func (s *scanner) setOrigin(i int, o *origin) {
	if s.origins == nil {
		s.origins = make([]*origin, len(s.toks), cap(s.toks))
	}
	for len(s.origins) <= i {
		s.origins = append(s.origins, nil)
	}
	s.origins[i] = o
}

// toPos converts a participle position to a diagnostic position.
func toPos(p lexer.Position) diag.Pos {
	return diag.Pos{File: p.Filename, Offset: p.Offset, Line: p.Line, Col: p.Column}
}

// tokenEnd is the position just after a token written as is: its start
// advanced over its raw text.
func tokenEnd(t *lexer.Token) diag.Pos {
	p := toPos(t.Pos)
	if nl := strings.LastIndexByte(t.Value, '\n'); nl >= 0 {
		p.Line += strings.Count(t.Value, "\n")
		p.Col = len(t.Value) - nl
	} else {
		p.Col += len(t.Value)
	}
	p.Offset += len(t.Value)
	return p
}
