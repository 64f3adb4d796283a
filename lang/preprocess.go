package lang

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"

	"etap/diag"
	"etap/lang/ast"
)

// The preprocessor works on tokens between the lexer and the parser, in
// stap's two stages, which run interleaved: macros first, then
// conditionals on the expanded tokens. So a condition may use a macro,
//
//	@define new %( kernel_v >= "5.8" %)
//	%( @new %? probe kernel.trace("x") {} %: probe begin {} %)
//
// and a macro defined in a branch that is not taken does not exist.
// Script arguments were substituted by the lexer, before either stage.

// Limits of expansion, so that a macro that expands to itself, or to
// exponentially many tokens, gets an error rather than the machine: macros
// may be nested 1000 deep, and expand to expansionBudget tokens more than
// eight times the tokens of the file.
const (
	maxExpansionDepth = 1000
	expansionBudget   = 1 << 18
)

// ptok is a token in the preprocessor, with where it came from.
type ptok struct {
	lexer.Token
	org *origin
}

// span is the extent of the token in the source, and its notes.
func (t ptok) span() diag.Span {
	if t.org != nil {
		return diag.Span{Start: toPos(t.Pos), End: t.org.end}
	}
	return diag.Span{Start: toPos(t.Pos), End: tokenEnd(&t.Token)}
}

func (t ptok) notes() []diag.Related { return t.org.notes() }

func (t ptok) isOp(op string) bool { return isOp(&t.Token, op) }

// macro is an @define: a name, its parameters and its body. A parameter
// of an invoked macro is a macro too, with the tokens of its argument as
// its body and env the activation they were written in, so that an
// argument that names a parameter of an outer macro finds it; at and end
// are the span of the invocation that passed it.
type macro struct {
	name    string
	message string // "expanded from macro '@name'", "in an argument of macro '@name'"
	params  []string
	body    []ptok
	def     diag.Span // the name in the @define
	library bool      // from a library file: sees only library macros
	param   bool
	env     *activation
	at      lexer.Position
	end     diag.Pos
}

// activation is one macro invocation being expanded.
type activation struct {
	call   ptok     // the @name token
	end    diag.Pos // the end of the invocation, after its arguments
	m      *macro
	cursor int
	params map[string]*macro
}

// Macros are @define macros that scripts may use without defining them,
// as stap's library files (*.stpm) provide: a file's own macros come
// first, then these. Add them before parsing; a Macros is not safe for
// AddFile and parses at the same time.
type Macros struct {
	defs map[string]*macro
}

// AddFile reads src, a library macro file, which may hold nothing but
// @define declarations (and conditionals around them), and adds its
// macros. facts decide its conditionals; nil means HostFacts. It adds
// none of them when the file has an error, or defines a macro that an
// earlier file defined.
func (m *Macros) AddFile(filename, src string, facts *Facts) *diag.List {
	s := scan(filename, src, nil)
	diags := &diag.List{Items: s.diags}
	pp := newPreprocessor(s, Options{Facts: facts})
	pp.run()
	diags.Items = append(diags.Items, pp.diags...)
	if t := pp.out[0]; !t.EOF() && t.Type != tokError {
		diags.Add(diag.Errorf(diag.Parse, CodeMacro, pp.spanAt(0), "a library macro file may hold only @define declarations; saw %s", describe(&t)).
			WithHint("move code into a .stp tapset"))
	}
	for _, name := range slices.Sorted(maps.Keys(pp.file)) {
		if old, ok := m.defs[name]; ok {
			diags.Add(diag.Errorf(diag.Parse, CodeMacro, pp.file[name].def, "library macro '@%s' is defined twice", name).
				WithNote(old.def, "first defined here"))
		}
	}
	diags.Sort()
	if diags.HasErrors() {
		return diags
	}
	if m.defs == nil {
		m.defs = map[string]*macro{}
	}
	for name, def := range pp.file {
		def.library = true
		m.defs[name] = def
	}
	return diags
}

// cond is one open %( ... %): its %( and which part of it is kept.
type cond struct {
	open ptok
	keep bool // the current branch is kept
	els  bool // past %:
}

