package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/host/store/storetest"
)

// openTest opens a new store on a fresh file and closes it when t ends.
func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "data", "hookhost.db"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Exercise(context.Background(), t, func(t *testing.T) store.Store { return openTest(t) })
}

func TestOpen(t *testing.T) {
	t.Parallel()

	t.Run("ConfiguresTheConnection", func(t *testing.T) {
		t.Parallel()
		s := openTest(t)
		ctx := context.Background()

		tests := []struct {
			pragma string
			want   string
		}{
			{"journal_mode", "wal"},
			{"page_size", fmt.Sprint(PageSize)},
			{"synchronous", "2"}, // FULL
			{"foreign_keys", "1"},
			{"busy_timeout", fmt.Sprint(BusyTimeout.Milliseconds())},
			{"journal_size_limit", fmt.Sprint(JournalSizeLimit)},
		}
		for _, tt := range tests {
			var got string
			require.NoError(t, s.DB().QueryRowContext(ctx, "PRAGMA "+tt.pragma).Scan(&got), tt.pragma)
			require.Equal(t, tt.want, got, tt.pragma)
		}
		require.Equal(t, 1, s.DB().Stats().MaxOpenConnections)
		require.Equal(t, "sqlite", s.Dialect())
	})

	t.Run("ReopenKeepsDataAndMigratesOnce", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		path := filepath.Join(t.TempDir(), "nested", "dir", "hookhost.db")

		s, err := Open(ctx, path)
		require.NoError(t, err)
		require.NoError(t, s.CreateAutomation(ctx, &store.Automation{Name: "kept"}))
		require.NoError(t, s.Close())
		_, err = os.Stat(path)
		require.NoError(t, err)

		s, err = Open(ctx, path)
		require.NoError(t, err)
		defer s.Close()
		a, err := s.GetAutomation(ctx, "kept")
		require.NoError(t, err)
		require.Equal(t, int64(1), a.Revision)
		var n int
		require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&n))
		require.Equal(t, migrationCount(t), n)
	})

	t.Run("RunBatchesLeaveTheConnectionFull", func(t *testing.T) {
		t.Parallel()
		s := openTest(t)
		ctx := context.Background()
		require.NoError(t, s.InsertRuns(ctx, []*store.Run{{ID: "taken", WebhookID: "w"}}))
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		tests := []struct {
			name    string
			ctx     context.Context
			runs    []*store.Run
			wantErr error
		}{
			{"written", ctx, []*store.Run{{WebhookID: "w"}, {WebhookID: "w"}}, nil},
			{"conflict", ctx, []*store.Run{{WebhookID: "w"}, {ID: "taken", WebhookID: "w"}}, store.ErrConflict},
			{"canceled", canceled, []*store.Run{{WebhookID: "w"}}, context.Canceled},
		}
		for _, tt := range tests {
			err := s.InsertRuns(tt.ctx, tt.runs)
			if tt.wantErr == nil {
				require.NoError(t, err, tt.name)
			} else {
				require.ErrorIs(t, err, tt.wantErr, tt.name)
			}
			// The batch commits with synchronous=NORMAL; everything
			// else on the connection stays FULL.
			var sync int
			require.NoError(t, s.DB().QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync), tt.name)
			require.Equal(t, 2, sync, tt.name)
		}
	})

	t.Run("ExistingDatabaseKeepsItsPageSize", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		path := filepath.Join(t.TempDir(), "hookhost.db")
		// A database that an earlier hookhost made: 4 KiB pages, WAL.
		db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)")
		require.NoError(t, err)
		_, err = db.ExecContext(ctx, `CREATE TABLE before_upgrade (x INTEGER) STRICT; INSERT INTO before_upgrade VALUES (7)`)
		require.NoError(t, err)
		require.NoError(t, db.Close())

		s, err := Open(ctx, path)
		require.NoError(t, err)
		defer s.Close()
		var size, x int
		var mode string
		require.NoError(t, s.DB().QueryRowContext(ctx, `PRAGMA page_size`).Scan(&size))
		require.NoError(t, s.DB().QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode))
		require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT x FROM before_upgrade`).Scan(&x))
		require.Equal(t, 4096, size)
		require.Equal(t, "wal", mode)
		require.Equal(t, 7, x)
		require.NoError(t, s.CreateAutomation(ctx, &store.Automation{Name: "after"}))
	})

	t.Run("RefusesBadPaths", func(t *testing.T) {
		t.Parallel()
		for _, path := range []string{"", "x.db?mode=ro"} {
			_, err := Open(context.Background(), path)
			require.Error(t, err, "path %q", path)
		}
	})

	t.Run("PruningReadsSizesFromTheIndex", func(t *testing.T) {
		t.Parallel()
		s := openTest(t)

		for _, q := range []string{`SELECT COALESCE(SUM(size), 0) FROM runs`, `SELECT id, size FROM runs ORDER BY created_at, id LIMIT 5`} {
			var id, parent, notused int
			var detail string
			require.NoError(t, s.DB().QueryRow(`EXPLAIN QUERY PLAN `+q).Scan(&id, &parent, &notused, &detail))
			require.Equal(t, "SCAN runs USING COVERING INDEX runs_created_at_size", detail, q)
		}
	})

	t.Run("TokenLookupUsesTheIndexes", func(t *testing.T) {
		t.Parallel()
		s := openTest(t)

		rows, err := s.DB().Query(`EXPLAIN QUERY PLAN
			SELECT id FROM webhooks WHERE token_hash = $1
			UNION ALL
			SELECT id FROM webhooks WHERE prev_token_hash = $1 AND prev_token_expires_at > $2`, []byte{1}, 0)
		require.NoError(t, err)
		defer rows.Close()
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			require.NoError(t, rows.Scan(&id, &parent, &notused, &detail))
			plan = append(plan, detail)
		}
		require.NoError(t, rows.Err())
		for _, step := range plan {
			require.NotContains(t, step, "SCAN webhooks", "plan %q", plan)
		}
	})
}

func TestOpen_FilesAreOwnerOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	// mode returns the permission bits of path.
	mode := func(t *testing.T, path string) os.FileMode {
		t.Helper()
		fi, err := os.Stat(path)
		require.NoError(t, err)
		return fi.Mode().Perm()
	}

	t.Run("NewDatabase", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "data", "hookhost.db")
		s, err := Open(ctx, path)
		require.NoError(t, err)
		defer s.Close()
		require.Equal(t, os.FileMode(FileMode), mode(t, path))

		// The write-ahead log and its index exist once something is written.
		require.NoError(t, s.CreateAutomation(ctx, &store.Automation{Name: "a"}))
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			require.Equal(t, os.FileMode(FileMode), mode(t, p), p)
		}
	})

	t.Run("ExistingLooserFilesAreNarrowed", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "hookhost.db")
		s, err := Open(ctx, path)
		require.NoError(t, err)
		require.NoError(t, s.CreateAutomation(ctx, &store.Automation{Name: "a"}))
		// Keep -wal and -shm: a second connection holds the database open
		// while the first closes.
		other, err := sql.Open("sqlite", DSN(path))
		require.NoError(t, err)
		defer other.Close()
		require.NoError(t, other.PingContext(ctx))
		require.NoError(t, s.Close())
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			require.NoError(t, os.Chmod(p, 0o644), p)
		}

		s, err = Open(ctx, path)
		require.NoError(t, err)
		defer s.Close()
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			require.Equal(t, os.FileMode(FileMode), mode(t, p), p)
		}
		_, err = s.GetAutomation(ctx, "a")
		require.NoError(t, err)
	})
}

// TestStorageFull fills a database up to its size limit (PRAGMA
// max_page_count: SQLite's genuine SQLITE_FULL path, without filling the
// disk) and frees it again.
func TestStorageFull(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx := context.Background()

	var pages int64
	require.NoError(t, s.DB().QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages))
	// One connection (see the package doc), so the limit holds for every
	// statement of the store.
	_, err := s.DB().ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, pages+8))
	require.NoError(t, err)

	var full error
	written := 0
	for range 100 {
		full = s.InsertRuns(ctx, []*store.Run{{WebhookID: "w", Inputs: make([]byte, 4096)}})
		if full != nil {
			break
		}
		written++
	}
	require.ErrorIs(t, full, store.ErrStorageFull)
	require.True(t, store.IsStorageFull(full))
	require.Less(t, written, 100)

	var failing *store.WritesFailingError
	require.ErrorAs(t, s.Healthy(), &failing)
	require.ErrorIs(t, failing, store.ErrStorageFull)
	since := failing.Since

	// Admin writes fail the same way, and so does the probe.
	err = s.CreateAutomation(ctx, &store.Automation{Name: "big", Script: string(make([]byte, 4*PageSize))})
	require.ErrorIs(t, err, store.ErrStorageFull)
	require.ErrorIs(t, s.ProbeWrite(ctx), store.ErrStorageFull)
	require.ErrorAs(t, s.Healthy(), &failing)
	require.Equal(t, since, failing.Since)

	// Reads still work.
	runs, err := s.ListRuns(ctx, store.RunFilter{})
	require.NoError(t, err)
	require.Len(t, runs, written)

	// Room again: the probe finds out, and writes work.
	_, err = s.DB().ExecContext(ctx, `PRAGMA max_page_count = 1073741823`)
	require.NoError(t, err)
	require.NoError(t, s.ProbeWrite(ctx))
	require.NoError(t, s.Healthy())
	require.NoError(t, s.InsertRuns(ctx, []*store.Run{{WebhookID: "w", Inputs: make([]byte, 4096)}}))
}

func BenchmarkInsertRuns(b *testing.B) {
	s := openTest(b)
	ctx := context.Background()
	inputs := []byte(`{"request_method":"POST","request_path":"/","request_body":"{\"a\":1}"}`)
	for b.Loop() {
		runs := make([]*store.Run, 64)
		for i := range runs {
			runs[i] = &store.Run{WebhookID: "w", Automation: "a", Revision: 1, Status: 200, Exit: "return",
				DurationUS: 120, Inputs: inputs, Output: []byte(`{}`), Log: []byte(`[]`)}
		}
		if err := s.InsertRuns(ctx, runs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "runs/s")
}

func BenchmarkGetWebhookByTokenHash(b *testing.B) {
	s := openTest(b)
	ctx := context.Background()
	const n = 1000
	hashes := make([][]byte, n)
	for i := range hashes {
		var buf [8]byte
		binary.BigEndian.PutUint64(buf[:], uint64(i))
		h := sha256.Sum256(buf[:])
		hashes[i] = h[:]
		require.NoError(b, s.CreateWebhook(ctx, &store.Webhook{Name: fmt.Sprint(i), TokenHash: hashes[i], Enabled: true}))
	}
	now := time.Now()
	i := 0
	for b.Loop() {
		if _, err := s.GetWebhookByTokenHash(ctx, hashes[i%n], now); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func TestOpen_RefusesNewerSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "h.db")
	st, err := Open(ctx, path)
	require.NoError(t, err)
	_, err = st.DB().ExecContext(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (9999, 1)`)
	require.NoError(t, err)
	require.NoError(t, st.Close())
	_, err = Open(ctx, path)
	require.ErrorContains(t, err, "newer than this hookhost binary knows")
}

