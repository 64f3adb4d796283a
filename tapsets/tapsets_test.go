package tapsets_test

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/codegen/bpf"
	"etap/diag"
	"etap/lang"
	"etap/lang/ast"
	"etap/sema"
	"etap/tapsets"
)

// TestEveryAliasElaborates parses every tapset and checks a probe on each
// alias it defines, reading all the alias's variables, against this
// machine's tracepoints.
func TestEveryAliasElaborates(t *testing.T) {
	names, err := fs.Glob(tapsets.FS, "*.stp")
	require.NoError(t, err)
	require.NotEmpty(t, names)
	var files []*ast.File
	var aliases []*ast.AliasDecl
	for _, name := range names {
		src, err := fs.ReadFile(tapsets.FS, name)
		require.NoError(t, err)
		f, diags := lang.Parse(name, string(src), nil)
		require.False(t, diags.HasErrors(), "%s: %v", name, diags)
		files = append(files, f)
		for _, d := range f.Decls {
			if a, ok := d.(*ast.AliasDecl); ok {
				aliases = append(aliases, a)
			}
		}
	}
	kernel := sema.NewTracefs(sema.DefaultTracefsRoot)
	for _, a := range aliases {
		for _, n := range a.Names {
			var parts []string
			for _, c := range n.Components {
				parts = append(parts, c.Name)
			}
			point := strings.Join(parts, ".")
			t.Run(point, func(t *testing.T) {
				src := "probe " + point + " { " + readAll(a) + " }"
				script, diags := lang.Parse("t.stp", src, nil)
				require.False(t, diags.HasErrors(), "%s: %v", src, diags)
				prog, diags := sema.Check([]*ast.File{script}, sema.Options{Kernel: kernel, Library: bpf.Library(), Tapsets: files})
				require.NotNil(t, prog, "%s: %v", src, diagsText(diags))
				assert.NotEmpty(t, prog.Probes)
			})
		}
	}
}

// assignedVars lists the variables an alias's body assigns, in order.
func assignedVars(a *ast.AliasDecl) []string {
	var vars []string
	for _, s := range a.Body.Stmts {
		if es, ok := s.(*ast.ExprStmt); ok {
			if as, ok := es.X.(*ast.AssignExpr); ok {
				if id, ok := as.X.(*ast.Ident); ok {
					vars = append(vars, id.Name)
				}
			}
		}
	}
	return vars
}

// readAll gives statements that read every variable the alias assigns,
// so that none of them is dropped.
func readAll(a *ast.AliasDecl) string {
	var s string
	for i, v := range assignedVars(a) {
		s += fmt.Sprintf("read%d = %s; ", i, v)
	}
	return s
}

func diagsText(l *diag.List) []string {
	var out []string
	for _, d := range l.Items {
		out = append(out, d.Span.Start.String()+": "+d.Message)
	}
	return out
}