// preprocessor expands macros and conditionals; see the comment above.
type preprocessor struct {
	in       []lexer.Token
	inOrg    []*origin
	next     int
	acts     []*activation
	file     map[string]*macro // this file's macros
	lib      *Macros
	opts     Options
	conds    []cond
	out      []lexer.Token
	outOrg   []*origin
	diags    []*diag.Diagnostic
	quiet    int // inside a branch not taken: errors there do not count
	expanded int // tokens read from macro bodies so far
	budget   int // how many they may be
	// expansions are the macro invocations written in the file.
	expansions []*ast.Expansion
}

func newPreprocessor(s *scanner, opts Options) *preprocessor {
	return &preprocessor{in: s.toks, inOrg: s.origins, file: map[string]*macro{}, lib: opts.Macros, opts: opts,
		out: make([]lexer.Token, 0, len(s.toks)), budget: expansionBudget + 8*len(s.toks)}
}

// preprocess runs the preprocessor over the scanner's tokens, or hands
// them on untouched when nothing in them is for the preprocessor.
func preprocess(s *scanner, opts Options) *preprocessor {
	pp := newPreprocessor(s, opts)
	if !needsPreprocessing(s.toks, opts.Macros) {
		pp.out, pp.outOrg = s.toks, s.origins
		return pp
	}
	pp.run()
	return pp
}

// needsPreprocessing reports whether toks hold anything for the
// preprocessor: most scripts have no macros and no conditionals.
func needsPreprocessing(toks []lexer.Token, lib *Macros) bool {
	for i := range toks {
		t := &toks[i]
		switch {
		case t.Type == tokOp && (t.Value == "%(" || t.Value == "%?" || t.Value == "%:" || t.Value == "%)"):
			return true
		case t.Type == tokAt && t.Value == "@define":
			return true
		case t.Type == tokAt && lib != nil && lib.defs[t.Value[1:]] != nil:
			return true
		}
	}
	return false
}

// run preprocesses the whole input into out, ending with the EOF token.
func (pp *preprocessor) run() {
	for {
		t, ok := pp.scan()
		if !ok {
			break
		}
		pp.emit(t)
	}
	pp.emit(ptok{Token: pp.in[len(pp.in)-1]})
}

func (pp *preprocessor) emit(t ptok) {
	if t.org != nil && pp.outOrg == nil {
		pp.outOrg = make([]*origin, len(pp.out), cap(pp.out))
	}
	pp.out = append(pp.out, t.Token)
	if pp.outOrg != nil {
		pp.outOrg = append(pp.outOrg, t.org)
	}
}

// spanAt is the span of output token i.
func (pp *preprocessor) spanAt(i int) diag.Span {
	t := ptok{Token: pp.out[i]}
	if pp.outOrg != nil {
		t.org = pp.outOrg[i]
	}
	return t.span()
}

// fail reports a problem at t and puts an error token in its place, so
// that the parser abandons the declaration around it without a second
// message. Inside a branch not taken it does neither, as stap ignores
// errors there.
func (pp *preprocessor) fail(t ptok, code, hint, format string, args ...any) {
	if pp.quiet > 0 {
		return
	}
	d := diag.Errorf(diag.Parse, code, t.span(), format, args...)
	d.Related = append(d.Related, t.notes()...)
	if hint != "" {
		d.Hint = hint
	}
	pp.diags = append(pp.diags, d)
	pp.emit(ptok{Token: lexer.Token{Type: tokError, Value: t.Value, Pos: t.Pos}, org: t.org})
}

// ---- stage 1: macros ----

