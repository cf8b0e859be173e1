package catalog

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/store/postgres"
	"github.com/hookhost/hookhost/internal/pgtest"
)

func TestChannelFor(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("s", 63)
	tests := []struct {
		name, schema, want string
	}{
		{"Public", "public", "public.hookhost_cache"},
		{"Quoted", `We"ird`, `We"ird.hookhost_cache`},
		{"LongestQualified", strings.Repeat("s", 48), strings.Repeat("s", 48) + ".hookhost_cache"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, channelFor(tt.schema))
		})
	}
	t.Run("TooLongIsHashed", func(t *testing.T) {
		t.Parallel()
		ch := channelFor(long)
		require.LessOrEqual(t, len(ch), maxChannel)
		require.True(t, strings.HasPrefix(ch, "hookhost_cache."), ch)
		require.NotEqual(t, ch, channelFor(long+"x"), "schemas keep channels of their own")
	})
}

// TestSync_ChannelPerSchema checks that a change is heard by the other
// servers on its schema and not by a deployment in another schema of the
// same database.
func TestSync_ChannelPerSchema(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	open := func(dsn string) *Catalog {
		st, err := postgres.Open(ctx, dsn)
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		return New(Config{Store: st, Logger: slog.New(slog.DiscardHandler), DatabaseURL: dsn})
	}
	sync := func(c *Catalog) {
		stop := c.StartSync()
		require.NotNil(t, stop)
		t.Cleanup(func() { _ = stop() })
	}
	dsnA := pgtest.DSN(t, "catsync_a_")
	dsnB := pgtest.SchemaOf(t, dsnA, "catsync_b_") // the same database
	a1, a2 := open(dsnA), open(dsnA)
	b1, b2 := open(dsnB), open(dsnB)
	sync(a2)
	sync(b2)

	// heard waits until c has heard more than n notifications.
	heard := func(c *Catalog, n int64) {
		t.Helper()
		for c.notified.Load() <= n {
			select {
			case <-ctx.Done():
				t.Fatalf("no notification heard: %v", ctx.Err())
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	// Both listeners are up once each has heard a change of its own
	// schema (a notification sent before LISTEN is lost).
	for _, l := range []struct{ from, to *Catalog }{{a1, a2}, {b1, b2}} {
		for l.to.notified.Load() == 0 {
			l.from.Changed(ctx)
			select {
			case <-ctx.Done():
				t.Fatalf("the listener never heard its schema: %v", ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}

	beforeA, beforeB := a2.notified.Load(), b2.notified.Load()
	for range 3 {
		a1.Changed(ctx)
	}
	heard(a2, beforeA+2) // all three of its schema's
	// PostgreSQL delivers notifications in commit order: B's listener hears
	// B's change after any of A's it would hear.
	b1.Changed(ctx)
	heard(b2, beforeB)
	require.Equal(t, beforeB+1, b2.notified.Load(), "schema B heard schema A's changes")
	a1.Changed(ctx) // committed after B's change: heard after it, if at all
	heard(a2, beforeA+3)
	require.Equal(t, beforeA+4, a2.notified.Load(), "schema A heard schema B's change")
}
