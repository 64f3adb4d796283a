package sema

import (
	"fmt"
	"sort"
	"time"

	"etap/diag"
	"etap/lang/ast"
)

// Perf event probes fire on a perf event's overflow, on every CPU: one
// perf_event_open per online CPU, each with the handler attached as a BPF
// perf_event program, whose context holds the registers of the sample.
//
//	perf.sw.cpu_clock.sample(1000000)   perf.type(1).config(0).hz(99)
//	perf.hw.cpu_cycles                  timer.profile

// PerfEvent is the perf_event_attr a perf point opens on every CPU.
type PerfEvent struct {
	// Type and Config are perf_event_attr's type and config.
	Type   uint32
	Config uint64
	// Period fires the handler every Period events; Freq, when set
	// instead, asks the kernel to adjust the period to Freq samples a
	// second.
	Period, Freq uint64
}

// The perf_event_attr types etap names.
const (
	perfTypeHardware = 0
	perfTypeSoftware = 1
)

// Hardware reports whether the event needs the CPU's performance
// counters, which virtual machines often lack.
func (e *PerfEvent) Hardware() bool { return e.Type == perfTypeHardware }

// perfSoftware and perfHardware are stap's perf.sw.* and perf.hw.* names
// and their configs (enum perf_sw_ids and perf_hw_id).
var perfSoftware = map[string]uint64{
	"cpu_clock": 0, "task_clock": 1, "page_faults": 2, "context_switches": 3,
	"cpu_migrations": 4, "page_faults_min": 5, "page_faults_maj": 6,
	"alignment_faults": 7, "emulation_faults": 8,
}

var perfHardware = map[string]uint64{
	"cpu_cycles": 0, "instructions": 1, "cache_references": 2, "cache_misses": 3,
	"branch_instructions": 4, "branch_misses": 5, "bus_cycles": 6,
	"stalled_cycles_frontend": 7, "stalled_cycles_backend": 8, "ref_cpu_cycles": 9,
}

// defaultPerfPeriod is stap's sample period when a perf point names none.
const defaultPerfPeriod = 1000000

// profileHz is the rate of timer.profile. stap's fires on every scheduler
// tick, at CONFIG_HZ; etap samples the cpu-clock at Debian's HZ instead.
const profileHz = 250

// profilePoint is timer.profile: the cpu-clock of every CPU, sampled
// every tick.
func profilePoint(pp *ast.ProbePoint) *Point {
	return &Point{
		Text:   "timer.profile",
		Kind:   PointPerf,
		Kernel: true,
		Perf:   &PerfEvent{Type: perfTypeSoftware, Config: perfSoftware["cpu_clock"], Period: uint64(time.Second / profileHz)},
		Span:   pp.Span(),
		PtRegs: true,
	}
}

// resolvePerf resolves perf.sw.NAME, perf.hw.NAME and perf.type(T).config(C),
// each with an optional .sample(N) or .hz(F).
func resolvePerf(r *resolver, pp *ast.ProbePoint) []*Point {
	cs := pp.Components
	if len(cs) < 2 {
		r.add(perfShape(pp.Span()))
		return nil
	}
	ev := &PerfEvent{Period: defaultPerfPeriod}
	var text string
	var rest []*ast.Component
	switch cs[1].Name {
	case "sw", "hw":
		names, typ := perfSoftware, uint32(perfTypeSoftware)
		if cs[1].Name == "hw" {
			names, typ = perfHardware, perfTypeHardware
		}
		if len(cs) < 3 || cs[2].Arg != nil || cs[1].Arg != nil {
			r.add(perfShape(pp.Span()))
			return nil
		}
		config, ok := names[cs[2].Name]
		if !ok {
			d := diag.Errorf(diag.Semantic, "S150", cs[2].Span(), "unknown perf event perf.%s.%s", cs[1].Name, cs[2].Name)
			if near := diag.Closest(cs[2].Name, sortedKeys(names)); near != "" {
				d.WithHint("did you mean perf.%s.%s?", cs[1].Name, near)
			}
			r.add(d)
			return nil
		}
		ev.Type, ev.Config = typ, config
		text = fmt.Sprintf("perf.%s.%s", cs[1].Name, cs[2].Name)
		rest = cs[3:]
	case "type":
		if len(cs) < 3 || cs[2].Name != "config" || cs[1].Arg == nil || cs[2].Arg == nil {
			r.add(perfShape(pp.Span()))
			return nil
		}
		typ, ok1 := r.intArg("perf.type", cs[1])
		config, ok2 := r.intArg("perf.config", cs[2])
		if !ok1 || !ok2 {
			return nil
		}
		if typ < 0 || typ > 1<<31 || config < 0 {
			r.add(diag.Errorf(diag.Semantic, "S151", cs[1].Span(), "perf type and config must be non-negative"))
			return nil
		}
		ev.Type, ev.Config = uint32(typ), uint64(config)
		text = fmt.Sprintf("perf.type(%d).config(%d)", typ, config)
		rest = cs[3:]
	default:
		r.add(perfShape(pp.Span()))
		return nil
	}
	switch {
	case len(rest) == 0:
	case len(rest) == 1 && (rest[0].Name == "sample" || rest[0].Name == "hz") && rest[0].Arg != nil:
		n, ok := r.intArg(rest[0].Name, rest[0])
		if !ok {
			return nil
		}
		if n <= 0 {
			r.add(diag.Errorf(diag.Semantic, "S106", rest[0].Arg.Span(), "%s must be positive, not %d", rest[0].Name, n))
			return nil
		}
		if rest[0].Name == "sample" {
			ev.Period = uint64(n)
		} else {
			ev.Period, ev.Freq = 0, uint64(n)
		}
		text += fmt.Sprintf(".%s(%d)", rest[0].Name, n)
	default:
		r.add(diag.Errorf(diag.Semantic, "S152", rest[0].Span(), "probe point %s is not built yet in etap", pointText(pp)).
			WithHint("etap's perf points end in .sample(N) or .hz(F); .process and .counter are not built yet"))
		return nil
	}
	return []*Point{{Text: text, Kind: PointPerf, Kernel: true, Perf: ev, Span: pp.Span(), PtRegs: true}}
}

func perfShape(span diag.Span) *diag.Diagnostic {
	return diag.Errorf(diag.Semantic, "S152", span, "a perf probe point is perf.sw.NAME, perf.hw.NAME or perf.type(T).config(C)").
		WithHint("e.g. perf.sw.cpu_clock.sample(1000000) or perf.type(1).config(0).hz(100)")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// perfPoints lists every named perf point, for -l.
func perfPoints() []string {
	var names []string
	for _, k := range sortedKeys(perfSoftware) {
		names = append(names, "perf.sw."+k)
	}
	for _, k := range sortedKeys(perfHardware) {
		names = append(names, "perf.hw."+k)
	}
	return names
}
