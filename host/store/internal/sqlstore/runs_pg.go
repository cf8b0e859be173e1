package sqlstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/internal/pgprep"
)

// On PostgreSQL a batch of run records is one statement (pgInsertRunsSQL)
// in a transaction of its own (pgInsertRuns: it writes every record or, a
// run ID taken, none), with its parameters encoded once into a buffer of
// the batch's (pgprep). Through database/sql the batch was INSERTs of up
// to 64 records each, database/sql converted every one of their ~1000
// values, and pgx encoded them into its connection's parameter buffer,
// shrunk back after each statement and so grown again for every one
// (growslice under pgx's appendParam: 3.9% of a server's CPU taking
// 202s), and kept the last large statement's values reachable.

// pgInsertRunsSQL inserts run records, one element of each array
// parameter a record: $1-$14 the columns of runFixedCols and
// runOptionalCols but the blobs, each given for every record, empty when
// the record leaves it so (the column's default: an empty error,
// request_id, cause, job_id or replay_of), so that one text serves every
// batch; and the blobs (inputs, output, log) one after the other in $19,
// a record's from $15 (a 0-based offset), as long as $16, $17 and $18 say
// (-1: NULL). A plain INSERT: a taken ID fails it, and the batch writes
// nothing (runInsertSQL says why).
//
// The arrays are unnested in the select list, in step (they are as
// long): PostgreSQL streams those rows to the insert (ProjectSet), where
// FROM unnest($1, …) stores them all in a tuplestore first (the
// PostgreSQL cluster's CPU for 2000 batches of BenchmarkInsertRuns, 64
// records each: 1.78 s through database/sql's BEGIN, multi-row INSERT
// and COMMIT, 1.90 s FROM unnest, 1.46 s in the select list). The blobs
// are cut from one value: as bytea[] arrays, a batch of
// BenchmarkInsertRunsLarge (16 KiB of inputs a record) took 16 ms, more
// than database/sql's 14 ms, where it takes 8 ms. The blob is read once,
// as b in the subquery that OFFSET 0 keeps from being flattened: where
// the statement referred to $19 three times, PostgreSQL's first plans of
// it on a connection (custom plans, with the values as constants) copied
// the blob for each, and the backend's memory grew by 256 MiB for 32 MiB
// of inputs, against 127 MiB through database/sql (review rev1).
const pgInsertRunsSQL = `INSERT INTO runs (` + runFixedCols + `, error, output, log, request_id, cause, job_id, replay_of)
SELECT id, webhook_id, automation, revision, status, exit, duration_us,
	CASE WHEN inputs_len >= 0 THEN substring(b FROM at + 1 FOR inputs_len) END,
	created_at, size, error,
	CASE WHEN output_len >= 0 THEN substring(b FROM at + greatest(inputs_len, 0) + 1 FOR output_len) END,
	CASE WHEN log_len >= 0 THEN substring(b FROM at + greatest(inputs_len, 0) + greatest(output_len, 0) + 1 FOR log_len) END,
	request_id, cause, job_id, replay_of
FROM (SELECT unnest($1::text[]) AS id, unnest($2::text[]) AS webhook_id, unnest($3::bytea[]) AS automation,
	unnest($4::bigint[]) AS revision, unnest($5::integer[]) AS status, unnest($6::bytea[]) AS exit,
	unnest($7::bigint[]) AS duration_us, unnest($8::timestamptz[]) AS created_at, unnest($9::bigint[]) AS size,
	unnest($10::bytea[]) AS error, unnest($11::text[]) AS request_id, unnest($12::text[]) AS cause,
	unnest($13::text[]) AS job_id, unnest($14::text[]) AS replay_of, unnest($15::integer[]) AS at,
	unnest($16::integer[]) AS inputs_len, unnest($17::integer[]) AS output_len, unnest($18::integer[]) AS log_len,
	$19::bytea AS b OFFSET 0) AS v`

// pgRunArrays is the number of pgInsertRunsSQL's array parameters.
const pgRunArrays = 18

// runSizes returns the size of each of runs with its ID (store.RunSize),
// and their sum.
func runSizes(runs []*store.Run, ids []string) ([]int64, int) {
	sizes := make([]int64, len(runs))
	total := 0
	for i, r := range runs {
		sizes[i] = store.RunSize(r) + int64(len(ids[i])-len(r.ID))
		total += int(sizes[i])
	}
	return sizes, total
}

