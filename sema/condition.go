package sema

import (
	"etap/diag"
	"etap/lang/ast"
)

// Probe arming conditions. `probe P if (cond) { body }` runs body only
// while cond holds; etap evaluates cond at each hit, before any alias
// prologue, which is what arming and disarming amount to:
//
//	probe syscall.read if (tracing) { ... }
//
// runs as kernel.trace(...) { if (!(tracing)) next; <prologue>; ... }.
// Conditions met through alias expansion are ANDed, outermost first.

// guard puts the condition of a probe point in front of u's statements.
func (r *resolver) guard(u *use, cond ast.Expr) {
	if cond == nil {
		return
	}
	r.conditions = append(r.conditions, cond)
	base := ast.Base{Start: cond.Span().Start, End: cond.Span().End}
	skip := &ast.IfStmt{Base: base,
		Cond: &ast.UnaryExpr{Base: base, Op: "!", X: cond},
		Then: &ast.NextStmt{Base: base}}
	u.before = append([]ast.Stmt{skip}, u.before...)
	// The guard is a statement around the handler, like an alias's.
	u.viaAlias = true
}

// checkConditions reports conditions that read locals or change
// anything: a condition is a test of global state, as in stap.
func (r *resolver) checkConditions() {
	for _, cond := range r.conditions {
		ast.Inspect(cond, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.Ident:
				if v := r.prog.Refs[n]; v != nil && !v.Global {
					r.add(diag.Errorf(diag.Semantic, "S130", n.Span(), "probe condition reads local variable '%s'", n.Name).
						WithHint("a condition may read only globals, context variables and builtins"))
				}
			case *ast.AssignExpr, *ast.IncDecExpr:
				r.add(diag.Errorf(diag.Semantic, "S131", n.Span(), "probe condition changes a variable").
					WithHint("a condition only tests; change the variable in a handler"))
				return false
			}
			return true
		})
	}
}
