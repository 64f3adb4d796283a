package lang

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/diag"
	"etap/lang/ast"
)

// testFacts are fixed facts for the preprocessor's tests.
var testFacts = &Facts{
	KernelRelease: "6.1.0-etap", Arch: "x86_64", Runtime: "bpf", SystemtapVersion: "4.8", Privilege: "stapdev",
	Config: map[string]string{"CONFIG_BPF": "y", "CONFIG_EXT4_FS": "m", "CONFIG_HZ": "250", "CONFIG_NR_CPUS": "64",
		"CONFIG_LOG_BUF_SHIFT": "0x11", "CONFIG_NAME": `"etap"`},
}

// printed parses src with the test facts and returns its -p1 text.
func printed(t *testing.T, src string, opts Options) string {
	t.Helper()
	if opts.Facts == nil {
		opts.Facts = testFacts
	}
	f, diags := ParseWith("t.stp", src, opts)
	require.Empty(t, messages(diags))
	var b bytes.Buffer
	Print(&b, f)
	return b.String()
}

func TestConditions(t *testing.T) {
	tests := []struct {
		cond string
		want bool
	}{
		{`kernel_v >= "6.0"`, true},
		{`kernel_v < "6.1"`, false},
		{`kernel_v == "6.1.0"`, true},
		{`kernel_v > "6.1.0"`, false},
		{`kernel_v < "6.1.0-rc1"`, true},
		{`kernel_v < "6.10"`, true},
		{`kernel_v == "6.1*"`, true},
		{`kernel_v != "5.*"`, true},
		{`kernel_vr == "6.1.0-etap"`, true},
		{`kernel_vr > "6.1.0"`, true},
		{`arch == "x86_64"`, true},
		{`arch == "x86*"`, true},
		{`arch != "arm*"`, true},
		{`arch == "i?86"`, false},
		{`runtime == "bpf"`, true},
		{`runtime != "kernel"`, true},
		{`CONFIG_BPF == "y"`, true},
		{`CONFIG_EXT4_FS == "[ym]"`, true},
		{`CONFIG_NOPE == ""`, true},
		{`CONFIG_NOPE != "y"`, true},
		{`CONFIG_NAME == "\"etap\""`, true},
		{`CONFIG_HZ > 100`, true},
		{`CONFIG_HZ == 250`, true},
		{`CONFIG_LOG_BUF_SHIFT == 17`, true},
		{`CONFIG_NOPE == 0`, true},
		{`CONFIG_NR_CPUS > CONFIG_HZ`, false},
		{`CONFIG_BPF == CONFIG_BPF`, true},
		{`CONFIG_BPF < CONFIG_HZ`, false}, // as strings: "y" > "250"
		{`systemtap_v >= "4.0"`, true},
		{`systemtap_v == "4.8"`, true},
		{`systemtap_v < "4.10"`, true},
		{`systemtap_privilege == "stapdev"`, true},
		{`systemtap_privilege != "stapusr"`, true},
		{`guru_mode == 0`, true},
		{`guru_mode != 0`, false},
		{`"abc" < "abd"`, true},
		{`"b" == "b"`, true},
		{`1 < 2`, true},
		{`3 >= 4`, false},
		{`1 == 2 && 1 == 1 || 1 == 1`, true},
		{`1 == 1 || 1 == 2 && 1 == 2`, true},
		{`1 == 1 && 2 == 3`, false},
		{`1 == 2 || 2 == 3 || 3 == 3`, true},
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			got := printed(t, "probe begin { x = %( "+tt.cond+" %? 1 %: 2 %) }", Options{})
			want := map[bool]string{true: "x = 1;", false: "x = 2;"}[tt.want]
			assert.Contains(t, got, want)
		})
	}
}

