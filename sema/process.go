package sema

import (
	"fmt"
	"path"
	"runtime"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/btf"

	"etap/diag"
	"etap/lang/ast"
)

// User-space probes resolve against the program's ELF file: its symbol
// table for functions (DWARF only names their parameters), its
// .note.stapsdt section for SDT marks. They attach as uprobes at an offset
// in the file, so the binary needs no debuginfo:
//
//	process("/bin/bash").function("readline")        process("ls").function("read*").return
//	process("/lib/x86_64-linux-gnu/libc.so.6").mark("setjmp")
//	process("python3").provider("python").mark("function__entry")
//	process("/bin/true").statement(0x4010).absolute
//	process.begin                                    process.end
//
// process.begin and process.end watch every process (only the target's
// family under -c or -x); they are the sched_process_exec and
// sched_process_exit tracepoints, so process.begin fires when a process
// starts a program, in its context.

// goArgRegisters are the pt_regs members that hold the first integer
// arguments of a Go function (Go's internal register ABI), by
// architecture: Go binaries do not follow the C calling convention.
var goArgRegisters = map[string][]string{
	"amd64": {"ax", "bx", "cx", "di", "si", "r8", "r9", "r10", "r11"},
}

// processProbe is a process(...) point taken apart.
type processProbe struct {
	pp  *ast.ProbePoint
	bin *Binary
	// prefix is `process("/path")`, as points are listed.
	prefix string
}

// resolveProcess resolves every process(...) and process.* point.
func resolveProcess(r *resolver, pp *ast.ProbePoint) []*Point {
	cs := pp.Components
	if cs[0].Arg == nil {
		if len(cs) == 2 && cs[1].Arg == nil && (cs[1].Name == "begin" || cs[1].Name == "end") {
			return r.processEvent(pp, cs[1].Name)
		}
		r.add(diag.Errorf(diag.Semantic, "S140", pp.Span(), "probe point %s is not built yet in etap", pointText(pp)).
			WithHint("etap has process.begin, process.end and process(\"/path\").function/.statement/.mark"))
		return nil
	}
	lit, ok := cs[0].Arg.(*ast.StringLit)
	if !ok {
		r.add(notBuilt(cs[0].Arg.Span(), "process probes by pid (process(PID))").
			WithHint("name the program: process(\"/path/to/program\"), and use -x PID"))
		return nil
	}
	if len(cs) < 2 {
		r.add(diag.Errorf(diag.Semantic, "S140", pp.Span(), "process(%s) needs a point in the program", strconv.Quote(lit.Value)).
			WithHint("write process(%s).function(\"name\")", strconv.Quote(lit.Value)))
		return nil
	}
	bin, err := r.binaries.Binary(lit.Value)
	if err != nil {
		if !pp.Optional && !pp.Sufficient {
			r.add(diag.Errorf(diag.Semantic, "S141", lit.Span(), "cannot read program %s: %v", strconv.Quote(lit.Value), err))
		}
		return nil
	}
	vmlinux, err := r.kernel.BTF("")
	if err != nil {
		r.add(btfError(pp, "", err))
		return nil
	}
	pr := &processProbe{pp: pp, bin: bin, prefix: fmt.Sprintf("process(%s)", strconv.Quote(bin.Path))}
	switch cs[1].Name {
	case "function":
		return r.processFunctions(pr, vmlinux)
	case "statement":
		return r.processStatement(pr, vmlinux)
	case "mark", "provider":
		return r.processMarks(pr, vmlinux)
	case "begin", "end":
		r.add(notBuilt(cs[1].Span(), "process(\"path\").begin and .end").
			WithHint("use process.%s with a condition on execname()", cs[1].Name))
		return nil
	}
	d := diag.Errorf(diag.Semantic, "S140", cs[1].Span(), "unknown process probe point .%s", cs[1].Name)
	if near := diag.Closest(cs[1].Name, []string{"function", "statement", "mark", "provider", "begin", "end"}); near != "" {
		d.WithHint("did you mean .%s?", near)
	}
	r.add(d)
	return nil
}

