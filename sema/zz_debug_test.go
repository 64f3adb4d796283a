package sema_test

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"etap/sema"
)

func TestZZDebug(t *testing.T) {
	p := os.Getenv("DBG")
	if p == "" {
		return
	}
	src, _ := os.ReadFile(p)
	prog, diags := check(t, p, string(src))
	for _, d := range diags.Items {
		fmt.Printf("%d: %s\n", d.Span.Start.Line, formatDiag(d))
	}
	if prog != nil {
		var b bytes.Buffer
		sema.Dump(&b, prog)
		fmt.Print(b.String())
	}
}
