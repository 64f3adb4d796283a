package lang

import (
	"io"
	"strconv"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"

	"etap/diag"
)

// Token types of the stp lexer. They are negative, like participle's EOF, so
// that they never collide with a rune.
const (
	tokIdent     lexer.TokenType = -2 - iota // plain identifier: a, printf, string
	tokTargetVar                             // context variable: $fd, $$vars
	tokInt                                   // integer literal, raw text
	tokString                                // string literal, raw text with quotes
	tokKeyword                               // probe, if, in, ...
	tokOp                                    // operator or punctuation
	tokAt                                    // @count, @cast, ...
	tokEmbedded                              // %{ ... %}, raw text with delimiters
	// tokError stands where the lexer already reported a problem; the parser
	// gives up on the declaration silently, so one mistake yields one error.
	tokError
)

// keywords can never be identifiers; lexing them as their own type keeps the
// expression parser from taking `in` or `limit` for a variable.
var keywords = map[string]bool{
	"probe": true, "global": true, "private": true, "function": true,
	"if": true, "else": true, "for": true, "foreach": true, "in": true,
	"limit": true, "return": true, "delete": true, "while": true,
	"break": true, "continue": true, "next": true, "try": true, "catch": true,
}

// operators holds every operator and punctuation mark, longest first, so
// that the first match is the longest: `<<<` before `<<` before `<`.
var operators = []string{
	"<<<", "<<=", ">>=",
	"->", "++", "--", "&&", "||", "==", "!=", "<=", ">=", "<<", ">>",
	"+=", "-=", "*=", "/=", "%=", "&=", "^=", "|=", ".=", "=~", "!~",
	"+", "-", "*", "/", "%", "<", ">", "=", "!", "~", "&", "|", "^",
	".", ",", ";", ":", "?", "(", ")", "[", "]", "{", "}",
}

// Lexer is the participle lexer definition of stp. Parse uses the same
// scanner directly so that it can substitute script arguments and keep the
// lexer's diagnostics; Lexer serves participle and tools that want tokens.
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
	src, err := io.ReadAll(r)
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
	diags     []*diag.Diagnostic
}

// scan tokenises src. args are the script arguments that $N and @N name.
// The token list always ends with an EOF token.
func scan(file, src string, args []string) *scanner {
	// Scripts average more than four bytes per token; sizing the slice up
	// front saves most of the copying of a growing one.
	s := &scanner{file: file, src: src, args: args, line: 1, toks: make([]lexer.Token, 0, len(src)/4+1)}
	s.run()
	return s
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

func (s *scanner) emit(typ lexer.TokenType, start lexer.Position) {
	s.toks = append(s.toks, lexer.Token{Type: typ, Value: s.src[start.Offset:s.off], Pos: start})
}

func (s *scanner) errorf(at lexer.Position, code, hint, format string, args ...any) {
	d := diag.Errorf(diag.Parse, code, diag.Span{Start: toPos(at), End: toPos(s.pos())}, format, args...)
	if hint != "" {
		d.Hint = hint
	}
	s.diags = append(s.diags, d)
}

func (s *scanner) run() {
	for {
		if !s.skipSpaceAndComments() {
			break
		}
		if s.off >= len(s.src) {
			break
		}
		s.token()
	}
	s.toks = append(s.toks, lexer.EOFToken(s.pos()))
}

// skipSpaceAndComments reports false when an unterminated comment ate the
// rest of the file.
func (s *scanner) skipSpaceAndComments() bool {
	for s.off < len(s.src) {
		c := s.src[s.off]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			s.advance(1)
		case c == '#' || (c == '/' && s.peekByte(1) == '/'):
			s.skipLine()
		case c == '/' && s.peekByte(1) == '*':
			start := s.pos()
			end := strings.Index(s.src[s.off+2:], "*/")
			if end < 0 {
				s.advance(len(s.src) - s.off)
				s.errorf(start, CodeUnterminatedComment, "close it with '*/'", "unterminated comment")
				s.emit(tokError, start)
				return false
			}
			s.advance(end + 4)
		default:
			return true
		}
	}
	return true
}

func (s *scanner) skipLine() {
	end := strings.IndexByte(s.src[s.off:], '\n')
	if end < 0 {
		end = len(s.src) - s.off
	}
	s.advance(end)
}

func isIdentStart(c byte) bool {
	return c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentChar(c byte) bool { return isIdentStart(c) || isDigit(c) }

// token scans the one token that starts at s.off.
func (s *scanner) token() {
	start := s.pos()
	c := s.src[s.off]
	switch {
	case c == '$' && s.peekByte(1) == '#':
		s.advance(2)
		s.substitute(start, tokInt, strconv.Itoa(len(s.args)))
	case c == '@' && s.peekByte(1) == '#':
		s.advance(2)
		s.substitute(start, tokString, quote(strconv.Itoa(len(s.args))))
	case (c == '$' || c == '@') && isDigit(s.peekByte(1)):
		s.scriptArg(start)
	case c == '$' && isIdentChar(s.peekByte(1)):
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
func (s *scanner) number(start lexer.Position) {
	s.advance(s.identLen(0))
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
		d := diag.Errorf(diag.Parse, CodeBadEscape, diag.Span{Start: toPos(at), End: toPos(at)}, "%s", msg)
		s.diags = append(s.diags, d)
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

// scriptArg handles $N (the argument's text, lexed as tokens) and @N (the
// argument as a string literal). The tokens take the position of $N.
func (s *scanner) scriptArg(start lexer.Position) {
	n := 1
	for isDigit(s.peekByte(n)) {
		n++
	}
	s.advance(n)
	text := s.src[start.Offset:s.off]
	idx, err := strconv.Atoi(text[1:])
	if err != nil || idx < 1 || idx > len(s.args) {
		s.errorf(start, CodeArgRange, "pass script arguments after the script name",
			"script argument %s is out of range: %d given", text, len(s.args))
		s.emit(tokError, start)
		return
	}
	arg := s.args[idx-1]
	if text[0] == '@' {
		s.substitute(start, tokString, quote(arg))
		return
	}
	sub := scan(s.file, arg, nil)
	for _, d := range sub.diags {
		d.Message = "in script argument " + text + ": " + d.Message
		d.Span = diag.Span{Start: toPos(start), End: toPos(s.pos())}
		s.diags = append(s.diags, d)
	}
	for _, t := range sub.toks[:len(sub.toks)-1] {
		t.Pos = start
		s.toks = append(s.toks, t)
	}
}

func (s *scanner) substitute(start lexer.Position, typ lexer.TokenType, value string) {
	s.toks = append(s.toks, lexer.Token{Type: typ, Value: value, Pos: start})
}

// toPos converts a participle position to a diagnostic position.
func toPos(p lexer.Position) diag.Pos {
	return diag.Pos{File: p.Filename, Offset: p.Offset, Line: p.Line, Col: p.Column}
}

// tokenEnd is the position just after t: its start advanced over its raw
// text. Tokens substituted for $N end where their text would.
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
