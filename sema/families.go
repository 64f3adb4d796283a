package sema

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"etap/diag"
	"etap/lang/ast"
)

// A family is one kind of probe point: it recognises its points and resolves
// them to what etap attaches. Adding a family means adding one value to
// families (and its attachment in codegen and loader).
type family struct {
	// prefix is the dotted component names the family starts with.
	prefix []string
	// resolve turns a point of the family into zero or more Points;
	// it reports problems through r.
	resolve func(r *resolver, pp *ast.ProbePoint) []*Point
	// list, when set, lists the points a pattern matches for -l, where
	// resolve does not take the pattern's wildcards; otherwise resolve
	// lists them.
	list func(r *resolver, pp *ast.ProbePoint) []*Point
}

var families = []family{
	{prefix: []string{"begin"}, resolve: sequenced(PointBegin)},
	{prefix: []string{"end"}, resolve: sequenced(PointEnd)},
	{prefix: []string{"error"}, resolve: sequenced(PointError)},
	{prefix: []string{"never"}, resolve: sequenced(PointNever)},
	{prefix: []string{"timer"}, resolve: resolveTimer, list: listNames(func() []string { return []string{"timer.profile"} }, resolveTimer)},
	{prefix: []string{"kernel", "trace"}, resolve: resolveTracepoint},
	{prefix: []string{"kernel", "function"}, resolve: resolveFunction},
	{prefix: []string{"kprobe"}, resolve: resolveFunction},
	{prefix: []string{"module"}, resolve: resolveFunction},
	{prefix: []string{"process"}, resolve: resolveProcess},
	{prefix: []string{"perf"}, resolve: resolvePerf, list: listNames(perfPoints, resolvePerf)},
}

// unbuilt are families etap knows but cannot attach yet.
var unbuilt = map[string]string{
	"procfs": "",
	"kernel": "",
}

func (f *family) matches(pp *ast.ProbePoint) bool {
	if len(pp.Components) < len(f.prefix) {
		return false
	}
	for i, name := range f.prefix {
		if pp.Components[i].Name != name {
			return false
		}
	}
	return true
}

// resolvePoint finds the family of pp and resolves it.
func (r *resolver) resolvePoint(pp *ast.ProbePoint) []*Point {
	for i := range families {
		if families[i].matches(pp) {
			return families[i].resolve(r, pp)
		}
	}
	first := pp.Components[0]
	if hint, ok := unbuilt[first.Name]; ok {
		d := diag.Errorf(diag.Semantic, "S101", pp.Span(), "probe point %s is not built yet in etap", pointText(pp))
		if hint != "" {
			d.WithHint("%s", hint)
		}
		r.add(d)
		return nil
	}
	d := diag.Errorf(diag.Semantic, "S102", first.Span(), "unknown probe point %s", pointText(pp))
	names := []string{"begin", "end", "error", "never", "timer", "kernel", "kprobe", "module", "process", "perf"}
	if near := diag.Closest(first.Name, names); near != "" {
		d.WithHint("did you mean '%s'?", near)
	} else {
		d.WithHint("etap knows begin, end, error, never, timer.s(N), timer.ms(N), kernel.trace(\"group:event\") and kernel.function(\"name\")")
	}
	r.add(d)
	return nil
}

// sequenced resolves begin, end, error and never, with their optional
// sequence number: begin(-1) runs before begin.
func sequenced(kind PointKind) func(r *resolver, pp *ast.ProbePoint) []*Point {
	return func(r *resolver, pp *ast.ProbePoint) []*Point {
		c := pp.Components[0]
		if len(pp.Components) > 1 {
			r.add(diag.Errorf(diag.Semantic, "S103", pp.Components[1].Span(), "%s takes no further components", c.Name).
				WithHint("write 'probe %s { ... }'", c.Name))
			return nil
		}
		p := &Point{Text: c.Name, Kind: kind, Span: pp.Span()}
		if c.Arg != nil {
			n, ok := r.intArg(c.Name, c)
			if !ok {
				return nil
			}
			p.Sequence = n
			p.Text = fmt.Sprintf("%s(%d)", c.Name, n)
		}
		return []*Point{p}
	}
}

