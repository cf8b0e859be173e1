package sqlstore

import (
	"testing"
	"time"

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

// TestRunInsertSQLKept checks that the text of an INSERT of runs is built
// once for each size and set of columns (a batch runs chunks of the same
// few), and that it is the text built anew. Not parallel: AllocsPerRun.
func TestRunInsertSQLKept(t *testing.T) {
	for _, d := range []Dialect{{Name: "sqlite"}, {Name: "postgres", NumberedParams: true}} {
		s := New(nil, d)
		for _, tt := range []struct {
			n    int
			cols runColSet
		}{{64, colRequestID}, {1, 0}, {8, colError | colCause | colRequestID}} {
			want := s.buildRunInsertSQL(tt.n, tt.cols)
			require.Equal(t, want, s.runInsertSQL(tt.n, tt.cols), "%s: %d rows, columns %b", d.Name, tt.n, tt.cols)
			allocs := testing.AllocsPerRun(10, func() {
				if s.runInsertSQL(tt.n, tt.cols) != want {
					t.Error("another text")
				}
			})
			require.Zero(t, allocs, "%s: %d rows, columns %b", d.Name, tt.n, tt.cols)
		}
	}
}

// TestRunInsertSQLBounded checks that past maxRunSQL texts runInsertSQL
// keeps no more, and still returns the right ones.
func TestRunInsertSQLBounded(t *testing.T) {
	t.Parallel()
	s := New(nil, Dialect{Name: "sqlite"})
	for n := 1; n <= maxRunSQL+10; n++ {
		require.Equal(t, s.buildRunInsertSQL(n, colLog), s.runInsertSQL(n, colLog))
	}
	kept := 0
	s.runSQL.Range(func(any, any) bool { kept++; return true })
	require.Equal(t, maxRunSQL, kept)
	require.Equal(t, s.buildRunInsertSQL(maxRunSQL+5, colLog), s.runInsertSQL(maxRunSQL+5, colLog))
}

// TestNorm checks that norm is t.UTC().Truncate(time.Microsecond), the
// monotonic reading dropped, before and after 1970 and the zero time.
func TestNorm(t *testing.T) {
	t.Parallel()
	berlin := time.FixedZone("CET", 3600)
	for _, in := range []time.Time{
		time.Now(),
		time.Date(2026, 12, 6, 14, 10, 44, 123456789, berlin),
		time.Date(2026, 12, 6, 14, 10, 44, 999, time.UTC),
		time.Date(2026, 12, 6, 14, 10, 44, 1000, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1500, time.UTC),
		{},
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, berlin),
	} {
		got, want := norm(in), in.UTC().Truncate(time.Microsecond)
		require.True(t, got.Equal(want), "%v: %v, want %v", in, got, want)
		require.Equal(t, want.String(), got.String(), "%v: location or monotonic reading", in)
	}
}
