// Package ast declares the syntax tree of stp scripts. Every node carries the
// span it was parsed from, so that later passes can point at it.
package ast

import "etap/diag"

// Node is any node of the tree.
type Node interface {
	Span() diag.Span
}

// Expr is an expression node.
type Expr interface {
	Node
	exprNode()
}

// Stmt is a statement node.
type Stmt interface {
	Node
	stmtNode()
}

// Decl is a top-level declaration.
type Decl interface {
	Node
	declNode()
}

// Base holds the span of a node; every node embeds it.
type Base struct {
	Start, End diag.Pos
}

// Span returns the extent of the node in its file.
func (b Base) Span() diag.Span { return diag.Span{Start: b.Start, End: b.End} }

// File is one parsed source file.
type File struct {
	Name  string
	Decls []Decl
	// Expansions are the places where a macro or a script argument was
	// expanded, in order; see ExpandedFrom.
	Expansions []*Expansion
}

// Expansion is a span of the file that a macro invocation (`@m(x)`) or a
// script argument (`$1`) was expanded from. The tokens it expanded to all
// stand inside Span, and so do the nodes made of them.
type Expansion struct {
	Span diag.Span
	// Note says what was expanded, at the macro's definition or at the
	// argument: "expanded from macro '@m'".
	Note diag.Related
}

// ExpandedFrom returns the notes to add to a diagnostic about the node at
// s: one "expanded from" note when s starts inside an expansion, else none.
func (f *File) ExpandedFrom(s diag.Span) []diag.Related {
	for _, e := range f.Expansions {
		if e.Span.Start.File == s.Start.File && e.Span.Start.Offset <= s.Start.Offset && s.Start.Offset < e.Span.End.Offset {
			return []diag.Related{e.Note}
		}
	}
	return nil
}

// ---- declarations ----

// GlobalDecl is `global a, b = 5, c[100], d%[10]`; Private marks `private global`.
type GlobalDecl struct {
	Base
	Private bool
	Vars    []*GlobalVar
}

// GlobalVar is one variable of a global declaration.
type GlobalVar struct {
	Base
	Name string
	// Size is the declared capacity of an array (`a[100]`), 0 when absent.
	Size int64
	// IsArray is set when the declaration has brackets (`a[]` or `a[N]`).
	IsArray bool
	// Wrap is set for `a%[N]` or `a%`: the oldest entry is evicted when full.
	Wrap bool
	// Init is the initialiser, a literal (possibly negated), or nil.
	Init Expr
}

// ProbeDecl is `probe PP, PP [if (cond)] { body }`.
type ProbeDecl struct {
	Base
	Points []*ProbePoint
	Body   *BlockStmt
}

// AliasDecl is `probe NAME = PP { prologue }` or `probe NAME += PP
// { epilogue }`, or the combined `probe NAME = PP { prologue }, { epilogue }`.
type AliasDecl struct {
	Base
	Names    []*ProbePoint // the alias names being defined: `probe a = b = PP` defines two
	Epilogue bool          // += form
	Points   []*ProbePoint
	Body     *BlockStmt
	// EpilogueBody is the second block of the combined form, or nil.
	EpilogueBody *BlockStmt
}

// FunctionDecl is `function name:type (p:type, ...) { body }`.
type FunctionDecl struct {
	Base
	Private bool
	Name    string
	Result  TypeName // "" when not given
	Params  []*Param
	Body    *BlockStmt
	// EmbeddedC is set for `function f() %{ ... %}`; Body is nil then.
	EmbeddedC string
	// Priority is N of `function f() :N { }`, which orders the overloads
	// that `next` moves between; 0 when not given.
	Priority int64
}

// Param is a function parameter.
type Param struct {
	Base
	Name string
	Type TypeName
}

// TypeName is an explicit type annotation: "", "long" or "string".
type TypeName string

// EmbeddedCDecl is a top-level `%{ ... %}` block.
type EmbeddedCDecl struct {
	Base
	Code string
}

// ProbePoint is one dotted probe point such as `kernel.trace("sched:*")?`.
//
// The parser expands braces as stap does: `syscall.{open,close}?` becomes
// two points, syscall.open? and syscall.close?, each spanning the whole
// written text, each with its own Components; the points of one brace
// group share their Cond node.
type ProbePoint struct {
	Base
	Components []*Component
	Optional   bool // trailing ?
	Sufficient bool // trailing ! (which stap takes as optional too)
	Cond       Expr // `if (cond)`, or nil
}

// Component is one dotted part of a probe point, with its optional argument.
type Component struct {
	Base
	Name string // may contain * wildcards
	// HasParens is set when the component was written with parentheses,
	// even empty ones (`begin()`), so that checks can point at the mistake.
	HasParens bool
	Arg       Expr // literal argument or nil
}

// ---- statements ----

