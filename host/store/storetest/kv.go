package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/store"
)

// exerciseKV checks the key-value storage of automations: namespaces,
// upserts, expiry and listing.
func exerciseKV(ctx context.Context, t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	setup := newSetup(ctx, open)

	t.Run("DeleteReportsFound", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		require.NoError(t, s.KVSet(bundle.ctx, "ns", "k", []byte("v"), nil))
		found, err := s.KVDelete(bundle.ctx, "ns", "k")
		require.NoError(t, err)
		require.True(t, found)
		found, err = s.KVDelete(bundle.ctx, "ns", "k")
		require.NoError(t, err)
		require.False(t, found)

		// An expired value counts as absent.
		past := time.Now().Add(-time.Minute)
		require.NoError(t, s.KVSet(bundle.ctx, "ns", "old", []byte("v"), &past))
		found, err = s.KVDelete(bundle.ctx, "ns", "old")
		require.NoError(t, err)
		require.False(t, found)
	})

	t.Run("ExpiredValueIsNotFound", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		exp := time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)
		require.NoError(t, s.KVSet(bundle.ctx, "ns", "k", []byte("v"), &exp))

		tests := []struct {
			name  string
			now   time.Time
			found bool
		}{
			{"Before", exp.Add(-time.Microsecond), true},
			{"At", exp, false},
			{"After", exp.Add(time.Hour), false},
		}
		for _, tt := range tests {
			v, found, err := s.KVGet(bundle.ctx, "ns", "k", tt.now)
			require.NoError(t, err, tt.name)
			require.Equal(t, tt.found, found, tt.name)
			if tt.found {
				require.Equal(t, []byte("v"), v, tt.name)
			} else {
				require.Nil(t, v, tt.name)
			}
		}

		// Setting without an expiry revives it.
		require.NoError(t, s.KVSet(bundle.ctx, "ns", "k", []byte("v2"), nil))
		v, found, err := s.KVGet(bundle.ctx, "ns", "k", exp.Add(time.Hour))
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, []byte("v2"), v)
	})

	t.Run("ListIsSortedPerNamespaceWithoutExpired", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		keys, err := s.KVList(bundle.ctx, "a")
		require.NoError(t, err)
		require.Empty(t, keys, "an empty namespace lists nothing")

		past := time.Now().Add(-time.Minute)
		future := time.Now().Add(time.Hour)
		tests := []struct {
			ns, key string
			expires *time.Time
		}{
			{"a", "zeta", nil},
			{"a", "Alpha", nil},
			{"a", "beta_2", &future},
			{"a", "gone", &past},
			{"a", "alpha", nil},
			{"b", "other", nil},
			{"ab", "prefix", nil},
		}
		for _, tt := range tests {
			require.NoError(t, s.KVSet(bundle.ctx, tt.ns, tt.key, []byte("v"), tt.expires))
		}
		keys, err = s.KVList(bundle.ctx, "a")
		require.NoError(t, err)
		require.Equal(t, []string{"Alpha", "alpha", "beta_2", "zeta"}, keys)

		keys, err = s.KVList(bundle.ctx, "b")
		require.NoError(t, err)
		require.Equal(t, []string{"other"}, keys)

		found, err := s.KVDelete(bundle.ctx, "a", "zeta")
		require.NoError(t, err)
		require.True(t, found)
		keys, err = s.KVList(bundle.ctx, "a")
		require.NoError(t, err)
		require.Equal(t, []string{"Alpha", "alpha", "beta_2"}, keys)
	})

	t.Run("SetUpsertsPerNamespace", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)
		now := time.Now()

		_, found, err := s.KVGet(bundle.ctx, "a", "k", now)
		require.NoError(t, err)
		require.False(t, found)

		require.NoError(t, s.KVSet(bundle.ctx, "a", "k", []byte("one"), nil))
		require.NoError(t, s.KVSet(bundle.ctx, "b", "k", []byte("other"), nil))
		require.NoError(t, s.KVSet(bundle.ctx, "a", "k", []byte("two"), nil))

		v, found, err := s.KVGet(bundle.ctx, "a", "k", now)
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, []byte("two"), v)
		v, found, err = s.KVGet(bundle.ctx, "b", "k", now)
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, []byte("other"), v)

		// An empty value is found, and not nil.
		require.NoError(t, s.KVSet(bundle.ctx, "a", "empty", nil, nil))
		v, found, err = s.KVGet(bundle.ctx, "a", "empty", now)
		require.NoError(t, err)
		require.True(t, found)
		require.NotNil(t, v)
		require.Empty(t, v)

		// Binary values round trip.
		bin := []byte{0, 1, 2, 0xff, 0}
		require.NoError(t, s.KVSet(bundle.ctx, "a", "bin", bin, nil))
		v, _, err = s.KVGet(bundle.ctx, "a", "bin", now)
		require.NoError(t, err)
		require.Equal(t, bin, v)
	})
}
