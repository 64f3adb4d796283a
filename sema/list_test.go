package sema_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/codegen/bpf"
	"etap/internal/tracefstest"
	"etap/lang"
	"etap/lang/ast"
	"etap/sema"
)

// TestResolvePointLists resolves the points -l lists: the functions of a
// program's symbol table a wildcard matches, as stap lists them for a
// program without debuginfo.
func TestResolvePointLists(t *testing.T) {
	f, diags := lang.Parse("l", `probe process("/bin/bash").function("read_b*") { }`, nil)
	require.Empty(t, messages(diags))
	pp := f.Decls[0].(*ast.ProbeDecl).Points[0]
	points, diags := sema.ResolvePoint(pp, sema.Options{Kernel: tracefstest.Kernel{}, Library: bpf.Library()})
	require.Empty(t, messages(diags))
	var texts []string
	for _, p := range points {
		texts = append(texts, p.Text)
	}
	assert.Equal(t, []string{
		`process("/usr/bin/bash").function("read_builtin")`,
		`process("/usr/bin/bash").function("read_builtin_timeout")`,
	}, texts)
	assert.Contains(t, points[0].Fields, "arg1")
}
