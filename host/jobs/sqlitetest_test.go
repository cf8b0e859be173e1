package jobs

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/store/sqlite"
)

// openSQLiteStore opens a migrated SQLite store in a temporary directory,
// closed when tb ends.
func openSQLiteStore(tb testing.TB) *sqlite.Store {
	tb.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "jobs.db"))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = st.Close() })
	return st
}

// openSQLiteDB opens a bare SQLite database (the store's DSN, one
// connection, no store migrations) in a temporary directory, closed when
// tb ends.
func openSQLiteDB(tb testing.TB) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", sqlite.DSN(filepath.Join(tb.TempDir(), "jobs.db")))
	require.NoError(tb, err)
	db.SetMaxOpenConns(1)
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// newSQLiteQueue is a queue without workers on db, logging nowhere,
// closed when tb ends (before a database opened before it).
func newSQLiteQueue(tb testing.TB, db *sql.DB) *Queue {
	tb.Helper()
	settings := DefaultSettings()
	settings.Workers = 0
	q, err := New(context.Background(), Config{DB: db, Dialect: DialectSQLite, Runner: nopRunner{}, Settings: settings,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = q.Close() })
	return q
}

// completions are River's parameters completing jobs at at, with
// metadata, as its completer sends them.
func completions(at time.Time, metadata []byte, jobs ...*rivertype.JobRow) *riverdriver.JobSetStateIfRunningManyParams {
	p := &riverdriver.JobSetStateIfRunningManyParams{}
	for _, j := range jobs {
		s := riverdriver.JobSetStateCompleted(j.ID, at, metadata)
		p.ID = append(p.ID, s.ID)
		p.Attempt = append(p.Attempt, s.Attempt)
		p.ErrData = append(p.ErrData, s.ErrData)
		p.FinalizedAt = append(p.FinalizedAt, s.FinalizedAt)
		p.MetadataDoMerge = append(p.MetadataDoMerge, s.MetadataDoMerge)
		p.MetadataUpdates = append(p.MetadataUpdates, s.MetadataUpdates)
		p.ScheduledAt = append(p.ScheduledAt, s.ScheduledAt)
		p.State = append(p.State, s.State)
	}
	return p
}

// enqueueRuns queues n run jobs with inputs on q.
func enqueueRuns(t *testing.T, q *Queue, n int, inputs string) {
	t.Helper()
	for range n {
		_, err := q.Enqueue(context.Background(), &Request{WebhookID: "w", Handler: "automation/main", Automation: "a",
			Inputs: []byte(inputs)})
		require.NoError(t, err)
	}
}