// read returns the next token of the current source: the file, or the
// body of the innermost macro being expanded; ok is false at the end of
// either.
func (pp *preprocessor) read() (ptok, bool) {
	if len(pp.acts) == 0 {
		if pp.next >= len(pp.in)-1 { // the EOF token stays for run
			return ptok{}, false
		}
		t := ptok{Token: pp.in[pp.next]}
		if pp.inOrg != nil {
			t.org = pp.inOrg[pp.next]
		}
		pp.next++
		return t, true
	}
	a := pp.acts[len(pp.acts)-1]
	if a.cursor >= len(a.m.body) {
		return ptok{}, false
	}
	if pp.expanded++; pp.expanded > pp.budget {
		pp.fail(pp.acts[0].call, CodeMacro, "does a macro expand to itself?", "macros expand to more than %d tokens", pp.budget)
		pp.acts = pp.acts[:0] // give up the whole expansion
		return pp.read()
	}
	t := a.m.body[a.cursor]
	a.cursor++
	if a.m.param {
		// An argument written in the file stands where its invocation does,
		// like the body around it; one written in a macro body does so
		// already.
		if a.m.env == nil {
			t.org = &origin{end: a.m.end, note: diag.Related{Span: t.span(), Message: a.m.message}, inner: t.org}
			t.Pos = a.m.at
		}
		return t, true
	}
	// A token of a macro's body stands where the macro was invoked, so
	// that the positions of the tokens, and so the spans of the nodes made
	// of them, never go back; a note points at where the body has it.
	t.org = &origin{end: a.end, note: diag.Related{Span: t.span(), Message: a.m.message}, inner: t.org, outer: a.call.org}
	t.Pos = a.call.Pos
	return t, true
}

// top is the innermost activation, or nil outside any macro.
func (pp *preprocessor) top() *activation {
	if len(pp.acts) == 0 {
		return nil
	}
	return pp.acts[len(pp.acts)-1]
}

// scan1 returns the next token with macros expanded and definitions taken
// in; in a branch not taken (skipping) definitions are ignored, as stap
// does, but invocations still expand, since they may hold %( and %).
func (pp *preprocessor) scan1(skipping bool) (ptok, bool) {
	for {
		t, ok := pp.read()
		if !ok {
			if len(pp.acts) == 0 {
				return t, false
			}
			pp.acts = pp.acts[:len(pp.acts)-1]
			continue
		}
		if t.Type != tokAt {
			return t, true
		}
		if t.Value == "@define" && !skipping {
			if len(pp.acts) > 0 {
				pp.fail(t, CodeMacro, "define macros at the top level", "'@define' inside a macro body")
				continue
			}
			pp.define(t)
			continue
		}
		m := pp.lookup(t.Value[1:])
		if m == nil {
			return t, true // an @operator such as @cast, for the parser
		}
		pp.invoke(t, m)
	}
}

// lookup finds the macro an @name invokes: a parameter of the macro being
// expanded, a macro of this file, a library macro. A library macro's body
// sees only library macros, as in stap.
func (pp *preprocessor) lookup(name string) *macro {
	a := pp.top()
	if a != nil && a.params[name] != nil {
		return a.params[name]
	}
	if a == nil || !a.m.library {
		if m := pp.file[name]; m != nil {
			return m
		}
	}
	if pp.lib != nil {
		return pp.lib.defs[name]
	}
	return nil
}

// define takes in `@define name[(a, b)] %( body %)`; at is @define. It
// never runs in a branch not taken, so its reports always count.
func (pp *preprocessor) define(at ptok) {
	name, ok := pp.read()
	if !ok || name.Type != tokIdent {
		pp.failDefine(at, name, ok, "", "expected a macro name after '@define'")
		return
	}
	m := &macro{name: name.Value, message: "expanded from macro '@" + name.Value + "'", def: name.span()}
	t, ok := pp.read()
	if ok && t.isOp("(") {
		for {
			var p ptok
			p, ok = pp.read()
			if !ok || p.Type != tokIdent {
				pp.failDefine(at, p, ok, "", "expected a parameter name")
				return
			}
			if slices.Contains(m.params, p.Value) {
				pp.fail(p, CodeMacro, "", "macro '@%s' has two parameters named '%s'", m.name, p.Value)
			}
			m.params = append(m.params, p.Value)
			if t, ok = pp.read(); ok && t.isOp(",") {
				continue
			}
			if !ok || !t.isOp(")") {
				pp.failDefine(at, t, ok, "", "expected ',' or ')' in the parameters of '@%s'", m.name)
				return
			}
			t, ok = pp.read()
			break
		}
	}
	if !ok || !t.isOp("%(") {
		pp.failDefine(at, t, ok, "write @define "+m.name+" %( ... %)", "expected '%%(' to begin the body of macro '@%s'", m.name)
		return
	}
	if !pp.body(&m.body) {
		pp.fail(name, CodeMacro, "close the body with '%)'", "the body of macro '@%s' is not closed", m.name)
		return
	}
	if name.Value == "define" {
		pp.fail(name, CodeMacro, "", "'@define' cannot be redefined")
		return
	}
	if atOps[m.name] {
		pp.diags = append(pp.diags, diag.Warnf(diag.Parse, CodeMacroRedefinesOperator, m.def,
			"macro '@%s' hides the built-in operator of that name", m.name))
	}
	if old := pp.file[m.name]; old != nil {
		pp.diags = append(pp.diags, diag.Errorf(diag.Parse, CodeMacro, m.def, "macro '@%s' is already defined", m.name).
			WithNote(old.def, "first defined here"))
		return
	}
	pp.file[m.name] = m
}

