package sema

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/cilium/ebpf/btf"

	"etap/diag"
	"etap/lang/ast"
)

// Target is how a handler reads one context variable at one point: a field
// of its context, then, for a member chain such as
// $file->f_path->dentry->d_name->name, loads through kernel pointers, each
// at an offset from the address the value before it holds.
type Target struct {
	Field Field
	Reads []Read
	// Type is what the script gets: a long, or a string read from kernel
	// memory; CType is the C type of the value read.
	Type  Type
	CType string
	// User says that Reads load from user memory.
	User bool
	// Parts and Format are a context string ($$vars): the variables it
	// shows, each resolved at this point, and the printf format that shows
	// them; Parts is nil for any other context variable.
	Parts  []*ast.TargetVar
	Format string
	// StringOffset and StringMax place a String: it starts StringOffset
	// bytes after the address the last value holds, and has at most
	// StringMax bytes (0: up to MAXSTRINGLEN), as in a `char comm[16]`.
	StringOffset, StringMax int
}

// Read is one load from kernel memory: Size bytes at Offset from the
// address the value before holds, sign-extended when Signed.
type Read struct {
	Offset, Size int
	Signed       bool
}

// targetVar checks a context variable at the handler's point, records how
// the point reads it, and returns its type: Unknown when the point cannot
// read it, where the error is reported and uses of the value must not add
// mismatches of their own. want is what the use
// expects. A character array is a string, and so is a character pointer,
// read as the string it points to, except where a long is expected
// (printf("%p"), arithmetic, a condition, 0 != $name): there it is the
// pointer, as stap's longs are. So `$name == "x"` and `x = $name` need no
// kernel_string(), and `if ($name)` still tests for NULL.
func (r *resolver) targetVar(e *ast.TargetVar, want Type) Type {
	if _, ok := IsVarsString(e); ok {
		return r.varsString(e, false)
	}
	p, ok := r.contextPoint(e)
	if !ok {
		return Unknown
	}
	if d := r.tracepointArgs(p, e); d != nil {
		r.addReport(d)
		return Unknown
	}
	t, d := p.target(e, want)
	if d != nil {
		r.addReport(d)
		return Unknown
	}
	if p.Targets == nil {
		p.Targets = map[*ast.TargetVar]*Target{}
	}
	p.Targets[e] = t
	return t.Type
}

// target resolves a context variable at p.
func (p *Point) target(e *ast.TargetVar, want Type) (*Target, *diag.Diagnostic) {
	f, ok := p.Fields[e.Name]
	if !ok {
		return nil, p.missingField(e)
	}
	if f.Unsupported != "" {
		return nil, notBuilt(e.Span(), fmt.Sprintf("%s such as $%s (%s)", f.Unsupported, e.Name, f.CType))
	}
	t := &Target{Field: f, Type: Long, CType: f.CType}
	if f.Address || f.DataLoc {
		t.Type = String
		if f.Address {
			t.StringMax = f.Size
		}
		return t, nil
	}
	if f.Constant && f.Type == String {
		t.Type = String
	}
	if f.Deref != nil {
		t.Reads, t.User = []Read{*f.Deref}, true
	}
	if f.BTF == nil {
		if len(e.Fields) > 0 {
			return nil, memberError(e.Span(), "$%s is %s, without a type to follow ->%s in", e.Name, f.CType, e.Fields[0])
		}
		return t, nil
	}
	return t.follow(f.BTF, e.Fields, "$"+e.Name, e.Span(), want)
}

