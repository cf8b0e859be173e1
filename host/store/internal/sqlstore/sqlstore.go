// Package sqlstore is the database/sql implementation of store.Store shared
// by host/store/sqlite and host/store/postgres. The two databases run the
// same SQL (numbered $n parameters, RETURNING, ON CONFLICT, row values); what
// differs between them — how a time and a text value are encoded, how a
// unique violation is recognised, the parameters of the run record's
// INSERT — is described by a Dialect.
//
// # Arbitrary bytes
//
// Every text field that can carry a caller's bytes (scripts, event KATA,
// run errors, key-value namespaces and keys, …) stores them exactly, NUL
// bytes and invalid UTF-8 included. SQLite's TEXT keeps any bytes; on
// PostgreSQL, whose text type refuses both, those columns are bytea
// (migration 00002) and Dialect.Bytes passes their values as []byte.
// Names and IDs, which records are found and ordered by, stay text on both
// databases and must pass store.ValidName: writes refuse others with
// store.ErrInvalid, look-ups find nothing.
//
// # Write health
//
// Every write method records whether it succeeded (Store.Healthy); disk-full
// errors are wrapped with store.ErrStorageFull.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/hookhost/hookhost/host/store"
)

// Dialect describes what differs between the databases.
type Dialect struct {
	// Name is what Store.Dialect returns: "sqlite" or "postgres".
	Name string
	// Time encodes a UTC time truncated to the microsecond as a query
	// argument (unix microseconds on SQLite, a time.Time on PostgreSQL).
	Time func(time.Time) any
	// IsUnique reports whether err is a unique or primary key violation.
	IsUnique func(error) bool
	// RunsPerInsert is how many runs one INSERT statement of InsertRuns
	// writes at most: a multi-row INSERT saves PostgreSQL round trips (a
	// batch past RunsStatementBytes), and SQLite keeps the table's and the
	// indexes' cursors on their last pages from one row to the next.
	// Default: 1.
	RunsPerInsert int
	// RunsStatementBytes, when positive, is the most bytes of records
	// (store.RunSize) that InsertRuns writes with one statement of the
	// whole batch in a transaction (PostgreSQL: pgInsertRunsSQL); a
	// larger batch, or any with 0, is written by INSERTs of up to
	// RunsPerInsert records in a transaction.
	RunsStatementBytes int
	// NumberedParams says that the database takes numbered parameters
	// ($1) only (PostgreSQL). Otherwise the INSERT of InsertRuns, the one
	// statement that runs for every request, has anonymous ones (?), which
	// modernc.org/sqlite binds without reading and copying each one's name.
	NumberedParams bool
	// Bytes encodes the value of a text column that holds arbitrary bytes
	// (a string on SQLite, whose TEXT keeps any bytes; a non-nil []byte for
	// PostgreSQL's bytea). Default: the string unchanged.
	Bytes func(string) any
	// Contains is the condition that the blob column col holds the bytes
	// of the parameter param ("$3").
	Contains func(col, param string) string
	// TextContains is the condition that the text expression col holds
	// the text parameter param.
	TextContains func(col, param string) string
	// Bucket is the expression numbering the bucket of width seconds (the
	// parameter width) that the time column col falls in, counting from
	// the time parameter since.
	Bucket func(col, since, width string) string
}

// Store implements store.Store on a *sql.DB.
type Store struct {
	db     *sql.DB
	d      Dialect
	health health
	// runSQL holds the text of each INSERT of runs built (runInsertSQL),
	// by runSQLKey: a batch's chunks of the same size and columns run the
	// same text, which is not built again for each.
	runSQL sync.Map
	// runSQLCount counts the texts built for runSQL (up to maxRunSQL
	// are kept).
	runSQLCount atomic.Int32
}

// health is what Healthy reports: since when writes fail, and the last
// failure.
type health struct {
	mu    sync.Mutex
	since time.Time // zero: writes succeed
	err   error
}

var _ store.Store = (*Store)(nil)

// New returns a Store on db, which must already be migrated.
func New(db *sql.DB, d Dialect) *Store {
	if d.Bytes == nil {
		d.Bytes = func(s string) any { return s }
	}
	return &Store{db: db, d: d}
}

// Healthy returns nil while writes succeed, else a
// *store.WritesFailingError saying since when they fail, wrapping the last
// failure (and store.ErrStorageFull when the disk is full).
func (s *Store) Healthy() error {
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	if s.health.since.IsZero() {
		return nil
	}
	return &store.WritesFailingError{Since: s.health.since, Err: s.health.err}
}

// wrote finishes a write method: it wraps a disk-full err with
// store.ErrStorageFull and records in Healthy whether the write failed for
// a reason of the database's (a caller's mistake, a write that lost a race
// for its record, store.ErrRevision, or a cancelled context says nothing
// about the database). It returns err, wrapped.
func (s *Store) wrote(err error) error { return s.noteWrite(err, true) }

// removed is wrote for a DELETE: it records a failure, but its success
// clears nothing, since a delete succeeds on a full disk and says nothing
// about writes that add data (the run history's pruning would otherwise
// report a full disk ready).
func (s *Store) removed(err error) error { return s.noteWrite(err, false) }

