// Command getpid makes exactly N getpid system calls (default 1000), so
// that tests can count them with a tracepoint. Run it with
// GODEBUG=asyncpreemptoff=1: the runtime sends its preemption signal with
// tgkill(getpid(), ...), one getpid too many when the loop runs long on a
// busy machine.
package main

import (
	"os"
	"strconv"
	"syscall"
)

func main() {
	n := 1000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	for i := 0; i < n; i++ {
		syscall.Getpid()
	}
}
