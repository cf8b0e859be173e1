package jobs

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// TestNewJobID checks that job ids are version 7 UUIDs in the order they
// were made, which keeps hookhost_jobs' primary key index append-only.
func TestNewJobID(t *testing.T) {
	t.Parallel()
	prev := ""
	for i := 0; i < 1000; i++ {
		id := NewJobID()
		u, err := uuid.Parse(id)
		require.NoError(t, err)
		require.Equal(t, uuid.Version(7), u.Version())
		require.Len(t, id, 36)
		require.Greater(t, id, prev)
		prev = id
	}
}
