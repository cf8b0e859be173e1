package host

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSQLiteOneServer: a second server on the same SQLite file is refused
// with a message saying why, and the file is free again once the first one
// closes.
func TestSQLiteOneServer(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	first, err := New(ctx, cfg)
	require.NoError(t, err)

	_, err = New(ctx, cfg)
	require.ErrorContains(t, err, "another hookhost server is using")
	require.ErrorContains(t, err, "--data-dir")

	require.NoError(t, first.Close())
	again, err := New(ctx, cfg)
	require.NoError(t, err)
	require.NoError(t, again.Close())
}