// stringArg returns the string argument of a component, or reports it.
func (r *resolver) stringArg(c *ast.Component, example string) (string, bool) {
	lit, ok := c.Arg.(*ast.StringLit)
	if !ok {
		r.add(diag.Errorf(diag.Semantic, "S142", c.Span(), ".%s needs a name", c.Name).WithHint("write .%s(%q)", c.Name, example))
		return "", false
	}
	return lit.Value, true
}

// userRegisters places a binary's arguments in struct pt_regs: Go
// programs pass them in other registers than C's.
func userRegisters(vmlinux *btf.Spec, pp *ast.ProbePoint, bin *Binary) (*Regs, *diag.Diagnostic) {
	rg, d := registers(vmlinux, pp)
	if d != nil || !bin.Go {
		return rg, d
	}
	names, ok := goArgRegisters[runtime.GOARCH]
	if !ok {
		return nil, notBuilt(pp.Span(), "Go function probes on "+runtime.GOARCH)
	}
	if rg.Args, d = ptRegsOffsets(vmlinux, pp, names); d != nil {
		return nil, d
	}
	return rg, nil
}

// processFunctions resolves .function("pattern")[.call|.return] against the
// symbol table.
func (r *resolver) processFunctions(pr *processProbe, vmlinux *btf.Spec) []*Point {
	cs := pr.pp.Components
	pattern, ok := r.stringArg(cs[1], "main")
	if !ok {
		return nil
	}
	if strings.Contains(pattern, "@") {
		r.add(notBuilt(cs[1].Arg.Span(), "source locations in function probes (@file:line)"))
		return nil
	}
	suffix := ""
	switch {
	case len(cs) == 2:
	case len(cs) == 3 && cs[2].Arg == nil && (cs[2].Name == "return" || cs[2].Name == "call"):
		suffix = "." + cs[2].Name
	default:
		d := diag.Errorf(diag.Semantic, "S115", cs[2].Span(), "process(...).function takes .call or .return, not .%s", cs[2].Name)
		if near := diag.Closest(cs[2].Name, []string{"call", "return"}); near != "" && len(cs) == 3 {
			d.WithHint("did you mean .%s?", near)
		}
		r.add(d)
		return nil
	}
	var syms []Symbol
	names := make([]string, len(pr.bin.Functions))
	for i, s := range pr.bin.Functions {
		names[i] = s.Name
		if ok, _ := path.Match(pattern, s.Name); ok {
			syms = append(syms, s)
		}
	}
	if len(syms) == 0 {
		if !pr.pp.Optional && !pr.pp.Sufficient {
			d := diag.Errorf(diag.Semantic, "S117", cs[1].Arg.Span(), "no function of %s matches %q", pr.bin.Path, pattern)
			if len(names) == 0 {
				d.WithHint("the program has no symbol table")
			} else if near := diag.Closest(pattern, names); near != "" && !strings.ContainsAny(pattern, "*?[") {
				d.WithHint("did you mean %q?", near)
			}
			r.add(d)
		}
		return nil
	}
	if len(syms) > maxFunctionMatches {
		r.add(diag.Errorf(diag.Semantic, "S118", pr.pp.Span(), "%s matches %d functions, more than the %d etap probes at once",
			pointText(pr.pp), len(syms), maxFunctionMatches).WithHint("narrow the pattern"))
		return nil
	}
	rg, d := userRegisters(vmlinux, pr.pp, pr.bin)
	if d != nil {
		r.add(d)
		return nil
	}
	if suffix == ".return" && pr.bin.Go {
		// A uretprobe replaces the return address on the stack; when Go
		// grows a goroutine's stack it copies it, and its unwinder, which
		// meets the replaced address, may abort the program.
		r.add(diag.Warnf(diag.Semantic, "W140", pr.pp.Span(), "return probes on Go functions can crash the program when Go moves a goroutine's stack").
			WithHint("prefer entry probes in Go programs that run long"))
	}
	points := make([]*Point, 0, len(syms))
	for _, s := range syms {
		off, ok := pr.bin.FileOffset(s.Addr)
		if !ok {
			continue
		}
		p := pr.point(fmt.Sprintf(".function(%s)%s", strconv.Quote(s.Name), suffix), s.Name, off, rg)
		sig := r.binaries.Signature(pr.bin, s.Name)
		// A return probe has the parameters too: it takes them from the
		// function's entry (see entry.go).
		if sig != nil {
			addParams(p, sig.Params, rg)
		}
		if suffix == ".return" {
			p.Kind = PointUretprobe
			addResult(p, sig, rg)
		}
		points = append(points, p)
	}
	return points
}

