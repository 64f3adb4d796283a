package lang

import (
	"github.com/alecthomas/participle/v2/lexer"

	"etap/lang/ast"
)

// block parses `{ stmts }`. Separators are optional, so a statement ends
// where the next one can begin.
func (p *parser) block() *ast.BlockStmt {
	open := p.peek()
	if !isOp(open, "{") {
		p.failExpected("'{'")
	}
	p.next()
	p.enter()
	defer p.leave()
	b := &ast.BlockStmt{}
	for !p.atOp("}") {
		t := p.peek()
		switch {
		case t.EOF():
			opened, _ := p.span(open)
			p.fail(p.errorAt(t, CodeUnexpected, "expected '}'; saw end of file").
				WithNote(opened, "the block opened here is not closed"))
		case !startsStmt(t) && len(b.Stmts) > 0:
			p.failExpected("';'", "'}'")
		case !startsStmt(t):
			p.failExpected("a statement", "'}'")
		}
		b.Stmts = append(b.Stmts, p.stmt())
	}
	p.next()
	b.Base = p.base(open)
	return b
}

// startsStmt reports whether t can begin a statement.
func startsStmt(t *lexer.Token) bool {
	switch t.Type {
	case tokKeyword:
		switch t.Value {
		case "if", "while", "for", "foreach", "next", "break", "continue", "return", "delete", "try":
			return true
		}
		return false
	case tokOp:
		return t.Value == "{" || t.Value == ";" || startsExpr(t)
	}
	return startsExpr(t)
}

// stmt parses one statement. Simple statements take an optional `;`
// after them as their own, so that `if (x) a; else b` works as in C.
func (p *parser) stmt() ast.Stmt {
	t := p.peek()
	if isOp(t, "{") {
		return p.block() // which counts its own nesting
	}
	p.enter()
	defer p.leave()
	if t.Type == tokKeyword {
		switch t.Value {
		case "if":
			return p.ifStmt()
		case "while":
			p.next()
			cond := p.parenExpr()
			body := p.stmt()
			return &ast.WhileStmt{Base: p.base(t), Cond: cond, Body: body}
		case "for":
			return p.forStmt()
		case "foreach":
			return p.foreach()
		case "try":
			return p.tryStmt()
		case "next":
			p.next()
			return &ast.NextStmt{Base: p.semicolon(t)}
		case "break":
			p.next()
			return &ast.BreakStmt{Base: p.semicolon(t)}
		case "continue":
			p.next()
			return &ast.ContinueStmt{Base: p.semicolon(t)}
		case "return":
			// As in stap, only `;` or `}` end a bare return.
			p.next()
			s := &ast.ReturnStmt{}
			if !p.atOp(";") && !p.atOp("}") {
				s.X = p.expr()
			}
			s.Base = p.semicolon(t)
			return s
		case "delete":
			p.next()
			x := p.deleteTarget()
			return &ast.DeleteStmt{Base: p.semicolon(t), X: x}
		}
	}
	switch {
	case isOp(t, ";"):
		p.next()
		return &ast.EmptyStmt{Base: p.base(t)}
	case startsExpr(t):
		x := p.expr()
		return &ast.ExprStmt{Base: p.semicolon(t), X: x}
	}
	p.failExpected("a statement")
	return nil
}

// semicolon consumes an optional `;` and returns the span from t to it.
func (p *parser) semicolon(t *lexer.Token) ast.Base {
	p.acceptOp(";")
	return p.base(t)
}

// parenExpr parses `( expr )`, as after if and while.
func (p *parser) parenExpr() ast.Expr {
	p.expectOp("(")
	x := p.expr()
	p.expectOp(")")
	return x
}

func (p *parser) ifStmt() *ast.IfStmt {
	start := p.next()
	s := &ast.IfStmt{Cond: p.parenExpr(), Then: p.stmt()}
	if p.atKeyword("else") {
		p.next()
		s.Else = p.stmt()
	}
	s.Base = p.base(start)
	return s
}

// forStmt parses `for (init; cond; post) body`; each part may be empty.
func (p *parser) forStmt() *ast.ForStmt {
	start := p.next()
	s := &ast.ForStmt{}
	p.expectOp("(")
	s.Init = p.optExpr(";")
	p.expectOp(";")
	s.Cond = p.optExpr(";")
	p.expectOp(";")
	s.Post = p.optExpr(")")
	p.expectOp(")")
	s.Body = p.stmt()
	s.Base = p.base(start)
	return s
}