// failDefine reports a malformed @define at t (or at the @define, at the
// end of the file) and skips what is left of it: up to the end of its
// body, if one follows before the next declaration.
func (pp *preprocessor) failDefine(at, t ptok, ok bool, hint, format string, args ...any) {
	if !ok {
		t = at
	}
	pp.fail(t, CodeMacro, hint, format, args...)
	for ok && !t.isOp("%(") {
		if t.Type == tokKeyword && (t.Value == "probe" || t.Value == "global" || t.Value == "function" || t.Value == "private") {
			pp.next-- // leave the declaration for the parser
			return
		}
		t, ok = pp.read()
	}
	if ok {
		var discard []ptok
		pp.body(&discard)
	}
}

// body reads a macro body after its %( up to the matching %), minding
// nested %( %); it reports false at the end of the input.
func (pp *preprocessor) body(out *[]ptok) bool {
	depth := 0
	for {
		t, ok := pp.read()
		switch {
		case !ok:
			return false
		case t.isOp("%("):
			depth++
		case t.isOp("%)") && depth == 0:
			return true
		case t.isOp("%)"):
			depth--
		}
		*out = append(*out, t)
	}
}

// invoke starts expanding m, invoked by t, after reading its arguments.
func (pp *preprocessor) invoke(t ptok, m *macro) {
	if len(pp.acts) >= maxExpansionDepth {
		pp.fail(t, CodeMacro, "does the macro expand to itself?", "macros are nested more than %d deep", maxExpansionDepth)
		pp.acts = pp.acts[:0] // give up the whole expansion
		return
	}
	a := &activation{call: t, end: t.span().End, m: m}
	switch {
	case m.param && m.env != nil:
		// A parameter whose argument itself names parameters finds them
		// where the argument was written.
		a.params = m.env.params
	case len(m.params) > 0:
		if !pp.arguments(a) {
			return
		}
	}
	if len(pp.acts) == 0 && pp.quiet == 0 {
		pp.expansions = append(pp.expansions, &ast.Expansion{Span: diag.Span{Start: toPos(t.Pos), End: a.end},
			Note: diag.Related{Span: m.def, Message: m.message}})
	}
	pp.acts = append(pp.acts, a)
}

// arguments reads `(arg, arg)` after the invocation of a macro with
// parameters and binds them.
func (pp *preprocessor) arguments(a *activation) bool {
	m := a.m
	open, ok := pp.read()
	if !ok || !open.isOp("(") {
		if !ok {
			open = a.call
		}
		pp.fail(open, CodeMacro, "write @"+m.name+"("+strings.Join(m.params, ", ")+")",
			"expected '(' after '@%s', which takes %d parameters", m.name, len(m.params))
		return false
	}
	a.params = make(map[string]*macro, len(m.params))
	for i, name := range m.params {
		p := &macro{name: name, message: "in an argument of macro '@" + m.name + "'", param: true, env: pp.top(), at: a.call.Pos}
		end, ok := pp.argument(&p.body)
		if !ok {
			pp.fail(a.call, CodeMacro, "close the argument list with ')'", "the arguments of '@%s' are not closed", m.name)
			return false
		}
		a.params[name] = p
		switch last := i == len(m.params)-1; {
		case end.isOp(",") && last:
			pp.fail(end, CodeMacro, "", "too many arguments for macro '@%s', which takes %d", m.name, len(m.params))
			return false
		case end.isOp(")") && !last:
			pp.fail(end, CodeMacro, "", "too few arguments for macro '@%s', which takes %d", m.name, len(m.params))
			return false
		case end.isOp(")"):
			a.end = end.span().End
		}
	}
	for _, p := range a.params {
		p.end = a.end
	}
	return true
}

