package sqlstore

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRunChunk(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		per  int
		left int
		want []int
	}{
		{per: 64, left: 1, want: []int{1}},
		{per: 64, left: 64, want: []int{64}},
		{per: 64, left: 203, want: []int{64, 64, 64, 8, 2, 1}},
		{per: 64, left: 127, want: []int{64, 32, 16, 8, 4, 2, 1}},
		{per: 1, left: 3, want: []int{1, 1, 1}},
		{per: 48, left: 100, want: []int{48, 48, 4}},
	} {
		var got []int
		for left := tt.left; left > 0; {
			n := runChunk(left, tt.per)
			got = append(got, n)
			left -= n
		}
		require.Equal(t, tt.want, got, "per %d, %d runs", tt.per, tt.left)
	}
}
