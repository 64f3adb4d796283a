package lang

import (
	"strings"
	"testing"

	"github.com/alecthomas/participle/v2/lexer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/lang/ast"
)

var typeNames = map[lexer.TokenType]string{
	tokIdent: "id", tokTargetVar: "tv", tokInt: "int", tokString: "str", tokKeyword: "kw",
	tokOp: "op", tokAt: "at", tokEmbedded: "c", tokError: "err",
}

// tokens renders the tokens of src as "type:value" words, EOF left out.
func tokens(src string, args ...string) string {
	s := scan("t.stp", src, args)
	var words []string
	for _, t := range s.toks[:len(s.toks)-1] {
		words = append(words, typeNames[t.Type]+":"+t.Value)
	}
	return strings.Join(words, " ")
}

func TestLexer(t *testing.T) {
	tests := []struct {
		src, want string
		args      []string
	}{
		{"probe begin", "kw:probe id:begin", nil},
		{"a$b $fd $$vars", "id:a$b tv:$fd tv:$$vars", nil},
		{"@count(x)", "at:@count op:( id:x op:)", nil},
		{"a <<< b <<= c >>= d << e", "id:a op:<<< id:b op:<<= id:c op:>>= id:d op:<< id:e", nil},
		{"a->b .= c =~ d !~ e", "id:a op:-> id:b op:.= id:c op:=~ id:d op:!~ id:e", nil},
		{"x++ --y a&&b||c", "id:x op:++ op:-- id:y id:a op:&& id:b op:|| id:c", nil},
		{"in limit foreach", "kw:in kw:limit kw:foreach", nil},
		{"string long", "kw:string kw:long", nil},
		{"$ $$ $x$ a$b", "tv:$ tv:$$ tv:$x$ id:a$b", nil},
		{"%( %? %: %) %{ x %}", "op:%( op:%? op:%: op:%) c:%{ x %}", nil},
		{"a >>> b 12_3", "id:a op:>>> id:b int:12 id:_3", nil},
		{"$1_open $1$1", "id:sys_open id:sys$1", []string{"sys"}},
		{"x = $1 + 1", "id:x op:= int:2 op:* int:3 op:+ int:1", []string{"2 * 3"}},
		{`$1cd" + 1`, `str:"abcd" op:+ int:1`, []string{`"ab`}},
		{"$#0", "int:20", []string{"a", "b"}},
		{"# comment\nx // c++\n/* c */ y", "id:x id:y", nil},
		{`"a\"b" "c"`, `str:"a\"b" str:"c"`, nil},
		{"0 010 0x1F 123", "int:0 int:010 int:0x1F int:123", nil},
		{"%{ int x; %} y", "c:%{ int x; %} id:y", nil},
		{"w%[10]", "id:w op:% op:[ int:10 op:]", nil},
		{"x%y", "id:x op:% id:y", nil},
		{"$#", "int:0", nil},
		{"$# @# $1 @1 @2", `int:2 str:"2" int:5 str:"5" str:"a b"`, []string{"5", "a b"}},
		{"x = $2", "id:x op:= id:a id:b", []string{"5", "a b"}},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			assert.Equal(t, tt.want, tokens(tt.src, tt.args...))
		})
	}
}

func TestLexerPositions(t *testing.T) {
	s := scan("f.stp", "a\n\tbc /* x\ny */ \"s\"\n%{\n%} d", nil)
	require.Empty(t, s.diags)
	type at struct{ line, col, offset int }
	var got []at
	for _, tok := range s.toks {
		got = append(got, at{tok.Pos.Line, tok.Pos.Column, tok.Pos.Offset})
	}
	assert.Equal(t, []at{{1, 1, 0}, {2, 2, 3}, {3, 6, 16}, {4, 1, 20}, {5, 4, 26}, {5, 5, 27}}, got)
	assert.Equal(t, "f.stp", s.toks[0].Pos.Filename)
	// The end of the two-line embedded block is on line 5.
	end := tokenEnd(&s.toks[3])
	assert.Equal(t, 5, end.Line)
	assert.Equal(t, 3, end.Col)
}

func TestIntegerLiterals(t *testing.T) {
	tests := []struct {
		src  string
		want int64
	}{
		{"0", 0},
		{"42", 42},
		{"0x10", 16},
		{"0XFF", 255},
		{"010", 8},
		{"9223372036854775807", 9223372036854775807},
		{"9223372036854775808", -9223372036854775808},
		{"18446744073709551615", -1},
		{"0xffffffffffffffff", -1},
		{"01777777777777777777777", -1},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			lit, ok := parseExpr(t, tt.src).(*ast.IntLit)
			require.True(t, ok)
			assert.Equal(t, tt.want, lit.Value)
			assert.Equal(t, tt.src, lit.Text)
		})
	}
}

func TestStringLiterals(t *testing.T) {
	tests := []struct{ src, want string }{
		{`"plain"`, "plain"},
		{`"\n\t\r\\\""`, "\n\t\r\\\""},
		{`"\a\b\f\v"`, "\a\b\f\v"},
		{`"\101\60\0"`, "A0\x00"},
		{`"\1234"`, "S4"},
		{`"\x41\x4a\x4Z"`, "AJ\x04Z"},
		{`"\d\.\q"`, "d.q"},
		{`"a" "b"  "c"`, "abc"},
		{`"caf\303\251"`, "café"},
		{`"café"`, "café"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			lit, ok := parseExpr(t, tt.src).(*ast.StringLit)
			require.True(t, ok)
			assert.Equal(t, tt.want, lit.Value)
		})
	}
}

func TestQuoteRoundTrip(t *testing.T) {
	for _, s := range []string{"", "a\"b\\c", "\x00\x01\x7f\n\t\r", "1\0012", "é", "\xff"} {
		q := quote(s)
		assert.Equal(t, s, unescape(q[1:len(q)-1], nil), "quote gave %s", q)
	}
}

func TestLexerDefinition(t *testing.T) {
	lex, err := Lexer.Lex("t.stp", strings.NewReader("probe begin { }"))
	require.NoError(t, err)
	toks, err := lexer.ConsumeAll(lex)
	require.NoError(t, err)
	assert.Len(t, toks, 5)
	assert.Equal(t, lexer.TokenType(tokKeyword), toks[0].Type)
	assert.Equal(t, tokKeyword, Lexer.Symbols()["Keyword"])

	_, err = Lexer.Lex("t.stp", strings.NewReader(`probe begin { "x }`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "t.stp:1:15: parse error: unterminated string literal")
}