func (s *Store) noteWrite(err error, clears bool) error {
	if err != nil && store.IsStorageFull(err) && !errors.Is(err, store.ErrStorageFull) {
		err = fmt.Errorf("%w: %w", store.ErrStorageFull, err)
	}
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict),
		errors.Is(err, store.ErrRevision), errors.Is(err, store.ErrInvalid),
		errors.Is(err, context.Canceled):
		return err
	}
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	switch {
	case err == nil:
		if clears {
			s.health.since, s.health.err = time.Time{}, nil
		}
	case s.health.since.IsZero():
		s.health.since, s.health.err = time.Now(), err
	default:
		s.health.err = err
	}
	return err
}

// probeSize is the size of what ProbeWrite writes: two SQLite pages (16
// KiB each in a new database, 4 KiB in one made before), so that a database
// at its size limit cannot take it in the free room of its last pages.
const probeSize = 32 << 10

// ProbeWrite inserts a row of a few pages into store_probe and deletes it,
// in one committed transaction: a real write, through the same write-ahead
// log as the others. Its outcome updates Healthy.
func (s *Store) ProbeWrite(ctx context.Context) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO store_probe (pad) VALUES ($1)`, make([]byte, probeSize)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM store_probe`)
		return err
	})
	if err != nil {
		err = fmt.Errorf("probe write: %w", err)
	}
	return s.wrote(err)
}

// bytes encodes a text value that may hold any bytes (Dialect.Bytes).
func (s *Store) bytes(v string) any { return s.d.Bytes(v) }

// invalid is the error of a name or ID that store.ValidName refuses.
func invalid(field, v string) error {
	return fmt.Errorf("%w: %s %q is not valid UTF-8 or holds a NUL byte", store.ErrInvalid, field, v)
}

// DB returns the underlying database, for the job queue that shares it.
func (s *Store) DB() *sql.DB { return s.db }

// Dialect returns "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.Name }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// rowScanner is what *sql.Row and *sql.Rows have in common.
type rowScanner interface {
	Scan(dest ...any) error
}

// inTx runs fn in a transaction and commits it if fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return runTx(func() (*sql.Tx, error) { return s.db.BeginTx(ctx, nil) }, fn)
}

// runTx runs fn in the transaction begin starts, and commits it if fn
// returns nil.
func runTx(begin func() (*sql.Tx, error), fn func(tx *sql.Tx) error) error {
	tx, err := begin()
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
}

// classify turns a driver error into the store sentinels: unique violations
// become ErrConflict and sql.ErrNoRows becomes ErrNotFound. Other errors are
// returned unchanged.
func (s *Store) classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return store.ErrNotFound
	case s.d.IsUnique(err):
		return store.ErrConflict
	default:
		return err
	}
}

// norm returns t in UTC truncated to the microsecond, the precision both
// databases keep, so that a stored time reads back equal to the record's.
func norm(t time.Time) time.Time {
	// t.UTC().Truncate(time.Microsecond) (UTC drops the monotonic
	// reading), without Truncate's division: the zero time is a whole
	// second, so a microsecond since it ends where t.Nanosecond()'s does.
	t = t.UTC()
	return t.Add(-time.Duration(t.Nanosecond() % 1000))
}

// normPtr is norm for optional times; it returns a new pointer.
func normPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	n := norm(*t)
	return &n
}

// now is the current time, normalised.
func now() time.Time { return norm(time.Now()) }

// tm encodes a time argument.
func (s *Store) tm(t time.Time) any { return s.d.Time(norm(t)) }

// tmPtr encodes an optional time argument; nil is NULL.
func (s *Store) tmPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return s.tm(*t)
}

// newID returns a new UUIDv7 string, so that IDs sort by creation time.
func newID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("new id: %w", err)
	}
	return id.String(), nil
}

// timeCol scans a NOT NULL time column (unix microseconds or a time.Time).
type timeCol struct{ p *time.Time }

// Scan implements sql.Scanner.
func (c timeCol) Scan(src any) error {
	t, ok, err := decodeTime(src)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("time column is NULL")
	}
	*c.p = t
	return nil
}

// nullTimeCol scans a nullable time column; NULL is a nil pointer.
type nullTimeCol struct{ p **time.Time }

// Scan implements sql.Scanner.
func (c nullTimeCol) Scan(src any) error {
	t, ok, err := decodeTime(src)
	if err != nil {
		return err
	}
	if !ok {
		*c.p = nil
		return nil
	}
	*c.p = &t
	return nil
}

func decodeTime(src any) (time.Time, bool, error) {
	switch v := src.(type) {
	case nil:
		return time.Time{}, false, nil
	case int64:
		return time.UnixMicro(v).UTC(), true, nil
	case time.Time:
		return norm(v), true, nil
	default:
		return time.Time{}, false, fmt.Errorf("time column: unsupported type %T", src)
	}
}

// blobCol scans a byte column keeping NULL (nil) apart from an empty value
// (a non-nil empty slice); SQLite's driver reads an empty blob as nil.
type blobCol struct{ p *[]byte }

// Scan implements sql.Scanner.
func (c blobCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.p = nil
	case []byte:
		*c.p = append([]byte{}, v...)
	case string:
		*c.p = []byte(v)
	default:
		return fmt.Errorf("blob column: unsupported type %T", src)
	}
	return nil
}
