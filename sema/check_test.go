package sema_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/codegen/bpf"
	"etap/diag"
	"etap/lang"
	"etap/lang/ast"
	"etap/sema"
)

// TestDidYouMean checks the hints diag.Closest gives through sema: a
// near name is suggested, a far one gets no suggestion (or the general
// hint), never a wild guess.
func TestDidYouMean(t *testing.T) {
	tests := []struct {
		name, src  string
		code, hint string
	}{
		{"family", `probe ends { }`, "S102", "did you mean 'end'?"},
		{"family far", `probe frobnicate { }`, "S102",
			`etap knows begin, end, error, never, timer.s(N), timer.ms(N), kernel.trace("group:event") and kernel.function("name")`},
		{"timer unit", `probe timer.usecs(1) { }`, "S104", "did you mean 'timer.usec(N)'?"},
		{"timer unit far", `probe timer.fortnight(1) { }`, "S104", ""},
		{"tracepoint", `probe kernel.trace("sched:sched_swtch") { }`, "S110", `did you mean "sched:sched_switch"?`},
		{"tracepoint far", `probe kernel.trace("net:netif_receive_skb") { }`, "S110", ""},
		{"builtin", `probe begin { println(exename()) }`, "S040", "did you mean 'execname'?"},
		{"builtin far", `probe begin { launch_missiles() }`, "S040", ""},
		{"field", `probe kernel.trace("sched:sched_switch") { print($prev_prioo) }`, "S031", "did you mean $prev_prio?"},
		{"field far", `probe kernel.trace("sched:sched_switch") { print($runqueue_length) }`, "S031", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := check(t, "t.stp", tt.src)
			require.Len(t, diags.Items, 1, "%q", messages(diags))
			assert.Equal(t, tt.code, diags.Items[0].Code)
			assert.Equal(t, tt.hint, diags.Items[0].Hint)
		})
	}
}

// TestResolvedPoints checks what each family resolves to beyond the -p2
// text: the fields codegen reads, periods and sequence numbers.
func TestResolvedPoints(t *testing.T) {
	prog, diags := check(t, "t.stp", `
probe begin(-3), end(7), error, never { }
probe timer.s(2), timer.msec(250), timer.us(3), timer.nsec(40) { }
probe kernel.trace("sys_enter_openat"), kernel.trace("sched:sched_switch") { }
probe kernel.trace("raw_syscalls:sys_enter"), kernel.trace("sched:sched_process_exec") { }
`)
	require.Empty(t, messages(diags))
	byText := map[string]*sema.Point{}
	for _, p := range prog.Probes {
		byText[p.Point.Text] = p.Point
	}

	seq := []struct {
		text string
		kind sema.PointKind
		n    int64
	}{
		{"begin(-3)", sema.PointBegin, -3},
		{"end(7)", sema.PointEnd, 7},
		{"error", sema.PointError, 0},
		{"never", sema.PointNever, 0},
	}
	for _, s := range seq {
		p := byText[s.text]
		require.NotNil(t, p, s.text)
		assert.Equal(t, s.kind, p.Kind, s.text)
		assert.Equal(t, s.n, p.Sequence, s.text)
		assert.False(t, p.Kernel, "%s runs in user space", s.text)
	}

	periods := map[string]time.Duration{
		"timer.s(2)":      2 * time.Second,
		"timer.msec(250)": 250 * time.Millisecond,
		"timer.us(3)":     3 * time.Microsecond,
		"timer.nsec(40)":  40 * time.Nanosecond,
	}
	for text, period := range periods {
		p := byText[text]
		require.NotNil(t, p, text)
		assert.Equal(t, sema.PointTimer, p.Kind, text)
		assert.Equal(t, period, p.Period, text)
		assert.False(t, p.Kernel, "%s runs in user space", text)
	}

	// A name without a group is found in whichever group has it.
	tps := map[string][2]string{
		`kernel.trace("syscalls:sys_enter_openat")`: {"syscalls", "sys_enter_openat"},
		`kernel.trace("sched:sched_switch")`:        {"sched", "sched_switch"},
		`kernel.trace("raw_syscalls:sys_enter")`:    {"raw_syscalls", "sys_enter"},
		`kernel.trace("sched:sched_process_exec")`:  {"sched", "sched_process_exec"},
	}
	for text, name := range tps {
		p := byText[text]
		require.NotNil(t, p, text)
		assert.Equal(t, sema.PointTracepoint, p.Kind, text)
		assert.True(t, p.Kernel, "%s runs in the kernel", text)
		assert.Equal(t, name, [2]string{p.Group, p.Event})
	}
	assert.Len(t, prog.Probes, len(seq)+len(periods)+len(tps))
}

