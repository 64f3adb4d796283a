package sema

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/btf"

	"etap/diag"
	"etap/lang/ast"
)

// Kernel function probes resolve against BTF: the function must be in the
// kernel's (or the module's) BTF, which also gives its parameters' names
// and types, so no debuginfo is needed. They attach as kprobes and
// kretprobes, whose context is the registers; whether the kernel has
// kprobes is the loader's question, so that -p2 works everywhere.
//
//	kernel.function("vfs_read")            kprobe.function("vfs_read")
//	kernel.function("vfs_*").call          kprobe.function("vfs_read").return
//	kernel.function("vfs_read").return     module("ext4").function("ext4_*")

// maxFunctionMatches bounds the functions one probe point may name: each
// is a BPF program and a kprobe, and loading and attaching thousands takes
// long enough to look like a hang.
const maxFunctionMatches = 1000

// argRegisters are the pt_regs members that hold the first parameters of
// a kernel function, by architecture; later parameters go on the stack.
var argRegisters = map[string][]string{
	"amd64": {"di", "si", "dx", "cx", "r8", "r9"},
}

// returnRegisters are the pt_regs members that hold a function's return
// value.
var returnRegisters = map[string]string{"amd64": "ax"}

// functionProbe is a kernel function probe point taken apart.
type functionProbe struct {
	pp *ast.ProbePoint
	// family is how the point starts, for messages: "kernel.function",
	// "kprobe.function" or "module(\"m\").function".
	family  string
	module  string
	pattern string
	// suffix is "", ".call" or ".return".
	suffix string
}

// resolveFunction resolves kernel.function, kprobe.function and
// module(...).function points against BTF.
func resolveFunction(r *resolver, pp *ast.ProbePoint) []*Point {
	fp, ok := r.parseFunctionProbe(pp)
	if !ok {
		return nil
	}
	optional := pp.Optional || pp.Sufficient
	spec, err := r.kernel.BTF(fp.module)
	if err != nil {
		if !optional {
			r.add(btfError(pp, fp.module, err))
		}
		return nil
	}
	var names []string
	if strings.ContainsAny(fp.pattern, "*?[") {
		all, err := r.kernel.Functions(fp.module)
		if err != nil {
			r.add(btfError(pp, fp.module, err))
			return nil
		}
		for _, name := range all {
			if ok, _ := path.Match(fp.pattern, name); ok {
				names = append(names, name)
			}
		}
	} else if r.hasFunction(spec, fp.module, fp.pattern) {
		names = []string{fp.pattern}
	}
	if len(names) == 0 {
		if !optional {
			r.add(r.noFunction(fp))
		}
		return nil
	}
	if len(names) > maxFunctionMatches {
		r.add(diag.Errorf(diag.Semantic, "S118", pp.Span(), "%s matches %d functions, more than the %d etap probes at once",
			pointText(pp), len(names), maxFunctionMatches).
			WithHint("narrow the pattern"))
		return nil
	}
	vmlinux := spec
	if fp.module != "" {
		// pt_regs is the kernel's, not the module's.
		if vmlinux, err = r.kernel.BTF(""); err != nil {
			r.add(btfError(pp, "", err))
			return nil
		}
	}
	rg, d := registers(vmlinux, pp)
	if d != nil {
		r.add(d)
		return nil
	}
	points := make([]*Point, 0, len(names))
	for _, name := range names {
		if fn, ok := lookupFunction(spec, name); ok {
			points = append(points, fp.point(fn, rg))
		}
	}
	return points
}

