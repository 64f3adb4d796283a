package lang

import "testing"

func TestZZSpan(t *testing.T) {
	f, diags := Parse("t.stp", "@define f(a) %( @a + 1 %)\nprobe begin { x = @f(y) }", nil)
	if diags.HasErrors() { t.Fatal(diags) }
	checkSpans(t, f)
}
