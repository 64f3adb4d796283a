package vm

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPerCPUHashMap(t *testing.T) {
	m := NewPerCPUHashMap(1, 2, 1, 2)
	cpu0, cpu1 := m.View(0), m.View(1)
	key := []byte{7}

	require.NoError(t, cpu1.Update(key, []byte{1, 2}, UpdateNoExist))
	v, ok, err := cpu0.Lookup(key)
	require.NoError(t, err)
	require.True(t, ok, "a key exists on every CPU")
	assert.Equal(t, []byte{0, 0}, v, "other CPUs start zeroed")
	v[0] = 9 // values are shared: stores need no write-back
	assert.ErrorIs(t, cpu0.Update(key, []byte{3, 3}, UpdateNoExist), ErrKeyExist)
	assert.ErrorIs(t, cpu0.Update([]byte{8}, []byte{3, 3}, UpdateAny), ErrMapFull)

	all, ok, err := cpu0.LookupCPUs(key)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, [][]byte{{9, 0}, {1, 2}}, all)

	var seen [][]byte
	require.NoError(t, cpu1.Iterate(func(k, v []byte) bool {
		seen = append(seen, append(k, v...))
		return true
	}))
	assert.Equal(t, [][]byte{{7, 1, 2}}, seen)

	require.NoError(t, cpu0.Delete(key))
	_, ok, err = cpu1.LookupCPUs(key)
	require.NoError(t, err)
	assert.False(t, ok, "delete removes the key from every CPU")
}

func TestPerCPUArrayMap(t *testing.T) {
	m := NewPerCPUArrayMap(1, 1, 2)
	key := []byte{0, 0, 0, 0}
	require.NoError(t, m.View(0).Update(key, []byte{4}, UpdateAny))
	require.NoError(t, m.View(1).Update(key, []byte{5}, UpdateExist))
	all, ok, err := m.View(0).LookupCPUs(key)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, [][]byte{{4}, {5}}, all)

	require.NoError(t, m.View(1).Delete(key), "deleting an array element zeroes it on every CPU")
	all, _, err = m.View(0).LookupCPUs(key)
	require.NoError(t, err)
	assert.Equal(t, [][]byte{{0}, {0}}, all)
	assert.Error(t, m.View(0).Update([]byte{1, 0, 0, 0}, []byte{1}, UpdateAny), "past the end")
}

// TestSummed sees a per-CPU map of longs as the sums over its CPUs; a
// write stores the total on CPU 0 and zeroes the others.
func TestSummed(t *testing.T) {
	long := func(v byte) []byte { return []byte{v, 0, 0, 0, 0, 0, 0, 0} }
	m := NewPerCPUHashMap(1, 8, 4, 3)
	s := NewSummed(m.View(0))
	require.NoError(t, m.View(1).Update([]byte{1}, long(5), UpdateNoExist))
	require.NoError(t, m.View(2).Update([]byte{1}, long(7), UpdateExist))

	v, ok, err := s.Lookup([]byte{1})
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, long(12), v)
	v[0] = 99 // a copy: the interpreter writes it back with Update
	all, _, err := m.View(0).LookupCPUs([]byte{1})
	require.NoError(t, err)
	assert.Equal(t, [][]byte{long(0), long(5), long(7)}, all)

	require.NoError(t, s.Update([]byte{1}, long(20), UpdateExist))
	all, _, err = m.View(0).LookupCPUs([]byte{1})
	require.NoError(t, err)
	assert.Equal(t, [][]byte{long(20), long(0), long(0)}, all)
	assert.ErrorIs(t, s.Update([]byte{1}, long(1), UpdateNoExist), ErrKeyExist)
	require.NoError(t, s.Update([]byte{2}, long(3), UpdateNoExist))
	require.NoError(t, m.View(2).Update([]byte{2}, long(4), UpdateExist))

	sums := map[byte][]byte{}
	require.NoError(t, s.Iterate(func(k, v []byte) bool {
		sums[k[0]] = append([]byte(nil), v...)
		return true
	}))
	assert.Equal(t, map[byte][]byte{1: long(20), 2: long(7)}, sums)

	require.NoError(t, s.Delete([]byte{2}))
	_, ok, err = s.Lookup([]byte{2})
	require.NoError(t, err)
	assert.False(t, ok)
	assert.ErrorIs(t, s.Delete([]byte{2}), ErrKeyNotExist)
}