// argument reads one macro argument up to an unnested ',' or ')', which
// it returns; brackets nest, so that @m(f(a, b), c[1, 2]) has two.
func (pp *preprocessor) argument(out *[]ptok) (ptok, bool) {
	depth := 0
	for {
		t, ok := pp.read()
		switch {
		case !ok:
			return t, false
		case t.isOp("(") || t.isOp("["):
			depth++
		case depth > 0 && (t.isOp(")") || t.isOp("]")):
			depth--
		case depth == 0 && (t.isOp(")") || t.isOp(",")):
			return t, true
		}
		*out = append(*out, t)
	}
}

// ---- stage 2: conditionals ----

// scan returns the next token of the output: expanded, and from the
// branches of conditionals that are kept.
func (pp *preprocessor) scan() (ptok, bool) {
	for {
		var t ptok
		var ok bool
		if n := len(pp.conds); n > 0 && !pp.conds[n-1].keep {
			t, ok = pp.skip()
		} else {
			t, ok = pp.scan1(false)
		}
		if !ok {
			if n := len(pp.conds); n > 0 {
				open := pp.conds[n-1].open
				pp.conds = pp.conds[:n-1]
				pp.fail(open, CodeConditional, "close it with '%)'", "conditional not closed at the end of the file")
				continue
			}
			return t, false
		}
		if t.Type != tokOp {
			return t, true
		}
		switch t.Value {
		case "%?":
			pp.fail(t, CodeConditional, "a conditional is written %( condition %? tokens %: tokens %)",
				"'%%?' without a '%%(' before it")
			continue
		case "%:":
			n := len(pp.conds)
			switch {
			case n == 0:
				pp.fail(t, CodeConditional, "a conditional is written %( condition %? tokens %: tokens %)",
					"'%%:' without a '%%(' before it")
			case pp.conds[n-1].els:
				pp.fail(t, CodeConditional, "nest a second conditional to test another condition", "a second '%%:' in one conditional")
			default:
				c := &pp.conds[n-1]
				c.els = true
				c.keep = !c.keep
			}
			continue
		case "%)":
			if len(pp.conds) == 0 {
				pp.fail(t, CodeConditional, "", "'%%)' without a '%%(' before it")
			} else {
				pp.conds = pp.conds[:len(pp.conds)-1]
			}
			continue
		case "%(":
			pp.condition(t)
			continue
		}
		return t, true
	}
}

// skip passes over the tokens of a branch not taken, up to the %:, %?
// or %) that ends it, which it returns.
func (pp *preprocessor) skip() (ptok, bool) {
	pp.quiet++
	defer func() { pp.quiet-- }()
	depth := 0
	for {
		t, ok := pp.scan1(true)
		if !ok {
			return t, false
		}
		switch {
		case t.isOp("%("):
			depth++
		case t.isOp("%)") && depth > 0:
			depth--
		case depth == 0 && (t.isOp("%:") || t.isOp("%?") || t.isOp("%)")):
			return t, true
		}
	}
}

// condition reads and evaluates `a op b [&& a op b] [|| ...] %?` after the
// %( open, and opens the conditional; && binds tighter than ||. A
// condition that cannot be evaluated is reported once, and the whole
// conditional is then dropped: neither branch would be a good guess.
func (pp *preprocessor) condition(open ptok) {
	const syntax = "a conditional is written %( condition %? tokens %: tokens %)"
	result, and, broken := false, true, false
	for {
		var terms [3]ptok
		for i := range terms {
			t, ok := pp.scan1(false)
			if !ok {
				pp.fail(open, CodeConditional, syntax, "incomplete condition after '%%('")
				return
			}
			terms[i] = t
		}
		if !broken {
			v, d := pp.eval(terms[0], terms[1], terms[2])
			if d != nil {
				broken = true
				pp.diags = append(pp.diags, d)
				pp.emit(ptok{Token: lexer.Token{Type: tokError, Value: open.Value, Pos: open.Pos}, org: open.org})
			}
			and = and && v
		}
		t, ok := pp.scan1(false)
		if ok && t.isOp("&&") {
			continue
		}
		result = result || and
		and = true
		if ok && t.isOp("||") {
			continue
		}
		if !ok || !t.isOp("%?") {
			if !ok {
				t = open
			}
			if !broken {
				pp.fail(t, CodeConditional, syntax, "expected '%%?' after the condition of '%%('; saw %s", describe(&t.Token))
			}
			broken = true
		}
		if t.isOp("%)") {
			return // `%( a == b %)`: the conditional is over already
		}
		if broken {
			// Drop both branches: the first is skipped, and with its %:
			// marked as seen, so is the second.
			pp.conds = append(pp.conds, cond{open: open, keep: false, els: true})
			pp.skipBroken()
			return
		}
		pp.conds = append(pp.conds, cond{open: open, keep: result})
		return
	}
}

