package sema

import (
	"fmt"
	"strings"

	"github.com/cilium/ebpf/btf"

	"etap/diag"
	"etap/lang/ast"
)

// A tracepoint gives its handler one of two contexts. Its record (the
// fields of its format file: $prev_pid, $filename) is what a perf
// tracepoint program reads; its typed arguments ($prev, $next on
// sched_switch, with their members through BTF) are what a tp_btf program
// reads. A point starts with its record and switches to its arguments
// when the handler reads one that the record lacks, or a member of one:
//
//	probe kernel.trace("sched:sched_switch") { println($next->pid) }
//
// Only where the script needs them, or where it has so many tracepoints
// that reading none of their fields that tp_btf's cheaper detach pays for
// the kernel's BTF (preferRawTracepoints): a tp_btf program costs parsing
// that BTF at load (100-300 ms, once), while detaching a perf tracepoint
// costs an RCU grace period (~20-30 ms) each, one after the other.

// tracepointArgs switches p to its typed arguments when e needs them, and
// says why a handler cannot read both kinds at one point.
func (r *resolver) tracepointArgs(p *Point, e *ast.TargetVar) *diag.Diagnostic {
	switch p.Kind {
	case PointTracepoint:
		if _, inRecord := p.Fields[e.Name]; inRecord && len(e.Fields) == 0 {
			return nil
		}
	case PointRawTracepoint:
		if _, isArg := p.Fields[e.Name]; !isArg {
			if _, inRecord := p.Record[e.Name]; inRecord {
				if arg := firstTarget(p, e); arg != nil {
					return mixedContext(p, e, arg, p.Fields)
				}
			}
		}
		return nil
	default:
		return nil
	}
	args, order, err := r.rawTracepointArgs(p.Event)
	if err != nil {
		if len(e.Fields) == 0 {
			return nil // the usual "no field" message says it best
		}
		return notBuilt(e.Span(), "member accesses (->) on this tracepoint").
			WithHint("%s has no typed arguments in the kernel's BTF (%v); read its fields with $name", p.Text, err)
	}
	if _, isArg := args[e.Name]; !isArg && len(e.Fields) == 0 {
		return nil
	}
	if other := firstTarget(p, e); other != nil {
		return mixedContext(p, other, e, args)
	}
	p.Kind, p.Record, p.Fields, p.Order = PointRawTracepoint, p.Fields, args, order
	return nil
}

// rawTracepointsWorthIt is how many tracepoints that read no field make
// parsing the kernel's BTF worth it for their detach: measured, see the
// commit that set it.
const rawTracepointsWorthIt = 8

// preferRawTracepoints attaches the tracepoints whose handlers read no
// context variable as tp_btf, where the kernel's BTF has them, when there
// are enough of them: kernel.trace("sched:*") { n[execname()]++ }.
func (r *resolver) preferRawTracepoints(points []*Point) {
	var idle []*Point
	for _, p := range points {
		if p.Kind == PointTracepoint && len(p.Targets) == 0 {
			idle = append(idle, p)
		}
	}
	if len(idle) < rawTracepointsWorthIt {
		return
	}
	for _, p := range idle {
		if args, order, err := r.rawTracepointArgs(p.Event); err == nil {
			p.Kind, p.Record, p.Fields, p.Order = PointRawTracepoint, p.Fields, args, order
		}
	}
}

// firstTarget returns a context variable the handler already reads at p,
// other than e.
func firstTarget(p *Point, e *ast.TargetVar) *ast.TargetVar {
	var first *ast.TargetVar
	for other := range p.Targets {
		if other != e && (first == nil || other.Span().Start.Offset < first.Span().Start.Offset) {
			first = other
		}
	}
	return first
}

// mixedContext reports a handler that reads a record field and a typed
// argument at one tracepoint.
func mixedContext(p *Point, field, arg *ast.TargetVar, args map[string]Field) *diag.Diagnostic {
	at := arg
	if field.Span().Start.Offset > arg.Span().Start.Offset {
		at = field
	}
	return diag.Errorf(diag.Semantic, "S153", at.Span(),
		"%s cannot read both its record's field $%s and its typed argument $%s in one probe", p.Text, targetText(field), targetText(arg)).
		WithHint("read everything through the typed arguments ($%s), or split the probe", strings.Join(sortedKeys(args), ", $"))
}

// rawTracepointArgs returns the typed arguments of the tracepoint event
// from the kernel's BTF: the parameters of the btf_trace_EVENT typedef's
// function after the first (the tracepoint's data), each in one 8-byte
// slot of the tp_btf context.
func (r *resolver) rawTracepointArgs(event string) (args map[string]Field, order []string, err error) {
	params, err := rawTracepointParams(r.kernel, event)
	if err != nil {
		return nil, nil, err
	}
	args = map[string]Field{}
	for i, param := range params {
		f := Field{Name: param.Name, CType: cType(param.Type), BTF: param.Type, Offset: 8 * i, Type: Long}
		size, signed, ok := scalar(param.Type)
		if !ok {
			f.Unsupported = "arguments passed by value as structs"
		}
		f.Size, f.Signed = size, signed
		args[param.Name] = f
		order = append(order, param.Name)
	}
	return args, order, nil
}

// rawTracepointParams returns the typed arguments of a tracepoint, in
// order. The btf_trace_EVENT typedef that tp_btf attaches through has no
// parameter names; the stub function each tracepoint has since Linux 6.4,
// __probestub_EVENT, or else the BPF wrapper __bpf_trace_EVENT, has the
// same parameters with their names.
func rawTracepointParams(k Kernel, event string) ([]btf.FuncParam, error) {
	spec, err := k.BTF("")
	if err != nil {
		return nil, err
	}
	var td *btf.Typedef
	if err := spec.TypeByName("btf_trace_"+event, &td); err != nil {
		return nil, fmt.Errorf("no btf_trace_%s", event)
	}
	for _, name := range []string{"__probestub_" + event, "__bpf_trace_" + event} {
		var fn *btf.Func
		if spec.TypeByName(name, &fn) != nil {
			continue
		}
		if proto, ok := fn.Type.(*btf.FuncProto); ok && len(proto.Params) > 0 {
			return proto.Params[1:], nil
		}
	}
	return nil, fmt.Errorf("no __probestub_%s with its parameters' names", event)
}
