package dispatch

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// TestNewRunID checks that run ids are UUIDv7 as uuid.NewV7 makes them:
// version 7, the RFC variant, the creation time in the first 48 bits, and
// increasing in the order they were made, many within one millisecond.
func TestNewRunID(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		n    int
	}{
		{"One", 1},
		{"ManyPerMillisecond", 10_000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before := time.Now().UnixMilli()
			ids := make([]string, tt.n)
			for i := range ids {
				ids[i] = newRunID()
			}
			after := time.Now().UnixMilli()
			for i, id := range ids {
				u, err := uuid.Parse(id)
				require.NoError(t, err)
				require.Equal(t, u.String(), id, "canonical lowercase form")
				require.Equal(t, uuid.Version(7), u.Version())
				require.Equal(t, uuid.RFC4122, u.Variant())
				sec, nsec := u.Time().UnixTime()
				ms := sec*1000 + nsec/int64(time.Millisecond)
				require.GreaterOrEqual(t, ms, before)
				// The count within a millisecond may run ahead of the clock.
				require.LessOrEqual(t, ms, after+int64(tt.n/4096)+1)
				if i > 0 {
					require.Less(t, ids[i-1], id, "ids increase")
				}
			}
		})
	}
}
