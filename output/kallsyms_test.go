package output

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"etap/maps"
)

const fakeKallsyms = `0000000000000000 A fixed_percpu_data
ffffffff81000000 T _stext
ffffffff812c4b60 T vfs_read
ffffffff812c4d10 t vfs_write
ffffffffc0a01000 t ext4_file_open	[ext4]
ffffffffc0a01100 t ext4_llseek	[ext4]
ffffffffc0b00000 t bpf_prog_87c7ce3cb7b446a0_p0_sched_switch	[bpf]
ffffffffc0c00000 t ext4_end	[ext4]
ffffffff814ca4d0 T bpf_trace_run4
ffffffff814ca6d0 T bpf_trace_run5
`

func fakeSyms() *Kallsyms {
	return NewKallsyms(func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(fakeKallsyms)), nil })
}

func TestKallsyms(t *testing.T) {
	k := fakeSyms()
	assert.Equal(t, "vfs_read", k.Symname(0xffffffff812c4b60))
	assert.Equal(t, "vfs_read", k.Symname(0xffffffff812c4b69))
	assert.Equal(t, "0x1000", k.Symname(0x1000), "below every symbol: the address")
	assert.Equal(t, "vfs_read+0x9/0x1b0 [kernel]", k.Symdata(0xffffffff812c4b69))
	assert.Equal(t, "ext4_file_open+0x10/0x100 [ext4]", k.Symdata(0xffffffffc0a01010))

	stack := []uint64{0xffffffff812c4b69, 0xffffffffc0a01010}
	assert.Equal(t, "0xffffffff812c4b69 0xffffffffc0a01010", k.convert(maps.ConvBacktrace, stack))
	assert.Equal(t, " 0xffffffff812c4b69 : vfs_read+0x9/0x1b0 [kernel]\n 0xffffffffc0a01010 : ext4_file_open+0x10/0x100 [ext4]\n",
		k.convert(maps.ConvPrintBacktrace, stack))
	assert.Equal(t, "", k.convert(maps.ConvBacktrace, nil))

	// A raw tracepoint's stack starts in the probe: left out.
	probe := []uint64{0xffffffffc0b0019a, 0xffffffff814ca5dd, 0xffffffff812c4b69}
	assert.Equal(t, "0xffffffff812c4b69", k.convert(maps.ConvBacktrace, probe))
	assert.Equal(t, "bpf_trace_run4", k.Symname(0xffffffff814ca5dd), "symname names every symbol")
}

func TestKallsymsUnreadable(t *testing.T) {
	k := NewKallsyms(func() (io.ReadCloser, error) { return nil, io.ErrUnexpectedEOF })
	assert.Equal(t, "0xffffffff812c4b60", k.Symname(0xffffffff812c4b60), "no table: the address")
}
