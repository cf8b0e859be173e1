package jobs

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"github.com/hookhost/hookhost/host/store"
)

// River's fetch records the start of the run jobs it takes (markRunning's
// UPDATE, for all of them in one statement) in its own transaction, so
// that their workers need not write it each in a writer transaction of
// its own: workers free up one at a time, so a fetch takes one or two
// jobs and each start was a transaction of its own too. On SQLite both
// are relaxed commits (relaxed.go), one ordered after the other before;
// now they land together. On PostgreSQL (pgFetchStartSQL) the fetch, an
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

// concurrencyKey is the key of a run job's concurrency limit in its args
// (runArgs.Concurrency, omitted when 0).
const concurrencyKey = "concurrency"

// The run jobs whose start River's fetch records are those without a
// concurrency limit: run jobs whose args have no concurrencyKey of their
// own (a key of an object nested in them, as the inputs of args written
// before inputs were base64, does not count). startableJob says so in Go
// (SQLite, startable) and pgStartableSQL in SQL (PostgreSQL, whose ?
// operator looks at an object's own keys); TestStartableDefinitions holds
// them to each other.
const pgStartableSQL = `kind = '` + kindRun + `' AND NOT args ? '` + concurrencyKey + `'`

// startableJob reports whether the fetch records the start of job j.
func startableJob(j *rivertype.JobRow) bool {
	return j.Kind == kindRun && !hasKey(j.EncodedArgs, concurrencyKey)
}

// hasKey reports whether the JSON object doc has key among its own keys,
// as PostgreSQL's jsonb ? operator does: keys of nested objects and
// strings that are values do not count (keyValue).
func hasKey(doc []byte, key string) bool {
	_, n, _, _ := keyValue(doc, key)
	return n > 0
}

// keyValue finds key among the JSON object doc's own keys, as hasKey
// reads them: n is how many times doc has it before its end or the first
// place it is not JSON (ok false), and at the index of the first one's
// value (after the colon and any space; -1 when n is 0); folded is how
// many of its keys encoding/json would decode into a field named key
// (key in any case, n of them included). It reads doc's
// structure only as far as keys and nesting need (a string is skipped to
// its closing quote), and finds nothing in a document that is not an
// object. It does not decode the args: they hold the job's inputs (up to
// the body limit), and SQLite's fetch runs it while holding the
// database's one connection (encoding/json took 32 ms and 5.6 MB for the
// args of a 4 MiB body).
func keyValue(doc []byte, key string) (at, n, folded int, ok bool) {
	depth, object, wantKey := 0, false, false // object: doc is one
	at = -1
	for i := 0; i < len(doc); i++ {
		switch doc[i] {
		case '{':
			depth++
			if depth == 1 {
				object, wantKey = true, true
			}
		case '[':
			depth++
		case '}', ']':
			depth--
		case ',':
			wantKey = depth == 1 && object
		case '"':
			end := stringEnd(doc, i)
			if end < 0 {
				return at, n, folded, false
			}
			if wantKey && depth == 1 && keyFolds(doc[i:end+1], key) {
				folded++
			}
			if wantKey && depth == 1 && keyIs(doc[i:end+1], key) {
				if n++; n == 1 {
					at = end + 1
					for at < len(doc) && (doc[at] == ' ' || doc[at] == '\t' || doc[at] == '\n' || doc[at] == '\r' || doc[at] == ':') {
						at++
					}
				}
			}
			wantKey = false
			i = end
		}
	}
	return at, n, folded, n == 0 || at < len(doc)
}

// stringEnd returns the index of the quote that closes the JSON string
// whose opening quote is doc[start], or -1.
func stringEnd(doc []byte, start int) int {
	for i := start + 1; ; {
		n := bytes.IndexByte(doc[i:], '"')
		if n < 0 {
			return -1
		}
		i += n
		backslashes := 0
		for j := i - 1; j > start && doc[j] == '\\'; j-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			return i
		}
		i++
	}
}

// keyFolds reports whether the JSON string quoted (quotes included) is key
// in any case, as encoding/json matches a field's name (strings.EqualFold,
// which folds ſ to s and K to k as well).
func keyFolds(quoted []byte, key string) bool {
	if len(quoted) < len(key)+2 && bytes.IndexByte(quoted, '\\') < 0 {
		return false
	}
	if bytes.IndexByte(quoted, '\\') < 0 {
		return strings.EqualFold(string(quoted[1:len(quoted)-1]), key)
	}
	var s string
	return json.Unmarshal(quoted, &s) == nil && strings.EqualFold(s, key)
}

// keyIs reports whether the JSON string quoted (quotes included) is key.
func keyIs(quoted []byte, key string) bool {
	if bytes.IndexByte(quoted, '\\') < 0 {
		return string(quoted[1:len(quoted)-1]) == key
	}
	var s string
	return json.Unmarshal(quoted, &s) == nil && s == key
}

// startSQL (markRunningSQL for many jobs) marks running the records of
// River jobs (VALUES rows of River id and attempt follow) and returns the
// River ids of those it changed.
const (
	startSQL = `UPDATE hookhost_jobs SET state = 'running', attempt = v.column2, started_at = ? FROM (VALUES `
	startEnd = `) AS v WHERE hookhost_jobs.river_id = v.column1 AND ` + notFinalSQL + `
RETURNING hookhost_jobs.river_id`
)

// startable returns the River ids and attempts of the run jobs of res
// without a concurrency limit: those whose start the fetch records. (A
// job whose row River's driver could not decode is among them; its
// worker never runs, and River's error handler ends it: unreadable.go.)
func startable(res *riverdriver.JobGetAvailableResult) (ids []int64, attempts []int) {
	for _, j := range res.Jobs {
		if !startableJob(j) {
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

// pgFetchStartSQL is startSQL on PostgreSQL, in one statement with
// River's fetch (fetchSQL, whose parameters are $1 to $at-1): River's
// UPDATE of the jobs it takes becomes a CTE, whose rows the start reads.
// It marks running the records of the run jobs without a concurrency
// limit that the fetch took (at $at, the start time), found by their
// primary key (the args' job_id), and returns each row of the fetch
// followed by its River id, its attempt, whether its start was recorded,
// whether its record was marked running (false: it was final already),
// and a run job's real inputs (inputs.go) and whether it has them there
// (not a job queued before they were kept apart).
func pgFetchStartSQL(fetchSQL string, at int) string {
	fetchSQL = strings.TrimRight(strings.TrimSpace(fetchSQL), ";")
	return `WITH fetched AS (
` + fetchSQL + `
), startable AS (
	SELECT id, attempt, args->>'job_id' AS job_id FROM fetched
	WHERE ` + pgStartableSQL + `
), started AS (
	UPDATE hookhost_jobs SET state = 'running', attempt = startable.attempt, started_at = $` + strconv.Itoa(at) + `
	FROM startable WHERE hookhost_jobs.id = startable.job_id AND hookhost_jobs.river_id = startable.id AND ` + notFinalSQL + `
	RETURNING hookhost_jobs.river_id
)
SELECT fetched.*, fetched.id, fetched.attempt, startable.id IS NOT NULL, started.river_id IS NOT NULL,
	hookhost_job_inputs.inputs, hookhost_job_inputs.river_id IS NOT NULL
FROM fetched LEFT JOIN startable ON startable.id = fetched.id LEFT JOIN started ON started.river_id = fetched.id
	LEFT JOIN hookhost_job_inputs ON fetched.kind = '` + kindRun + `' AND hookhost_job_inputs.river_id = fetched.id`
}
