package storetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/store"
)

// exerciseDB checks the database handle and dialect the store exposes.
func exerciseDB(ctx context.Context, t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	setup := newSetup(ctx, open)

	t.Run("IsUsableAndDialectIsKnown", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		require.NotNil(t, s.DB())
		require.NoError(t, s.DB().PingContext(bundle.ctx))
		require.Contains(t, []string{"sqlite", "postgres"}, s.Dialect())
		var n int
		require.NoError(t, s.DB().QueryRowContext(bundle.ctx, `SELECT count(*) FROM automations`).Scan(&n))
		require.Zero(t, n)
	})
}
