package qemu

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cpioEntry is one decoded newc entry.
type cpioEntry struct {
	name             string
	ino, mode, nlink uint32
	rmaj, rmin       uint32
	data             string
}

// readCPIO decodes a newc archive up to and including its trailer, checking
// the magic and the four-byte alignment the kernel insists on.
func readCPIO(t *testing.T, b []byte) []cpioEntry {
	t.Helper()
	var entries []cpioEntry
	off := 0
	for {
		require.Zero(t, off%4, "entry at %d not aligned", off)
		require.LessOrEqual(t, off+110, len(b), "truncated header at %d", off)
		hdr := string(b[off : off+110])
		require.Equal(t, "070701", hdr[:6], "magic at %d", off)
		field := func(i int) uint32 {
			v, err := strconv.ParseUint(hdr[6+8*i:14+8*i], 16, 32)
			require.NoError(t, err)
			return uint32(v)
		}
		namesize, filesize := int(field(11)), int(field(6))
		name := b[off+110 : off+110+namesize]
		require.Equal(t, byte(0), name[namesize-1], "name not NUL-terminated")
		dataOff := pad4(off + 110 + namesize)
		e := cpioEntry{
			name: string(name[:namesize-1]), ino: field(0), mode: field(1), nlink: field(4),
			rmaj: field(9), rmin: field(10), data: string(b[dataOff : dataOff+filesize]),
		}
		entries = append(entries, e)
		off = pad4(dataOff + filesize)
		if e.name == "TRAILER!!!" {
			require.Equal(t, len(b), off, "bytes after the trailer")
			return entries
		}
	}
}

func TestCPIOWriter(t *testing.T) {
	var buf bytes.Buffer
	w := newCPIOWriter(&buf)
	require.NoError(t, w.CharDev("/dev/console", 0o600, 5, 1))
	require.NoError(t, w.File("/init", 0o755, []byte("12345")))
	require.NoError(t, w.File("/a/b/c.txt", 0o644, []byte("x")))
	require.NoError(t, w.Dir("/a", 0o700)) // already there: no second entry
	require.NoError(t, w.File("/a/b/d", 0o600, nil))
	require.NoError(t, w.Close())

	got := readCPIO(t, buf.Bytes())
	type entry struct {
		name  string
		mode  uint32
		nlink uint32
		data  string
	}
	var names []entry
	for _, e := range got {
		names = append(names, entry{e.name, e.mode, e.nlink, e.data})
	}
	assert.Equal(t, []entry{
		{"dev", cpioDir | 0o755, 2, ""},
		{"dev/console", cpioCharDev | 0o600, 1, ""},
		{"init", cpioRegular | 0o755, 1, "12345"},
		{"a", cpioDir | 0o755, 2, ""},
		{"a/b", cpioDir | 0o755, 2, ""},
		{"a/b/c.txt", cpioRegular | 0o644, 1, "x"},
		{"a/b/d", cpioRegular | 0o600, 1, ""},
		{"TRAILER!!!", 0, 1, ""},
	}, names)
	assert.Equal(t, uint32(5), got[1].rmaj)
	assert.Equal(t, uint32(1), got[1].rmin)
	// Distinct inodes: the kernel treats entries that share one (with
	// nlink > 1) as hard links.
	seen := map[uint32]bool{}
	for _, e := range got {
		assert.False(t, seen[e.ino], "inode %d reused by %s", e.ino, e.name)
		seen[e.ino] = true
	}
}

func TestCPIOWriterRejectsBadPaths(t *testing.T) {
	for _, name := range []string{"", "/", "../etc/passwd", "/a/../../b", "/a/", "a//b"} {
		w := newCPIOWriter(&bytes.Buffer{})
		assert.Error(t, w.File(name, 0o644, nil), "path %q", name)
	}
}

func TestVerdict(t *testing.T) {
	for _, tc := range []struct {
		name, console, want string
		found               bool
	}{
		{"pass", "boot\n" + ResultMarker + Pass + "\n", Pass, true},
		{"fail", ResultMarker + Fail + "\n[ 1.0] reboot: Power down\n", Fail, true},
		{"last wins", ResultMarker + Pass + "\n" + ResultMarker + Fail + "\n", Fail, true},
		{"after kernel text", "[ 2.1] random: crng init done" + ResultMarker + Pass, Pass, true},
		{"none", "Kernel panic - not syncing\n", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, found := verdict(tc.console)
			assert.Equal(t, tc.found, found)
			assert.Equal(t, tc.want, got)
		})
	}
}
