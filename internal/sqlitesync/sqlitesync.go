// Package sqlitesync runs work on a SQLite connection whose commits do
// not wait for the disk.
//
// hookhost's SQLite connections commit with synchronous=FULL: in WAL mode
// every commit fsyncs the write-ahead log before it returns. Some writes
// need not wait (run records, a job's steps after its 202); for those,
// Relaxed holds a connection with synchronous=NORMAL, where a commit
// appends its frames to the log without an fsync. The database stays
// consistent after a power loss (SQLite's guarantee for NORMAL in WAL
// mode), and what a power loss can take is a suffix of the log: the log is
// one file written in commit order, the fsync of any later FULL commit
// covers the NORMAL ones before it, and a checkpoint syncs the log before
// copying it back. Callers argue why losing their last commits is
// acceptable.
package sqlitesync

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
)

const (
	normalSQL = `PRAGMA synchronous = NORMAL`
	fullSQL   = `PRAGMA synchronous = FULL`
)

// Relaxed runs fn on a connection of db held for it, with
// synchronous=NORMAL. The setting belongs to the connection, so it is set
// back to FULL before the connection returns to the pool, even when ctx
// has ended; a connection that cannot be set back is closed (a new one
// opens with the DSN's FULL).
func Relaxed(ctx context.Context, db *sql.DB, fn func(conn *sql.Conn) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if _, err := conn.ExecContext(context.Background(), fullSQL); err != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn }) // closes it
		}
		_ = conn.Close()
	}()
	if _, err := conn.ExecContext(ctx, normalSQL); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	return fn(conn)
}