// pgRunArgs encodes runs, with their IDs, creation times and sizes
// (runSizes, whose sum is total), as pgInsertRunsSQL's parameters. The
// free text (automation, exit, error) is bytea (Dialect.Bytes): an empty
// string an empty value, not NULL.
func pgRunArgs(runs []*store.Run, ids []string, times []time.Time, sizes []int64, total int) []any {
	blobs := 0
	for _, r := range runs {
		blobs += len(r.Inputs) + len(r.Output) + len(r.Log)
	}
	// The other values are at most the records' sizes, and the numbers
	// and the time nine of at most 8 bytes a record.
	a := pgprep.NewArrays(pgprep.ArraysSize(pgRunArrays, pgRunArrays*len(runs), total-blobs+9*8*len(runs)))
	args := make([]any, 0, pgRunArrays+1)
	col := func(oid uint32, elem func(i int, r *store.Run)) {
		a.Begin(oid)
		for i, r := range runs {
			elem(i, r)
		}
		args = append(args, a.End())
	}
	col(pgtype.TextOID, func(i int, _ *store.Run) { a.Text(ids[i]) })
	col(pgtype.TextOID, func(_ int, r *store.Run) { a.Text(r.WebhookID) })
	col(pgtype.ByteaOID, func(_ int, r *store.Run) { a.Text(r.Automation) })
	col(pgtype.Int8OID, func(_ int, r *store.Run) { a.Int8(r.Revision) })
	col(pgtype.Int4OID, func(_ int, r *store.Run) { a.Int4(int32(r.Status)) })
	col(pgtype.ByteaOID, func(_ int, r *store.Run) { a.Text(r.Exit) })
	col(pgtype.Int8OID, func(_ int, r *store.Run) { a.Int8(r.DurationUS) })
	col(pgtype.TimestamptzOID, func(i int, _ *store.Run) { a.Timestamptz(times[i]) })
	col(pgtype.Int8OID, func(i int, _ *store.Run) { a.Int8(sizes[i]) })
	col(pgtype.ByteaOID, func(_ int, r *store.Run) { a.Text(r.Error) })
	col(pgtype.TextOID, func(_ int, r *store.Run) { a.Text(r.RequestID) })
	col(pgtype.TextOID, func(_ int, r *store.Run) { a.Text(r.Cause) })
	col(pgtype.TextOID, func(_ int, r *store.Run) { a.Text(r.JobID) })
	col(pgtype.TextOID, func(_ int, r *store.Run) { a.Text(r.ReplayOf) })
	at := 0
	col(pgtype.Int4OID, func(_ int, r *store.Run) {
		a.Int4(int32(at))
		at += len(r.Inputs) + len(r.Output) + len(r.Log)
	})
	col(pgtype.Int4OID, func(_ int, r *store.Run) { a.Int4(blobLen(r.Inputs)) })
	col(pgtype.Int4OID, func(_ int, r *store.Run) { a.Int4(blobLen(r.Output)) })
	col(pgtype.Int4OID, func(_ int, r *store.Run) { a.Int4(blobLen(r.Log)) })
	blob := make([]byte, 0, blobs)
	for _, r := range runs {
		blob = append(append(append(blob, r.Inputs...), r.Output...), r.Log...)
	}
	return append(args, blob)
}

// blobLen is the length of b as pgInsertRunsSQL takes it: -1 for NULL.
func blobLen(b []byte) int32 {
	if b == nil {
		return -1
	}
	return int32(len(b))
}

// pgInsertRuns writes records with pgInsertRunsSQL, whose parameters are
// args (pgRunArgs), in a transaction of its own (pgprep.InTx, committed
// only once the statement answered: InsertRuns's caller may cancel its
// context at any time), and returns
// how many it wrote. Sent alone and committed by its own Sync, as it once
// was, a batch whose caller gave up while it waited for a lock was
// committed once the lock went, though InsertRuns had failed (review
// rev1).
func (s *Store) pgInsertRuns(ctx context.Context, args []any) (int64, error) {
	var n int64
	err := pgprep.OnConn(ctx, s.db, pgprep.InTx, func(c *pgx.Conn, exec pgprep.ExecFunc) error {
		tag, err := pgprep.Exec(ctx, c, exec, pgInsertRunsSQL, 0, args)
		n = tag.RowsAffected()
		return err
	})
	return n, err
}
