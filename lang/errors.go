package lang

import (
	"fmt"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
)

// The stable codes of parse diagnostics (Kind diag.Parse). Tests and tools
// match on these, so a code keeps its meaning once released.
const (
	// CodeUnexpected marks a token that the grammar does not allow here
	// ("expected ';' or '}'; saw 'foo'").
	CodeUnexpected = "P001"
	// CodeUnterminatedString marks a string literal without its closing quote.
	CodeUnterminatedString = "P002"
	// CodeUnterminatedComment marks a /* comment without */.
	CodeUnterminatedComment = "P003"
	// CodeUnterminatedEmbedded marks a %{ block without %}.
	CodeUnterminatedEmbedded = "P004"
	// CodeInvalidChar marks a character that starts no token.
	CodeInvalidChar = "P005"
	// CodeIntRange marks an integer literal above 2^64-1.
	CodeIntRange = "P006"
	// CodeBadNumber marks a malformed number such as 09 or 12ab.
	CodeBadNumber = "P007"
	// CodeArgRange marks $N or @N beyond the script arguments given.
	CodeArgRange = "P008"
	// CodeTooDeep marks statements or expressions nested over 1000 deep.
	CodeTooDeep = "P009"
	// CodeEmptyProbeArgs marks a probe point component with `()`, as in begin().
	CodeEmptyProbeArgs = "P010"
	// CodeMissingProbe marks a probe point at top level without `probe`.
	CodeMissingProbe = "P011"
	// CodeStrayBrace marks a `}` at top level.
	CodeStrayBrace = "P012"
	// CodeSemicolonAfterPoint marks `probe begin; { }`.
	CodeSemicolonAfterPoint = "P013"
	// CodeUnknownAt marks an @word that names no operator, or that a
	// foreach cannot sort on.
	CodeUnknownAt = "P014"
	// CodeGlobalEquals marks `global x == 5`.
	CodeGlobalEquals = "P015"
	// CodeGlobalInit marks a global initialiser that is not a literal, or an
	// array with one.
	CodeGlobalInit = "P016"
	// CodeNotAssignable marks assignment, <<<, ++ or -- on something that
	// is not a variable, an array element or a context variable.
	CodeNotAssignable = "P017"
	// CodeBadEscape marks a malformed escape in a string literal.
	CodeBadEscape = "P018"
	// CodeBadType marks a type annotation other than long or string.
	CodeBadType = "P019"
	// CodeForeachSort marks more than one sort mark in a foreach.
	CodeForeachSort = "P020"
	// P021 marked `[...]` or `->` after a value other than an array or a
	// context variable; stap's grammar takes them after any value, so the
	// code is retired.
	// CodeBadArraySize marks a global array size that is not a positive integer.
	CodeBadArraySize = "P022"
	// CodeTooLarge marks a script, with its arguments substituted, larger
	// than 16 MiB.
	CodeTooLarge = "P023"
	// CodeNestedArg marks $N or @N inside the value of a script argument.
	CodeNestedArg = "P024"
	// CodeConditional marks a malformed preprocessor conditional: a %?, %:
	// or %) without its %(, a second %:, a %( not closed.
	CodeConditional = "P025"
	// CodeCondition marks a condition of %( ... %? that cannot be
	// evaluated, such as `arch < "x86_64"` or `kernel_v == 5`.
	CodeCondition = "P026"
	// CodeMacro marks a malformed @define or macro invocation.
	CodeMacro = "P027"
	// CodeHistogram marks @hist_log or @hist_linear where a value is
	// expected: a histogram can only be printed, indexed or iterated.
	CodeHistogram = "P028"
	// CodeProbePoint marks a misplaced probe point suffix (`?`, `!`, `if`)
	// or a malformed alias name.
	CodeProbePoint = "P029"
	// CodeStarIndex marks `*` as an array index outside delete, in and
	// foreach slices, where it would mean "any key".
	CodeStarIndex = "P030"
	// CodePriority marks a function priority that is not a positive number.
	CodePriority = "P031"
	// CodeAtArgs marks arguments that an @operator does not take, such as
	// @cast(p, "") or @kregister(r).
	CodeAtArgs = "P032"
	// CodeTargetSuffix marks a context expression suffix that cannot follow
	// what precedes it: `$p$->f`, a second `&`.
	CodeTargetSuffix = "P033"
	// CodeDuplicateParam marks two parameters of a function with one name.
	CodeDuplicateParam = "P034"
	// CodeMacroRedefinesOperator marks (as a warning) a macro named like a
	// built-in @operator, which the macro then hides.
	CodeMacroRedefinesOperator = "P035"
	// CodeEmpty marks a script without declarations.
	CodeEmpty = "P036"
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

// quoted wraps s in single quotes for a message.
func quoted(s string) string { return fmt.Sprintf("'%s'", s) }
