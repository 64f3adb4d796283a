package sema_test

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"etap/codegen/bpf"
	"etap/diag"
	"etap/lang"
	"etap/lang/ast"
	"etap/sema"
	"etap/tapsets"
)

// check parses src, which must be free of parse errors, and checks it
// against the fake kernel and etap's real builtin library, so that the
// tests see the same printf checks and builtins as the command.
func check(t testing.TB, name, src string) (*sema.Program, *diag.List) {
	t.Helper()
	return checkWith(t, name, src, fakeKernel{})
}

func checkWith(t testing.TB, name, src string, k sema.Kernel) (*sema.Program, *diag.List) {
	t.Helper()
	f, diags := lang.Parse(name, src, nil)
	require.Empty(t, messages(diags), "the script must parse")
	prog, diags := sema.Check([]*ast.File{f}, sema.Options{Kernel: k, Library: bpf.Library(), Tapsets: tapsetFiles(t)})
	require.NotNil(t, diags)
	if diags.HasErrors() {
		require.Nil(t, prog, "Check returns no Program when there are errors")
	} else {
		require.NotNil(t, prog)
	}
	return prog, diags
}

// tapsetFiles parses etap's tapsets, which the command hands to every
// check.
func tapsetFiles(t testing.TB) []*ast.File {
	t.Helper()
	names, err := fs.Glob(tapsets.FS, "*.stp")
	require.NoError(t, err)
	var files []*ast.File
	for _, name := range names {
		src, err := fs.ReadFile(tapsets.FS, name)
		require.NoError(t, err)
		f, diags := lang.Parse("tapsets/"+name, string(src), nil)
		require.Empty(t, messages(diags), "tapset %s must parse", name)
		files = append(files, f)
	}
	return files
}

// formatDiag renders d on one line for the corpus markers to match:
//
//	S006 type mismatch (string): 'x' was long note 2:15: type of 'x' was first inferred here (long) hint: use a second variable
//
// Notes carry their line:col, so that a marker can say where a type was
// first inferred.
func formatDiag(d *diag.Diagnostic) string {
	var b strings.Builder
	b.WriteString(d.Code + " " + d.Message)
	for _, r := range d.Related {
		fmt.Fprintf(&b, " note %d:%d: %s", r.Span.Start.Line, r.Span.Start.Col, r.Message)
	}
	if d.Hint != "" {
		b.WriteString(" hint: " + d.Hint)
	}
	return b.String()
}

func messages(l *diag.List) []string {
	var out []string
	for _, d := range l.Items {
		out = append(out, formatDiag(d))
	}
	return out
}
