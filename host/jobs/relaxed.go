package jobs

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/hookhost/hookhost/internal/sqlitesync"
)

// Commits that need not wait for the disk (SQLite).
//
// The store's SQLite connection commits with synchronous=FULL: in WAL
// mode, every commit fsyncs the WAL before it returns. A 202 needs that:
// the job it answers for must survive a power loss. The writes that follow
// in a job's life do not, because losing them only makes the job run
// again, which River's at-least-once delivery allows already (see
// "Running twice" in the package documentation):
//
//   - River's fetch (JobGetAvailable: the job becomes running, its attempt
//     counted);
//   - hookhost's start and end of an attempt, written by its worker
//     (markRunning, finish: the record's state and outcome, with the
//     callback and deliveries queued by the end, and the slot released),
//     but for the end of an attempt that was cancelled;
//   - River's completer (JobSetStateIfRunningMany: completed, retryable,
//     cancelled, discarded).
//
// These commit with synchronous=NORMAL (relaxedTx): in WAL mode the
// commit appends its frames to the WAL without an fsync. The database
// stays consistent after a power loss (SQLite's guarantee for NORMAL in
// WAL mode), and what a power loss can take is a suffix of the WAL: the
// WAL is one file written in commit order, each FULL commit fsyncs it
// whole (so every NORMAL commit before it too), and a checkpoint fsyncs
// it before it copies frames back. So the transactions lost are always
// the last ones, in order: a lost fetch takes the attempt's later writes
// with it, and a job is never seen ended (in River or in its record)
// without its 202's insert. What a crash can leave, and what happens:
//
//   - the fetch lost: the job is available again, its attempt not
//     counted; a worker runs it as if it had never started;
//   - the fetch kept, the end lost: River's job is running; the next
//     process to open the database makes it available again at once
//     (requeueOnStart), and the record, not final, takes the new attempt;
//   - the end kept, River's completion lost: the job is running in River
//     but its record is final, so the attempt that requeueOnStart starts
//     ends where its start is recorded (the fetch, started.go, or
//     markRunning finds the record final: the automation does not run
//     again), and River completes it.
//
// A waiter (Queue.Wait) may have heard of an end that a power loss then
// takes back: the job runs again, as after a crash before the end was
// written. Every other commit of the queue (the inserts behind 202s,
// cancellations, their records' end included, settings, subscriptions,
// heartbeats, slots taken) keeps synchronous=FULL, and a commit that
// mixes a relaxed write with another one is FULL.

// relaxedTx runs fn in a transaction of db (SQLite) committed with
// synchronous=NORMAL (sqlitesync.Relaxed). See the comment above for when
// this may be used.
func relaxedTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	return sqlitesync.Relaxed(ctx, db, func(conn *sql.Conn) error {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		if err := fn(tx); err != nil {
			_ = tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	})
}
