// Command gotarget is the Go program of etap's uprobe tests: Go passes
// arguments in its own registers (RAX, RBX, RCX, ...), not C's, and names
// its functions package.name. It prints the sum of mul(i, 7) for i from 1
// to its argument.
package main

import (
	"fmt"
	"os"
	"strconv"
)

// mul is probed on entry and return.
//
//go:noinline
func mul(a, b int) int { return a * b }

func main() {
	n := 3
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	sum := 0
	for i := 1; i <= n; i++ {
		sum += mul(i, 7)
	}
	fmt.Println("sum", sum)
}
