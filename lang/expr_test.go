package lang

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"etap/lang/ast"
)

func TestExprPrecedence(t *testing.T) {
	tests := []struct{ src, want string }{
		{"a + b * c", "(+ a (* b c))"},
		{"a * b + c", "(+ (* a b) c)"},
		{"a - b - c", "(- (- a b) c)"},
		{"a . b . c", "(. (. a b) c)"},
		{`a . "x" + 1`, `(. a (+ "x" 1))`},
		{`a + 1 . b * 2`, `(. (+ a 1) (* b 2))`},
		{`a . b << 1`, `(<< (. a b) 1)`},
		{"a << 1 + 2", "(<< a (+ 1 2))"},
		{"a & b == c", "(& a (== b c))"},
		{"a | b ^ c & d", "(| a (^ b (& c d)))"},
		{"a < b == c", "(== (< a b) c)"},
		{"a & k in b", "(& a (in b k))"},
		{"a == b in c", "(in c (== a b))"},
		{"a << 1 < b", "(< (<< a 1) b)"},
		{"a && b || c && d", "(|| (&& a b) (&& c d))"},
		{"k in a && x", "(&& (in a k) x)"},
		{"k == 1 in a", "(in a (== k 1))"},
		{"[k1, *] in a", "(in a k1 *)"},
		{`s =~ "re" && t !~ "x"`, `(&& (=~ s "re") (!~ t "x"))`},
		{"a ? b : c ? d : e", "(?: a b (?: c d e))"},
		{"a ? b : (c = d)", "(?: a b (paren (= c d)))"},
		{"x = a ? b = 1 : c", "(= x (?: a (= b 1) c))"},
		{"a = b ? c : d", "(= a (?: b c d))"},
		{"a = b = c", "(= a (= b c))"},
		{"a += b || c", "(+= a (|| b c))"},
		{"a <<< b + 1", "(<<< a (+ b 1))"},
		{"s .= x . y", "(.= s (. x y))"},
		{"-a * b", "(* (u- a) b)"},
		{"!a && b", "(&& (u! a) b)"},
		{"- -a", "(u- (u- a))"},
		{"~!a", "(u~ (u! a))"},
		{"-a++", "(u- (post++ a))"},
		{"++a + b--", "(+ (pre++ a) (post-- b))"},
		{"a[i, j]++", "(post++ (index a i j))"},
		{"(a + b) * c", "(* (paren (+ a b)) c)"},
		{"f(a, b + 1)", "(call f a (+ b 1))"},
		{"f()", "(call f)"},
		{"$p->a->b + 1", "(+ $p->a->b 1)"},
		{"@count(s) + @hist_linear(s, 0, 10, 2)[3]", "(+ (@count s) (hist[] (@hist_linear s 0 10 2) 3))"},
		{"-++x", "(u- (pre++ x))"},
		{"a | b in c", "(| a (in c b))"},
		{"a in b && c", "(&& (in b a) c)"},
		{"[a] & 1", "(& a 1)"},
		{"a >>> 2", "(>>> a 2)"},
		{`s =~ "x" || t`, `(|| (=~ s "x") t)`},
		{"&$p->a[i]$", "(& $p (-> a) ([] i) $)"},
		{"$p$$", "($p $$)"},
		{"f()->next", "((call f) (-> next))"},
		{`@cast(p, "t")->f`, `((@cast p "t") (-> f))`},
		{`@var("v@f.c", "m")`, `(@var "v@f.c" "m")`},
		{"@defined($x) + @entry($y)", "(+ (@defined $x) (@entry $y))"},
		{"@kderef(4, p)", "(@kderef 4 p)"},
		{"k in @hist_log(s)", "(in (@hist_log s) k)"},
		{"%{ 1 %}", "(%{ 1 %})"},
		{"a % b / c", "(/ (% a b) c)"},
		{"x = 0x10 % 3", "(= x (% 16 3))"},
		{"a >> 1 << 2", "(<< (>> a 1) 2)"},
		{`"a" "b" . "c"`, `(. "ab" "c")`},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			assert.Equal(t, tt.want, sexpr(parseExpr(t, tt.src)))
		})
	}
}

func TestExprPositions(t *testing.T) {
	// "probe begin { " is 14 bytes, so the expression starts in column 15.
	x := parseExpr(t, "a + bb * c")
	span := x.Span()
	assert.Equal(t, 15, span.Start.Col)
	assert.Equal(t, 25, span.End.Col)
	assert.Equal(t, 1, span.Start.Line)
	assert.Equal(t, "t.stp", span.Start.File)

	tests := []struct {
		src              string
		startCol, endCol int
		opCol            int // 0 when the node has no operator position
	}{
		{"a + bb * c", 15, 25, 17},
		{"x = 0x10", 15, 23, 17},
		{`"a" "b"`, 15, 22, 0},
		{"(a)", 15, 18, 0},
		{"f(1, 2)", 15, 22, 0},
		{"arr[1]++", 15, 23, 0},
		{"$a->b", 15, 20, 0},
		{"-1", 15, 17, 0},
		{"[a, *] in c", 15, 26, 0},
		{"k in c", 15, 21, 0},
		{"@count(x)", 15, 24, 0},
		{"c ? d : e", 15, 24, 0},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			x := parseExpr(t, tt.src)
			assert.Equal(t, tt.startCol, x.Span().Start.Col, "start")
			assert.Equal(t, tt.endCol, x.Span().End.Col, "end")
			assert.Equal(t, tt.startCol-1, x.Span().Start.Offset, "offset")
			switch x := x.(type) {
			case *ast.BinaryExpr:
				assert.Equal(t, tt.opCol, x.OpPos.Col, "operator")
			case *ast.AssignExpr:
				assert.Equal(t, tt.opCol, x.OpPos.Col, "operator")
			default:
				assert.Zero(t, tt.opCol, "%T has no operator position", x)
			}
		})
	}
}