func TestConditionalShapes(t *testing.T) {
	tests := []struct{ src, want string }{
		{"%( 1 == 1 %? probe begin { } %)", "probe begin"},
		{"%( 1 == 2 %? probe begin { } %) probe end { }", "probe end"},
		{"%( 1 == 2 %? probe begin { } %: probe end { } %)", "probe end"},
		// Nested, in both branches; the branch not taken may hold nonsense.
		{"%( 1 == 1 %? %( 2 == 2 %? probe a { } %: ) ) %) %: %( %? x %) %)", "probe a"},
		{"%( 1 == 2 %? %( 2 == 2 %? x %: y %) %: %( 2 == 3 %? x %: probe b { } %) %)", "probe b"},
		// A macro defined in a branch not taken does not exist.
		{"%( 1 == 2 %? @define m %( 1 %) %) @define m %( 2 %) probe c { x = @m }", "x = 2;"},
		// Conditions may use macros; macros may hold conditionals.
		{"@define new %( kernel_v >= \"5.0\" %) %( @new %? probe d { } %)", "probe d"},
		{"@define v %( %( runtime == \"bpf\" %? 7 %: 8 %) %) probe e { x = @v }", "x = 7;"},
		// Script arguments are pasted before preprocessing.
		{"%( $# == 1 && @1 == \"on\" %? probe f { } %)", "probe f"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			assert.Contains(t, printed(t, tt.src, Options{Args: []string{"on"}}), tt.want)
		})
	}
}

// parseError parses src with the test facts and returns its diagnostics
// as "line:col: CODE message hint: hint" lines.
func parseErrors(src string, opts Options) []string {
	if opts.Facts == nil {
		opts.Facts = testFacts
	}
	_, diags := ParseWith("t.stp", src, opts)
	var out []string
	for _, d := range diags.Items {
		out = append(out, fmt.Sprintf("%d:%d: %s", d.Span.Start.Line, d.Span.Start.Col, formatDiag(d)))
	}
	return out
}

func TestConditionalErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{`%( arch < "x86" %? probe a {} %)`, `1:9: P026 arch can only be compared with == or !=`},
		{`%( kernel_v == 5 %? probe a {} %)`, `1:16: P026 kernel_v compares with a version string such as "5.10"; saw '5'`},
		{`%( kernel_v >= "5.*" %? probe a {} %)`, `1:13: P026 a version pattern cannot be compared with '>='`},
		{`%( archh == "x" %? probe a {} %)`, `1:4: P026 a condition tests kernel_v, kernel_vr, arch, runtime, systemtap_v, systemtap_privilege, guru_mode, a CONFIG_ option or two literals; saw 'archh' hint: did you mean 'arch'?`},
		{`%( guru_mode == 2 %? probe a {} %)`, `1:17: P026 guru_mode compares with 0 or 1; saw '2'`},
		{`%( CONFIG_BPF > 1 %? probe a {} %)`, `1:4: P026 CONFIG_BPF is "y", not a number hint: compare it with a string such as "y"`},
		{`%( CONFIG_BPF < "y" %? probe a {} %)`, `1:15: P026 CONFIG_BPF compares with a string only with == or !=`},
		{`%( 1 == "a" %? probe a {} %)`, `1:9: P026 a number compares with a number; saw '"a"'`},
		{`%( "a" == 1 %? probe a {} %)`, `1:11: P026 a string compares with a string literal; saw '1'`},
		{`%( 1 = 1 %? probe a {} %)`, `1:6: P026 expected a comparison (==, !=, <, <=, >, >=) in the condition; saw '='`},
		{`%( 1 == 1 probe a {} %)`, `1:11: P025 expected '%?' after the condition of '%('; saw 'probe'`},
		{`%( 1 == 1`, `1:1: P025 expected '%?' after the condition of '%('; saw '%('`},
		{`%( 1 ==`, `1:1: P025 incomplete condition after '%('`},
		{`%( 1 == 1 %? probe a {}`, `1:1: P025 conditional not closed at the end of the file hint: close it with '%)'`},
		{`probe a {} %?`, `1:12: P025 '%?' without a '%(' before it`},
		{`probe a {} %:`, `1:12: P025 '%:' without a '%(' before it`},
		{`probe a {} %)`, `1:12: P025 '%)' without a '%(' before it`},
		{`%( 1 == 1 %? probe a {} %: probe b {} %: probe c {} %)`, `1:39: P025 a second '%:' in one conditional`},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			got := parseErrors(tt.src, Options{})
			require.NotEmpty(t, got)
			assert.Contains(t, got[0], tt.want, "all: %q", got)
		})
	}
}

