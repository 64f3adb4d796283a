package bpf_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"etap/codegen/bpf"
	"etap/maps"
)

var stringFuncCases = []runCase{{
	name: "strpos and isinstr",
	src: `probe begin {
	printf("%d %d %d %d %d %d\n", strpos("hello world", "o"), strpos("hello world", "world"), strpos("hello", ""), strpos("", ""), strpos("", "a"), strpos("hello", "hello!"))
	printf("%d %d %d\n", strpos("abcabcabd", "abd"), strpos("0123456789abcdefXYZ", "defX"), strpos("aaaaaaaaaaaaaaaaaaab", "aaaaaaaaab"))
	printf("%d %d %d\n", isinstr("haystack", "st"), isinstr("haystack", "needle"), isinstr("x", ""))
}`,
	stdout: "4 6 0 0 -1 -1\n6 13 10\n1 0 1\n",
	kernel: true,
}, {
	name: "str_replace",
	src: `probe begin {
	printf("[%s] [%s] [%s]\n", str_replace("a-b-c", "-", "+"), str_replace("hello", "l", "LL"), str_replace("abc", "", "x"))
	printf("[%s] [%s] [%s]\n", str_replace("aaaa", "aa", "b"), str_replace("xyz", "q", "r"), str_replace("one two one", "one", ""))
}`,
	stdout: "[a+b+c] [heLLLLo] [abc]\n[bb] [xyz] [ two ]\n",
	kernel: true,
}, {
	name: "strtol",
	src: `probe begin {
	printf("%d %d %d %d %d\n", strtol("123", 10), strtol("-42", 10), strtol("ff", 16), strtol("0x1F", 16), strtol("777", 8))
	printf("%d %d %d %d %d\n", strtol("0x10", 0), strtol("010", 0), strtol("99", 0), strtol("12abc", 10), strtol("", 10))
	printf("%d %d %d\n", strtol("101", 2), strtol("-0x10", 0), strtol("9223372036854775807", 10))
}`,
	stdout: "123 -42 255 31 511\n16 8 99 12 0\n5 -16 9223372036854775807\n",
	kernel: true,
}, {
	name: "text_str and string_quoted",
	src: `probe begin {
	printf("[%s]\n", text_str("a\tb\nc\"d\\e\001\377"))
	printf("[%s]\n", string_quoted("hi\r"))
	printf("[%s]\n", text_str(""))
	printf("[%s] [%s] [%s]\n", text_strn("a\nbcdef", 3, 0), text_strn("abc", 0, 1), text_strn("a\"b", -1, 1))
}`,
	stdout: "[a\\tb\\nc\\\"d\\\\e\\001\\377]\n[\"hi\\r\"]\n[]\n[a\\nb] [\"abc\"] [\"a\\\"b\"]\n",
	kernel: true,
}, {
	name: "stringat and isdigit",
	src: `probe begin {
	printf("%d %d %d %d\n", stringat("abc", 0), stringat("abc", 2), isdigit("7up"), isdigit("up7"))
}`,
	stdout: "97 99 1 0\n",
	kernel: true,
}, {
	name: "stringat out of bounds",
	src: `probe begin {
	printf("%d\n", stringat("abc", 3))
}
probe error { println("error probe") }`,
	stdout: "error probe\n",
	stderr: "ERROR: Position out of bounds near identifier 'stringat' at <input>:2:17\n",
	kernel: true,
}, {
	name: "kernel_string_n and quoted",
	src: `probe begin {
	printf("[%s] [%s]\n", kernel_string_n(0, 4, "bad"), kernel_string_quoted(0))
	printf("[%s]\n", user_string2(0, "fallback"))
}`,
	stdout: "[bad] [0x0]\n[fallback]\n",
	kernel: true,
}, {
	name: "user_string_n fault",
	src: `probe begin {
	printf("[%s]\n", user_string_n(0, 5))
}
probe error { println("error probe") }`,
	stdout: "error probe\n",
	stderr: "ERROR: user string copy fault near identifier 'user_string_n' at <input>:2:19\n",
	kernel: true,
}}

func TestRunStringFuncs(t *testing.T) { testRuns(t, stringFuncCases) }

// TestMaxStringLenNotWhole checks a MAXSTRINGLEN that is not a whole number
// of words: slots are rounded up, but strings still hold MAXSTRINGLEN-1
// bytes, whichever way they are made.
func TestMaxStringLenNotWhole(t *testing.T) {
	const src = `global g = "0123456789abcdefghijklmnopqrstuvwxyz"
probe begin {
	t = "0123456789abcdefghijklmnopqrstuvwxyz"
	printf("%d %d %d %d %d %d\n", strlen(sprintf("%30d", 5)), strlen(t), strlen(t . t), strlen(g), strlen(text_str(t)), strlen(substr(t . t, 0, 100)))
	printf("%s|%s|%s\n", t, str_replace(t, "a", "AAAA"), sprint(t, 1))
}`
	p := maps.DefaultParams()
	p.StringLen, p.MaxStringLen = 24, 20
	out, diags := bpf.Compile(checkScript(t, src), bpf.Options{Params: p, Sources: sourceOf(src)})
	requireNoErrors(t, "compile", diags, src)
	s := newSession(t, out)
	s.runUser(bpf.UserBegin)
	stdout, stderr := s.finish()
	assert.Equal(t, "19 19 19 19 19 19\n0123456789abcdefghi|0123456789AAAAbcdef|0123456789abcdefghi\n", stdout)
	assert.Empty(t, stderr)
}
