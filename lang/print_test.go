package lang

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the -p1 golden files")

func TestPrintGolden(t *testing.T) {
	const in, golden = "testdata/print/sample.stp", "testdata/print/sample.p1"
	src, err := os.ReadFile(in)
	require.NoError(t, err)
	f, diags := Parse(in, string(src), nil)
	require.Empty(t, messages(diags))
	var out bytes.Buffer
	Print(&out, f)
	if *update {
		require.NoError(t, os.WriteFile(golden, out.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), out.String())
	assertRoundTrip(t, in, string(src), Options{})
}

// TestPrintRoundTrip covers trees where a careless printer would change
// the grouping: nested unary minus, assignments inside ?:, negative
// literals, `in` with expression keys.
func TestPrintRoundTrip(t *testing.T) {
	tests := []string{
		"x = -(a + b)",
		"x = - -a",
		"x = -(-1)",
		"x = - --a",
		"x = a ? b : (c = d)",
		"x = (a ? b : c) + 1",
		`x = s =~ "^a" && t !~ "b"`,
		"x = &$p->a[1]$ + $q$$ + $$vars$ + (a[1])->b[2]",
		"x = b $",
		"x = $ $ + $$ $$ + $x $ + $p[1] $",
		`x = @cast(p, "t", "m")->f->g + @var("v") + @defined($a) + @entry($b)`,
		"x = @kregister(-1) + @uderef(8, p) + %{ 1 %}",
		"x = @hist_log(s)[1] + (1 in @hist_linear(s, -10, 10, 2))",
		"print(@hist_log(s))",
		"print((@hist_log(s)[1]) ? 1 : 2, 3)",
		"println((@hist_log(s)[1])->f)",
		"sprint(@hist_log(s)[0], (@hist_log(s)[1]) in a)",
		"x = [a] in b",
		"x = a ? b = 1 : c",
		"x = (a = b) + 1",
		"x = a - (b - c)",
		"x = (a . b) . c",
		"x = a . (b . c)",
		"x = (a + 1) in arr",
		"x = (a ? b : c) in arr",
		"x = [a + 1, *] in arr",
		"x = !(a in arr)",
		"x = ++a[1] + a[2]--",
		"x = 0x10 + 010 + 18446744073709551615",
		`x = "\x01\"\\" "tail"`,
		"a = b = c",
		"x = $a->b . @count(s)",
		"x = f(a = 1, (b))",
	}
	for _, src := range tests {
		t.Run(src, func(t *testing.T) {
			assertRoundTrip(t, "t.stp", "probe begin { "+src+" }", Options{})
		})
	}
}
