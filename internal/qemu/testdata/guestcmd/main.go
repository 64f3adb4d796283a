// Command guestcmd stands in for a real guest command (such as etap with a
// script) in internal/qemu's tests: `guestcmd STATUS [FILE...]` prints each
// file, then exits with STATUS.
package main

import (
	"fmt"
	"os"
	"strconv"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Println("usage: guestcmd STATUS [FILE...]")
		os.Exit(2)
	}
	status, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Println("guestcmd:", err)
		os.Exit(2)
	}
	for _, name := range os.Args[2:] {
		data, err := os.ReadFile(name)
		if err != nil {
			fmt.Println("guestcmd:", err)
			os.Exit(2)
		}
		fmt.Printf("guestcmd: %s: %s\n", name, data)
	}
	os.Exit(status)
}
