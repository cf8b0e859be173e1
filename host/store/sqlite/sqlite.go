// Package sqlite is the SQLite implementation of store.Store, the default
// store, on modernc.org/sqlite (pure Go).
//
// The database runs in WAL mode with synchronous=FULL (a commit is on disk
// when it returns; but for a batch of run records, which commits with
// NORMAL: see InsertRuns in sqlstore), 16 KiB pages (in a database it
// creates), foreign keys on, a busy timeout, and BEGIN IMMEDIATE for
// transactions, through a single connection: SQLite has one writer, and one
// pooled connection queues writers fairly where several connections would
// spin in SQLite's busy handler (shared/spec/tech-facts.md §1). The job
// queue (riversqlite) shares the same *sql.DB through Store.DB.
//
// Times are stored as INTEGER unix microseconds in UTC.
//
// The database file and its -wal and -shm files are created with mode 0600
// (SQLite gives the latter two the database file's mode), and Open narrows
// looser modes of existing ones: they hold webhooks' token hashes, run
// inputs and sealed secrets.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/host/store/internal/sqlstore"
	"github.com/hookhost/hookhost/host/store/internal/stmtcache"
)

//go:embed migrations/*.sql
var migrations embed.FS

// BusyTimeout is how long a statement waits for a lock held by another
// connection (another process, or River's listener) before failing.
const BusyTimeout = 10 * time.Second

// Store is the SQLite store. It is safe for concurrent use.
type Store struct {
	*sqlstore.Store
	// wal is the write-ahead log's path ("" for an in-memory database),
	// and writeback starts the kernel's writeback of it (startWriteback;
	// tests replace it on their store). logged estimates the bytes of log
	// the batches of run records wrote since the last writeback
	// (runLogBytes).
	wal       string
	writeback func(path string)
	logged    atomic.Int64
}

var _ store.Store = (*Store)(nil)

// Open opens (creating it and its parent directory when missing) the SQLite
// database at path and migrates it to the current schema.
func Open(ctx context.Context, path string) (*Store, error) {
	db, err := openDB(path)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, db); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlite: migrate %s: %w", path, err)
	}
	st := &Store{Store: sqlstore.New(db, dialect()), writeback: startWriteback}
	// The log is named after the database file as SQLite resolved it (a
	// symbolic link followed, a file: URI read), which the path given may
	// not spell (review rev1); an in-memory database has none.
	var file string
	if err := db.QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&file); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlite: %s: database file: %w", path, err)
	}
	if file != "" {
		st.wal = file + "-wal"
	}
	return st, nil
}

// InsertRuns is sqlstore's InsertRuns (a batch of run records, committed
// with synchronous=NORMAL: its pages reach the log but the log is not
// synced). Once the batches since the last writeback have written about
// writebackBytes of log (runLogBytes), it starts the kernel's writeback of
// the log's pages (startWriteback), so that they are on their way to the
// disk instead of waiting for the next checkpoint's fsync of the log.
//
// That fsync ran inside the commit of a recorder batch (the WAL
// auto-checkpoint, every 1,000 frames: about 70 batches of 64 records)
// and flushed the 16 MB of log written since the last one, about 11 ms
// here, during which the recorder's thread kept the server's only P
// (cmd/hookhost runs one at moderate rates; the runtime takes the P from
// a thread in a system call only when its monitor, which sleeps up to
// 10 ms, looks). The kernel writes the same pages either way (each frame
// once per cycle of the log), earlier; nothing about durability changes:
// the log is synced when it was, by a checkpoint or a FULL commit.
// Only run records count: the job queue's relaxed commits (an attempt's
// steps) write less log between its FULL commits (each durable 202),
// which sync the log anyway (review rev1).
func (s *Store) InsertRuns(ctx context.Context, runs []*store.Run) error {
	err := s.Store.InsertRuns(ctx, runs)
	if err != nil || s.wal == "" {
		return err
	}
	if n := s.logged.Add(runLogBytes(runs)); n >= writebackBytes && s.logged.CompareAndSwap(n, 0) {
		s.writeback(s.wal)
	}
	return nil
}

// writebackBytes is about how much log the batches of run records write
// between two writebacks (InsertRuns): about 24 batches of 64 guide
// records (a batch is about 14 frames, 224 KiB of log), a quarter of the
// log between two auto-checkpoints. Smaller writebacks cost the process
// CPU (BenchmarkRecorderWrite/64 -cpu 1, 8 alternated rounds, CPU a
// batch: 404K ns without writebacks, 445K every 1 MiB, 399K every 4 MiB;
// after every batch about 12% more): the kernel's writeback of a few
// pages at a time costs more than of many. And the checkpoint's fsync of
// the log still has up to about 4 MiB to write.
//
// BenchmarkRecorderStretch over 100,000 records, 8 alternated rounds:
// the longest wait of the probe for the P 15.9–18.9 ms (median 17.1)
// before, 8.0–10.9 (median 9.4) after; its waits past 1 ms 337–368 ms in
// all (median 351) before, 172–214 (median 203) after; the process's CPU
// a record 6.0–6.7 µs before, 5.8–6.6 after. What remains of a
// checkpoint's stretch is its copy of the pages to the database and the
// database's fsync.
const writebackBytes = 4 << 20

