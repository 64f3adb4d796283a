package diag

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRenderQuotesTheLineWithACaret(t *testing.T) {
	src := "global x\nprobe begin { x = 1; x = \"s\" }\n"
	d := Errorf(Semantic, "S006", Span{Start: Pos{File: "t.stp", Line: 2, Col: 22}}, "type mismatch (string): '%s' was long", "x").
		WithNote(Span{Start: Pos{File: "t.stp", Line: 2, Col: 15}}, "type was first inferred here (long)").
		WithHint("use a second variable")
	var b bytes.Buffer
	Render(&b, d, func(file string) (string, bool) { return src, file == "t.stp" })
	want := `t.stp:2:22: semantic error: type mismatch (string): 'x' was long
        source: probe begin { x = 1; x = "s" }
                                     ^
t.stp:2:15: note: type was first inferred here (long)
        source: probe begin { x = 1; x = "s" }
                              ^
        hint: use a second variable
`
	assert.Equal(t, want, b.String())
}

func TestRenderExpandsTabsBeforeTheCaret(t *testing.T) {
	d := Errorf(Parse, "P1", Span{Start: Pos{File: "f", Line: 1, Col: 3}}, "bad")
	var b bytes.Buffer
	Render(&b, d, func(string) (string, bool) { return "\t\tx", true })
	assert.Equal(t, "f:1:3: parse error: bad\n        source:         x\n                        ^\n", b.String())
}

func TestRenderWithoutSource(t *testing.T) {
	d := Warnf(Semantic, "W1", Span{Start: Pos{File: "f", Line: 9, Col: 1}}, "unused")
	var b bytes.Buffer
	Render(&b, d, nil)
	assert.Equal(t, "f:9:1: semantic warning: unused\n", b.String())
}

func TestListSortsAndReportsErrors(t *testing.T) {
	var l List
	require.NoError(t, l.Err())
	l.Add(Warnf(Semantic, "W", Span{Start: Pos{File: "a", Line: 3, Col: 1}}, "w"))
	assert.False(t, l.HasErrors())
	l.Add(Errorf(Semantic, "E", Span{Start: Pos{File: "a", Line: 1, Col: 5}}, "e"))
	l.Sort()
	assert.True(t, l.HasErrors())
	assert.Equal(t, "E", l.Items[0].Code)
	assert.EqualError(t, l.Err(), "a:1:5: semantic error: e\na:3:1: semantic warning: w")
}

func TestClosest(t *testing.T) {
	names := []string{"printf", "println", "print", "execname"}
	assert.Equal(t, "printf", Closest("printff", names))
	assert.Equal(t, "execname", Closest("exename", names))
	assert.Equal(t, "", Closest("zzzzzzzz", names))
	assert.Equal(t, "", Closest("print", []string{"print"}), "the name itself is no suggestion")
}
