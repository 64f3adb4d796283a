// Package diag holds etap's one diagnostic type: a positioned message with a
// stable code, related notes and a hint, and the list passes append to.
// Passes never print; only the command renders a List.
package diag

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is a position in a source file. Line and Col count from 1; Col counts
// bytes. The zero Pos means "no position".
type Pos struct {
	File   string
	Offset int
	Line   int
	Col    int
}

// IsValid reports whether p names a real place in a file.
func (p Pos) IsValid() bool { return p.Line > 0 }

// String renders p as file:line:col, the form editors jump to.
func (p Pos) String() string {
	if !p.IsValid() {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Span is the extent of a construct in the source: from Start up to End.
type Span struct {
	Start, End Pos
}

// Severity orders diagnostics: errors stop the compile, warnings do not.
type Severity int

// The severities, from least to most serious.
const (
	Note Severity = iota
	Warning
	Error
)

// Kind says which pass found the problem; it is the word after the position
// ("parse error", "semantic error", "runtime error").
type Kind string

// The kinds of diagnostics etap reports.
const (
	Parse    Kind = "parse"
	Semantic Kind = "semantic"
	Codegen  Kind = "compile"
	Verifier Kind = "verifier"
	Attach   Kind = "attach"
	Runtime  Kind = "runtime"
)

// Related is a secondary location that helps to explain a diagnostic, such
// as where a type was first inferred or the alias a probe came from.
type Related struct {
	Span    Span
	Message string
}

// Diagnostic is one problem found in a script.
type Diagnostic struct {
	Severity Severity
	Kind     Kind
	// Code is stable across releases; tests match on it.
	Code    string
	Span    Span
	Message string
	Related []Related
	Hint    string
}

// Error makes a Diagnostic usable as an error; it gives the first line only.
func (d *Diagnostic) Error() string {
	return fmt.Sprintf("%s: %s", d.Span.Start, d.headline())
}

func (d *Diagnostic) headline() string {
	word := "error"
	switch d.Severity {
	case Warning:
		word = "warning"
	case Note:
		word = "note"
	}
	if d.Kind != "" && d.Severity != Note {
		word = string(d.Kind) + " " + word
	}
	return word + ": " + d.Message
}

// Errorf builds an error diagnostic of the given kind and code at span.
func Errorf(kind Kind, code string, span Span, format string, args ...any) *Diagnostic {
	return &Diagnostic{Severity: Error, Kind: kind, Code: code, Span: span, Message: fmt.Sprintf(format, args...)}
}

// Warnf builds a warning diagnostic.
func Warnf(kind Kind, code string, span Span, format string, args ...any) *Diagnostic {
	return &Diagnostic{Severity: Warning, Kind: kind, Code: code, Span: span, Message: fmt.Sprintf(format, args...)}
}

// WithHint sets the one-line hint and returns d, for chaining.
func (d *Diagnostic) WithHint(format string, args ...any) *Diagnostic {
	d.Hint = fmt.Sprintf(format, args...)
	return d
}

// WithNote adds a related location and returns d, for chaining.
func (d *Diagnostic) WithNote(span Span, format string, args ...any) *Diagnostic {
	d.Related = append(d.Related, Related{Span: span, Message: fmt.Sprintf(format, args...)})
	return d
}

// List collects the diagnostics of a compile. The zero List is ready to use.
type List struct {
	Items []*Diagnostic
}

// Add appends d.
func (l *List) Add(d *Diagnostic) { l.Items = append(l.Items, d) }

// HasErrors reports whether any diagnostic in l is an error.
func (l *List) HasErrors() bool {
	for _, d := range l.Items {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Err returns l as an error when it holds an error, else nil.
func (l *List) Err() error {
	if l.HasErrors() {
		return l
	}
	return nil
}

// Error summarises the list; render it with Render for the full text.
func (l *List) Error() string {
	var parts []string
	for _, d := range l.Items {
		parts = append(parts, d.Error())
	}
	return strings.Join(parts, "\n")
}

// Sort orders the list by position, keeping the order of equal positions.
func (l *List) Sort() {
	sort.SliceStable(l.Items, func(i, j int) bool {
		a, b := l.Items[i].Span.Start, l.Items[j].Span.Start
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}