func TestMacros(t *testing.T) {
	tests := []struct{ src, want string }{
		{"@define one %( 1 %) probe a { x = @one }", "x = 1;"},
		{"@define add(a, b) %( (@a) + (@b) %) probe a { x = @add(1, 2 * 3) }", "x = (1) + ((2) * (3));"},
		{"@define pick(a, b) %( @b %) probe a { x = @pick(f(1, 2), g[3, 4]) }", "x = g[3, 4];"},
		{"@define sq(a) %( @a * @a %) @define quad(b) %( @sq(@sq(@b)) %) probe a { x = @quad(y) }", "x = (((y) * (y)) * (y)) * (y);"},
		// A macro without parameters leaves the parentheses after it alone.
		{"@define fn %( f %) probe a { x = @fn(1) }", "x = f(1);"},
		// An @operator that names no macro is the parser's.
		{"@define c %( 1 %) global s probe a { x = @count(s) + @c }", "x = (@count(s)) + (1);"},
		{"@define empty %( %) probe a { x = 1 @empty }", "x = 1;"},
		{"@define probes %( probe a { } probe b { } %) @probes", "probe b"},
		{"@define m(x) %( %( @x == 1 %? yes %: no %) %) probe a { v = @m(1) }", "v = yes;"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			assert.Contains(t, printed(t, tt.src, Options{}), tt.want)
		})
	}
}

func TestMacroErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"probe a { x = @m } @define m %( 1 %)", "1:15: P014 unknown operator '@m' hint: a macro must be defined with @define before it is used"},
		{"@define m %( 1 %)\n@define m %( 2 %)", "2:9: P027 macro '@m' is already defined"},
		{"@define 5 %( 1 %) probe a {}", "1:9: P027 expected a macro name after '@define'"},
		{"@define m(a b) %( 1 %) probe a {}", "1:13: P027 expected ',' or ')' in the parameters of '@m'"},
		{"@define m(a, a) %( 1 %) probe a {}", "1:14: P027 macro '@m' has two parameters named 'a'"},
		{"@define m 1 probe a {}", "1:11: P027 expected '%(' to begin the body of macro '@m' hint: write @define m %( ... %)"},
		{"@define m %( 1", "1:9: P027 the body of macro '@m' is not closed"},
		{"@define define %( 1 %) probe a {}", "1:9: P027 '@define' cannot be redefined"},
		{"@define m(a) %( @a %) probe a { x = @m }", "1:40: P027 expected '(' after '@m', which takes 1 parameters hint: write @m(a)"},
		{"@define m(a) %( @a %) probe a { x = @m(1, 2) }", "1:41: P027 too many arguments for macro '@m', which takes 1"},
		{"@define m(a, b) %( @a %) probe a { x = @m(1) }", "1:44: P027 too few arguments for macro '@m', which takes 2"},
		{"@define m(a) %( @a %) probe a { x = @m(1", "1:37: P027 the arguments of '@m' are not closed"},
		{"@define m %( @define n %( 1 %) %) probe a { @m }", "1:45: P027 '@define' inside a macro body"},
		{"@define m %( @m %) probe a { x = @m }", "1:34: P027 macros are nested more than 1000 deep hint: does the macro expand to itself?"},
		{"@define a %( 1 %) @define b %( @a @a @a @a %) @define c %( @b @b @b @b %) @define d %( @c @c @c @c %)" +
			" @define e %( @d @d @d @d %) @define f %( @e @e @e @e %) @define g %( @f @f @f @f %) @define h %( @g @g @g @g %)" +
			" @define i %( @h @h @h @h %) @define j %( @i @i @i @i %) @define k %( @j @j @j @j %) probe a { x = @k }",
			"P027 macros expand to more than"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			got := parseErrors(tt.src, Options{})
			require.NotEmpty(t, got)
			assert.Contains(t, got[0], tt.want, "all: %q", got)
		})
	}
}