// parseFunctionProbe checks the shape of a function probe point.
func (r *resolver) parseFunctionProbe(pp *ast.ProbePoint) (*functionProbe, bool) {
	cs := pp.Components
	fp := &functionProbe{pp: pp, family: cs[0].Name + ".function"}
	calls := true
	switch cs[0].Name {
	case "kprobe":
		// stap's kprobe.function has no .call.
		calls = false
	case "module":
		lit, ok := cs[0].Arg.(*ast.StringLit)
		if !ok {
			r.add(diag.Errorf(diag.Semantic, "S115", cs[0].Span(), "module needs a module name").
				WithHint("write module(\"ext4\").function(\"ext4_file_open\")"))
			return nil, false
		}
		if strings.ContainsAny(lit.Value, "*?[") || lit.Value == "kernel" {
			r.add(notBuilt(cs[0].Span(), "module wildcards and module(\"kernel\")"))
			return nil, false
		}
		fp.module = lit.Value
		fp.family = fmt.Sprintf("module(%s).function", strconv.Quote(lit.Value))
	default:
		if cs[0].Arg != nil {
			r.add(diag.Errorf(diag.Semantic, "S115", cs[0].Arg.Span(), "%s takes no argument", cs[0].Name))
			return nil, false
		}
	}
	if len(cs) < 2 || cs[1].Name != "function" {
		r.add(diag.Errorf(diag.Semantic, "S101", pp.Span(), "probe point %s is not built yet in etap", pointText(pp)).
			WithHint("etap has %s.function(\"name\")", cs[0].Name))
		return nil, false
	}
	lit, ok := cs[1].Arg.(*ast.StringLit)
	if !ok {
		r.add(diag.Errorf(diag.Semantic, "S115", cs[1].Span(), "%s needs a function name", fp.family).
			WithHint("write %s(\"vfs_read\"); wildcards such as \"vfs_*\" are allowed", fp.family))
		return nil, false
	}
	if strings.ContainsAny(lit.Value, "@:") {
		r.add(notBuilt(cs[1].Arg.Span(), "source locations in function probes (@file:line)"))
		return nil, false
	}
	fp.pattern = lit.Value
	switch {
	case len(cs) == 2:
	case len(cs) == 3 && cs[2].Arg == nil && (cs[2].Name == "return" || cs[2].Name == "call" && calls):
		fp.suffix = "." + cs[2].Name
	default:
		extra := cs[2]
		d := diag.Errorf(diag.Semantic, "S115", extra.Span(), "%s takes %s, not .%s", fp.family, suffixes(calls), extra.Name)
		if near := diag.Closest(extra.Name, []string{"call", "return"}); near != "" && len(cs) == 3 {
			d.WithHint("did you mean .%s?", near)
		}
		r.add(d)
		return nil, false
	}
	return fp, true
}

func suffixes(calls bool) string {
	if calls {
		return ".call or .return"
	}
	return ".return"
}

// hasFunction reports whether spec has the function name. A module's BTF
// is split from the kernel's, whose functions a name lookup also finds,
// so a module function must be among the module's own.
func (r *resolver) hasFunction(spec *btf.Spec, module, name string) bool {
	if module == "" {
		_, ok := lookupFunction(spec, name)
		return ok
	}
	names, err := r.kernel.Functions(module)
	if err != nil {
		return false
	}
	_, ok := slices.BinarySearch(names, name)
	return ok
}

// lookupFunction finds a function by name. Static functions of the same
// name in several files appear once each; a kprobe by name attaches to the
// first, as does this.
func lookupFunction(spec *btf.Spec, name string) (*btf.Func, bool) {
	types, err := spec.AnyTypesByName(name)
	if err != nil {
		return nil, false
	}
	for _, t := range types {
		if fn, ok := t.(*btf.Func); ok {
			if _, ok := fn.Type.(*btf.FuncProto); ok {
				return fn, true
			}
		}
	}
	return nil, false
}

// noFunction reports a pattern that matches no function, with the nearest
// name for a misspelt one.
func (r *resolver) noFunction(fp *functionProbe) *diag.Diagnostic {
	where := "the kernel"
	if fp.module != "" {
		where = "module " + fp.module
	}
	span := fp.pp.Components[1].Arg.Span()
	d := diag.Errorf(diag.Semantic, "S117", span, "no function of %s matches %q", where, fp.pattern)
	if strings.ContainsAny(fp.pattern, "*?[") {
		return d
	}
	if names, err := r.kernel.Functions(fp.module); err == nil {
		if near := diag.Closest(fp.pattern, names); near != "" {
			d.WithHint("did you mean %q?", near)
		}
	}
	return d
}

// btfError reports BTF that cannot be read.
func btfError(pp *ast.ProbePoint, module string, err error) *diag.Diagnostic {
	if module != "" && errors.Is(err, fs.ErrNotExist) {
		return diag.Errorf(diag.Semantic, "S116", pp.Components[0].Span(), "module %s has no BTF (/sys/kernel/btf/%s)", module, module).
			WithHint("is the module loaded? etap needs a kernel built with CONFIG_DEBUG_INFO_BTF_MODULES")
	}
	return diag.Errorf(diag.Semantic, "S116", pp.Span(), "cannot read the kernel's BTF for %s: %v", pointText(pp), err).
		WithHint("kernel function probes need a kernel built with CONFIG_DEBUG_INFO_BTF (/sys/kernel/btf/vmlinux)")
}

// Regs is where a probe's context (struct pt_regs) holds the parameters
// and the return value: offsets of the registers in it.
type Regs struct {
	Args []int
	Ret  int
}

