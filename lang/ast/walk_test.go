package ast_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"etap/lang"
	"etap/lang/ast"
)

func TestInspectSourceOrder(t *testing.T) {
	src := `global g = 1
probe begin if (g) { foreach (v = [a, b] in arr[1, *] limit 2) x = -f(y, "s") ? z[1] : $p->q }`
	f, diags := lang.Parse("t.stp", src, nil)
	if !assert.Empty(t, diags.Items) {
		return
	}
	var visited []string
	var offsets []int
	ast.Inspect(f, func(n ast.Node) bool {
		if n == nil {
			return false
		}
		visited = append(visited, strings.TrimPrefix(fmt.Sprintf("%T", n), "*ast."))
		if _, isFile := n.(*ast.File); !isFile {
			offsets = append(offsets, n.Span().Start.Offset)
		}
		return true
	})
	assert.Equal(t, []string{
		"File", "GlobalDecl", "GlobalVar", "IntLit",
		"ProbeDecl", "ProbePoint", "Component", "Ident", "BlockStmt",
		"ForeachStmt", "Ident", "Ident", "Ident", "Ident", "IntLit", "IntLit",
		"ExprStmt", "AssignExpr", "Ident", "TernaryExpr", "UnaryExpr", "CallExpr", "Ident", "StringLit",
		"IndexExpr", "Ident", "IntLit", "TargetVar",
	}, visited)
	assert.IsIncreasing(t, dedupe(offsets), "children come in source order")
}

// dedupe drops repeated offsets: a node and its first child start together.
func dedupe(xs []int) []int {
	var out []int
	for _, x := range xs {
		if len(out) == 0 || out[len(out)-1] != x {
			out = append(out, x)
		}
	}
	return out
}

type countingVisitor struct{ enter, leave *int }

func (v countingVisitor) Visit(n ast.Node) ast.Visitor {
	if n == nil {
		*v.leave++
		return nil
	}
	*v.enter++
	return v
}

func TestWalkPairsEveryVisitWithNil(t *testing.T) {
	f, _ := lang.Parse("t.stp", "probe begin { a = b + c; if (a) next }", nil)
	var enter, leave int
	ast.Walk(countingVisitor{&enter, &leave}, f)
	assert.Equal(t, 14, enter)
	assert.Equal(t, enter, leave)
}

func TestInspectStopsDescending(t *testing.T) {
	f, _ := lang.Parse("t.stp", "probe begin { a = b + c }", nil)
	var kinds []string
	ast.Inspect(f, func(n ast.Node) bool {
		if n != nil {
			kinds = append(kinds, fmt.Sprintf("%T", n))
		}
		_, isStmt := n.(ast.Stmt)
		return !isStmt || n == nil
	})
	assert.Equal(t, []string{"*ast.File", "*ast.ProbeDecl", "*ast.ProbePoint", "*ast.Component", "*ast.BlockStmt"}, kinds)
}