func TestMacroHidingAnOperatorWarns(t *testing.T) {
	_, diags := ParseWith("t.stp", "@define count(x) %( 1 %) probe a { y = @count(z) }", Options{Facts: testFacts})
	require.Len(t, diags.Items, 1)
	assert.Equal(t, diag.Warning, diags.Items[0].Severity)
	assert.Equal(t, CodeMacroRedefinesOperator, diags.Items[0].Code)
}

func TestLibraryMacros(t *testing.T) {
	var lib Macros
	require.Empty(t, messages(lib.AddFile("lib.stpm", `
@define twice(x) %( (@x) * 2 %)
@define four %( @twice(2) %)
%( arch == "x86_64" %? @define arch_bits %( 64 %) %: @define arch_bits %( 32 %) %)
`, testFacts)))
	opts := Options{Macros: &lib}
	assert.Contains(t, printed(t, "probe a { x = @twice(3) + @arch_bits }", opts), "x = ((3) * (2)) + (64);")
	// A file's own macro comes first, but a library macro's body sees
	// only the library.
	assert.Contains(t, printed(t, "@define twice(x) %( 0 %) probe a { x = @twice(3) }", opts), "x = 0;")
	assert.Contains(t, printed(t, "@define twice(x) %( 0 %) probe a { x = @four }", opts), "x = (2) * (2);")

	diags := lib.AddFile("again.stpm", "@define four %( 4 %)", testFacts)
	assert.Equal(t, []string{"P027 library macro '@four' is defined twice"}, messages(diags))
	assert.Equal(t, 1, diags.Items[0].Span.Start.Line)
	assert.Equal(t, "lib.stpm", diags.Items[0].Related[0].Span.Start.File)
	assert.Equal(t, []string{"P027 a library macro file may hold only @define declarations; saw 'probe' hint: move code into a .stp tapset"},
		messages(lib.AddFile("code.stpm", "@define five %( 5 %) probe begin {}", testFacts)))
	assert.Contains(t, parseErrors("probe a { x = @five }", opts)[0], "unknown operator '@five'", "a file with an error adds nothing")
}

func TestExpansionNotes(t *testing.T) {
	src := "@define inner(v) %( @v * %)\n@define outer(w) %( @inner(@w) %)\nprobe a { x = @outer(1) }\n"
	_, diags := ParseWith("t.stp", src, Options{Facts: testFacts})
	require.Len(t, diags.Items, 1)
	var b strings.Builder
	diag.RenderList(&b, diags, func(string) (string, bool) { return src, true })
	assert.Equal(t, `t.stp:3:25: parse error: expected an expression; saw '}'
        source: probe a { x = @outer(1) }
                                        ^
`, b.String(), "the '}' after the expansion is the script's own")

	src = "@define inner(v) %( @v * ) %)\n@define outer(w) %( @inner(@w) %)\nprobe a { x = @outer(1) }\n"
	_, diags = ParseWith("t.stp", src, Options{Facts: testFacts})
	require.Len(t, diags.Items, 1)
	b.Reset()
	diag.RenderList(&b, diags, func(string) (string, bool) { return src, true })
	assert.Equal(t, `t.stp:3:15: parse error: expected an expression; saw ')'
        source: probe a { x = @outer(1) }
                              ^
t.stp:1:26: note: expanded from macro '@inner'
        source: @define inner(v) %( @v * ) %)
                                         ^
t.stp:2:21: note: expanded from macro '@outer'
        source: @define outer(w) %( @inner(@w) %)
                                    ^
`, b.String())
	d := diags.Items[0]
	assert.Equal(t, 24, d.Span.End.Col, "the span covers the whole invocation")

	_, diags = ParseWith("t.stp", "probe a { x = $1 }", Options{Args: []string{"1 *)"}})
	require.Len(t, diags.Items, 1)
	require.Len(t, diags.Items[0].Related, 1)
	assert.Equal(t, `expanded from script argument $1 = "1 *)"`, diags.Items[0].Related[0].Message)
}

