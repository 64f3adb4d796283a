package lang

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedCorpus adds every script of the test corpus to f, with extra as
// further arguments of each seed.
func seedCorpus(f *testing.F, extra ...any) {
	for _, dir := range []string{"parseok", "parseko", "print"} {
		paths, _ := filepath.Glob(filepath.Join("testdata", dir, "*.stp"))
		for _, path := range paths {
			src, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(append([]any{string(src)}, extra...)...)
		}
	}
}

// FuzzLex checks that no input makes the scanner panic or hang, that the
// tokens end with EOF and come in order, that a token written as is
// stands where its text is, with the right line and column, and that a
// token pasted from a script argument carries its origin.
func FuzzLex(f *testing.F) {
	seedCorpus(f, "1")
	f.Add("probe $1 { x = $1_y + @1 $# @# }", "a.b")
	f.Add(`x = $1"tail"`, `"ab`)
	f.Fuzz(func(t *testing.T, src, arg string) {
		s := scan("fuzz.stp", src, []string{arg, "2"})
		if len(s.toks) == 0 || !s.toks[len(s.toks)-1].EOF() {
			t.Fatal("the tokens do not end with EOF")
		}
		if s.origins != nil && len(s.origins) != len(s.toks) {
			t.Fatalf("%d origins for %d tokens", len(s.origins), len(s.toks))
		}
		line, lineStart, prev := 1, 0, 0
		for i, tok := range s.toks {
			off := tok.Pos.Offset
			if off < prev || off > len(src) {
				t.Fatalf("token %d %q at offset %d, after %d (source of %d bytes)", i, tok.Value, off, prev, len(src))
			}
			for ; prev < off; prev++ {
				if src[prev] == '\n' {
					line, lineStart = line+1, prev+1
				}
			}
			if tok.Pos.Line != line || tok.Pos.Column != off-lineStart+1 {
				t.Fatalf("token %d %q at %d:%d, want %d:%d", i, tok.Value, tok.Pos.Line, tok.Pos.Column, line, off-lineStart+1)
			}
			pasted := s.origins != nil && s.origins[i] != nil
			if !pasted && !tok.EOF() && !strings.HasPrefix(src[off:], tok.Value) {
				t.Fatalf("token %d %q is not the text at offset %d", i, tok.Value, off)
			}
			if pasted && len(s.origins[i].notes()) == 0 {
				t.Fatalf("pasted token %d %q says nothing of its origin", i, tok.Value)
			}
		}
		for _, d := range s.diags {
			if !d.Span.Start.IsValid() || d.Code == "" {
				t.Fatalf("diagnostic without position or code: %v", d)
			}
		}
		if _, err := Lexer.Lex("fuzz.stp", strings.NewReader(src)); err == nil && len(s.diags) > 0 && !strings.ContainsAny(src, "$@") {
			t.Fatal("the participle lexer accepts what the scanner rejects")
		}
	})
}

// FuzzParse checks that no input makes Parse panic or hang, and that every
// input that parses cleanly prints to text that parses back to the same
// tree and prints the same again.
func FuzzParse(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, src string) {
		file, diags := ParseWith("fuzz.stp", src, Options{Args: []string{"1", "a"}, Facts: corpusFacts})
		if len(diags.Items) > maxErrors {
			t.Fatalf("%d diagnostics, more than %d", len(diags.Items), maxErrors)
		}
		for _, d := range diags.Items {
			if !d.Span.Start.IsValid() || d.Code == "" {
				t.Fatalf("diagnostic without position or code: %v", d)
			}
			for _, r := range d.Related {
				if !r.Span.Start.IsValid() {
					t.Fatalf("note without position: %v", d)
				}
			}
		}
		if diags.HasErrors() {
			return
		}
		checkSpans(t, file)
		var out bytes.Buffer
		Print(&out, file)
		again, diags := Parse("fuzz.stp", out.String(), nil)
		if diags.HasErrors() {
			t.Fatalf("printed text does not parse: %v\n%s", diags, out.String())
		}
		if dump(file) != dump(again) {
			t.Fatalf("round trip changed the tree\nprinted:\n%s\nbefore: %s\nafter:  %s", out.String(), dump(file), dump(again))
		}
		var out2 bytes.Buffer
		Print(&out2, again)
		if out.String() != out2.String() {
			t.Fatalf("printing is not stable:\n%s\n---\n%s", out.String(), out2.String())
		}
	})
}
