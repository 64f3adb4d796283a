package qemu

import (
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// File types in a cpio header's mode, the values of POSIX's S_IF* (cpio
// fixes them, whatever the host).
const (
	cpioDir     = 0o040000
	cpioRegular = 0o100000
	cpioCharDev = 0o020000
)

// cpioWriter writes a cpio archive in the "newc" format, the one the kernel
// unpacks as an initramfs (Documentation/driver-api/early-userspace/
// buffer-format.rst). It creates missing parent directories itself, because
// the kernel does not: a file whose directory has not been unpacked yet is
// dropped with only a console warning.
//
// Every entry gets its own inode number and one link, and mtime 0 so that the
// same inputs give the same archive.
type cpioWriter struct {
	w    io.Writer
	ino  uint32
	dirs map[string]bool
	err  error
}

// newCPIOWriter returns a writer that writes the archive to w.
func newCPIOWriter(w io.Writer) *cpioWriter {
	return &cpioWriter{w: w, dirs: map[string]bool{".": true}}
}

// Dir adds the directory name (and its missing parents) with permissions perm.
func (c *cpioWriter) Dir(name string, perm fs.FileMode) error {
	name, err := c.clean(name)
	if err != nil {
		return err
	}
	if err := c.parents(name); err != nil {
		return err
	}
	if c.dirs[name] {
		return nil
	}
	c.dirs[name] = true
	return c.entry(name, cpioDir|uint32(perm.Perm()), 2, 0, 0, nil)
}

// File adds a regular file with permissions perm and contents data.
func (c *cpioWriter) File(name string, perm fs.FileMode, data []byte) error {
	name, err := c.clean(name)
	if err != nil {
		return err
	}
	if err := c.parents(name); err != nil {
		return err
	}
	return c.entry(name, cpioRegular|uint32(perm.Perm()), 1, 0, 0, data)
}

// CharDev adds a character device node.
func (c *cpioWriter) CharDev(name string, perm fs.FileMode, major, minor uint32) error {
	name, err := c.clean(name)
	if err != nil {
		return err
	}
	if err := c.parents(name); err != nil {
		return err
	}
	return c.entry(name, cpioCharDev|uint32(perm.Perm()), 1, major, minor, nil)
}

// Close writes the trailer that ends the archive. It does not close the
// underlying writer.
func (c *cpioWriter) Close() error {
	return c.entry("TRAILER!!!", 0, 1, 0, 0, nil)
}

// clean turns a guest path such as "/bin/etap" into the archive's relative
// form "bin/etap" and rejects paths that would escape the root.
func (c *cpioWriter) clean(name string) (string, error) {
	clean := strings.TrimPrefix(path.Clean("/"+name), "/")
	if clean == "" || clean != strings.TrimPrefix(name, "/") {
		return "", fmt.Errorf("cpio: bad path %q", name)
	}
	return clean, nil
}

// parents adds the directories above name that are not in the archive yet,
// outermost first, mode 0755.
func (c *cpioWriter) parents(name string) error {
	dir := path.Dir(name)
	if c.dirs[dir] {
		return nil
	}
	return c.Dir(dir, 0o755)
}

// entry writes one header, the name and the data, each padded to four bytes.
func (c *cpioWriter) entry(name string, mode, nlink, rmajor, rminor uint32, data []byte) error {
	if c.err != nil {
		return c.err
	}
	c.ino++
	// The name size counts the terminating NUL; the 110-byte header plus
	// the name, and then the data, are each padded to a multiple of 4.
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rmajor, rminor, len(name)+1, 0)
	head := make([]byte, pad4(len(hdr)+len(name)+1))
	copy(head[copy(head, hdr):], name)
	// Data goes out as its own write: files such as a static etap binary
	// are tens of megabytes, not worth copying into one buffer.
	for _, b := range [][]byte{head, data, make([]byte, pad4(len(data))-len(data))} {
		if _, err := c.w.Write(b); err != nil {
			c.err = fmt.Errorf("cpio: write %s: %w", name, err)
			return c.err
		}
	}
	return nil
}

// pad4 rounds n up to a multiple of 4.
func pad4(n int) int { return (n + 3) &^ 3 }