func TestFileExpandedFrom(t *testing.T) {
	src := "@define m(a) %( (@a) + 1 %)\nprobe b { x = @m(y); z = $1 }"
	f, diags := ParseWith("t.stp", src, Options{Args: []string{"7"}, Facts: testFacts})
	require.Empty(t, messages(diags))
	require.Len(t, f.Expansions, 2)
	stmts := f.Decls[0].(*ast.ProbeDecl).Body.Stmts
	sum := stmts[0].(*ast.ExprStmt).X.(*ast.AssignExpr).Y
	notes := f.ExpandedFrom(sum.Span())
	require.Len(t, notes, 1)
	assert.Equal(t, "expanded from macro '@m'", notes[0].Message)
	assert.Equal(t, diag.Pos{File: "t.stp", Offset: 8, Line: 1, Col: 9}, notes[0].Span.Start, "the macro's name in its @define")
	assert.Equal(t, "@m(y)", src[sum.Span().Start.Offset:sum.Span().End.Offset])
	seven := stmts[1].(*ast.ExprStmt).X.(*ast.AssignExpr).Y
	assert.Equal(t, `expanded from script argument $1 = "7"`, f.ExpandedFrom(seven.Span())[0].Message)
	assert.Empty(t, f.ExpandedFrom(stmts[1].(*ast.ExprStmt).X.(*ast.AssignExpr).X.Span()))
}

func TestScriptArgumentPaste(t *testing.T) {
	tests := []struct {
		src  string
		args []string
		want string
	}{
		{"probe $1 { }", []string{"begin"}, "probe begin"},
		{"probe syscall.$1 { }", []string{"{open,close}"}, "probe syscall.open, syscall.close"},
		{"probe a { x = $1_open }", []string{"sys"}, "x = sys_open;"},
		{"probe a { x = $1$2 }", []string{"p", "q"}, "x = p$2;"},
		{"probe a { x = @1 }", []string{`a"b\c`}, `x = "a\"b\\c";`},
		{"probe a { x = $#0 }", []string{"a", "b"}, "x = 20;"},
		{"probe a { x = $1 }", []string{"1 /* c */ + 2"}, "x = (1) + (2);"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			assert.Contains(t, printed(t, tt.src, Options{Args: tt.args}), tt.want)
		})
	}
	assert.Equal(t, []string{"1:15: P024 in script argument $1: $2 cannot stand in a script argument: arguments are not substituted again"},
		parseErrors("probe a { x = $1 }", Options{Args: []string{"$2", "y"}}))
}

func TestEmptyScript(t *testing.T) {
	assert.Equal(t, []string{"1:1: P036 the script is empty hint: a script needs at least one probe, such as: probe begin { println(\"hello\") }"},
		parseErrors("# nothing\n", Options{}))
	assert.Equal(t, []string{"1:39: P036 the script is empty after preprocessing hint: check the conditions of its %( %? %: %) blocks"},
		parseErrors("%( 1 == 2 %? probe begin { exit() } %)", Options{}))
	assert.Empty(t, parseErrors("%( 1 == 2 %? probe begin { exit() } %)", Options{Library: true}), "a tapset may be empty")
}

