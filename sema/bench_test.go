package sema_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"etap/codegen/bpf"
	"etap/lang"
	"etap/lang/ast"
	"etap/sema"
)

// script1000 generates a script of about 1,000 lines that uses the syscall
// tapset's aliases, script functions and arrays.
func script1000() string {
	var b strings.Builder
	b.WriteString("global opens, bytes, names, total\n")
	lines := 1
	for i := 0; lines < 1000; i++ {
		fmt.Fprintf(&b, "function f%d(x, s) {\n  if (x > %d)\n    return s . \"-%d\"\n  return s\n}\n", i, i, i)
		fmt.Fprintf(&b, "probe syscall.openat {\n  opens[filename] = opens[filename] + %d\n  names[%d] = f%d(flags, argstr)\n  total += mode\n}\n", i, i, i)
		fmt.Fprintf(&b, "probe syscall.openat.return {\n  bytes[%d, name] += 1\n}\n", i)
		fmt.Fprintf(&b, "probe end {\n  foreach (k in names)\n    printf(\"%%d %%s %%d\\n\", k, names[k], total)\n}\n")
		lines += 18
	}
	return b.String()
}

// BenchmarkCheck1000Lines times sema.Check (-p2 without parsing: the
// script and the tapsets are parsed once, outside the loop) of a
// 1,000-line script over the fake kernel.
func BenchmarkCheck1000Lines(b *testing.B) {
	src := script1000()
	f, diags := lang.Parse("bench.stp", src, nil)
	require.Empty(b, messages(diags))
	tapsets := tapsetFiles(b)
	lib := bpf.Library()
	b.ResetTimer()
	for b.Loop() {
		_, diags := sema.Check([]*ast.File{f}, sema.Options{Kernel: fakeKernel{}, Library: lib, Tapsets: tapsets})
		if diags.HasErrors() {
			b.Fatal(messages(diags))
		}
	}
}

// BenchmarkParseCheck1000Lines times parsing and checking the same script,
// the tapsets included: all of -p2.
func BenchmarkParseCheck1000Lines(b *testing.B) {
	src := script1000()
	lib := bpf.Library()
	for b.Loop() {
		f, _ := lang.Parse("bench.stp", src, nil)
		sema.Check([]*ast.File{f}, sema.Options{Kernel: fakeKernel{}, Library: lib, Tapsets: tapsetFiles(b)})
	}
}
