package lang

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no input makes Parse panic or hang, and that every
// input that parses cleanly prints to text that parses back to the same
// tree and prints the same again.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"parseok", "parseko", "print"} {
		paths, _ := filepath.Glob(filepath.Join("testdata", dir, "*.stp"))
		for _, path := range paths {
			src, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(string(src))
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		file, diags := Parse("fuzz.stp", src, []string{"1", "a"})
		if len(diags.Items) > maxErrors {
			t.Fatalf("%d diagnostics, more than %d", len(diags.Items), maxErrors)
		}
		for _, d := range diags.Items {
			if !d.Span.Start.IsValid() || d.Code == "" {
				t.Fatalf("diagnostic without position or code: %v", d)
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