// BlockStmt is `{ stmts }`.
type BlockStmt struct {
	Base
	Stmts []Stmt
}

// ExprStmt is an expression used as a statement.
type ExprStmt struct {
	Base
	X Expr
}

// IfStmt is `if (Cond) Then [else Else]`.
type IfStmt struct {
	Base
	Cond Expr
	Then Stmt
	Else Stmt // nil when absent
}

// WhileStmt is `while (Cond) Body`.
type WhileStmt struct {
	Base
	Cond Expr
	Body Stmt
}

// ForStmt is `for (Init; Cond; Post) Body`; any part may be nil.
type ForStmt struct {
	Base
	Init Expr
	Cond Expr
	Post Expr
	Body Stmt
}

// ForeachStmt is `foreach ([v =] [k1, k2] in Array[slice] [sort] [limit N]) Body`.
// A foreach over a histogram's buckets is a HistForeachStmt.
type ForeachStmt struct {
	Base
	Value *Ident   // value variable of `v = k in a`, or nil
	Keys  []*Ident // one or more key variables
	Array *Ident
	// Slice holds the index expressions of `in a[k, *]` (nil entries are *).
	Slice []Expr
	// SortColumn is 0 for no sort, -1 to sort on the value, or 1..len(Keys)
	// for a key column. SortDesc is the `-` suffix.
	SortColumn int
	SortDesc   bool
	// SortAggregate is the aggregate named in `a @sum-` (count, sum, min,
	// max, avg or variance), or "".
	SortAggregate string
	Limit         Expr // or nil
	Body          Stmt
}

// NextStmt is `next`.
type NextStmt struct{ Base }

// BreakStmt is `break`.
type BreakStmt struct{ Base }

// ContinueStmt is `continue`.
type ContinueStmt struct{ Base }

// ReturnStmt is `return [X]`.
type ReturnStmt struct {
	Base
	X Expr // nil for a bare return
}

// DeleteStmt is `delete X` where X is a variable or an indexed array.
type DeleteStmt struct {
	Base
	X Expr
}

// TryStmt is `try { Body } catch [(Var)] { Catch }`.
type TryStmt struct {
	Base
	Body  *BlockStmt
	Var   *Ident // or nil
	Catch *BlockStmt
}

// EmptyStmt is a lone `;`.
type EmptyStmt struct{ Base }

// HistForeachStmt is `foreach (b in @hist_log(s)) Body`: a loop over the
// buckets of a histogram. The header is that of a ForeachStmt whose Array
// is nil; Hist is the histogram.
type HistForeachStmt struct {
	ForeachStmt
	Hist *AggregateExpr
}

// ---- expressions ----

// IntLit is an integer literal; Value holds its 64 bits (values written
// above 2^63-1 wrap, as in stap).
type IntLit struct {
	Base
	Value int64
	Text  string // as written
}

// StringLit is a string literal with escapes resolved and adjacent literals
// joined.
type StringLit struct {
	Base
	Value string
}

// Ident is a variable name.
type Ident struct {
	Base
	Name string
}

// TargetVar is a context variable such as `$fd`, `$file->f_path` or
// `$$parms`. Name is without the first `$`: "fd", "$parms". A context
// variable with any other suffix (an index, a pretty-printing `$`) or an
// `&` is the X of a TargetExpr.
type TargetVar struct {
	Base
	Name   string // without the $
	Fields []string
}

// TargetExpr is a context expression that TargetVar cannot hold: an
// address-of, member accesses and indexes on any base, a pretty-printing
// suffix. X is a *TargetVar without Fields, a *CastExpr, an *AtVarExpr,
// or any other value, which stap then reads as a pointer of the type it
// finds (autocast):
//
//	&$skb->data    $argv[1]    $task$$    @cast(p, "task_struct")->pid
//	pointer()->f   a[1]->b     $p->name$
type TargetExpr struct {
	Base
	AddrOf bool
	X      Expr
	Path   []*TargetStep
	// Pretty is the pretty-printing suffix: "$" (one level) or "$$" (all
	// levels), or "".
	Pretty string
}

// TargetStep is one `->member` or `[index]` of a TargetExpr.
type TargetStep struct {
	Base
	Member string // "" for an index
	Index  Expr   // nil for a member
}

// CastExpr is `@cast(X, "type"[, "module"])`: X read as a pointer to type,
// as found in module ("kernel" when empty, or "kernel<linux/sched.h>").
type CastExpr struct {
	Base
	X      Expr
	Type   string
	Module string
}

// AtVarExpr is `@var("name[@file]"[, "module"])`: a variable of the
// probed program by name.
type AtVarExpr struct {
	Base
	Name   string
	Module string
}

