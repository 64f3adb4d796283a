package lang

import (
	"fmt"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
)

// The stable codes of parse diagnostics (Kind diag.Parse). Tests and tools
// match on these, so a code keeps its meaning once released.
const (
	// CodeUnexpected: a token that the grammar does not allow here
	// ("expected ';' or '}'; saw 'foo'").
	CodeUnexpected = "P001"
	// CodeUnterminatedString: a string literal without its closing quote.
	CodeUnterminatedString = "P002"
	// CodeUnterminatedComment: a /* comment without */.
	CodeUnterminatedComment = "P003"
	// CodeUnterminatedEmbedded: a %{ block without %}.
	CodeUnterminatedEmbedded = "P004"
	// CodeInvalidChar: a character that starts no token.
	CodeInvalidChar = "P005"
	// CodeIntRange: an integer literal above 2^64-1.
	CodeIntRange = "P006"
	// CodeBadNumber: a malformed number such as 09 or 12ab.
	CodeBadNumber = "P007"
	// CodeArgRange: $N or @N beyond the script arguments given.
	CodeArgRange = "P008"
	// CodeTooDeep: nesting beyond maxDepth.
	CodeTooDeep = "P009"
	// CodeEmptyProbeArgs: a probe point component with `()`, as in begin().
	CodeEmptyProbeArgs = "P010"
	// CodeMissingProbe: a probe point at top level without `probe`.
	CodeMissingProbe = "P011"
	// CodeStrayBrace: a `}` at top level.
	CodeStrayBrace = "P012"
	// CodeSemicolonAfterPoint: `probe begin; { }`.
	CodeSemicolonAfterPoint = "P013"
	// CodeUnknownAt: an @word that names no operator.
	CodeUnknownAt = "P014"
	// CodeGlobalEquals: `global x == 5`.
	CodeGlobalEquals = "P015"
	// CodeGlobalInit: a global initialiser that is not a literal, or an
	// array with one.
	CodeGlobalInit = "P016"
	// CodeNotAssignable: assignment, <<<, ++ or -- on something that is not
	// a variable, an array element or a context variable.
	CodeNotAssignable = "P017"
	// CodeBadEscape: a malformed escape in a string literal.
	CodeBadEscape = "P018"
	// CodeBadType: a type annotation other than long or string.
	CodeBadType = "P019"
	// CodeForeachSort: more than one sort mark in a foreach.
	CodeForeachSort = "P020"
	// CodeNotIndexable: indexing something that is not an array name.
	CodeNotIndexable = "P021"
	// CodeBadArraySize: a global array size that is not a positive integer.
	CodeBadArraySize = "P022"
)

// maxErrors caps the diagnostics of one parse: after that many, the rest
// are more likely to confuse than to help.
const maxErrors = 10

// describe renders a token for "saw X" in a message.
func describe(t *lexer.Token) string {
	switch t.Type {
	case lexer.EOF:
		return "end of file"
	case tokEmbedded:
		return "'%{ ... %}'"
	}
	v := t.Value
	if len(v) > 24 {
		v = v[:20] + "..."
	}
	return "'" + v + "'"
}

// alternatives joins the things a parser expected: "'a', 'b' or 'c'".
func alternatives(what []string) string {
	if len(what) == 1 {
		return what[0]
	}
	return strings.Join(what[:len(what)-1], ", ") + " or " + what[len(what)-1]
}

// didYouMean returns the candidate closest to word, or "" when none is
// close enough to be a likely typo.
func didYouMean(word string, candidates []string) string {
	limit := 2
	if len(word) <= 3 {
		limit = 1
	}
	best, bestDist := "", limit+1
	for _, c := range candidates {
		if d := editDistance(word, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// quoted wraps s in single quotes for a message.
func quoted(s string) string { return fmt.Sprintf("'%s'", s) }
