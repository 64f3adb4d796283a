// Command files makes a known sequence of file system calls, for tests of
// the syscall probes to assert their arguments and returns:
//
//	files DIR N
//
// opens DIR/in (O_RDONLY|O_CLOEXEC), reads up to 4096 bytes from it and
// closes it; opens DIR/missing, which fails with ENOENT; creates DIR/out
// (O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, mode 0640), writes "hello" to it and
// closes it; then makes N getpid calls. It calls the kernel directly, so
// that the flags are exactly these. Run it with GODEBUG=asyncpreemptoff=1,
// as getpid.
package main

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"unsafe"
)

// atFDCWD is AT_FDCWD, as the raw openat call takes it.
const atFDCWD = -100

func openat(path string, flags, mode int) int {
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		panic(err)
	}
	dirfd := atFDCWD
	fd, _, _ := syscall.Syscall6(syscall.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(flags), uintptr(mode), 0, 0)
	return int(fd)
}

func main() {
	dir := os.Args[1]
	n, _ := strconv.Atoi(os.Args[2])
	buf := make([]byte, 4096)

	fd := openat(filepath.Join(dir, "in"), syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	syscall.Syscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
	syscall.Syscall(syscall.SYS_CLOSE, uintptr(fd), 0, 0)

	openat(filepath.Join(dir, "missing"), syscall.O_RDONLY, 0)

	fd = openat(filepath.Join(dir, "out"), syscall.O_WRONLY|syscall.O_CREAT|syscall.O_TRUNC|syscall.O_CLOEXEC, 0o640)
	hello := []byte("hello")
	syscall.Syscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&hello[0])), uintptr(len(hello)))
	syscall.Syscall(syscall.SYS_CLOSE, uintptr(fd), 0, 0)

	for i := 0; i < n; i++ {
		syscall.Getpid()
	}
}
