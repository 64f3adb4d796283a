//go:build !amd64 && !arm64

package bpf

// syscallNames is empty where etap has no system call table: syscall_name
// gives "".
var syscallNames = map[int64]string{}
