// Command readfile makes read(2) calls of known sizes on one file, for the
// guest's kernel.function("vfs_read") test: `readfile FILE N...` opens FILE
// and reads N bytes for each N, printing what each read returned.
package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Println("usage: readfile FILE N...")
		os.Exit(2)
	}
	fd, err := syscall.Open(os.Args[1], syscall.O_RDONLY, 0)
	if err != nil {
		fmt.Println("readfile:", err)
		os.Exit(1)
	}
	for _, arg := range os.Args[2:] {
		n, err := strconv.Atoi(arg)
		if err != nil {
			fmt.Println("readfile:", err)
			os.Exit(2)
		}
		got, err := syscall.Read(fd, make([]byte, n))
		if err != nil {
			fmt.Println("readfile:", err)
			os.Exit(1)
		}
		fmt.Printf("readfile: read(%d) = %d\n", n, got)
	}
}
