package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/host/store/internal/sqlstore"
	"github.com/hookhost/hookhost/internal/heaptest"
	"github.com/hookhost/hookhost/internal/pgtest"
)

// multiInsertStore is a store on s's database that writes a batch of
// run records as before the batch's one statement: multi-row INSERTs in a
// transaction (sqlstore.Dialect.RunsStatementBytes 0).
func multiInsertStore(s *Store) *sqlstore.Store {
	d := dialect()
	d.RunsStatementBytes = 0
	return sqlstore.New(s.DB(), d)
}

// recordCases are run records that fill each optional column or leave it
// empty, with empty and nil blobs, unicode, NUL bytes and invalid UTF-8
// in the free text, and large values.
func recordCases() []*store.Run {
	large := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	return []*store.Run{
		{WebhookID: "w"},
		{WebhookID: "w", Automation: "a", Revision: 3, Status: 200, Exit: "return", DurationUS: 120,
			Inputs: []byte(`{"x":1}`), Output: []byte(`{}`), Log: []byte(`[]`)},
		{WebhookID: "w", Inputs: []byte{}, Output: []byte{}, Log: []byte{}},
		{WebhookID: "w", Status: 500, Error: "boom", Output: []byte(`null`), RequestID: "req-1", Cause: "refused",
			JobID: "job-1", ReplayOf: "run-0"},
		{WebhookID: "wébhook-✓", Automation: "autö\x00mation", Exit: "\xff\xfe", Error: "错误\x00\xc3",
			Inputs: []byte("\x00\xff"), Log: []byte("日志"), RequestID: "ré-1", Cause: "çause", JobID: "j✓", ReplayOf: "r✓"},
		{WebhookID: "w", Status: 202, JobID: "job-2", Inputs: large, Output: large[:1000], Log: large},
		{WebhookID: "w", Error: "", Output: nil, Log: []byte("only a log")},
	}
}

// TestInsertRuns_RowsAsMultiInsert checks that the batch's one statement
// stores each record's row exactly as the multi-row INSERTs did, column
// by column: an empty value where they stored one, NULL where they
// stored NULL.
func TestInsertRuns_RowsAsMultiInsert(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t, Options{})
	created := time.Date(2026, 1, 2, 3, 4, 5, 678901000, time.UTC)
	batch := func(prefix string) []*store.Run {
		runs := recordCases()
		for i, r := range runs {
			r.ID = prefix + string(rune('a'+i))
			r.CreatedAt = created.Add(time.Duration(i) * time.Second)
		}
		return runs
	}
	require.NoError(t, multiInsertStore(s).InsertRuns(ctx, batch("old-")))
	require.NoError(t, s.InsertRuns(ctx, batch("new-")))
	for i := range recordCases() {
		suffix := string(rune('a' + i))
		want, got := storedRow(ctx, t, s, "old-"+suffix), storedRow(ctx, t, s, "new-"+suffix)
		require.Equal(t, len(want), len(got), "record %d: columns", i)
		for col, w := range want {
			assert.Equal(t, w, got[col], "record %d: column %s", i, col)
		}
	}
	// A record that leaves every optional column empty in a batch of its
	// own: the multi-row INSERT named none of them.
	require.NoError(t, multiInsertStore(s).InsertRuns(ctx, []*store.Run{{ID: "old-alone", WebhookID: "w", CreatedAt: created}}))
	require.NoError(t, s.InsertRuns(ctx, []*store.Run{{ID: "new-alone", WebhookID: "w", CreatedAt: created}}))
	assert.Equal(t, storedRow(ctx, t, s, "old-alone"), storedRow(ctx, t, s, "new-alone"))
}