// point makes a uprobe Point at offset off of the binary, with the
// argument registers as $arg1, $arg2...
func (pr *processProbe) point(text, function string, off uint64, rg *Regs) *Point {
	p := &Point{
		Text:     pr.prefix + text,
		Kind:     PointUprobe,
		Kernel:   true,
		Function: function,
		Binary:   pr.bin.Path,
		Address:  off,
		Regs:     rg,
		Fields:   map[string]Field{},
		Span:     pr.pp.Span(),
	}
	if rg != nil {
		for i, o := range rg.Args {
			name := fmt.Sprintf("arg%d", i+1)
			p.Fields[name] = Field{Name: name, CType: "long", Offset: o, Size: 8, Signed: true, Type: Long}
		}
	}
	return p
}

// addParams adds the parameters DWARF names as context variables: each
// integer or pointer takes the next argument register; a floating-point
// one travels elsewhere, and after a larger one (a struct or a Go string)
// etap no longer knows where the rest are.
func addParams(p *Point, params []Param, rg *Regs) {
	lost, next := "", 0
	for _, prm := range params {
		if prm.Name == "" || prm.Name == "_" {
			continue
		}
		f := Field{Name: prm.Name, CType: prm.CType}
		switch {
		case lost != "":
			f.Unsupported = lost
		case prm.Float:
			f.Unsupported = "floating-point parameters"
		case prm.Size < 1 || prm.Size > 8:
			f.Unsupported = "parameters larger than a register"
			lost = "parameters after one larger than a register"
		case next >= len(rg.Args):
			f.Unsupported = "parameters passed on the stack"
		default:
			f.Offset, f.Size, f.Signed, f.Type = rg.Args[next], prm.Size, prm.Signed, Long
			next++
		}
		p.Fields[prm.Name] = f
	}
}

// addResult adds $return: the whole return register, unless DWARF says
// the function returns something narrower (an int leaves the upper half
// of RAX as it was), something else or nothing.
func addResult(p *Point, sig *Signature, rg *Regs) {
	f := Field{Name: "return", CType: "long", Offset: rg.Ret, Size: 8, Signed: true, Type: Long}
	if sig != nil {
		res := sig.Result
		switch {
		case res == nil:
			return
		case res.Float:
			f.Unsupported = "floating-point return values"
		case res.Size < 1 || res.Size > 8:
			f.Unsupported = "return values larger than a register"
		default:
			f.Size, f.Signed = res.Size, res.Signed
		}
		f.CType = res.CType
	}
	p.Fields["return"] = f
}

// processStatement resolves .statement(ADDR).absolute: a uprobe at an
// address of the program.
func (r *resolver) processStatement(pr *processProbe, vmlinux *btf.Spec) []*Point {
	cs := pr.pp.Components
	if len(cs) != 3 || cs[2].Name != "absolute" || cs[2].Arg != nil {
		r.add(notBuilt(pr.pp.Span(), "statement probes other than .statement(ADDR).absolute").
			WithHint("write process(\"/path\").statement(0x1234).absolute"))
		return nil
	}
	lit, ok := cs[1].Arg.(*ast.IntLit)
	if !ok {
		r.add(diag.Errorf(diag.Semantic, "S142", cs[1].Span(), ".statement needs an address").
			WithHint("write .statement(0x1234).absolute"))
		return nil
	}
	addr := uint64(lit.Value)
	off, ok := pr.bin.FileOffset(addr)
	if !ok {
		r.add(diag.Errorf(diag.Semantic, "S143", lit.Span(), "address %#x is not in a loaded segment of %s", addr, pr.bin.Path))
		return nil
	}
	rg, d := userRegisters(vmlinux, pr.pp, pr.bin)
	if d != nil {
		r.add(d)
		return nil
	}
	return []*Point{pr.point(fmt.Sprintf(".statement(%#x).absolute", addr), fmt.Sprintf("%#x", addr), off, rg)}
}

