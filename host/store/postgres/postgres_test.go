package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/host/store/storetest"
	"github.com/hookhost/hookhost/internal/cputime"
)

// testDSNEnv names the variable holding the test database's DSN.
const testDSNEnv = "HOOKHOST_TEST_POSTGRES"

// testDSN returns the test database's DSN, or skips t.
func testDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(testDSNEnv)
	if dsn == "" {
		t.Skipf("set %s to a PostgreSQL DSN (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL store tests", testDSNEnv)
	}
	return dsn
}

// openTest opens a store in a new schema of its own, dropped (with the
// store closed) when t ends.
func openTest(t testing.TB, opts Options) *Store {
	t.Helper()
	dsn := testDSN(t)
	ctx := context.Background()
	if opts.Schema == "" {
		opts.Schema = "hh_test_" + randomHex(t)
	}
	t.Cleanup(func() { dropSchema(t, dsn, opts.Schema) })
	s, err := OpenOptions(ctx, dsn, opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func randomHex(t testing.TB) string {
	t.Helper()
	var b [8]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	return hex.EncodeToString(b[:])
}

func dropSchema(t testing.TB, dsn, schema string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`)
	require.NoError(t, err)
}

func TestStore(t *testing.T) {
	t.Parallel()
	testDSN(t)
	storetest.Exercise(context.Background(), t, func(t *testing.T) store.Store { return openTest(t, Options{}) })
}

func TestOpen(t *testing.T) {
	t.Parallel()

	t.Run("PoolSizeFromOptionsOrDSN", func(t *testing.T) {
		t.Parallel()
		dsn := testDSN(t)
		ctx := context.Background()

		s := openTest(t, Options{})
		require.Equal(t, DefaultMaxConns, s.DB().Stats().MaxOpenConnections)
		require.Equal(t, "postgres", s.Dialect())

		s = openTest(t, Options{MaxConns: 3})
		require.Equal(t, 3, s.DB().Stats().MaxOpenConnections)

		schema := "hh_test_" + randomHex(t)
		t.Cleanup(func() { dropSchema(t, dsn, schema) })
		s2, err := OpenOptions(ctx, withParam(dsn, "pool_max_conns", "4"), Options{Schema: schema})
		require.NoError(t, err)
		defer s2.Close()
		require.Equal(t, 4, s2.DB().Stats().MaxOpenConnections)

		_, err = Open(ctx, withParam(dsn, "pool_max_conns", "zero"))
		require.ErrorContains(t, err, "pool_max_conns")
	})

	t.Run("ReopenMigratesOnceAndKeepsData", func(t *testing.T) {
		t.Parallel()
		dsn := testDSN(t)
		ctx := context.Background()

		s := openTest(t, Options{})
		require.NoError(t, s.CreateAutomation(ctx, &store.Automation{Name: "kept"}))
		var schema string
		require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema))
		require.Contains(t, schema, "hh_test_")

		// Two more instances at once on the same schema.
		errs := make(chan error, 2)
		for range 2 {
			go func() {
				s2, err := OpenOptions(ctx, dsn, Options{Schema: schema})
				if err == nil {
					err = s2.Close()
				}
				errs <- err
			}()
		}
		require.NoError(t, <-errs)
		require.NoError(t, <-errs)

		a, err := s.GetAutomation(ctx, "kept")
		require.NoError(t, err)
		require.Equal(t, int64(1), a.Revision)
		var n int
		require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&n))
		require.Equal(t, migrationCount(t), n)
	})
}

// withParam adds key=value to a URL or key/value DSN.
func withParam(dsn, key, value string) string {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn + " " + key + "=" + value
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + key + "=" + value
}

func BenchmarkInsertRuns(b *testing.B) {
	benchInsertRuns(b, []byte(`{"request_method":"POST","request_path":"/","request_body":"{\"a\":1}"}`))
}

// BenchmarkInsertRunsLarge is BenchmarkInsertRuns with 16 KiB of inputs
// a record, as the durable-job load's requests carry.
func BenchmarkInsertRunsLarge(b *testing.B) {
	benchInsertRuns(b, []byte(`{"request_body":"`+strings.Repeat("0123456789abcdef", 1<<10)+`"}`))
}

// benchInsertRuns writes batches of 64 records with inputs.
func benchInsertRuns(b *testing.B, inputs []byte) {
	s := openTest(b, Options{})
	ctx := context.Background()
	cpu0, _ := cputime.Process()
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
	// The test process's CPU a record (the client's cost: the server's
	// is PostgreSQL's).
	if cpu1, ok := cputime.Process(); ok {
		b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/float64(b.N*64), "cpu-ns/run")
	}
}

func BenchmarkGetWebhookByTokenHash(b *testing.B) {
	s := openTest(b, Options{})
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
	dsn := testDSN(t)
	ctx := context.Background()
	schema := "hh_test_" + randomHex(t)
	t.Cleanup(func() { dropSchema(t, dsn, schema) })

	// A database at schema version 1, with records.
	cfg, err := pgx.ParseConfig(dsn)
	require.NoError(t, err)
	require.NoError(t, createSchema(ctx, *cfg, schema))
	cfg.RuntimeParams["search_path"] = schema
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	fsys, err := fs.Sub(migrations, "migrations")
	require.NoError(t, err)
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys)
	require.NoError(t, err)
	_, err = p.UpTo(ctx, 1)
	require.NoError(t, err)
	now := time.Now().UTC().Truncate(time.Microsecond)
	_, err = db.ExecContext(ctx, `INSERT INTO automations (name, extension_id, description, script, policy_kata, created_at, updated_at)
		VALUES ('a', 'ext', 'ünï', 'start:', '', $1, $1)`, now)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `INSERT INTO runs (id, webhook_id, automation, exit, error, inputs, created_at)
		VALUES ('r1', 'w', 'a', 'return', 'boom', '\x7b7d', $1)`, now)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `INSERT INTO kv (ns, key, value) VALUES ('ns', 'k', '\x76')`)
	require.NoError(t, err)

	s, err := OpenOptions(ctx, dsn, Options{Schema: schema})
	require.NoError(t, err)
	defer s.Close()
	a, err := s.GetAutomation(ctx, "a")
	require.NoError(t, err)
	require.Equal(t, "ünï", a.Description)
	require.Equal(t, "start:", a.Script)
	r, err := s.GetRun(ctx, "r1")
	require.NoError(t, err)
	require.Equal(t, "boom", r.Error)
	require.Equal(t, []byte("{}"), r.Inputs)
	v, found, err := s.KVGet(ctx, "ns", "k", now)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, []byte("v"), v)
	// The size of the record is filled in: "r1" "w" "a" "return" "boom" "{}" and 128.
	res, err := s.PruneRuns(ctx, store.RunRetention{MaxAge: -1, MaxBytes: 1 << 30}, now)
	require.NoError(t, err)
	require.Equal(t, int64(2+1+1+6+4+2+store.RunOverhead), res.Bytes)
}
