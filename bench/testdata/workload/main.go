// Command workload makes system calls for the benchmarks in bench/:
//
//	workload getpid|openat|read N     exactly N calls, then exit
//	workload getpid|openat|read 2s    calls until the time is up
//
// It prints how many calls it made. openat opens a path that does not
// exist, so no close follows; read reads 1 to 4096 bytes from /dev/zero,
// sizes spread over a dozen log2 buckets. Run it with
// GODEBUG=asyncpreemptoff=1: the runtime's preemption signal costs a
// getpid of its own.
package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: workload getpid|openat|read N|DURATION")
		os.Exit(2)
	}
	call, err := syscallOf(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	n := 0
	if d, err := time.ParseDuration(os.Args[2]); err == nil {
		end := time.Now().Add(d)
		// Check the clock every 1024 calls: a vDSO call is cheap but not free.
		for time.Now().Before(end) {
			for range 1024 {
				call(n)
				n++
			}
		}
	} else {
		count, err := strconv.Atoi(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, "workload: bad count or duration:", os.Args[2])
			os.Exit(2)
		}
		for ; n < count; n++ {
			call(n)
		}
	}
	fmt.Println(n)
}

func syscallOf(name string) (func(int), error) {
	switch name {
	case "getpid":
		return func(int) { syscall.Getpid() }, nil
	case "openat":
		// Go's syscall.Open is openat(AT_FDCWD, ...).
		return func(int) { syscall.Open("/nonexistent/etap-bench", syscall.O_RDONLY, 0) }, nil
	case "read":
		fd, err := syscall.Open("/dev/zero", syscall.O_RDONLY, 0)
		if err != nil {
			return nil, err
		}
		buf := make([]byte, 4096)
		return func(i int) { syscall.Read(fd, buf[:1+(i*397)%4096]) }, nil
	}
	return nil, fmt.Errorf("workload: unknown call %q", name)
}