// migrationCount is the number of embedded migrations.
func migrationCount(t *testing.T) int {
	t.Helper()
	files, err := fs.Glob(migrations, "migrations/*.sql")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	return len(files)
}

func TestOpen_UpgradesVersion1Data(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookhost.db")

	// A database at schema version 1, with a run.
	db, err := openDB(path)
	require.NoError(t, err)
	fsys, err := fs.Sub(migrations, "migrations")
	require.NoError(t, err)
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys)
	require.NoError(t, err)
	_, err = p.UpTo(ctx, 1)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `INSERT INTO runs (id, webhook_id, automation, exit, error, inputs, created_at)
		VALUES ('r1', 'w', 'a', 'return', 'bööm', X'7b7d', 1)`)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	s, err := Open(ctx, path)
	require.NoError(t, err)
	defer s.Close()
	r, err := s.GetRun(ctx, "r1")
	require.NoError(t, err)
	require.Equal(t, "bööm", r.Error)
	// The size of the record is filled in, in bytes: "r1" "w" "a" "return" "bööm" "{}" and 128.
	res, err := s.PruneRuns(ctx, store.RunRetention{MaxAge: -1, MaxBytes: 1 << 30}, time.Now())
	require.NoError(t, err)
	require.Equal(t, int64(2+1+1+6+len("bööm")+2+store.RunOverhead), res.Bytes)
}

