package migratelock

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

func TestPolicy_Run(t *testing.T) {
	t.Parallel()
	timedOut := fmt.Errorf("migrate: %w", &pgconn.PgError{Code: lockNotAvailable, Message: "canceling statement due to lock timeout"})
	other := errors.New("syntax error")
	tests := []struct {
		name      string
		errs      []error // what each call returns; nil past the end
		wantCalls int
		wantErr   error
	}{
		{name: "FirstTime", wantCalls: 1},
		{name: "AfterLockTimeouts", errs: []error{timedOut, timedOut}, wantCalls: 3},
		{name: "OtherErrorsAreNotRetried", errs: []error{other}, wantCalls: 1, wantErr: other},
		{name: "OtherErrorAfterATimeout", errs: []error{timedOut, other}, wantCalls: 2, wantErr: other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := Policy{LockTimeout: time.Second, Attempts: 3, Backoff: time.Millisecond}
			calls := 0
			// No database: Run asks it only when every attempt timed out.
			err := p.Run(context.Background(), nil, func(context.Context) error {
				calls++
				if calls <= len(tt.errs) {
					return tt.errs[calls-1]
				}
				return nil
			})
			require.Equal(t, tt.wantCalls, calls)
			require.ErrorIs(t, err, tt.wantErr)
			if tt.wantErr == nil {
				require.NoError(t, err)
			}
		})
	}
}

func TestLockTimeoutError(t *testing.T) {
	t.Parallel()
	err := &LockTimeoutError{Attempts: 4, Timeout: 5 * time.Second, Err: errors.New("canceling statement due to lock timeout"),
		Holders: []Holder{
			{PID: 41, Relation: "hookhost_jobs", Mode: "AccessShareLock", State: "idle in transaction", InTransaction: 90 * time.Second},
			{PID: 42, Relation: "river_job", Mode: "RowExclusiveLock", State: "active"},
		}}
	require.Equal(t, "gave up after 4 attempts, each waiting 5s for a table lock that another session holds "+
		"(pid 41 holds AccessShareLock on hookhost_jobs, idle in transaction, in a transaction open for 1m30s; "+
		"pid 42 holds RowExclusiveLock on river_job, active): a long transaction on hookhost's tables blocks the migration; "+
		"end it (or wait for it) and start again: canceling statement due to lock timeout", err.Error())
	require.Equal(t, "'5000ms'", Policy{LockTimeout: 5 * time.Second}.setting())
}
