package sqlstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

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
// runOptionalCols, each given for every record (its default when the
// record leaves it empty: ” for error, NULL for output and log, ” for
// the text columns), so that one text serves every batch.
const pgInsertRunsSQL = `INSERT INTO runs (` + runFixedCols + `, error, output, log, request_id, cause, job_id, replay_of)
SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::bigint[], $5::integer[], $6::bytea[], $7::bigint[],
	$8::bytea[], $9::timestamptz[], $10::bigint[], $11::bytea[], $12::bytea[], $13::bytea[], $14::text[], $15::text[],
	$16::text[], $17::text[])`

// pgRunParams are pgInsertRunsSQL's parameters, one element a record.
type pgRunParams struct {
	ids, webhooks, requestIDs, causes, jobIDs, replayOf []string
	automations, exits, errors, inputs, outputs, logs   [][]byte
	revisions, durations, sizes                         []int64
	statuses                                            []int32
	created                                             []time.Time
	// bytes is the records' size (store.RunSize, with their IDs).
	bytes int
}

// newPgRunParams lays out runs, with their IDs and creation times, as
// pgInsertRunsSQL's parameters. The free text (automation, exit, error)
// is bytea (Dialect.Bytes), copied into one buffer: an empty string is an
// empty value, not NULL.
func newPgRunParams(runs []*store.Run, ids []string, times []time.Time) *pgRunParams {
	n := len(runs)
	p := &pgRunParams{
		ids: ids, webhooks: make([]string, n), requestIDs: make([]string, n), causes: make([]string, n),
		jobIDs: make([]string, n), replayOf: make([]string, n),
		automations: make([][]byte, n), exits: make([][]byte, n), errors: make([][]byte, n),
		inputs: make([][]byte, n), outputs: make([][]byte, n), logs: make([][]byte, n),
		revisions: make([]int64, n), durations: make([]int64, n), sizes: make([]int64, n),
		statuses: make([]int32, n), created: times,
	}
	text := 0
	for _, r := range runs {
		text += len(r.Automation) + len(r.Exit) + len(r.Error)
	}
	buf := make([]byte, 0, text) // not nil, even empty
	free := func(s string) []byte {
		at := len(buf)
		buf = append(buf, s...)
		return buf[at:len(buf):len(buf)]
	}
	for i, r := range runs {
		p.webhooks[i], p.requestIDs[i], p.causes[i], p.jobIDs[i], p.replayOf[i] = r.WebhookID, r.RequestID, r.Cause, r.JobID, r.ReplayOf
		p.automations[i], p.exits[i], p.errors[i] = free(r.Automation), free(r.Exit), free(r.Error)
		p.inputs[i], p.outputs[i], p.logs[i] = r.Inputs, r.Output, r.Log
		p.revisions[i], p.durations[i], p.statuses[i] = r.Revision, r.DurationUS, int32(r.Status)
		size := store.RunSize(r) + int64(len(ids[i])-len(r.ID))
		p.sizes[i] = size
		p.bytes += int(size)
	}
	return p
}

// args are p as pgInsertRunsSQL's parameters, in order.
func (p *pgRunParams) args() []any {
	return []any{p.ids, p.webhooks, p.automations, p.revisions, p.statuses, p.exits, p.durations, p.inputs,
		p.created, p.sizes, p.errors, p.outputs, p.logs, p.requestIDs, p.causes, p.jobIDs, p.replayOf}
}

// sizeHint is about the bytes of p's parameters encoded: the records',
// and each array element's length and each array's header.
func (p *pgRunParams) sizeHint() int {
	const perRecord = 17*4 + 5*8 // each element's length, and the numbers and time
	return p.bytes + len(p.ids)*perRecord + 17*24
}

// pgInsertRuns writes the records of p with pgInsertRunsSQL, and returns
// how many it wrote.
func (s *Store) pgInsertRuns(ctx context.Context, p *pgRunParams) (int64, error) {
	var n int64
	err := pgprep.OnConn(ctx, s.db, func(c *pgx.Conn, exec pgprep.ExecFunc) error {
		tag, err := pgprep.Exec(ctx, c, exec, pgInsertRunsSQL, p.sizeHint(), p.args())
		n = tag.RowsAffected()
		return err
	})
	return n, err
}