// TestInsertRunsAllocations bounds the bytes InsertRuns allocates for a
// batch of records, past the records themselves: the INSERTs' statement
// texts are kept (runInsertSQL) and their arguments go to the driver in a
// reused slice (rawRunExec), where database/sql allocated a new
// driver.NamedValue slice of every argument for each INSERT (40 bytes an
// argument, 16 arguments a record) and each text was built again. What is
// left is the driver's (a slice of the C buffers it binds) and the
// arguments' interface values. Not parallel: it reads the process's
// allocation counter.
func TestInsertRunsAllocations(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	batch := func() []*store.Run {
		runs := make([]*store.Run, 256)
		for i := range runs {
			id, err := uuid.NewV7()
			require.NoError(t, err)
			runs[i] = &store.Run{ID: id.String(), WebhookID: "w", Automation: "a", Revision: 1, Status: 200, Exit: "return",
				DurationUS: 120, Inputs: []byte(`{"method":"POST"}`), Output: []byte(`{}`), RequestID: "r", CreatedAt: time.Now()}
		}
		return runs
	}
	require.NoError(t, s.InsertRuns(ctx, batch())) // prepares the statements
	const batches = 4
	var perRun uint64
	for range batches {
		runs := batch()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		require.NoError(t, s.InsertRuns(ctx, runs))
		runtime.ReadMemStats(&after)
		perRun += (after.TotalAlloc - before.TotalAlloc) / uint64(len(runs))
	}
	perRun /= batches
	t.Logf("%d bytes a record", perRun)
	require.Less(t, perRun, uint64(1000), "bytes InsertRuns allocates a record")
}

