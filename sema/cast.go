package sema

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/cilium/ebpf/btf"

	"etap/diag"
	"etap/lang/ast"
)

// @cast reads a value as a pointer to a type the kernel's BTF describes,
// and follows members from there, as $var->member does from a context
// variable:
//
//	@cast(task_current(), "task_struct")->real_parent->pid
//
// It needs no context, so it works in every kernel probe and in functions.

// targetExpr checks a context expression other than a plain $var chain.
// etap reads the @cast member chains; addresses (&), indexes ([i]) and
// pretty printing ($, $$) are not built yet.
func (r *resolver) targetExpr(e *ast.TargetExpr, want Type) Type {
	c, ok := e.X.(*ast.CastExpr)
	if !ok || e.AddrOf || e.Pretty != "" || !membersOnly(e) {
		r.addReport(notBuilt(e.Span(), "context expressions other than $var->member and @cast(...)->member"))
		return Unknown
	}
	r.expect(c.X, r.expr(c.X, Long), Long)
	if !r.kernelSide && r.fn == nil {
		r.addReport(diag.Errorf(diag.Semantic, "S070", e.Span(), "@cast reads kernel memory, which a user-space probe cannot").
			WithHint("use it in a kernel probe: kernel.trace(...), kernel.function(...)"))
		return Unknown
	}
	t, d := r.castTarget(e, want)
	if d != nil {
		r.addReport(d)
		return Unknown
	}
	r.prog.Casts[e] = t
	return t.Type
}

// membersOnly says whether every step of e is a ->member.
func membersOnly(e *ast.TargetExpr) bool {
	for _, st := range e.Path {
		if st.Index != nil {
			return false
		}
	}
	return true
}

// castTarget resolves the member chain of e, whose X is a @cast.
func (r *resolver) castTarget(e *ast.TargetExpr, want Type) (*Target, *diag.Diagnostic) {
	c := e.X.(*ast.CastExpr)
	typ, d := r.castType(c)
	if d != nil {
		return nil, d
	}
	fields := make([]string, len(e.Path))
	for i, st := range e.Path {
		fields[i] = st.Member
	}
	t := &Target{Type: Long}
	return t.follow(&btf.Pointer{Target: typ}, fields, "@cast(..., \""+c.Type+"\")", e.Span(), want)
}

// castType finds the type a @cast names, "task_struct" or "struct
// task_struct", in the kernel's BTF or, for a module other than "kernel",
// that module's.
func (r *resolver) castType(c *ast.CastExpr) (btf.Type, *diag.Diagnostic) {
	module := c.Module
	if module == "kernel" || strings.HasPrefix(module, "kernel<") {
		module = ""
	}
	spec, err := r.kernel.BTF(module)
	if err != nil {
		return nil, diag.Errorf(diag.Semantic, "S071", c.Span(), "cannot read BTF for @cast: %v", err).
			WithHint("@cast needs a kernel built with CONFIG_DEBUG_INFO_BTF (/sys/kernel/btf/vmlinux)")
	}
	name, kind := c.Type, ""
	for _, k := range []string{"struct ", "union ", "enum "} {
		if rest, ok := strings.CutPrefix(name, k); ok {
			name, kind = strings.TrimSpace(rest), strings.TrimSpace(k)
		}
	}
	types, err := spec.AnyTypesByName(name)
	if err != nil && !errors.Is(err, btf.ErrNotFound) {
		return nil, diag.Errorf(diag.Semantic, "S071", c.Span(), "cannot read BTF for @cast: %v", err)
	}
	for _, t := range types {
		switch t.(type) {
		case *btf.Struct:
			if kind == "" || kind == "struct" {
				return t, nil
			}
		case *btf.Union:
			if kind == "" || kind == "union" {
				return t, nil
			}
		case *btf.Typedef, *btf.Int, *btf.Enum:
			if kind == "" || kind == "enum" {
				return t, nil
			}
		}
	}
	return nil, diag.Errorf(diag.Semantic, "S072", c.Span(), "@cast: the kernel's BTF has no type %q", c.Type).
		WithHint("name a struct the kernel defines, such as \"task_struct\"")
}

// targetExprReadable says whether @defined holds for e at p.
func (r *resolver) targetExprReadable(p *Point, e *ast.TargetExpr) bool {
	if _, ok := e.X.(*ast.CastExpr); !ok || e.AddrOf || e.Pretty != "" || !membersOnly(e) {
		return false
	}
	_, d := r.castTarget(e, Unknown)
	return d == nil
}

// dumpCasts prints, for -p2, the @cast member chains body reads, with
// their types and C types from BTF, as dumpTargets does for context
// variables:
//
//	@cast(..., "task_struct")->comm:string /* char[16] */
func dumpCasts(w io.Writer, p *Program, body ast.Node) {
	seen := map[string]bool{}
	ast.Inspect(body, func(n ast.Node) bool {
		e, ok := n.(*ast.TargetExpr)
		if !ok || p.Casts[e] == nil {
			return true
		}
		t := p.Casts[e]
		line := fmt.Sprintf("  @cast(..., %q)", e.X.(*ast.CastExpr).Type)
		for _, st := range e.Path {
			line += "->" + st.Member
		}
		line = fmt.Sprintf("%s:%s /* %s */", line, t.Type, t.CType)
		if !seen[line] {
			seen[line] = true
			fmt.Fprintln(w, line)
		}
		return true
	})
}