// skipBroken drops the rest of a conditional whose condition failed, up
// to its %), and removes it from the stack.
func (pp *preprocessor) skipBroken() {
	n := len(pp.conds)
	for len(pp.conds) == n {
		t, ok := pp.skip()
		if !ok || t.isOp("%)") {
			pp.conds = pp.conds[:n-1]
			return
		}
	}
}

// condNames are the words a condition may test, for "did you mean".
var condNames = []string{"kernel_v", "kernel_vr", "systemtap_v", "systemtap_privilege", "guru_mode", "arch", "runtime"}

// eval evaluates one comparison `l op r` of a condition, as stap does.
func (pp *preprocessor) eval(l, op, r ptok) (bool, *diag.Diagnostic) {
	errAt := func(t ptok, hint, format string, args ...any) (bool, *diag.Diagnostic) {
		d := diag.Errorf(diag.Parse, CodeCondition, t.span(), format, args...)
		d.Related = append(d.Related, t.notes()...)
		if hint != "" {
			d.Hint = hint
		}
		return false, d
	}
	if op.Type != tokOp || !compareOps[op.Value] {
		return errAt(op, "", "expected a comparison (==, !=, <, <=, >, >=) in the condition; saw %s", describe(&op.Token))
	}
	ordered := op.Value != "==" && op.Value != "!="
	str := func(t ptok) string { return unescape(t.Value[1:len(t.Value)-1], nil) }
	name := l.Value
	if l.Type == tokIdent {
		switch {
		case name == "kernel_v" || name == "kernel_vr" || name == "systemtap_v":
			if r.Type != tokString {
				return errAt(r, "", "%s compares with a version string such as \"5.10\"; saw %s", name, describe(&r.Token))
			}
			facts := pp.facts()
			target := map[string]string{"kernel_v": facts.kernelV(), "kernel_vr": facts.KernelRelease, "systemtap_v": facts.SystemtapVersion}[name]
			query := str(r)
			if strings.ContainsAny(query, "*?[") {
				if ordered {
					return errAt(op, "compare a pattern with == or !=", "a version pattern cannot be compared with '%s'", op.Value)
				}
				return fnmatch(query, target) == (op.Value == "=="), nil
			}
			return compareInts(int64(strverscmp(target, query)), op.Value, 0), nil
		case name == "systemtap_privilege" || name == "arch" || name == "runtime":
			if r.Type != tokString {
				return errAt(r, "", "%s compares with a string; saw %s", name, describe(&r.Token))
			}
			if ordered {
				return errAt(op, "", "%s can only be compared with == or !=", name)
			}
			facts := pp.facts()
			var match bool
			if name == "systemtap_privilege" {
				match = facts.Privilege == str(r) // stap matches privileges exactly
			} else {
				match = fnmatch(str(r), map[string]string{"arch": facts.Arch, "runtime": facts.Runtime}[name])
			}
			return match == (op.Value == "=="), nil
		case name == "guru_mode":
			v, err := strconv.ParseInt(r.Value, 10, 64)
			if r.Type != tokInt || err != nil || (v != 0 && v != 1) {
				return errAt(r, "", "guru_mode compares with 0 or 1; saw %s", describe(&r.Token))
			}
			if ordered {
				return errAt(op, "", "guru_mode can only be compared with == or !=")
			}
			guru := int64(0)
			if pp.facts().Guru {
				guru = 1
			}
			return compareInts(guru, op.Value, v), nil
		case strings.HasPrefix(name, "CONFIG_"):
			return pp.evalConfig(l, op, r, errAt)
		}
	}
	switch {
	case l.Type == tokString && r.Type == tokString:
		return compareInts(int64(strings.Compare(str(l), str(r))), op.Value, 0), nil
	case l.Type == tokInt && r.Type == tokInt:
		a, errA := strconv.ParseInt(l.Value, 10, 64)
		b, errB := strconv.ParseInt(r.Value, 10, 64)
		if errA != nil || errB != nil {
			return errAt(l, "", "the numbers of a condition must be decimal and fit in 64 bits")
		}
		return compareInts(a, op.Value, b), nil
	case l.Type == tokString && r.Type == tokInt:
		return errAt(r, "", "a string compares with a string literal; saw %s", describe(&r.Token))
	case l.Type == tokInt && r.Type == tokString:
		return errAt(r, "", "a number compares with a number; saw %s", describe(&r.Token))
	}
	_, d := errAt(l, "", "a condition tests kernel_v, kernel_vr, arch, runtime, systemtap_v, systemtap_privilege, guru_mode, a CONFIG_ option or two literals; saw %s", describe(&l.Token))
	if near := diag.Closest(name, condNames); near != "" && l.Type == tokIdent {
		d.WithHint("did you mean '%s'?", near)
	}
	return false, d
}

