package sema

import (
	"etap/diag"
	"etap/lang/ast"
	"etap/maps"
)

// Statistics: a global that receives `<<<` has type Stats and is read only
// through extractors:
//
//	global lat
//	probe kernel.trace("...") { lat <<< $ret }
//	probe end { printf("%d\n", @avg(lat)); print(@hist_log(lat)) }
//
// A histogram (@hist_log, @hist_linear) stands only as the whole argument
// of print or println, which the parser enforces; its AggregateExpr has
// type Stats, and the printers lower such a call to a histogram record.
// Kernel probes merge the CPUs' values themselves for @count, @sum, @min,
// @max and @avg; histograms and @variance are left to user space.

// StatUse is what the script asks of a statistic besides its count, sum,
// min and max: a histogram and @variance, which the value must keep.
type StatUse struct {
	maps.Stat
	// HistAt and VarianceAt are where the histogram and @variance were
	// first used, to explain a conflict.
	HistAt, VarianceAt diag.Span
}

// StatOps maps the extractors to what they read.
var StatOps = map[string]maps.StatOp{
	"count": maps.OpCount, "sum": maps.OpSum, "min": maps.OpMin, "max": maps.OpMax,
	"avg": maps.OpAvg, "variance": maps.OpVariance,
}

// StatOp returns what an extractor (@count...) reads; ok is false for a
// histogram.
func StatOp(e *ast.AggregateExpr) (op maps.StatOp, ok bool) {
	op, ok = StatOps[e.Op]
	return op, ok
}

// maxShift bounds @variance's shift: the mean is kept as v << shift in a
// long, and the squares of deviations need room too.
const maxShift = 62

// statTarget checks the statistic that `<<<` feeds or an extractor reads:
// a global scalar or an element of a global array, which then has type
// Stats. It returns nil when e is none of these.
func (r *resolver) statTarget(e ast.Expr, what string) *Var {
	var v *Var
	switch x := unparen(e).(type) {
	case *ast.Ident:
		v = r.scalar(x)
		if !v.Global {
			r.addReport(diag.Errorf(diag.Semantic, "S070", x.Span(), "statistic '%s' must be a global", x.Name).
				WithHint("declare it at the top level: global %s", x.Name))
			return nil
		}
	case *ast.IndexExpr:
		v = r.index(x)
	default:
		r.addReport(diag.Errorf(diag.Semantic, "S071", e.Span(), "%s needs a statistic: a global or a global array's element", what))
	}
	if v == nil || r.setType(v, Stats, e.Span()) != Stats {
		return nil
	}
	r.prog.Types[e] = Stats
	return v
}

// statAssign checks `s <<< v`.
func (r *resolver) statAssign(e *ast.AssignExpr) Type {
	if v := r.statTarget(e.X, "<<<"); v != nil {
		v.Written = true
	}
	r.expect(e.Y, r.expr(e.Y, Long), Long)
	return Long
}

// aggregate checks an extractor or a histogram.
func (r *resolver) aggregate(e *ast.AggregateExpr) Type {
	v := r.statTarget(e.X, "@"+e.Op)
	if v != nil {
		v.Read = true
		if v.Stat == nil {
			v.Stat = &StatUse{}
		}
		r.statUse(v.Stat, v.Name, e)
	}
	if op, ok := StatOp(e); r.kernelSide && (!ok || op == maps.OpVariance) {
		r.addReport(diag.Errorf(diag.Semantic, "S072", e.Span(), "@%s cannot run in a kernel probe yet", e.Op).
			WithHint("read @count, @sum, @min, @max and @avg there; histograms and @variance in an end or timer probe, which run in user space"))
	}
	if _, ok := StatOp(e); ok {
		return Long
	}
	return Stats
}