func TestScriptTooLarge(t *testing.T) {
	head := "probe begin { }\n# "
	src := head + strings.Repeat("x", maxScriptSize)
	got := parseErrors(src, Options{})
	assert.Equal(t, []string{fmt.Sprintf("2:%d: P023 the script is larger than 16 MiB hint: split it, or move data into script arguments or a file it reads",
		maxScriptSize-len(head)+3)}, got)
	got = parseErrors("probe a { x = $1 $1 $1 $1 $1 }", Options{Args: []string{strings.Repeat("1", maxScriptSize/4)}})
	assert.Contains(t, got, "1:27: P023 script arguments make the script larger than 16 MiB")
}

func TestStrverscmp(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.2", "1.2", 0},
		{"2.6.9", "2.6.10", -1},
		{"2.6.10", "2.6.9", 1},
		{"6.1.0-etap", "6.1.0", 1},
		{"1.01", "1.1", -1},
		{"1.001", "1.01", -1},
		{"1.0", "1.01", 1},
		{"a", "b", -1},
		{"10", "9", 1},
		{"09", "10", -1},
		{"", "1", -1},
		{"4.8", "4.10", -1},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, strverscmp(tt.a, tt.b), "strverscmp(%q, %q)", tt.a, tt.b)
	}
}

func TestFnmatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"x86_64", "x86_64", true},
		{"x86*", "x86_64", true},
		{"*", "", true},
		{"i?86", "i386", true},
		{"i?86", "i3866", false},
		{"[ym]", "m", true},
		{"[!ym]", "m", false},
		{"[^ym]", "n", true},
		{"[a-c]x", "bx", true},
		{"[]]", "]", true},
		{"[", "[", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"*/x", "a/b/x", true},
		{`a\*`, `a\b`, true},
		{"5.1*", "5.10.0", true},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, fnmatch(tt.pattern, tt.name), "fnmatch(%q, %q)", tt.pattern, tt.name)
	}
}

func TestHostFacts(t *testing.T) {
	f := HostFacts()
	assert.Same(t, f, HostFacts(), "read once")
	assert.Equal(t, "bpf", f.Runtime)
	assert.NotEmpty(t, f.Arch)
	assert.Equal(t, "x86_64", kernelArch("amd64"))
	assert.Equal(t, "arm64", kernelArch("arm64"))
	assert.Equal(t, "powerpc", kernelArch("ppc64le"))
	config := parseKernelConfig(strings.NewReader("# comment\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=\"s\"\nOTHER=1\n"))
	assert.Equal(t, map[string]string{"CONFIG_A": "y", "CONFIG_C": `"s"`}, config)
	assert.Equal(t, "6.1.0", testFacts.kernelV())
}

// TestExpansionSpansNest checks that nodes made of expanded tokens still
// lie within their parents: the tokens of an expansion, arguments
// included, all stand where the expansion is written.
func TestExpansionSpansNest(t *testing.T) {
	for _, src := range []string{
		"@define f(a) %( @a + 1 %)\nprobe begin { x = @f(y) }",
		"@define f(a) %( @a + 1 %)\nprobe begin { x = @f($1 * 2) }",
		"@define g(b) %( (@b) - 3 %)\n@define f(a) %( @g(@a + 1) %)\nprobe begin { x = @f(y) * @f($1) }",
		"probe begin { x = $1 + 2 }",
	} {
		f, diags := ParseWith("t.stp", src, Options{Args: []string{"a * 7"}, Facts: testFacts})
		require.Empty(t, messages(diags), src)
		checkSpans(t, f)
	}
	_, diags := ParseWith("t.stp", "@define f(a) %( @a %)\nprobe begin { x = @f(1 + *) }", Options{Facts: testFacts})
	require.Len(t, diags.Items, 1)
	d := diags.Items[0]
	assert.Equal(t, "expected an expression; saw '*'", d.Message)
	assert.Equal(t, 19, d.Span.Start.Col, "at the invocation")
	require.Len(t, d.Related, 1)
	assert.Equal(t, "in an argument of macro '@f'", d.Related[0].Message)
	assert.Equal(t, 26, d.Related[0].Span.Start.Col, "the note at the argument")
}
