package loader

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseCPUList(t *testing.T) {
	for list, want := range map[string][]int{
		"0":       {0},
		"0-1":     {0, 1},
		"0-3,5":   {0, 1, 2, 3, 5},
		"1,3,6-7": {1, 3, 6, 7},
	} {
		got, err := parseCPUList(list)
		require.NoError(t, err, list)
		assert.Equal(t, want, got, list)
	}
	_, err := parseCPUList("0-x")
	assert.ErrorContains(t, err, `cpu list "0-x"`)
}