// optExpr parses an expression unless the next token is end.
func (p *parser) optExpr(end string) ast.Expr {
	if p.atOp(end) {
		return nil
	}
	return p.expr()
}

func (p *parser) tryStmt() *ast.TryStmt {
	start := p.next()
	s := &ast.TryStmt{Body: p.block()}
	p.expectKeyword("catch")
	if p.acceptOp("(") {
		s.Var = p.expectIdent("a variable name")
		p.expectOp(")")
	}
	s.Catch = p.block()
	s.Base = p.base(start)
	return s
}

// deleteTarget parses what follows delete: a variable, or an array element
// whose indexes may be `*` (`delete a[k, *]`), kept as nil entries.
func (p *parser) deleteTarget() ast.Expr {
	t := p.peek()
	if t.Type != tokIdent || !isOp(p.peek2(), "[") {
		return p.expr()
	}
	name := p.expectIdent("an array name")
	p.next()
	ix := &ast.IndexExpr{Array: name, Index: p.keyList(true)}
	p.expectOp("]")
	ix.Base = p.base(t)
	return ix
}

// foreach parses
//
//	foreach ([v =] (k | [k1, k2]) in (a | @hist_log(s))[[slice]] [sort] [limit N]) body
//
// where a sort mark `+` or `-` follows one key, the value or the array,
// or `@agg+` follows the array of a statistic. A foreach over the buckets
// of a histogram is a HistForeachStmt.
func (p *parser) foreach() ast.Stmt {
	start := p.next()
	s := &ast.ForeachStmt{}
	p.expectOp("(")
	sorts := 0
	// sortMark consumes a `+` or `-` and records column col.
	sortMark := func(col int) {
		t := p.peek()
		if !isOp(t, "+") && !isOp(t, "-") {
			return
		}
		p.next()
		sorts++
		if sorts > 1 {
			p.fail(p.errorAt(t, CodeForeachSort, "a foreach can sort on one column only").
				WithHint("keep one '+' or '-' mark"))
		}
		s.SortColumn, s.SortDesc = col, t.Value == "-"
	}
	if p.atOp("[") {
		s.Keys = p.foreachKeys(sortMark)
	} else {
		first := p.expectIdent("a variable name")
		if t := p.peek(); isOp(t, "+=") || isOp(t, "-=") {
			p.fail(p.errorAt(t, CodeUnexpected, "expected '=' or 'in'; saw '%s'", t.Value).
				WithHint("write '%s%c = ...' with a space: '%s' is read as one operator", first.Name, t.Value[0], t.Value))
		}
		sortMark(-1)
		if p.acceptOp("=") {
			s.Value = first
			if p.atOp("[") {
				s.Keys = p.foreachKeys(sortMark)
			} else {
				s.Keys = []*ast.Ident{p.expectIdent("a variable name")}
				sortMark(1)
			}
		} else {
			s.Keys = []*ast.Ident{first}
			if s.SortColumn == -1 {
				s.SortColumn = 1 // `k+ in a` sorts on the key
			}
		}
	}
	p.expectKeyword("in")
	var hist *ast.AggregateExpr
	if t := p.peek(); t.Type == tokAt && isHist(t) {
		hist = p.hist()
	} else {
		s.Array = p.expectIdent("an array name")
	}
	if p.acceptOp("[") {
		s.Slice = p.keyList(true)
		p.expectOp("]")
	}
	if t := p.peek(); t.Type == tokAt {
		p.next()
		s.SortAggregate = t.Value[1:]
		if !statOps[s.SortAggregate] {
			p.fail(p.errorAt(t, CodeUnknownAt, "cannot sort on '%s'", t.Value).
				WithHint("sort on one of @count, @sum, @min, @max, @avg, @variance"))
		}
		if !isOp(p.peek(), "+") && !isOp(p.peek(), "-") {
			p.failExpected("'+'", "'-'")
		}
	}
	sortMark(-1)
	if p.atKeyword("limit") {
		p.next()
		s.Limit = p.expr()
	}
	p.expectOp(")")
	s.Body = p.stmt()
	s.Base = p.base(start)
	if hist != nil {
		return &ast.HistForeachStmt{ForeachStmt: *s, Hist: hist}
	}
	return s
}

// foreachKeys parses `[k1, k2+, ...]`.
func (p *parser) foreachKeys(sortMark func(col int)) []*ast.Ident {
	p.expectOp("[")
	var keys []*ast.Ident
	for {
		keys = append(keys, p.expectIdent("a variable name"))
		sortMark(len(keys))
		if !p.acceptOp(",") {
			break
		}
	}
	p.expectOp("]")
	return keys
}