var timerUnits = map[string]time.Duration{
	"s": time.Second, "sec": time.Second,
	"ms": time.Millisecond, "msec": time.Millisecond,
	"us": time.Microsecond, "usec": time.Microsecond,
	"ns": time.Nanosecond, "nsec": time.Nanosecond,
}

// otherTimers are stap's timers etap does not have yet: no "did you mean"
// for them.
var otherTimers = map[string]bool{"jiffies": true}

// resolveTimer resolves timer.s(N), timer.ms(N), timer.hz(N) and friends:
// handlers that run in user space every N units; and timer.profile, which
// samples every CPU in the kernel.
func resolveTimer(r *resolver, pp *ast.ProbePoint) []*Point {
	// timer.profile is stap's tapset alias of timer.profile.tick.
	if cs := pp.Components; len(cs) >= 2 && cs[1].Name == "profile" && cs[1].Arg == nil &&
		(len(cs) == 2 || len(cs) == 3 && cs[2].Name == "tick" && cs[2].Arg == nil) {
		return []*Point{profilePoint(pp)}
	}
	if len(pp.Components) != 2 {
		r.add(diag.Errorf(diag.Semantic, "S104", pp.Span(), "probe point %s is not built yet in etap", pointText(pp)).
			WithHint("etap has timer.s(N), timer.ms(N), timer.us(N), timer.ns(N), timer.hz(N) and timer.profile"))
		return nil
	}
	c := pp.Components[1]
	unit, ok := timerUnits[c.Name]
	if c.Name == "hz" {
		unit, ok = time.Second, true
	}
	if !ok {
		d := diag.Errorf(diag.Semantic, "S104", c.Span(), "probe point %s is not built yet in etap", pointText(pp))
		if near := diag.Closest(c.Name, []string{"ms", "s", "us", "ns", "msec", "sec", "usec", "nsec"}); near != "" && !otherTimers[c.Name] {
			d.WithHint("did you mean 'timer.%s(N)'?", near)
		}
		r.add(d)
		return nil
	}
	if c.Arg == nil {
		r.add(diag.Errorf(diag.Semantic, "S105", c.Span(), "timer.%s needs an interval", c.Name).
			WithHint("write 'probe timer.%s(1) { ... }'", c.Name))
		return nil
	}
	n, ok := r.intArg("timer."+c.Name, c)
	if !ok {
		return nil
	}
	if n <= 0 {
		r.add(diag.Errorf(diag.Semantic, "S106", c.Arg.Span(), "timer interval must be positive, not %d", n))
		return nil
	}
	period := time.Duration(n) * unit
	if c.Name == "hz" {
		period = unit / time.Duration(n)
		if period == 0 {
			r.add(diag.Errorf(diag.Semantic, "S106", c.Arg.Span(), "timer.hz(%d) is faster than one a nanosecond", n))
			return nil
		}
	}
	return []*Point{{
		Text:   fmt.Sprintf("timer.%s(%d)", c.Name, n),
		Kind:   PointTimer,
		Period: period,
		Span:   pp.Span(),
	}}
}

