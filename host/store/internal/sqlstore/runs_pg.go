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
// sent in one round trip and committed on its own (a statement is
// atomic: it writes every record or, a run ID taken, none), with its
// parameters encoded once into a buffer of the batch's (pgprep). Through
// database/sql the batch took three round trips (BEGIN, a multi-row
// INSERT of up to 64 records, COMMIT), database/sql converted every one
// of its ~1000 values, and pgx encoded them into its connection's
// parameter buffer, shrunk back after each statement and so grown again
// for every one (growslice under pgx's appendParam: 3.9% of a server's CPU
// taking 202s), and kept the last large statement's values reachable.

// pgInsertRunsSQL inserts run records, one element of each array
// parameter a record: the columns of runFixedCols, then those of
// runOptionalCols, each given for every record, empty when the record
// leaves it so (the column's default: an empty error, request_id, cause,
// job_id or replay_of, a NULL output or log), so that one text serves
// every batch. The arrays are unnested in the select list, in step (they
// are as long): PostgreSQL streams those rows to the insert (ProjectSet),
// where FROM unnest($1, …, $17) stores them all in a tuplestore first.
// The PostgreSQL cluster's CPU for 2000 batches of BenchmarkInsertRuns
// (64 records): 1.78 s through database/sql (BEGIN, a multi-row INSERT,
// COMMIT), 1.90 s FROM unnest, 1.46 s in the select list.
const pgInsertRunsSQL = `INSERT INTO runs (` + runFixedCols + `, error, output, log, request_id, cause, job_id, replay_of)
SELECT unnest($1::text[]), unnest($2::text[]), unnest($3::bytea[]), unnest($4::bigint[]), unnest($5::integer[]),
	unnest($6::bytea[]), unnest($7::bigint[]), unnest($8::bytea[]), unnest($9::timestamptz[]), unnest($10::bigint[]),
	unnest($11::bytea[]), unnest($12::bytea[]), unnest($13::bytea[]), unnest($14::text[]), unnest($15::text[]),
	unnest($16::text[]), unnest($17::text[])`

// pgRunColumns is the number of pgInsertRunsSQL's parameters.
const pgRunColumns = 17

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
	// The records' values are at most their sizes, and the numbers and
	// the time five of 8 bytes a record.
	a := pgprep.NewArrays(pgprep.ArraysSize(pgRunColumns, pgRunColumns*len(runs), total+5*8*len(runs)))
	args := make([]any, 0, pgRunColumns)
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
	col(pgtype.ByteaOID, func(_ int, r *store.Run) { a.Bytes(r.Inputs) })
	col(pgtype.TimestamptzOID, func(i int, _ *store.Run) { a.Timestamptz(times[i]) })
	col(pgtype.Int8OID, func(i int, _ *store.Run) { a.Int8(sizes[i]) })
	col(pgtype.ByteaOID, func(_ int, r *store.Run) { a.Text(r.Error) })
	col(pgtype.ByteaOID, func(_ int, r *store.Run) { a.Bytes(r.Output) })
	col(pgtype.ByteaOID, func(_ int, r *store.Run) { a.Bytes(r.Log) })
	col(pgtype.TextOID, func(_ int, r *store.Run) { a.Text(r.RequestID) })
	col(pgtype.TextOID, func(_ int, r *store.Run) { a.Text(r.Cause) })
	col(pgtype.TextOID, func(_ int, r *store.Run) { a.Text(r.JobID) })
	col(pgtype.TextOID, func(_ int, r *store.Run) { a.Text(r.ReplayOf) })
	return args
}

// pgInsertRuns writes records with pgInsertRunsSQL, whose parameters are
// args (pgRunArgs), and returns how many it wrote.
func (s *Store) pgInsertRuns(ctx context.Context, args []any) (int64, error) {
	var n int64
	err := pgprep.OnConn(ctx, s.db, func(c *pgx.Conn, exec pgprep.ExecFunc) error {
		tag, err := pgprep.Exec(ctx, c, exec, pgInsertRunsSQL, 0, args)
		n = tag.RowsAffected()
		return err
	})
	return n, err
}