// TestTracepointFields checks the context variables of tracepoints: every
// scalar field with its offset, size and signedness, its strings as
// strings; other arrays marked unsupported.
func TestTracepointFields(t *testing.T) {
	tests := []struct {
		tracepoint  string
		want        map[string]sema.Field
		unsupported []string
	}{
		{"syscalls:sys_enter_openat", map[string]sema.Field{
			"__syscall_nr": {Offset: 8, Size: 4, Signed: true},
			"dfd":          {Offset: 16, Size: 8},
			"filename":     {Offset: 24, Size: 8},
			"flags":        {Offset: 32, Size: 8},
			"mode":         {Offset: 40, Size: 8},
		}, nil},
		// prev_comm and next_comm are char[16]: strings in the record.
		{"sched:sched_switch", map[string]sema.Field{
			"prev_comm":  {Offset: 8, Size: 16, Type: sema.String, InRecord: sema.RecordArray},
			"next_comm":  {Offset: 40, Size: 16, Type: sema.String, InRecord: sema.RecordArray},
			"prev_pid":   {Offset: 24, Size: 4, Signed: true},
			"prev_prio":  {Offset: 28, Size: 4, Signed: true},
			"prev_state": {Offset: 32, Size: 8, Signed: true},
			"next_pid":   {Offset: 56, Size: 4, Signed: true},
			"next_prio":  {Offset: 60, Size: 4, Signed: true},
		}, nil},
		{"raw_syscalls:sys_enter", map[string]sema.Field{
			"id": {Offset: 8, Size: 8, Signed: true},
		}, []string{"args"}},
		{"sched:sched_process_exec", map[string]sema.Field{
			"pid":     {Offset: 12, Size: 4, Signed: true},
			"old_pid": {Offset: 16, Size: 4, Signed: true},
			// __data_loc char[] filename: a u32 locating the string.
			"filename": {Offset: 8, Size: 4, Type: sema.String, InRecord: sema.RecordDataLoc},
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.tracepoint, func(t *testing.T) {
			prog, diags := check(t, "t.stp", `probe kernel.trace("`+tt.tracepoint+`") { }`)
			require.Empty(t, messages(diags))
			require.Len(t, prog.Probes, 1)
			p := prog.Probes[0].Point
			assert.Equal(t, sema.PointTracepoint, p.Kind)
			assert.True(t, p.Kernel)
			assert.Equal(t, tt.tracepoint, p.Group+":"+p.Event)

			want := map[string]sema.Field{
				"common_type":          {Offset: 0, Size: 2},
				"common_flags":         {Offset: 2, Size: 1},
				"common_preempt_count": {Offset: 3, Size: 1},
				"common_pid":           {Offset: 4, Size: 4, Signed: true},
			}
			for name, f := range tt.want {
				want[name] = f
			}
			for name, f := range want {
				f.Name = name
				if f.Type == sema.Unknown {
					f.Type = sema.Long
				}
				want[name] = f
			}
			got := map[string]sema.Field{}
			var unsupported []string
			for name, f := range p.Fields {
				if f.Unsupported != "" {
					unsupported = append(unsupported, name)
					continue
				}
				f.CType = ""
				got[name] = f
			}
			assert.Equal(t, want, got)
			assert.ElementsMatch(t, tt.unsupported, unsupported)
		})
	}
}

// TestProgramBindings checks the maps codegen reads: every identifier bound
// to its variable, every call to its builtin, every expression typed.
func TestProgramBindings(t *testing.T) {
	src := `global g
probe begin { l = execname(); g = pid(); printf("%s %d\n", l, g) }`
	f, diags := lang.Parse("t.stp", src, nil)
	require.Empty(t, messages(diags))
	prog, diags := sema.Check([]*ast.File{f}, sema.Options{Kernel: fakeKernel{}, Library: bpf.Library()})
	require.Empty(t, messages(diags))

	require.Len(t, prog.Globals, 1)
	g := prog.Globals[0]
	assert.Equal(t, "g", g.Name)
	assert.True(t, g.Global)
	assert.Equal(t, sema.Long, g.Type)
	assert.True(t, g.Read && g.Written)

	require.Len(t, prog.Probes, 1)
	require.Len(t, prog.Probes[0].Locals, 1)
	l := prog.Probes[0].Locals[0]
	assert.Equal(t, "l", l.Name)
	assert.False(t, l.Global)
	assert.Equal(t, sema.String, l.Type)

	refs := map[string]int{}
	calls := map[string]int{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Ident:
			v := prog.Refs[n]
			if assert.NotNil(t, v, "identifier %s is bound", n.Name) {
				assert.Equal(t, n.Name, v.Name)
				refs[n.Name]++
			}
		case *ast.CallExpr:
			b := prog.Calls[n]
			if assert.NotNil(t, b, "call of %s is bound", n.Name) {
				assert.Equal(t, n.Name, b.Name)
				calls[n.Name]++
			}
		}
		if e, ok := n.(ast.Expr); ok {
			_, typed := prog.Types[e]
			assert.True(t, typed, "expression at %s has a type", e.Span().Start)
		}
		return true
	})
	assert.Equal(t, map[string]int{"l": 2, "g": 2}, refs)
	assert.Equal(t, map[string]int{"execname": 1, "pid": 1, "printf": 1}, calls)
}

