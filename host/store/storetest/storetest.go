// Package storetest is the conformance suite every store.Store
// implementation runs unchanged (after river's riverdrivertest.Exercise):
//
//	func TestStore(t *testing.T) {
//		t.Parallel()
//		storetest.Exercise(context.Background(), t, func(t *testing.T) store.Store {
//			s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hookhost.db"))
//			require.NoError(t, err)
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The suite is split by area, one file each (automations.go, bytes.go,
// changes.go (with the audit log), db.go, health.go, imports.go, kv.go, prune.go, runs.go, timestamps.go,
// webhooks.go), and each area is
// one subtest of Exercise: go test -run 'TestStore/KV' runs the KV cases.
package storetest

import (
	"context"
	"crypto/sha256"
	"testing"

	"github.com/hookhost/hookhost/host/store"
)

// Exercise runs the conformance suite. open must return a new, empty,
// migrated store for each call and close it when t ends; every subtest
// calls it once and runs in parallel with the others.
func Exercise(ctx context.Context, t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()

	// One entry per area; the area's cases are in its file.
	areas := []struct {
		name     string
		exercise func(ctx context.Context, t *testing.T, open func(t *testing.T) store.Store)
	}{
		{"Audit", exerciseAudit},
		{"Automation", exerciseAutomations},
		{"Bytes", exerciseBytes},
		{"Changes", exerciseChanges},
		{"DB", exerciseDB},
		{"Health", exerciseHealth},
		{"Import", exerciseImports},
		{"KV", exerciseKV},
		{"Prune", exercisePrune},
		{"Run", exerciseRuns},
		{"Timestamps", exerciseTimestamps},
		{"Webhook", exerciseWebhooks},
	}
	for _, area := range areas {
		t.Run(area.name, func(t *testing.T) {
			t.Parallel()
			area.exercise(ctx, t, open)
		})
	}
}

// testBundle is what a case gets besides its store.
type testBundle struct {
	ctx context.Context
}

// newSetup returns the setup function of an area's cases: each call opens
// a new store for t.
func newSetup(ctx context.Context, open func(t *testing.T) store.Store) func(t *testing.T) (store.Store, *testBundle) {
	return func(t *testing.T) (store.Store, *testBundle) {
		t.Helper()
		return open(t), &testBundle{ctx: ctx}
	}
}

// tokenHash is the SHA-256 of a token, as the host stores it.
func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