// statUse records the histogram or variance shift e asks of a statistic
// and reports values stap refuses and uses that conflict.
func (r *resolver) statUse(u *StatUse, name string, e *ast.AggregateExpr) {
	args := make([]int64, len(e.Args))
	for i, a := range e.Args {
		if lit, ok := a.(*ast.IntLit); ok {
			args[i] = lit.Value
		}
	}
	switch e.Op {
	case "variance":
		shift := int64(0)
		if len(args) == 1 {
			shift = args[0]
		}
		switch {
		case shift < 0 || shift > maxShift:
			r.addReport(diag.Errorf(diag.Semantic, "S073", e.Span(), "@variance shift %d is out of range", shift).
				WithHint("use a shift from 0 to %d", maxShift))
		case !u.Variance:
			u.Variance, u.Shift, u.VarianceAt = true, int(shift), e.Span()
		case int64(u.Shift) != shift:
			r.addReport(diag.Errorf(diag.Semantic, "S074", e.Span(), "@variance of '%s' with shift %d, but with %d elsewhere", name, shift, u.Shift).
				WithNote(u.VarianceAt, "shift %d is given here", u.Shift).
				WithHint("a statistic keeps one fixed-point precision: use one shift"))
		}
	case "hist_log", "hist_linear":
		h := maps.Stat{Hist: maps.HistLog}
		if e.Op == "hist_linear" {
			h = maps.Stat{Hist: maps.HistLinear, Lo: args[0], Hi: args[1], Width: args[2]}
			if msg := linearProblem(&h); msg != "" {
				r.addReport(diag.Errorf(diag.Semantic, "S075", e.Span(), "%s", msg).
					WithHint("@hist_linear(s, low, high, width) needs low < high, width > 0 and at most %d buckets of width", maps.MaxLinearBuckets-2))
				return
			}
		}
		switch {
		case u.Hist == maps.HistNone:
			u.Hist, u.Lo, u.Hi, u.Width, u.HistAt = h.Hist, h.Lo, h.Hi, h.Width, e.Span()
		case u.Hist != h.Hist || u.Lo != h.Lo || u.Hi != h.Hi || u.Width != h.Width:
			r.addReport(diag.Errorf(diag.Semantic, "S076", e.Span(), "conflicting histograms for '%s'", name).
				WithNote(u.HistAt, "its histogram is first given here").
				WithHint("a statistic keeps one histogram: use a second statistic for another"))
		}
	}
}

// linearProblem says what is wrong with a linear histogram's bounds.
func linearProblem(h *maps.Stat) string {
	switch {
	case h.Width <= 0:
		return "histogram width must be positive"
	case h.Hi <= h.Lo:
		return "histogram high bound must be above its low bound"
	case (h.Hi-h.Lo)/h.Width+3 > maps.MaxLinearBuckets || h.Hi-h.Lo < 0:
		return "histogram has too many buckets"
	}
	return ""
}

// statValue reports a statistic used as a plain value.
func (r *resolver) statValue(e ast.Expr, name string) {
	r.addReport(diag.Errorf(diag.Semantic, "S077", e.Span(), "statistic '%s' has no value of its own", name).
		WithHint("read it with an extractor: @count, @sum, @min, @max, @avg or @variance"))
}

// statForeach refuses an aggregate sort of an array that is not a
// statistic. A statistic array sorted by "value" sorts by @count, as in
// stap.
func (r *resolver) statForeach(s *ast.ForeachStmt, arr *Var) {
	if arr == nil {
		return
	}
	if s.SortAggregate != "" && arr.Type != Stats && arr.Type != Unknown {
		r.addReport(diag.Errorf(diag.Semantic, "S092", s.Span(), "array '%s' is not a statistic: it has no @%s to sort by", arr.Name, s.SortAggregate).
			WithHint("sort by its value, as in foreach (k in %s-)", arr.Name))
	}
}

func unparen(e ast.Expr) ast.Expr {
	for {
		p, ok := e.(*ast.ParenExpr)
		if !ok {
			return e
		}
		e = p.X
	}
}

// histBucket checks `@hist_log(s)[b]` and `b in @hist_log(s)`: one long,
// a bucket number.
func (r *resolver) histBucket(h *ast.AggregateExpr, index []ast.Expr) {
	r.expr(h, Unknown)
	if len(index) != 1 || index[0] == nil {
		r.addReport(diag.Errorf(diag.Semantic, "S093", h.Span(), "a histogram is indexed by one bucket number"))
		return
	}
	r.expect(index[0], r.expr(index[0], Long), Long)
}

// histForeach checks `foreach (b in @hist_log(s) limit n)`: b takes each
// bucket number in turn.
func (r *resolver) histForeach(s *ast.HistForeachStmt) {
	r.expr(s.Hist, Unknown)
	switch {
	case len(s.Keys) != 1:
		r.addReport(diag.Errorf(diag.Semantic, "S093", s.Span(), "a histogram is iterated with one bucket number"))
	case s.Value != nil || s.Slice != nil || s.SortColumn < 0 || s.SortDesc || s.SortAggregate != "":
		r.addReport(diag.Errorf(diag.Semantic, "S094", s.Span(), "a histogram's buckets are visited in order, without values, slices or other sorts").
			WithHint("read each bucket's count as @hist_...(s)[b]"))
	default:
		kv := r.scalar(s.Keys[0])
		kv.Written = true
		if !kv.Global {
			r.foreachKeys[kv] = true
		}
		r.setType(kv, Long, s.Keys[0].Span())
	}
	if s.Limit != nil {
		r.expect(s.Limit, r.expr(s.Limit, Long), Long)
	}
	r.loopBody(s.Body)
}