// resolveTracepoint resolves kernel.trace("group:event"), with wildcards,
// against the tracepoints tracefs lists.
func resolveTracepoint(r *resolver, pp *ast.ProbePoint) []*Point {
	c := pp.Components[1]
	if len(pp.Components) != 2 {
		r.add(diag.Errorf(diag.Semantic, "S107", pp.Components[2].Span(), "kernel.trace takes no further components"))
		return nil
	}
	lit, ok := c.Arg.(*ast.StringLit)
	if !ok {
		r.add(diag.Errorf(diag.Semantic, "S108", c.Span(), "kernel.trace needs a tracepoint name").
			WithHint("write kernel.trace(\"group:event\"), e.g. kernel.trace(\"sched:sched_switch\")"))
		return nil
	}
	pattern := lit.Value
	if !strings.Contains(pattern, ":") {
		pattern = "*:" + pattern
	}
	// An exact name needs no listing of the thousands of tracepoints.
	if group, event, _ := strings.Cut(pattern, ":"); !strings.ContainsAny(pattern, "*?[") {
		if fields, err := r.kernel.TracepointFields(group, event); err == nil {
			return []*Point{tracepointPoint(group, event, pp, fields)}
		}
	}
	all, err := r.kernel.Tracepoints()
	if err != nil {
		r.add(diag.Errorf(diag.Semantic, "S109", c.Span(), "cannot list tracepoints: %v", err))
		return nil
	}
	var points []*Point
	matched := false
	for _, name := range all {
		if ok, _ := path.Match(pattern, name); !ok {
			continue
		}
		matched = true
		group, event, _ := strings.Cut(name, ":")
		fields, err := r.kernel.TracepointFields(group, event)
		if err != nil {
			r.add(diag.Errorf(diag.Semantic, "S111", pp.Span(), "tracepoint %s: %v", name, err))
			continue
		}
		points = append(points, tracepointPoint(group, event, pp, fields))
	}
	if !matched && !pp.Optional && !pp.Sufficient {
		d := diag.Errorf(diag.Semantic, "S110", c.Arg.Span(), "no tracepoint matches %q", lit.Value)
		if near := diag.Closest(lit.Value, tracepointNames(all, strings.Contains(lit.Value, ":"))); near != "" {
			d.WithHint("did you mean %q?", near)
		}
		r.add(d)
	}
	return points
}

// tracepointNames gives the names to suggest from: "group:event", or just
// the events when the script named no group.
func tracepointNames(all []string, withGroup bool) []string {
	if withGroup {
		return all
	}
	events := make([]string, len(all))
	for i, name := range all {
		_, events[i], _ = strings.Cut(name, ":")
	}
	return events
}

// tracepointPoint makes the Point of one tracepoint, with its integer
// fields as context variables.
func tracepointPoint(group, event string, pp *ast.ProbePoint, tf []TracepointField) *Point {
	fields := make(map[string]Field, len(tf))
	order := make([]string, 0, len(tf))
	for _, f := range tf {
		order = append(order, f.Name)
		field := Field{Name: f.Name, CType: f.CType, Offset: f.Offset, Size: f.Size, Signed: f.Signed, Type: Long}
		switch {
		case strings.HasPrefix(f.CType, "__data_loc") && strings.HasSuffix(f.CType, "char"):
			field.Type, field.DataLoc = String, true
		case f.Array && (f.CType == "char" || f.CType == "unsigned char"):
			field.Type, field.Address = String, true
		case f.Array || f.Size > 8:
			field.Unsupported = "array fields"
		}
		fields[f.Name] = field
	}
	return &Point{
		Text:   fmt.Sprintf("kernel.trace(\"%s:%s\")", group, event),
		Kind:   PointTracepoint,
		Kernel: true,
		Group:  group,
		Event:  event,
		Fields: fields,
		Order:  order,
		Span:   pp.Span(),
	}
}

// intArg returns the integer argument of a component.
func (r *resolver) intArg(what string, c *ast.Component) (int64, bool) {
	switch a := c.Arg.(type) {
	case *ast.IntLit:
		return a.Value, true
	case *ast.UnaryExpr:
		if lit, ok := a.X.(*ast.IntLit); ok && a.Op == "-" {
			return -lit.Value, true
		}
	}
	r.add(diag.Errorf(diag.Semantic, "S114", c.Arg.Span(), "%s needs a number", what))
	return 0, false
}

// pointText renders a probe point as written, for messages.
func pointText(pp *ast.ProbePoint) string {
	var parts []string
	for _, c := range pp.Components {
		s := c.Name
		switch a := c.Arg.(type) {
		case *ast.StringLit:
			s += "(" + strconv.Quote(a.Value) + ")"
		case *ast.IntLit:
			s += "(" + a.Text + ")"
		case nil:
			if c.HasParens {
				s += "()"
			}
		default:
			s += "(...)"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ".")
}