// runLogBytes estimates the log a batch of runs writes: the records'
// bytes, and the pages a commit writes again whatever it holds (the last
// page of the table and of each index, their parents, the database's
// first page).
func runLogBytes(runs []*store.Run) int64 {
	n := int64(8 * PageSize)
	for _, r := range runs {
		n += store.RunSize(r)
	}
	return n
}

// DSN returns the modernc.org/sqlite data source name Open uses for path.
//
// A new database gets 16 KiB pages (SQLite's default is 4 KiB): a batch of
// run records then dirties a quarter as many pages, each written to the WAL
// in two pwrite calls and again by the checkpoint (BenchmarkRecorder/Record
// makes 60% fewer pwrite calls and reads three quarters fewer pages back).
// An existing database keeps its page size: in WAL mode SQLite ignores
// PRAGMA page_size. The driver runs the _pragma list in the order of their
// names, journal_mode before page_size, so journal_mode and synchronous are
// its _journal_mode and _synchronous keys, which it runs after that list:
// page_size must come before the journal mode is set, since setting it
// writes the file's first page.
//
// journal_size_limit (JournalSizeLimit) lets a write-ahead log that grew
// past it (checkpoints held back by a long read while writes went on) be
// cut back when it next starts over; without it the log kept the largest
// size it ever had. Steady writes stay below it: the auto-checkpoint
// starts the log over every 1,000 frames (16 MiB of 16 KiB pages).
func DSN(path string) string {
	return path + "?_pragma=page_size(" + fmt.Sprint(PageSize) + ")" +
		fmt.Sprintf("&_pragma=journal_size_limit(%d)", JournalSizeLimit) +
		"&_journal_mode=WAL" +
		"&_synchronous=FULL" +
		"&_pragma=foreign_keys(1)" +
		fmt.Sprintf("&_pragma=busy_timeout(%d)", BusyTimeout.Milliseconds()) +
		"&_txlock=immediate"
}

// PageSize is the page size of a new database, in bytes.
const PageSize = 16 << 10

// JournalSizeLimit is the size, in bytes, that a write-ahead log larger
// than it is cut to when it starts over (see DSN).
const JournalSizeLimit = 64 << 20

func openDB(path string) (*sql.DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlite: database path %q contains '?'", path)
	}
	if path != ":memory:" {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("sqlite: create database directory: %w", err)
		}
		if err := restrictFiles(path); err != nil {
			return nil, err
		}
	}
	base, err := sqlite.NewConnector(DSN(path))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// Every query text keeps its prepared statement (see stmtcache):
	// parsing and planning River's job queries cost more than running them.
	db := sql.OpenDB(stmtcache.New(base, StatementCache))
	// One connection: see the package documentation. Keep it open forever
	// so that an in-memory database survives.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

// StatementCache is how many prepared statements the connection keeps.
const StatementCache = 256

// FileMode is the mode of the database file and of its -wal and -shm files.
const FileMode = 0o600

// restrictFiles creates the database file with FileMode when it is missing
// (SQLite creates the -wal and -shm files with the mode of the database
// file), and narrows the mode of the three files where they exist with a
// looser one.
func restrictFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, FileMode)
	switch {
	case err == nil:
		if err := f.Close(); err != nil {
			return fmt.Errorf("sqlite: create database file: %w", err)
		}
	case !errors.Is(err, fs.ErrExist):
		return fmt.Errorf("sqlite: create database file: %w", err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("sqlite: %w", err)
		}
		if fi.Mode().Perm()&^FileMode != 0 {
			if err := os.Chmod(p, FileMode); err != nil {
				return fmt.Errorf("sqlite: restrict the mode of %s: %w", p, err)
			}
		}
	}
	return nil
}

func migrate(ctx context.Context, db *sql.DB) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys)
	if err != nil {
		return err
	}
	// Not p.Close: it would close db.
	return sqlstore.Migrate(ctx, p)
}

func dialect() sqlstore.Dialect {
	return sqlstore.Dialect{
		Name:         "sqlite",
		Contains:     func(col, param string) string { return "instr(" + col + ", " + param + ") > 0" },
		TextContains: func(col, param string) string { return "instr(" + col + ", " + param + ") > 0" },
		Bucket: func(col, since, width string) string {
			return "((" + col + " - " + since + ") / (" + width + " * 1000000))"
		},
		Time: func(t time.Time) any { return t.UnixMicro() },
		IsUnique: func(err error) bool {
			var se *sqlite.Error
			if !errors.As(err, &se) {
				return false
			}
			switch se.Code() {
			case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
				return true
			}
			return false
		},
		RunsPerInsert: 64, // measured: a record's INSERT costs about 25% less CPU than with one row per INSERT
	}
}
