// Package migratelock bounds how long hookhost's PostgreSQL migrations
// wait for table locks.
//
// A migration that alters a table (ALTER TABLE takes ACCESS EXCLUSIVE)
// waits for every transaction that has touched the table to end, and
// while it waits, every other session's statement on that table queues
// behind its lock request. Without a bound, a server starting while
// another session holds a long transaction on a table waited forever and
// stalled the other servers' job traffic with it. Under a Policy, each
// statement of a migration waits at most LockTimeout (PostgreSQL's
// lock_timeout), the migration is tried again a few times with back-off,
// and then start-up fails with a *LockTimeoutError that names the
// sessions holding locks on the schema's tables.
//
// What a migration does is unchanged: only how long its statements wait.
package migratelock

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// lockNotAvailable is PostgreSQL's SQLSTATE for a lock wait that ran past
// lock_timeout (lock_not_available).
const lockNotAvailable = "55P03"

// Policy is how long migrations wait for locks, and how often they try.
type Policy struct {
	// LockTimeout is the longest one statement waits for a lock.
	LockTimeout time.Duration
	// Attempts is how many times a migration is tried while it fails for
	// a lock timeout.
	Attempts int
	// Backoff is the wait before the second attempt, doubled before each
	// next one.
	Backoff time.Duration
}

// Default is the policy of hookhost's migrations: 5 s per lock wait, 4
// attempts 1, 2 and 4 s apart (at most about 27 s in all).
func Default() Policy {
	return Policy{LockTimeout: 5 * time.Second, Attempts: 4, Backoff: time.Second}
}

// setting is the lock_timeout value of p, in milliseconds.
func (p Policy) setting() string {
	return "'" + strconv.FormatInt(max(1, p.LockTimeout.Milliseconds()), 10) + "ms'"
}

// SetLocal sets lock_timeout for the rest of tx.
func (p Policy) SetLocal(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, "SET LOCAL lock_timeout = "+p.setting()); err != nil {
		return fmt.Errorf("set lock_timeout: %w", err)
	}
	return nil
}

// SessionLocker returns l with the migrating connection under p: once l
// has locked the session, lock_timeout is set on the connection (goose
// runs every migration on it), and it is reset before l unlocks, since
// the connection goes back to the pool.
func (p Policy) SessionLocker(l lock.SessionLocker) lock.SessionLocker {
	return sessionLocker{SessionLocker: l, p: p}
}

type sessionLocker struct {
	lock.SessionLocker
	p Policy
}

var _ lock.SessionLocker = sessionLocker{}

func (s sessionLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	if err := s.SessionLocker.SessionLock(ctx, conn); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "SET lock_timeout = "+s.p.setting()); err != nil {
		return errors.Join(fmt.Errorf("set lock_timeout: %w", err), s.SessionLocker.SessionUnlock(context.WithoutCancel(ctx), conn))
	}
	return nil
}

func (s sessionLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	_, err := conn.ExecContext(ctx, "RESET lock_timeout")
	return errors.Join(err, s.SessionLocker.SessionUnlock(ctx, conn))
}

// IsLockTimeout reports whether err is PostgreSQL's lock_not_available: a
// statement waited for a lock past lock_timeout.
func IsLockTimeout(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == lockNotAvailable
}

// Run runs migrate, and again while it fails for a lock timeout, up to
// p.Attempts times with p.Backoff doubling in between. migrate must take
// its locks under p (SessionLocker, SetLocal) and leave the database as
// it was when it fails. When every attempt timed out, Run returns a
// *LockTimeoutError naming the sessions that hold locks on tables of
// db's current schema; other errors are returned as they are.
func (p Policy) Run(ctx context.Context, db *sql.DB, migrate func(context.Context) error) error {
	wait := p.Backoff
	for attempt := 1; ; attempt++ {
		err := migrate(ctx)
		if err == nil || !IsLockTimeout(err) {
			return err
		}
		if attempt >= p.Attempts {
			holders, herr := Holders(ctx, db)
			return &LockTimeoutError{Attempts: attempt, Timeout: p.LockTimeout, Holders: holders, Err: errors.Join(err, herr)}
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// LockTimeoutError is a migration that gave up waiting for table locks.
type LockTimeoutError struct {
	Attempts int
	Timeout  time.Duration
	// Holders are the other sessions that held locks on tables of the
	// schema when the migration gave up.
	Holders []Holder
	// Err is the last attempt's error.
	Err error
}

func (e *LockTimeoutError) Error() string {
	var b strings.Builder
	var pe *goose.PartialError
	if errors.As(e.Err, &pe) && pe.Failed != nil && pe.Failed.Source != nil {
		fmt.Fprintf(&b, "migration %s ", filepath.Base(pe.Failed.Source.Path))
	}
	fmt.Fprintf(&b, "gave up after %d attempts, each waiting %s for a table lock that another session holds", e.Attempts, e.Timeout)
	if len(e.Holders) > 0 {
		b.WriteString(" (")
		for i, h := range e.Holders {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(h.String())
		}
		b.WriteString(")")
	}
	b.WriteString(": a long transaction on hookhost's tables blocks the migration; end it (or wait for it) and start again: ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *LockTimeoutError) Unwrap() error { return e.Err }

// Holder is a session holding a lock on a table.
type Holder struct {
	PID      int
	Relation string
	Mode     string
	// State is the session's state ("idle in transaction", "active").
	State string
	// InTransaction is how long its transaction has been open (0: none).
	InTransaction time.Duration
}

func (h Holder) String() string {
	s := fmt.Sprintf("pid %d holds %s on %s", h.PID, h.Mode, h.Relation)
	if h.State != "" {
		s += ", " + h.State
	}
	if d := h.InTransaction.Round(time.Second); d > 0 {
		s += ", in a transaction open for " + d.String()
	}
	return s
}

// Holders lists the other sessions holding locks on tables of db's
// current schema, longest transaction first (at most 10). Query texts are
// left out: they may hold secrets.
func Holders(ctx context.Context, db *sql.DB) ([]Holder, error) {
	rows, err := db.QueryContext(ctx, `
SELECT l.pid, c.relname, l.mode, coalesce(a.state, ''),
       coalesce(extract(epoch FROM now() - a.xact_start), 0)::float8
FROM pg_locks l
JOIN pg_class c ON c.oid = l.relation
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_backend_pid()
  AND n.nspname = current_schema() AND c.relkind IN ('r', 'p')
ORDER BY a.xact_start NULLS LAST, l.pid, c.relname
LIMIT 10`)
	if err != nil {
		return nil, fmt.Errorf("list lock holders: %w", err)
	}
	defer rows.Close()
	var hs []Holder
	for rows.Next() {
		var h Holder
		var secs float64
		if err := rows.Scan(&h.PID, &h.Relation, &h.Mode, &h.State, &secs); err != nil {
			return nil, fmt.Errorf("list lock holders: %w", err)
		}
		h.InTransaction = time.Duration(secs * float64(time.Second))
		hs = append(hs, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list lock holders: %w", err)
	}
	return hs, nil
}