// storedRow returns the stored row of run id as PostgreSQL shows it in
// JSON (NULL as null, bytea in hex), by column, without the id.
func storedRow(ctx context.Context, t *testing.T, s *Store, id string) map[string]string {
	t.Helper()
	var raw []byte
	require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT to_jsonb(r) - 'id' FROM runs r WHERE id = $1`, id).Scan(&raw))
	var cols map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &cols))
	row := make(map[string]string, len(cols))
	for c, v := range cols {
		row[c] = string(v)
	}
	return row
}

// TestInsertRuns_ReleasesBatch checks that once a large batch of records
// is written, and a small one after it on the same connection, nothing
// keeps the large one's bytes: pgx kept a statement's parameters in its
// connection's buffer, reachable after a next statement with fewer
// parameters (a copy of the last batch for each connection of the pool).
func TestInsertRuns_ReleasesBatch(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, Options{MaxConns: 1}) // the same connection for every batch
	small := func() []*store.Run { return []*store.Run{{WebhookID: "w", Inputs: []byte(`{}`)}} }
	require.NoError(t, s.InsertRuns(ctx, small())) // prepares the statement on the connection

	before := heaptest.Live()
	payload := insertLargeBatch(ctx, t, s)
	require.NoError(t, s.InsertRuns(ctx, small()))
	after := heaptest.Live()
	retained := int64(after) - int64(before)
	t.Logf("payload %d bytes, live heap %d -> %d (%+d)", payload, before, after, retained)
	assert.Less(t, retained, int64(payload/8), "%d bytes of a %d-byte batch stayed reachable after it was written", retained, payload)
}

// insertLargeBatch writes 3 records of 2 MiB each (inputs, output and
// log) and drops them; it returns their bytes. Few records: pgx dropped
// its slice of parameter values after a statement of more than 64, but
// kept one of fewer, whose values past the next statement's pointed into
// the large statement's buffer.
func insertLargeBatch(ctx context.Context, t *testing.T, s *Store) uint64 {
	runs := make([]*store.Run, 3)
	var payload uint64
	for i := range runs {
		body := bytes.Repeat([]byte{'a' + byte(i)}, 1<<20)
		runs[i] = &store.Run{WebhookID: "w", Inputs: body, Output: body[:len(body)/2], Log: body[len(body)/2:]}
		payload += uint64(store.RunSize(runs[i]))
	}
	require.NoError(t, s.InsertRuns(ctx, runs))
	return payload
}

// TestInsertRuns_StatementForgotten checks that a batch of records still
// goes in after the session lost its prepared statement (a DEALLOCATE
// ALL, as a proxy resetting sessions would), and that a taken run ID is
// still a conflict, naming the run, that leaves the store healthy.
func TestInsertRuns_StatementForgotten(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t, Options{MaxConns: 1}) // the same session for every statement
	require.NoError(t, s.InsertRuns(ctx, []*store.Run{{WebhookID: "w"}}))
	for i := range 2 {
		_, err := s.DB().ExecContext(ctx, "DEALLOCATE ALL")
		require.NoError(t, err)
		require.NoError(t, s.InsertRuns(ctx, []*store.Run{{WebhookID: "w"}, {WebhookID: "w"}}), "batch %d after DEALLOCATE ALL", i)
	}
	err := s.InsertRuns(ctx, []*store.Run{{ID: "fresh", WebhookID: "w"}, {ID: "taken", WebhookID: "w"}, {ID: "taken", WebhookID: "w"}})
	require.ErrorIs(t, err, store.ErrConflict)
	assert.True(t, strings.Contains(err.Error(), `"taken"`), "error %q names the taken run", err)
	_, err = s.GetRun(ctx, "fresh")
	assert.ErrorIs(t, err, store.ErrNotFound, "the batch wrote nothing")
	assert.NoError(t, s.Healthy())
}

// TestInsertRuns_GivenUpNotWritten checks that a batch whose caller gave
// up while its INSERT waited for a lock is not written once the lock is
// released: the batch's transaction ends with a COMMIT sent only after the
// INSERT answered (review rev1: a statement committed by its own Sync was
// written though InsertRuns had failed). Its connections lose their
// cancel requests (pgtest.DropCancels): pgconn's, reaching the server
// before the test released the lock, would cancel the INSERT with or
// without the fix.
func TestInsertRuns_GivenUpNotWritten(t *testing.T) {
	ctx := context.Background()
	s := cancelsDroppedStore(t)
	locker, err := s.DB().Conn(ctx)
	require.NoError(t, err)
	defer locker.Close()
	require.NoError(t, s.InsertRuns(ctx, []*store.Run{{WebhookID: "w"}})) // the statement is prepared
	_, err = locker.ExecContext(ctx, `BEGIN`)
	require.NoError(t, err)
	_, err = locker.ExecContext(ctx, `LOCK TABLE runs IN SHARE MODE`) // INSERTs wait for it
	require.NoError(t, err)

	ictx, giveUp := context.WithCancel(ctx)
	defer giveUp()
	done := make(chan error, 1)
	go func() { done <- s.InsertRuns(ictx, []*store.Run{{ID: "given-up", WebhookID: "w"}}) }()
	require.True(t, pgtest.WaitForLockWait(ctx, t, locker, "runs", done), "the batch ended before it waited for the lock")
	giveUp()
	require.ErrorIs(t, <-done, context.Canceled)
	_, err = locker.ExecContext(ctx, `COMMIT`)
	require.NoError(t, err)

	assert.Zero(t, pgtest.CountAfterLock(ctx, t, locker, `SELECT count(*) FROM runs WHERE id = 'given-up'`, "runs"),
		"InsertRuns failed, yet its batch was written")
}

// cancelsDroppedStore is a store on a migrated schema of its own whose
// pool of two connections (a locker's and a batch's) loses their cancel
// requests.
func cancelsDroppedStore(t *testing.T) *Store {
	t.Helper()
	schema := "hh_test_" + randomHex(t)
	openTest(t, Options{Schema: schema}) // creates and migrates it
	db := pgtest.OpenDropCancels(t, testDSN(t), schema, 2)
	return &Store{Store: sqlstore.New(db, dialect())}
}

// TestInsertRuns_StatusOutOfRange checks that a status PostgreSQL's
// integer column cannot hold is refused, not cut to its low bits (review
// rev1: pgRunArgs encodes it in 4 bytes).
func TestInsertRuns_StatusOutOfRange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t, Options{})
	for _, status := range []int{1<<32 + 200, math.MinInt32 - 1} {
		err := s.InsertRuns(ctx, []*store.Run{{ID: "status", WebhookID: "w", Status: status}})
		require.ErrorIs(t, err, store.ErrInvalid, "status %d", status)
		_, err = s.GetRun(ctx, "status")
		require.ErrorIs(t, err, store.ErrNotFound)
	}
	require.NoError(t, s.InsertRuns(ctx, []*store.Run{{ID: "status", WebhookID: "w", Status: math.MaxInt32}}))
}