// AtExpr is one of the @operators that take expressions or literals and
// are not aggregates: `@defined(e)`, `@entry(e)`, `@probewrite(v)`,
// `@const("X")`, `@perf("name")`, `@kregister(N)`, `@uregister(N)`,
// `@kderef(size, addr)`, `@uderef(size, addr)`. Op is without the @; the
// parser checks the shape of Args: a variable (*Ident) for probewrite,
// a *StringLit for const and perf, an *IntLit register number or size.
type AtExpr struct {
	Base
	Op   string
	Args []Expr
}

// EmbeddedExpr is `%{ code %}` used as a value (guru mode).
type EmbeddedExpr struct {
	Base
	Code string
}

// HistIndexExpr is `@hist_log(s)[i]`: the count in bucket i of a histogram.
type HistIndexExpr struct {
	Base
	Hist  *AggregateExpr
	Index []Expr
}

// HistInExpr is `i in @hist_log(s)`: whether a histogram has bucket i.
type HistInExpr struct {
	Base
	Keys []Expr
	Hist *AggregateExpr
}

// BinaryExpr is `X Op Y` for arithmetic, comparison, logic, `.` and `=~`.
type BinaryExpr struct {
	Base
	Op    string
	OpPos diag.Pos
	X, Y  Expr
}

// UnaryExpr is `Op X` for `- + ! ~`.
type UnaryExpr struct {
	Base
	Op string
	X  Expr
}

// IncDecExpr is `++x`, `x++`, `--x` or `x--`.
type IncDecExpr struct {
	Base
	Op      string // "++" or "--"
	Postfix bool
	X       Expr
}

// AssignExpr is `X Op Y` for `= += -= *= /= %= <<= >>= &= ^= |= .= <<<`.
type AssignExpr struct {
	Base
	Op    string
	OpPos diag.Pos
	X, Y  Expr
}

// TernaryExpr is `Cond ? X : Y`.
type TernaryExpr struct {
	Base
	Cond, X, Y Expr
}

// IndexExpr is `Array[I1, I2, ...]`.
type IndexExpr struct {
	Base
	Array *Ident
	Index []Expr
}

// InExpr is `K in A` or `[K1, K2] in A`; nil keys are `*`.
type InExpr struct {
	Base
	Keys  []Expr
	Array *Ident
}

// CallExpr is `Name(Args...)`.
type CallExpr struct {
	Base
	Name string
	Args []Expr
}

// AggregateExpr is a statistic's extractor, `@count(x)` (count, sum,
// min, max, avg, variance), or a histogram, `@hist_log(x)` or
// `@hist_linear(x, lo, hi, w)`. Args are *IntLit (possibly negative): the
// shift of @variance, the bounds and width of @hist_linear. A histogram
// stands only as the whole argument of print, println, sprint or
// sprintln, or inside a HistIndexExpr, HistInExpr or HistForeachStmt.
type AggregateExpr struct {
	Base
	Op   string // without the @
	X    Expr
	Args []Expr
}

// ParenExpr is `(X)`, kept so that -p1 can print what was written.
type ParenExpr struct {
	Base
	X Expr
}

func (*GlobalDecl) declNode()    {}
func (*ProbeDecl) declNode()     {}
func (*AliasDecl) declNode()     {}
func (*FunctionDecl) declNode()  {}
func (*EmbeddedCDecl) declNode() {}

func (*BlockStmt) stmtNode()    {}
func (*ExprStmt) stmtNode()     {}
func (*IfStmt) stmtNode()       {}
func (*WhileStmt) stmtNode()    {}
func (*ForStmt) stmtNode()      {}
func (*ForeachStmt) stmtNode()  {}
func (*NextStmt) stmtNode()     {}
func (*BreakStmt) stmtNode()    {}
func (*ContinueStmt) stmtNode() {}
func (*ReturnStmt) stmtNode()   {}
func (*DeleteStmt) stmtNode()   {}
func (*TryStmt) stmtNode()      {}
func (*EmptyStmt) stmtNode()    {}

func (*IntLit) exprNode()        {}
func (*StringLit) exprNode()     {}
func (*Ident) exprNode()         {}
func (*TargetVar) exprNode()     {}
func (*BinaryExpr) exprNode()    {}
func (*UnaryExpr) exprNode()     {}
func (*IncDecExpr) exprNode()    {}
func (*AssignExpr) exprNode()    {}
func (*TernaryExpr) exprNode()   {}
func (*IndexExpr) exprNode()     {}
func (*InExpr) exprNode()        {}
func (*CallExpr) exprNode()      {}
func (*AggregateExpr) exprNode() {}
func (*ParenExpr) exprNode()     {}
func (*TargetExpr) exprNode()    {}
func (*CastExpr) exprNode()      {}
func (*AtVarExpr) exprNode()     {}
func (*AtExpr) exprNode()        {}
func (*EmbeddedExpr) exprNode()  {}
func (*HistIndexExpr) exprNode() {}
func (*HistInExpr) exprNode()    {}
