package jobs

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/riverdriver"

	"github.com/hookhost/hookhost/host/store"
)

// River's fetch records the start of the run jobs it takes (markRunning's
// UPDATE, for all of them in one statement) in its own transaction, so
// that their workers need not write it each in a writer transaction of
// its own: workers free up one at a time, so a fetch takes one or two
// jobs and each start was a transaction of its own too. On SQLite both
// are relaxed commits (relaxed.go), one ordered after the other before;
// now they land together. On PostgreSQL (pgStartFetched) the fetch, an
// UPDATE that committed on its own, becomes a transaction of the fetch and
// the start, and the writer's pipelines lose a statement per job: about a
// third fewer transactions per job. The fetch leaves out the jobs with a
// concurrency limit, whose start comes after they took a slot (and which
// may be snoozed instead), and the workers of the jobs it leaves out call
// markRunning as before.

// startedJobs are the attempts whose start a fetch recorded, until their
// workers take them (SQLite).
type startedJobs struct {
	mu sync.Mutex
	m  map[int64]startedJob // by River job id
}

// startedJob is an attempt a fetch took: live is markRunning's answer
// (false: the record was final already, the attempt must not run).
type startedJob struct {
	attempt int
	live    bool
}

func newStartedJobs() *startedJobs { return &startedJobs{m: map[int64]startedJob{}} }

// take returns and forgets what the fetch recorded for the attempt of the
// River job riverID; ok is false when it recorded nothing.
func (s *startedJobs) take(riverID int64, attempt int) (live, ok bool) {
	if s == nil {
		return false, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j, found := s.m[riverID]
	if !found {
		return false, false
	}
	delete(s.m, riverID)
	if j.attempt != attempt {
		return false, false
	}
	return j.live, true
}

// fetched ends a fetch that recorded the start of the run jobs it took
// (ids, attempts, live) and returns err: the queue's writes fail or
// succeed with it too (a start that cannot be written keeps the job from
// running), and the jobs it started are kept for their workers. On a nil
// s (a fetch that records no start) it only returns err.
func (s *startedJobs) fetched(health *writeHealth, err error, ids []int64, attempts []int, live map[int64]bool) error {
	if s == nil {
		return err
	}
	if err != nil || len(ids) > 0 {
		if store.IsStorageFull(err) && !errors.Is(err, store.ErrStorageFull) {
			err = fmt.Errorf("%w: %w", store.ErrStorageFull, err)
		}
		health.note(err)
	}
	if err != nil {
		return err
	}
	s.putAll(ids, attempts, live)
	return nil
}

// putAll records attempts taken by a fetch that committed.
func (s *startedJobs) putAll(riverIDs []int64, attempts []int, live map[int64]bool) {
	if len(riverIDs) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, id := range riverIDs {
		s.m[id] = startedJob{attempt: attempts[i], live: live[id]}
	}
}

// concurrencyKey is in the encoded args of every run job with a
// concurrency limit (runArgs.Concurrency, omitted when 0). An input
// holding the same text makes a job without a limit look limited: it is
// then marked running by its worker, as before.
var concurrencyKey = []byte(`"concurrency":`)

// startSQL (markRunningSQL for many jobs) marks running the records of
// River jobs (VALUES rows of River id and attempt follow) and returns the
// River ids of those it changed.
const (
	startSQL = `UPDATE hookhost_jobs SET state = 'running', attempt = v.column2, started_at = ? FROM (VALUES `
	startEnd = `) AS v WHERE hookhost_jobs.river_id = v.column1 AND ` + notFinalSQL + `
RETURNING hookhost_jobs.river_id`
)

// startable returns the River ids and attempts of the run jobs of res
// without a concurrency limit: those whose start the fetch records.
func startable(res *riverdriver.JobGetAvailableResult) (ids []int64, attempts []int) {
	for _, j := range res.Jobs {
		if j.Kind != kindRun || res.DecodeErrors[j.ID] != nil || bytes.Contains(j.EncodedArgs, concurrencyKey) {
			continue
		}
		ids, attempts = append(ids, j.ID), append(attempts, j.Attempt)
	}
	return ids, attempts
}

// startFetched records, in the fetch's transaction tx, the start of the
// run jobs of res without a concurrency limit, and returns their River ids
// and attempts, and which of them it marked running.
func startFetched(ctx context.Context, tx *sql.Tx, res *riverdriver.JobGetAvailableResult) (ids []int64, attempts []int, live map[int64]bool, err error) {
	ids, attempts = startable(res)
	if len(ids) == 0 {
		return nil, nil, nil, nil
	}
	at := micros(nowUTC())
	live = make(map[int64]bool, len(ids))
	from := 0
	var q strings.Builder
	for _, n := range statementRows(len(ids)) {
		q.Reset()
		q.WriteString(startSQL)
		args := make([]any, 0, 1+2*n)
		args = append(args, at)
		for i := from; i < from+n; i++ {
			if i > from {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?)")
			args = append(args, ids[i], attempts[i])
		}
		q.WriteString(startEnd)
		if err := startRows(ctx, tx, q.String(), args, live); err != nil {
			return nil, nil, nil, fmt.Errorf("mark job running: %w", err)
		}
		from += n
	}
	return ids, attempts, live, nil
}

// startRows runs a startSQL statement and notes the River ids it returns.
func startRows(ctx context.Context, tx *sql.Tx, query string, args []any, live map[int64]bool) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		live[id] = true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return rows.Close()
}

// pgStartSQL is startSQL on PostgreSQL, one text for any number of jobs:
// $1 the start time, $2 and $3 the River ids and attempts. The rows are
// found with river_id = ANY($2), which the planner serves from the index
// hookhost_jobs_river whatever the plan (a join with unnest($2, $3), in a
// generic plan of 100 rows, scanned the whole table).
const pgStartSQL = `UPDATE hookhost_jobs SET state = 'running',
attempt = ($3::bigint[])[array_position($2::bigint[], river_id)], started_at = $1
WHERE river_id = ANY($2::bigint[]) AND ` + notFinalSQL + `
RETURNING river_id`

// pgStartFetched is startFetched on PostgreSQL, sent (a batch of one
// statement, one round trip) on the connection of the fetch's open pgx
// transaction.
func pgStartFetched(ctx context.Context, send sendBatch, res *riverdriver.JobGetAvailableResult) (ids []int64, attempts []int, live map[int64]bool, err error) {
	ids, attempts = startable(res)
	if len(ids) == 0 {
		return nil, nil, nil, nil
	}
	live = make(map[int64]bool, len(ids))
	var b pgx.Batch
	b.Queue(pgStartSQL, micros(nowUTC()), ids, attempts)
	br := send(ctx, &b)
	defer br.Close()
	rows, err := br.Query()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("mark job running: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, nil, nil, fmt.Errorf("mark job running: %w", err)
		}
		live[id] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, nil, fmt.Errorf("mark job running: %w", err)
	}
	if err := br.Close(); err != nil {
		return nil, nil, nil, fmt.Errorf("mark job running: %w", err)
	}
	return ids, attempts, live, nil
}