// processMarks resolves .mark("name") and .provider("p").mark("name"),
// with wildcards, against the program's SDT notes.
func (r *resolver) processMarks(pr *processProbe, vmlinux *btf.Spec) []*Point {
	cs := pr.pp.Components
	provider, markAt := "*", 1
	if cs[1].Name == "provider" {
		var ok bool
		if provider, ok = r.stringArg(cs[1], "python"); !ok {
			return nil
		}
		markAt = 2
	}
	if len(cs) != markAt+1 || cs[markAt].Name != "mark" {
		r.add(diag.Errorf(diag.Semantic, "S140", pr.pp.Span(), "probe point %s is not built yet in etap", pointText(pr.pp)).
			WithHint("write process(\"/path\").mark(\"name\") or process(\"/path\").provider(\"p\").mark(\"name\")"))
		return nil
	}
	name, ok := r.stringArg(cs[markAt], "name")
	if !ok {
		return nil
	}
	vmRegs, d := ptRegsOffsets(vmlinux, pr.pp, x86Registers)
	if d != nil {
		r.add(d)
		return nil
	}
	regs := map[string]int{}
	for i, n := range x86Registers {
		regs[n] = vmRegs[i]
	}
	var points []*Point
	var names []string
	for _, m := range pr.bin.Marks {
		names = append(names, m.Name)
		okName, _ := path.Match(name, m.Name)
		okProv, _ := path.Match(provider, m.Provider)
		if !okName || !okProv {
			continue
		}
		off, ok := pr.bin.FileOffset(m.Addr)
		if !ok {
			continue
		}
		text := fmt.Sprintf(".mark(%s)", strconv.Quote(m.Name))
		if markAt == 2 {
			text = fmt.Sprintf(".provider(%s)%s", strconv.Quote(m.Provider), text)
		}
		p := pr.point(text, m.Name, off, nil)
		if m.Semaphore != 0 {
			if p.Semaphore, ok = pr.bin.FileOffset(m.Semaphore); !ok {
				r.add(diag.Errorf(diag.Semantic, "S143", pr.pp.Span(), "the semaphore of mark %s of %s is outside its segments", m.Name, pr.bin.Path))
				continue
			}
		}
		// $$name and $$provider name the mark, as in stap.
		p.Fields["$name"] = Field{Name: "$name", CType: "string", Type: String, Constant: true, Text: m.Name}
		p.Fields["$provider"] = Field{Name: "$provider", CType: "string", Type: String, Constant: true, Text: m.Provider}
		for i, spec := range strings.Fields(m.Args) {
			f := sdtArg(spec, regs)
			f.Name = fmt.Sprintf("arg%d", i+1)
			p.Fields[f.Name] = f
		}
		points = append(points, p)
	}
	if len(points) == 0 && !pr.pp.Optional && !pr.pp.Sufficient {
		d := diag.Errorf(diag.Semantic, "S144", cs[markAt].Arg.Span(), "no mark of %s matches %q", pr.bin.Path, name)
		if len(names) == 0 {
			d.WithHint("the program has no SDT probes (.note.stapsdt)")
		} else if near := diag.Closest(name, names); near != "" {
			d.WithHint("did you mean %q?", near)
		}
		r.add(d)
	}
	return points
}

// x86Registers are the members of x86-64's struct pt_regs that SDT
// arguments name.
var x86Registers = []string{"ax", "bx", "cx", "dx", "si", "di", "bp", "sp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"}

// sdtRegister finds the pt_regs member of an x86-64 register name and the
// size of that name's part of it: %rax, %eax, %ax, %al, %r8d...
func sdtRegister(name string) (member string, size int, ok bool) {
	legacy := map[string]string{"ax": "ax", "bx": "bx", "cx": "cx", "dx": "dx", "si": "si", "di": "di", "bp": "bp", "sp": "sp"}
	switch {
	case strings.HasPrefix(name, "r") && len(name) >= 2 && name[1] >= '0' && name[1] <= '9':
		num := strings.TrimRight(name, "dwb")
		size := map[byte]int{'d': 4, 'w': 2, 'b': 1}[name[len(name)-1]]
		if size == 0 {
			size = 8
		}
		if n, err := strconv.Atoi(num[1:]); err != nil || n < 8 || n > 15 {
			return "", 0, false
		}
		return num, size, true
	case len(name) == 3 && (name[0] == 'r' || name[0] == 'e') && legacy[name[1:]] != "":
		return name[1:], map[byte]int{'r': 8, 'e': 4}[name[0]], true
	case legacy[name] != "":
		return name, 2, true
	case len(name) == 2 && name[1] == 'l' && legacy[name[:1]+"x"] != "":
		return name[:1] + "x", 1, true
	case len(name) == 3 && name[2] == 'l' && legacy[name[:2]] != "":
		return name[:2], 1, true // sil, dil, bpl, spl
	}
	return "", 0, false
}