// TestKernelErrors checks that a kernel that cannot answer is reported at
// the point that asked.
func TestKernelErrors(t *testing.T) {
	tests := []struct {
		name   string
		kernel sema.Kernel
		src    string
		want   string
	}{
		// A wildcard needs the list; an exact name is looked up directly.
		{"no tracefs", fakeKernel{ListErr: assert.AnError}, `probe kernel.trace("sched:*") { }`,
			"S109 cannot list tracepoints: " + assert.AnError.Error()},
		{"unreadable format", fakeKernel{Broken: []string{"sched:sched_broken"}}, `probe kernel.trace("sched:sched_*") { }`,
			"S111 tracepoint sched:sched_broken: file does not exist"},
		{"no BTF", fakeKernel{BTFErr: assert.AnError}, `probe kernel.function("vfs_read") { }`,
			`S116 cannot read the kernel's BTF for kernel.function("vfs_read"): ` + assert.AnError.Error() +
				` hint: kernel function probes need a kernel built with CONFIG_DEBUG_INFO_BTF (/sys/kernel/btf/vmlinux)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := checkWith(t, "t.stp", tt.src, tt.kernel)
			assert.Equal(t, []string{tt.want}, messages(diags))
		})
	}
}

// TestExactTracepointWithoutListing checks that an exact name resolves
// without listing tracepoints, which costs a directory walk over thousands.
func TestExactTracepointWithoutListing(t *testing.T) {
	prog, diags := checkWith(t, "t.stp", `probe kernel.trace("sched:sched_switch") { print($next_pid) }`, fakeKernel{ListErr: assert.AnError})
	require.Empty(t, messages(diags))
	require.Len(t, prog.Probes, 1)
	assert.Equal(t, "sched_switch", prog.Probes[0].Point.Event)
}

// testLibrary adds to etap's builtins the kinds it does not have yet: one
// with fixed parameters and one only user space can run.
type testLibrary struct{ sema.Library }

var testBuiltins = map[string]*sema.Builtin{
	"pair":      {Name: "pair", Params: []sema.Type{sema.Long, sema.String}, Result: sema.String},
	"user_only": {Name: "user_only", Result: sema.Long, UserOnly: true},
}

func (l testLibrary) Lookup(name string) (*sema.Builtin, bool) {
	if b, ok := testBuiltins[name]; ok {
		return b, true
	}
	return l.Library.Lookup(name)
}

func (l testLibrary) Names() []string {
	names := l.Library.Names()
	for n := range testBuiltins {
		names = append(names, n)
	}
	return names
}

func TestBuiltinSignatures(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"ok", `probe begin { s = pair(1, "x"); n = user_only(); print(s, n) }`, nil},
		{"too few", `probe begin { print(pair(1)) }`, []string{"S042 pair() takes 2 arguments, not 1"}},
		{"too many", `probe begin { print(pair(1, "x", 3)) }`, []string{"S042 pair() takes 2 arguments, not 3"}},
		{"argument types", `probe begin { print(pair("x", 1)) }`, []string{
			"S008 type mismatch: expected long, found string",
			"S008 type mismatch: expected string, found long",
		}},
		{"parameters type arguments", `global n, s; probe begin { print(pair(n, s)) } probe end { n = 1; s = "x" }`, nil},
		{"user only in kernel", `probe kernel.trace("sched:sched_switch") { print(user_only()) }`, []string{
			"S041 user_only() cannot run in a kernel probe hint: call it in a begin, end or timer probe",
		}},
		{"user only in timer", `probe timer.s(1) { print(user_only()) }`, nil},
		{"did you mean", `probe begin { print(pairs(1, "x")) }`, []string{"S040 unknown function 'pairs' hint: did you mean 'pair'?"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, diags := lang.Parse("t.stp", tt.src, nil)
			require.Empty(t, messages(diags))
			_, diags = sema.Check([]*ast.File{f}, sema.Options{Kernel: fakeKernel{}, Library: testLibrary{bpf.Library()}})
			assert.Equal(t, tt.want, messages(diags))
		})
	}
}

// TestDiagnosticsSorted checks that diagnostics come back in source order,
// though Check finds an unresolved global only after walking every probe.
func TestDiagnosticsSorted(t *testing.T) {
	_, diags := check(t, "t.stp", `probe end { print(local_never_typed) }
global never_typed
probe begin { print(never_typed) }`)
	var lines []int
	for _, d := range diags.Items {
		lines = append(lines, d.Span.Start.Line)
	}
	assert.Equal(t, []int{1, 2}, lines, "%q", messages(diags))
}

// TestCheckSeveralFiles checks that globals declared in one file serve
// probes in another, as with tapsets and -I directories.
func TestCheckSeveralFiles(t *testing.T) {
	a, diags := lang.Parse("a.stp", "global shared\nprobe begin { shared = \"a\" }", nil)
	require.Empty(t, messages(diags))
	b, diags := lang.Parse("b.stp", "probe end { shared = 1 }", nil)
	require.Empty(t, messages(diags))
	_, diags = sema.Check([]*ast.File{a, b}, sema.Options{Kernel: fakeKernel{}, Library: bpf.Library()})
	var d *diag.Diagnostic
	for _, item := range diags.Items {
		if item.Code == "S006" {
			d = item
		}
	}
	require.NotNil(t, d, "%q", messages(diags))
	assert.Equal(t, "b.stp", d.Span.Start.File)
	require.Len(t, d.Related, 1)
	assert.Equal(t, diag.Pos{File: "a.stp", Offset: 28, Line: 2, Col: 15}, d.Related[0].Span.Start)
}

func TestCheckNothing(t *testing.T) {
	prog, diags := sema.Check(nil, sema.Options{Kernel: fakeKernel{}, Library: bpf.Library()})
	require.NotNil(t, prog)
	assert.Empty(t, diags.Items)
	assert.Empty(t, prog.Globals)
	assert.Empty(t, prog.Probes)
}
