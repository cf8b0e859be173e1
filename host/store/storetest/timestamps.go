package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/store"
)

// exerciseTimestamps checks that every record keeps its times to the
// microsecond, in UTC.
func exerciseTimestamps(ctx context.Context, t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	setup := newSetup(ctx, open)

	t.Run("RoundTripToTheMicrosecondInUTC", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		zone := time.FixedZone("UTC+5:30", 5*3600+1800)
		mono := time.Now() // carries a monotonic reading
		tests := []struct {
			name string
			in   time.Time
			want time.Time
		}{
			{"Nanoseconds", time.Date(2026, 11, 23, 10, 11, 12, 123456789, time.UTC), time.Date(2026, 11, 23, 10, 11, 12, 123456000, time.UTC)},
			{"OtherZone", time.Date(2026, 11, 23, 15, 41, 12, 999999999, zone), time.Date(2026, 11, 23, 10, 11, 12, 999999000, time.UTC)},
			{"BeforeEpoch", time.Date(1969, 12, 31, 23, 59, 59, 500001, time.UTC), time.Date(1969, 12, 31, 23, 59, 59, 500000, time.UTC)},
			{"Monotonic", mono, mono.UTC().Truncate(time.Microsecond)},
			{"FarFuture", time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)},
		}
		for i, tt := range tests {
			r := &store.Run{WebhookID: "w", CreatedAt: tt.in}
			require.NoError(t, s.InsertRuns(bundle.ctx, []*store.Run{r}), tt.name)
			require.Equal(t, tt.want, r.CreatedAt, tt.name)
			got, err := s.GetRun(bundle.ctx, r.ID)
			require.NoError(t, err, tt.name)
			requireSameTime(t, tt.want, got.CreatedAt, tt.name)

			exp, prev := tt.in, tt.in
			w := &store.Webhook{Name: tt.name, TokenHash: tokenHash(fmt.Sprint(i)), ExpiresAt: &exp,
				PrevTokenHash: tokenHash(fmt.Sprint("prev", i)), PrevTokenExpiresAt: &prev, CreatedAt: tt.in}
			require.NoError(t, s.CreateWebhook(bundle.ctx, w), tt.name)
			require.Equal(t, tt.in, exp, "%s: the caller's time is not modified", tt.name)
			gw, err := s.GetWebhook(bundle.ctx, w.ID)
			require.NoError(t, err, tt.name)
			require.Equal(t, w, gw, tt.name)
			requireSameTime(t, tt.want, gw.CreatedAt, tt.name)
			requireSameTime(t, tt.want, *gw.ExpiresAt, tt.name)
			requireSameTime(t, tt.want, *gw.PrevTokenExpiresAt, tt.name)

			a := &store.Automation{Name: tt.name, CreatedAt: tt.in}
			require.NoError(t, s.CreateAutomation(bundle.ctx, a), tt.name)
			ga, err := s.GetAutomation(bundle.ctx, tt.name)
			require.NoError(t, err, tt.name)
			requireSameTime(t, tt.want, ga.CreatedAt, tt.name)
			requireSameTime(t, tt.want, ga.UpdatedAt, tt.name)
		}
	})
}

// requireSameTime checks that got is the instant want, in UTC.
func requireSameTime(t *testing.T, want, got time.Time, msg string) {
	t.Helper()
	require.Equal(t, time.UTC, got.Location(), msg)
	require.True(t, want.Equal(got), "%s: want %v, got %v", msg, want, got)
}
