package diag

import (
	"fmt"
	"io"
	"strings"
)

// Sources gives the text of a file by name, so that Render can quote the
// offending line. It returns false when the text is not known.
type Sources func(file string) (string, bool)

// Render writes d in etap's format:
//
//	t.stp:2:22: semantic error: type mismatch (string): identifier 'x'
//	        source: probe begin { x = 1; x = "s" }
//	                                     ^
//	t.stp:2:15: note: type was first inferred here (long)
//	        hint: use a second variable, or convert with sprint(x)
func Render(w io.Writer, d *Diagnostic, src Sources) {
	fmt.Fprintf(w, "%s\n", d.Error())
	quote(w, d.Span.Start, src)
	for _, r := range d.Related {
		fmt.Fprintf(w, "%s: note: %s\n", r.Span.Start, r.Message)
		quote(w, r.Span.Start, src)
	}
	if d.Hint != "" {
		fmt.Fprintf(w, "        hint: %s\n", d.Hint)
	}
}

// RenderList renders every diagnostic in l, in order.
func RenderList(w io.Writer, l *List, src Sources) {
	for _, d := range l.Items {
		Render(w, d, src)
	}
}

const sourcePrefix = "        source: "

func quote(w io.Writer, p Pos, src Sources) {
	if !p.IsValid() || src == nil {
		return
	}
	text, ok := src(p.File)
	if !ok {
		return
	}
	lines := strings.Split(text, "\n")
	if p.Line > len(lines) {
		return
	}
	line := strings.TrimRight(lines[p.Line-1], "\r")
	fmt.Fprintf(w, "%s%s\n", sourcePrefix, expandTabs(line))
	col := p.Col - 1
	if col > len(line) {
		col = len(line)
	}
	// Tabs before the caret become as wide as expandTabs made them.
	width := len(expandTabs(line[:col]))
	fmt.Fprintf(w, "%s^\n", strings.Repeat(" ", len(sourcePrefix)+width))
}

func expandTabs(s string) string {
	return strings.ReplaceAll(s, "\t", "    ")
}