// follow completes t, whose base value has type cur, with the reads of
// the member chain fields, as in $file->f_path->dentry or
// @cast(p, "task_struct")->comm; path spells the base, for messages.
func (t *Target) follow(cur btf.Type, fields []string, path string, span diag.Span, want Type) (*Target, *diag.Diagnostic) {
	// inMemory says whether cur is the type of the memory at offset pending
	// from the address the last value holds, rather than of that value.
	pending, inMemory := 0, false
	for _, name := range fields {
		u := btf.UnderlyingType(cur)
		if ptr, ok := u.(*btf.Pointer); ok {
			if inMemory {
				t.Reads = append(t.Reads, Read{Offset: pending, Size: 8})
			}
			pending, inMemory = 0, true
			u = btf.UnderlyingType(ptr.Target)
		} else if !inMemory {
			return nil, memberError(span, "%s is %s, not a pointer to a struct", path, cType(cur))
		}
		if fwd, ok := u.(*btf.Fwd); ok {
			return nil, memberError(span, "%s points to %s, which the BTF declares but does not define", path, cType(fwd))
		}
		if _, ok := members(u); !ok {
			return nil, memberError(span, "%s is %s, not a pointer to a struct", path, cType(cur))
		}
		m, off, ok := findMember(u, name)
		if !ok {
			d := memberError(span, "%s has no member %s", cType(u), name)
			if near := diag.Closest(name, memberNames(u)); near != "" {
				d.WithHint("did you mean ->%s?", near)
			}
			return nil, d
		}
		if m.BitfieldSize != 0 {
			return nil, notBuilt(span, "bit fields such as "+path+"->"+name)
		}
		pending += off
		cur = m.Type
		path += "->" + name
	}
	t.CType = cType(cur)
	if n, ok := charArray(cur); ok && inMemory {
		t.Type, t.StringOffset, t.StringMax = String, pending, n
		return t, nil
	}
	size, signed, ok := scalar(cur)
	if !ok {
		return nil, memberError(span, "%s is %s, not a number, a pointer or a string", path, cType(cur)).
			WithHint("follow it with ->member")
	}
	if inMemory {
		t.Reads = append(t.Reads, Read{Offset: pending, Size: size, Signed: signed})
	}
	if charPointer(cur) && want != Long {
		t.Type = String
	}
	return t, nil
}

// missingField reports a context variable the point does not have, with
// the nearest one it has.
func (p *Point) missingField(e *ast.TargetVar) *diag.Diagnostic {
	if e.Name == "return" && (p.Kind == PointKprobe || p.Kind == PointUprobe) {
		return diag.Errorf(diag.Semantic, "S031", e.Span(), "%s has no $return: it fires on entry", p.Text).
			WithHint("probe %s.return", p.Text)
	}
	if e.Name == "return" && (p.Kind == PointKretprobe || p.Kind == PointUretprobe) {
		return diag.Errorf(diag.Semantic, "S031", e.Span(), "%s has no $return: %s returns nothing", p.Text, p.Function)
	}
	names := make([]string, 0, len(p.Fields))
	for n := range p.Fields {
		names = append(names, n)
	}
	sort.Strings(names)
	d := diag.Errorf(diag.Semantic, "S031", e.Span(), "%s has no field $%s", p.Text, e.Name)
	if near := diag.Closest(e.Name, names); near != "" {
		d.WithHint("did you mean $%s?", near)
	}
	return d
}

func memberError(span diag.Span, format string, args ...any) *diag.Diagnostic {
	return diag.Errorf(diag.Semantic, "S061", span, format, args...)
}

// targetText spells a context variable without its $.
func targetText(e *ast.TargetVar) string {
	s := e.Name
	for _, f := range e.Fields {
		s += "->" + f
	}
	return s
}

// dumpTargets prints, for -p2, the context variables the handler reads at
// p, in the order the script first reads them, with their types and C
// types:
//
//	$count:long /* size_t */
func dumpTargets(w io.Writer, p *Point) {
	// The variables of a context string ($$vars) share its place: by name
	// after it.
	uses := slices.SortedFunc(maps.Keys(p.Targets), func(a, b *ast.TargetVar) int {
		if d := a.Span().Start.Offset - b.Span().Start.Offset; d != 0 {
			return d
		}
		return strings.Compare(targetText(a), targetText(b))
	})
	seen := map[string]bool{}
	for _, e := range uses {
		t := p.Targets[e]
		line := fmt.Sprintf("  $%s:%s /* %s */", targetText(e), t.Type, t.CType)
		if !seen[line] {
			seen[line] = true
			fmt.Fprintln(w, line)
		}
	}
}

// contextPoint returns the point whose context e reads, reporting a read
// where there is no context: in a function, or in a user-space probe.
func (r *resolver) contextPoint(e ast.Node) (*Point, bool) {
	if r.fn != nil {
		r.addReport(notBuilt(e.Span(), "context variables in functions"))
		return nil, false
	}
	p := r.scope.point
	if !p.Kernel {
		r.addReport(diag.Errorf(diag.Semantic, "S030", e.Span(), "probe %s has no context variables", p.Text))
		return nil, false
	}
	return p, true
}
