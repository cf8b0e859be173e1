package jobs

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestConfig_Timeouts checks the defaults and bounds of the timeouts a
// Config sets: the group commits' lock_timeout, under their deadline, and
// the deliveries' HTTP timeout, under an attempt's limit.
func TestConfig_Timeouts(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name            string
		lock, callback  time.Duration
		wantLock        time.Duration
		wantCallback    time.Duration
		wantSet         string // the statement that sets lock_timeout
		wantErrContains string
	}{
		{name: "Defaults", wantLock: 5 * time.Second, wantCallback: 10 * time.Second,
			wantSet: "SELECT set_config('lock_timeout', '5000', true)"},
		{name: "Set", lock: time.Second, callback: 2 * time.Second, wantLock: time.Second, wantCallback: 2 * time.Second,
			wantSet: "SELECT set_config('lock_timeout', '1000', true)"},
		{name: "LockUnderAMillisecond", lock: time.Microsecond, wantErrContains: "LockTimeout 1µs"},
		{name: "LockAtTheDeadline", lock: groupCommitTimeout, wantErrContains: "LockTimeout 30s"},
		{name: "CallbackNegative", callback: -time.Second, wantErrContains: "CallbackTimeout -1s"},
		{name: "CallbackHalfTheAttemptsLimit", callback: deliveryJobTimeout / 2, wantLock: 5 * time.Second, wantCallback: deliveryJobTimeout / 2,
			wantSet: "SELECT set_config('lock_timeout', '5000', true)"},
		{name: "CallbackOverHalfTheAttemptsLimit", callback: deliveryJobTimeout/2 + time.Millisecond, wantErrContains: "CallbackTimeout 15.001s"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Config{DB: new(sql.DB), Dialect: DialectSQLite, Runner: nopRunner{}, Settings: DefaultSettings(),
				LockTimeout: tt.lock, CallbackTimeout: tt.callback}
			err := c.defaults()
			if tt.wantErrContains != "" {
				require.ErrorContains(t, err, tt.wantErrContains)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantLock, c.LockTimeout)
			require.Equal(t, tt.wantCallback, c.CallbackTimeout)
			require.Equal(t, tt.wantSet, newLockStmts(c.LockTimeout).set)
		})
	}
}

// TestNew_LockTimeoutOfConfig (review revcit): the queue's group commits
// set the lock_timeout of its Config, not the default's (the lock tests
// pass with 5 s as with 1 s, and TestLockTimeout_OfTheTransactionOnly
// runs with the default).
func TestNew_LockTimeoutOfConfig(t *testing.T) {
	t.Parallel()
	st := openSQLiteStore(t)
	settings := DefaultSettings()
	settings.Workers = 0
	q, err := New(context.Background(), Config{DB: st.DB(), Dialect: st.Dialect(), Runner: nopRunner{}, Settings: settings,
		PruneInterval: -1, Logger: quietLogger(), LockTimeout: 1234 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = q.Close() })
	require.Equal(t, "SELECT set_config('lock_timeout', '1234', true)", q.lock.set)
	require.Equal(t, "BEGIN; "+q.lock.set, q.lock.begin)
}