// sdtArg parses one SDT argument, SIZE@OPERAND, where a negative size
// marks a signed value and the operand is a register (%edi), memory at an
// offset from a register (-20(%rbp)) or a constant ($5).
func sdtArg(spec string, regs map[string]int) Field {
	f := Field{Type: Long, CType: "long", Size: 8, Signed: true}
	sizeText, op, ok := strings.Cut(spec, "@")
	size, err := strconv.Atoi(sizeText)
	if !ok || err != nil {
		f.Unsupported, f.CType = "SDT arguments written as "+spec, spec
		return f
	}
	signed := size < 0
	if signed {
		size = -size
	}
	if sizes := map[int]bool{1: true, 2: true, 4: true, 8: true}; !sizes[size] {
		f.Unsupported, f.CType = "SDT arguments written as "+spec, spec
		return f
	}
	f.CType = fmt.Sprintf("int%d_t", 8*size)
	if !signed {
		f.CType = "u" + f.CType
	}
	switch {
	case strings.HasPrefix(op, "$"):
		v, err := strconv.ParseInt(op[1:], 0, 64)
		if err == nil {
			f.Constant, f.Value = true, v
			return f
		}
	case strings.HasPrefix(op, "%"):
		if member, _, ok := sdtRegister(op[1:]); ok {
			f.Offset, f.Size, f.Signed = regs[member], size, signed
			return f
		}
	case strings.HasSuffix(op, ")"):
		disp, reg, _ := strings.Cut(strings.TrimSuffix(op, ")"), "(")
		n := int64(0)
		if disp != "" {
			n, err = strconv.ParseInt(disp, 0, 32)
		}
		if member, regSize, ok := sdtRegister(strings.TrimPrefix(reg, "%")); err == nil && ok && regSize == 8 {
			f.Offset = regs[member]
			f.Deref = &Read{Offset: int(n), Size: size, Signed: signed}
			return f
		}
	}
	f.Unsupported = "SDT arguments written as " + spec
	return f
}

// processEvent resolves process.begin and process.end to the sched
// tracepoints. process.end fires once per process, when its last thread
// exits (group_dead).
func (r *resolver) processEvent(pp *ast.ProbePoint, which string) []*Point {
	event := map[string]string{"begin": "sched_process_exec", "end": "sched_process_exit"}[which]
	fields, err := r.kernel.TracepointFields("sched", event)
	if err != nil {
		r.add(diag.Errorf(diag.Semantic, "S145", pp.Span(), "process.%s needs the tracepoint sched:%s: %v", which, event, err))
		return nil
	}
	p := tracepointPoint("sched", event, pp, fields)
	p.Text = "process." + which
	if which == "end" {
		guard, ok := p.Fields["group_dead"]
		if !ok {
			r.add(diag.Errorf(diag.Semantic, "S145", pp.Span(), "process.end needs the group_dead field of sched:sched_process_exit (Linux 6.15 and later)"))
			return nil
		}
		p.Guard = &guard
	}
	p.Fields = map[string]Field{}
	vmlinux, err := r.kernel.BTF("")
	if err != nil {
		r.add(btfError(pp, "", err))
		return nil
	}
	var task *btf.Struct
	if err := vmlinux.TypeByName("task_struct", &task); err != nil {
		r.add(diag.Errorf(diag.Semantic, "S116", pp.Span(), "the kernel's BTF has no struct task_struct: %v", err))
		return nil
	}
	_, parent, ok1 := findMember(task, "real_parent")
	_, tgid, ok2 := findMember(task, "tgid")
	if !ok1 || !ok2 {
		r.add(diag.Errorf(diag.Semantic, "S116", pp.Span(), "the kernel's struct task_struct has no real_parent or tgid"))
		return nil
	}
	p.Family = &TaskLinks{RealParent: parent, Tgid: tgid}
	return []*Point{p}
}