// registers finds the argument and return registers of the kernel's
// calling convention in its struct pt_regs.
func registers(vmlinux *btf.Spec, pp *ast.ProbePoint) (*Regs, *diag.Diagnostic) {
	args, ok := argRegisters[runtime.GOARCH]
	if !ok {
		return nil, notBuilt(pp.Span(), "function probes on "+runtime.GOARCH)
	}
	offs, d := ptRegsOffsets(vmlinux, pp, append([]string{returnRegisters[runtime.GOARCH]}, args...))
	if d != nil {
		return nil, d
	}
	return &Regs{Ret: offs[0], Args: offs[1:]}, nil
}

// ptRegsOffsets finds the 8-byte members of the kernel's struct pt_regs.
func ptRegsOffsets(vmlinux *btf.Spec, pp *ast.ProbePoint, names []string) ([]int, *diag.Diagnostic) {
	var ptRegs *btf.Struct
	if err := vmlinux.TypeByName("pt_regs", &ptRegs); err != nil {
		return nil, diag.Errorf(diag.Semantic, "S116", pp.Span(), "the kernel's BTF has no usable struct pt_regs: %v", err)
	}
	var missing []string
	offs := make([]int, len(names))
	for i, name := range names {
		m, off, ok := findMember(ptRegs, name)
		if size, _, isScalar := scalar(m.Type); !ok || !isScalar || size != 8 {
			missing = append(missing, name)
		}
		offs[i] = off
	}
	if missing != nil {
		return nil, diag.Errorf(diag.Semantic, "S116", pp.Span(), "the kernel's struct pt_regs has no 8-byte member %s", strings.Join(missing, ", "))
	}
	return offs, nil
}

// point makes the Point of one function: its parameters as context
// variables, and $return in a .return probe.
func (fp *functionProbe) point(fn *btf.Func, rg *Regs) *Point {
	proto := fn.Type.(*btf.FuncProto)
	p := &Point{
		Text:     fmt.Sprintf("%s(%s)%s", fp.family, strconv.Quote(fn.Name), fp.suffix),
		Kind:     PointKprobe,
		Kernel:   true,
		Function: fn.Name,
		Module:   fp.module,
		PtRegs:   true,
		Fields:   map[string]Field{},
		Regs:     rg,
		Span:     fp.pp.Span(),
	}
	// Each parameter of up to 8 bytes takes the next register; after a
	// larger one (a struct passed by value) etap no longer knows where
	// the rest are.
	lost := ""
	for i, param := range proto.Params {
		if _, void := param.Type.(*btf.Void); void || param.Name == "" {
			continue // the ... of a variadic function, or unnamed
		}
		f := Field{Name: param.Name, CType: cType(param.Type), BTF: param.Type}
		size, signed, ok := scalar(param.Type)
		switch {
		case lost != "":
			f.Unsupported = lost
		case !ok:
			f.Unsupported = "parameters passed by value as structs"
			lost = "parameters after a struct passed by value"
		case i >= len(rg.Args):
			f.Unsupported = "parameters passed on the stack"
		default:
			f.Offset, f.Size, f.Signed, f.Type = rg.Args[i], size, signed, Long
		}
		p.Fields[param.Name] = f
		p.Order = append(p.Order, param.Name)
	}
	p.Trampoline = trampoline(proto, rg)
	if fp.suffix == ".return" {
		p.Kind = PointKretprobe
		if _, void := proto.Return.(*btf.Void); !void && proto.Return != nil {
			f := Field{Name: "return", CType: cType(proto.Return), BTF: proto.Return}
			if size, signed, ok := scalar(proto.Return); ok {
				f.Offset, f.Size, f.Signed, f.Type = rg.Ret, size, signed, Long
			} else {
				f.Unsupported = "struct return values"
			}
			p.Fields["return"] = f
			p.Order = append(p.Order, "return")
		}
	}
	return p
}

// trampoline places the parameters and the return value of a function in
// the context of fentry/fexit programs: each parameter in the next u64,
// the return value in the u64 after the last. A function with a parameter
// passed by value as a struct (which takes several) or variadic has none:
// it is probed by kprobes only.
func trampoline(proto *btf.FuncProto, rg *Regs) map[int]int {
	slots := map[int]int{rg.Ret: 8 * len(proto.Params)}
	for i, param := range proto.Params {
		if _, _, ok := scalar(param.Type); !ok {
			return nil
		}
		if i < len(rg.Args) {
			slots[rg.Args[i]] = 8 * i
		}
	}
	return slots
}