// evalConfig evaluates `CONFIG_X op r`, where r is a pattern, a number or
// another option; an option that is not set is the empty string.
func (pp *preprocessor) evalConfig(l, op, r ptok, errAt func(ptok, string, string, ...any) (bool, *diag.Diagnostic)) (bool, *diag.Diagnostic) {
	config := pp.facts().Config
	lhs := config[l.Value]
	ordered := op.Value != "==" && op.Value != "!="
	switch {
	case r.Type == tokString:
		if ordered {
			return errAt(op, "compare with a number to order", "%s compares with a string only with == or !=", l.Value)
		}
		return fnmatch(unescape(r.Value[1:len(r.Value)-1], nil), lhs) == (op.Value == "=="), nil
	case r.Type == tokInt:
		a, ok := parseCLong(lhs)
		if !ok {
			return errAt(l, "compare it with a string such as \"y\"", "%s is %q, not a number", l.Value, lhs)
		}
		b, err := strconv.ParseInt(r.Value, 10, 64)
		if err != nil {
			return errAt(r, "", "the numbers of a condition must be decimal and fit in 64 bits")
		}
		return compareInts(a, op.Value, b), nil
	case r.Type == tokIdent && strings.HasPrefix(r.Value, "CONFIG_"):
		rhs := config[r.Value]
		if a, ok := parseCLong(lhs); ok {
			if b, ok := parseCLong(rhs); ok {
				return compareInts(a, op.Value, b), nil
			}
		}
		return compareInts(int64(strings.Compare(lhs, rhs)), op.Value, 0), nil
	}
	return errAt(r, "", "%s compares with a string, a number or another CONFIG_ option; saw %s", l.Value, describe(&r.Token))
}

// facts are the Options' facts, or the host's, looked up only when a
// condition needs them.
func (pp *preprocessor) facts() *Facts {
	if pp.opts.Facts == nil {
		pp.opts.Facts = HostFacts()
	}
	return pp.opts.Facts
}

var compareOps = map[string]bool{"==": true, "!=": true, "<": true, "<=": true, ">": true, ">=": true}

// compareInts applies a comparison operator.
func compareInts(a int64, op string, b int64) bool {
	switch op {
	case "==":
		return a == b
	case "!=":
		return a != b
	case "<":
		return a < b
	case "<=":
		return a <= b
	case ">":
		return a > b
	}
	return a >= b
}

// parseCLong reads a number as C's strtoll(s, &end, 0) does when all of s
// must be used: optional sign, then decimal, 0x hex or 0 octal. The empty
// string is 0, as strtoll makes it.
func parseCLong(s string) (int64, bool) {
	t := strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg, t = t[0] == '-', t[1:]
	}
	if t == "" {
		return 0, strings.TrimSpace(s) == ""
	}
	v, err := strconv.ParseInt(t, 0, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}