// TestInsertRuns_WALWriteback: batches of run records written to a
// database file start the writeback of its log once they have written
// about writebackBytes of it, and not before; a batch refused, or a
// database in memory, does not.
func TestInsertRuns_WALWriteback(t *testing.T) {
	t.Parallel()
	small := func() []*store.Run { return []*store.Run{{WebhookID: "w"}, {WebhookID: "w"}} }
	large := func() []*store.Run { return []*store.Run{{WebhookID: "w", Inputs: make([]byte, writebackBytes)}} }
	// enough is how many small batches reach writebackBytes.
	enough := int((writebackBytes + runLogBytes(small()) - 1) / runLogBytes(small()))
	tests := []struct {
		name    string
		memory  bool
		link    bool // the path given is a symbolic link to the database
		batch   func() []*store.Run
		batches int
		wantErr bool
		want    int
	}{
		{"OneSmall", false, false, small, 1, false, 0},
		{"SmallBelow", false, false, small, enough - 1, false, 0},
		{"SmallReaching", false, false, small, enough, false, 1},
		{"Large", false, false, large, 1, false, 1},
		{"LargeTwice", false, false, large, 2, false, 2},
		{"Refused", false, false, func() []*store.Run {
			return []*store.Run{{WebhookID: "w", Inputs: make([]byte, writebackBytes), Status: math.MaxInt32 + 1}}
		}, 1, true, 0},
		{"InMemory", true, false, large, 1, false, 0},
		{"Symlink", false, true, large, 1, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "hookhost.db")
			wal := path + "-wal"
			switch {
			case tt.memory:
				path = ":memory:"
			case tt.link:
				// SQLite follows the link: the log is the target's
				// (review rev1: the link's name got a writeback of a
				// file that does not exist).
				require.NoError(t, os.Mkdir(filepath.Join(dir, "real"), 0o700))
				target := filepath.Join(dir, "real", "target.db")
				require.NoError(t, os.WriteFile(target, nil, 0o600))
				require.NoError(t, os.Symlink(target, path))
				wal = target + "-wal"
			}
			s, err := Open(context.Background(), path)
			require.NoError(t, err)
			defer s.Close()
			var got []string
			s.writeback = func(p string) { got = append(got, p) }
			for range tt.batches {
				err = s.InsertRuns(context.Background(), tt.batch())
				require.Equal(t, tt.wantErr, err != nil, "error: %v", err)
			}
			require.Len(t, got, tt.want)
			for _, p := range got {
				require.Equal(t, wal, p)
				require.FileExists(t, p)
			}
		})
	}
}

// TestStartWriteback: the writeback of a log leaves its content as it
// was, and of a missing file creates nothing.
func TestStartWriteback(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "hookhost.db-wal")
	require.NoError(t, os.WriteFile(p, []byte("frames"), 0o600))
	startWriteback(p)
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	require.Equal(t, "frames", string(b))
	missing := filepath.Join(dir, "missing-wal")
	startWriteback(missing)
	require.NoFileExists(t, missing)
}
