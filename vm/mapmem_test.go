package vm

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestArrayMap(t *testing.T) {
	a := NewArrayMap(8, 3)
	assert.Equal(t, 4, a.KeySize())
	assert.Equal(t, 8, a.ValueSize())

	v, ok, err := a.Lookup(key32(2))
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, make([]byte, 8), v)

	val := binary.LittleEndian.AppendUint64(nil, 42)
	require.NoError(t, a.Update(key32(2), val, UpdateExist))
	// Lookup hands out the storage itself.
	assert.Equal(t, val, v)

	_, ok, err = a.Lookup(key32(3))
	require.NoError(t, err)
	assert.False(t, ok)

	assert.ErrorIs(t, a.Update(key32(3), val, UpdateAny), unix.E2BIG)
	assert.ErrorIs(t, a.Update(key32(0), val, UpdateNoExist), ErrKeyExist)
	assert.ErrorIs(t, a.Update(key32(0), val, 9), unix.EINVAL)
	assert.ErrorIs(t, a.Update(key32(0), val[:4], UpdateAny), unix.EINVAL)
	assert.ErrorIs(t, a.Delete(key32(0)), unix.EINVAL)
	_, _, err = a.Lookup([]byte{1})
	assert.ErrorIs(t, err, unix.EINVAL)

	var keys []uint32
	require.NoError(t, a.Iterate(func(k, v []byte) bool {
		keys = append(keys, binary.LittleEndian.Uint32(k))
		return true
	}))
	assert.Equal(t, []uint32{0, 1, 2}, keys)
}

func TestHashMap(t *testing.T) {
	h := NewHashMap(4, 2, 2)
	assert.Equal(t, 4, h.KeySize())
	assert.Equal(t, 2, h.ValueSize())

	require.NoError(t, h.Update(key32(1), []byte{1, 1}, UpdateNoExist))
	v, ok, err := h.Lookup(key32(1))
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, []byte{1, 1}, v)

	// Updates land in place: earlier lookups see them.
	require.NoError(t, h.Update(key32(1), []byte{2, 2}, UpdateExist))
	assert.Equal(t, []byte{2, 2}, v)

	assert.ErrorIs(t, h.Update(key32(1), []byte{3, 3}, UpdateNoExist), ErrKeyExist)
	assert.ErrorIs(t, h.Update(key32(2), []byte{3, 3}, UpdateExist), ErrKeyNotExist)
	require.NoError(t, h.Update(key32(2), []byte{3, 3}, UpdateAny))
	err = h.Update(key32(3), []byte{3, 3}, UpdateAny)
	assert.ErrorIs(t, err, ErrMapFull)
	assert.ErrorIs(t, err, unix.E2BIG)

	n := 0
	require.NoError(t, h.Iterate(func(k, v []byte) bool {
		n++
		return false
	}))
	assert.Equal(t, 1, n, "Iterate stops when f returns false")

	require.NoError(t, h.Delete(key32(1)))
	assert.ErrorIs(t, h.Delete(key32(1)), unix.ENOENT)
	_, ok, err = h.Lookup(key32(1))
	require.NoError(t, err)
	assert.False(t, ok)
	require.NoError(t, h.Update(key32(3), []byte{3, 3}, UpdateAny), "room again after a delete")
}
