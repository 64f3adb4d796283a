package sema

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"

	"github.com/cilium/ebpf/btf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etap/internal/btftest"
)

// TestBTFFunctionNames checks the raw walk over BTF type headers against
// the functions cilium/ebpf decodes from the same BTF.
func TestBTFFunctionNames(t *testing.T) {
	spec, err := btftest.Spec("")
	require.NoError(t, err)
	want, err := btftest.FunctionsOf(spec)
	require.NoError(t, err)
	raw := marshal(t, spec)

	got, err := btfFunctionNames(raw, nil)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	assert.Contains(t, got, "vfs_read")

	_, err = btfFunctionNames(raw[:len(raw)-1], nil)
	assert.ErrorContains(t, err, "out of range")
	_, err = btfFunctionNames([]byte("not BTF at all, just some text"), nil)
	assert.ErrorContains(t, err, "bad magic")
}

// marshal encodes every type of spec as raw BTF.
func marshal(t *testing.T, spec *btf.Spec) []byte {
	t.Helper()
	b, err := btf.NewBuilder(nil, nil)
	require.NoError(t, err)
	for typ, err := range spec.All() {
		require.NoError(t, err)
		_, err = b.Add(typ)
		require.NoError(t, err)
	}
	raw, err := b.Marshal(nil, nil)
	require.NoError(t, err)
	return raw
}

// TestBTFFunctionNamesSplit checks a module's BTF, whose names may be in
// the kernel's strings: offsets below the size of the kernel's string
// section are the kernel's, the others the module's own.
func TestBTFFunctionNamesSplit(t *testing.T) {
	spec, err := btftest.Spec("")
	require.NoError(t, err)
	base := marshal(t, spec)
	_, _, baseStrings, err := btfSections(base)
	require.NoError(t, err)
	shared := bytes.Index(baseStrings, []byte("vfs_read\x00"))
	require.Positive(t, shared)

	own := []byte("\x00mod_open\x00")
	var types bytes.Buffer
	for _, nameOff := range []int{shared, len(baseStrings) + 1} {
		// A FUNC (kind 12) of the name, then an INT with its 4-byte
		// trailer, which the walk must step over.
		binary.Write(&types, binary.LittleEndian, []uint32{uint32(nameOff), 12 << 24, 0})
		binary.Write(&types, binary.LittleEndian, []uint32{0, 1 << 24, 4, 0})
	}
	h := btfHeader{Magic: btfMagic, Version: 1, HdrLen: 24, TypeLen: uint32(types.Len()), StrOff: uint32(types.Len()), StrLen: uint32(len(own))}
	var raw bytes.Buffer
	require.NoError(t, binary.Write(&raw, binary.LittleEndian, h))
	raw.Write(types.Bytes())
	raw.Write(own)

	got, err := btfFunctionNames(raw.Bytes(), base)
	require.NoError(t, err)
	assert.Equal(t, []string{"mod_open", "vfs_read"}, got)
}

// TestTracefsFunctions checks the kernel's own BTF the same way.
func TestTracefsFunctions(t *testing.T) {
	if _, err := os.Stat(btfDir + "/vmlinux"); err != nil {
		t.Skipf("this kernel has no BTF: %v", err)
	}
	got, err := NewTracefs(DefaultTracefsRoot).Functions("")
	require.NoError(t, err)
	spec, err := btf.LoadKernelSpec()
	require.NoError(t, err)
	want, err := btftest.FunctionsOf(spec)
	require.NoError(t, err)
	assert.Equal(t, want, got)

	_, err = NewTracefs(DefaultTracefsRoot).Functions("no_such_module")
	assert.ErrorIs(t, err, os.ErrNotExist)
}
