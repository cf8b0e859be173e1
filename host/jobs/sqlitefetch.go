package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivershared/uniquestates"
	"github.com/riverqueue/river/rivertype"
)

// River's fetch on SQLite (JobGetAvailable) returns each job it takes with
// its args rendered from the stored JSONB, and its driver checks them with
// json.Valid before River's work unit decodes them with json.Unmarshal,
// which checks them again: a run job's args held its inputs, the request's
// body twice in base64 (as those of jobs queued before jobs schema
// version 10 still do), so that check read every byte of the body once
// more per job (about 7% of the server's CPU with a 16 KiB body,
// bench/README.md). The queue runs River's statement itself
// (sqliteFetchSQL) and decodes the rows as River's driver does, but leaves
// the args to the work unit's json.Unmarshal: args that are not valid JSON
// fail there, before the worker, and the job ends as one whose args cannot
// be read (unreadable.go), as it does when the driver leaves them out.

// sqliteFetchSQL is River's JobGetAvailable statement on SQLite
// (riversqlite's dbsqlc jobGetAvailable with its attempted_by clause) with
// positional parameters: 1 the time (or NULL: the database's), 2 the
// queue, 3 whether to filter by kind, 4 the kinds (a JSON array), 5 the
// most jobs to take, 6 the client's id, 7 the most entries kept in
// attempted_by. It returns the columns sqliteJobColumns reads, but args
// stored as text (sqlInsertTx.insertJobs) as they are: River's reads them
// with json_valid and json, two parses of the body's base64, where their
// JSON is read once by the worker. Its first line is River's, which tells
// it in the tests and the database's logs.
const sqliteFetchSQL = `-- name: JobGetAvailable :many
UPDATE river_job
SET
    attempt = river_job.attempt + 1,
    attempted_at = coalesce(cast(?1 AS text), datetime('now', 'subsec')),
    attempted_by = CASE WHEN typeof(attempted_by) = 'text' AND NOT json_valid(attempted_by) THEN attempted_by ELSE
    jsonb(json_insert(
        (
            SELECT jsonb_group_array(value)
            FROM (
                SELECT *
                FROM (
                    SELECT *
                    FROM json_each(CASE WHEN typeof(attempted_by) = 'text' AND NOT json_valid(attempted_by) THEN jsonb('[]') ELSE coalesce(attempted_by, jsonb('[]')) END)
                    ORDER BY key DESC
                    LIMIT ?7 - 1
                )
                ORDER BY key
            )
        ),
        '$[#]',
        ?6
    ))
    END,
    state = 'running'
WHERE id IN (
    SELECT id
    FROM river_job
    WHERE
        priority >= 0
        AND river_job.queue = ?2
        AND (NOT cast(?3 AS boolean) OR kind IN (SELECT value FROM json_each(cast(?4 AS blob))))
        AND scheduled_at <= coalesce(cast(?1 AS text), datetime('now', 'subsec'))
        AND state = 'available'
    ORDER BY
        priority ASC,
        scheduled_at ASC,
        id ASC
    LIMIT ?5
)
RETURNING
    id,
    cast(CASE WHEN typeof(args) = 'text' THEN args ELSE json(args) END AS blob),
    ` + sqliteJobColumns

// sqliteJobColumns are the columns of a River job row after its id and
// args, as River's SQLite driver selects them (sqliteJobRow).
const sqliteJobColumns = `attempt,
    attempted_at,
    cast(CASE WHEN typeof(attempted_by) = 'text' AND NOT json_valid(attempted_by) THEN attempted_by ELSE json(attempted_by) END AS blob),
    created_at,
    cast(CASE WHEN typeof(errors) = 'text' AND NOT json_valid(errors) THEN errors ELSE json(errors) END AS blob),
    finalized_at,
    kind,
    max_attempts,
    cast(CASE WHEN typeof(metadata) = 'text' AND NOT json_valid(metadata) THEN metadata ELSE json(metadata) END AS blob),
    priority,
    queue,
    state,
    scheduled_at,
    cast(CASE WHEN typeof(tags) = 'text' AND NOT json_valid(tags) THEN tags ELSE json(tags) END AS blob),
    unique_key,
    unique_states`

// sqliteFetch is River's JobGetAvailable on SQLite, in tx, for a fetch
// without a schema: the jobs it took, each with the errors of the columns
// that did not decode (not the args: see above).
func sqliteFetch(ctx context.Context, tx *sql.Tx, p *riverdriver.JobGetAvailableParams) (*riverdriver.JobGetAvailableResult, error) {
	kinds, err := json.Marshal(p.Kind)
	if err != nil {
		return nil, err
	}
	var now any
	if p.Now != nil {
		now = sqliteTime(p.Now)
	}
	rs, err := tx.QueryContext(ctx, sqliteFetchSQL, now, p.Queue, p.Kind != nil, kinds, p.MaxToLock, p.ClientID, p.MaxAttemptedBy)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	res := &riverdriver.JobGetAvailableResult{Jobs: []*rivertype.JobRow{}}
	for rs.Next() {
		var r sqliteJobRow
		if err := r.scan(rs, true); err != nil {
			return nil, err
		}
		j, err := r.jobRow()
		res.Jobs = append(res.Jobs, j)
		if err != nil {
			if res.DecodeErrors == nil {
				res.DecodeErrors = map[int64]error{}
			}
			res.DecodeErrors[j.ID] = err
		}
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	return res, rs.Close()
}

// sqliteJobRow is a River job row as sqliteFetchSQL and sqliteCompleteSQL
// return it.
type sqliteJobRow struct {
	id                                        int64
	args, attemptedBy, errors, metadata, tags []byte
	attempt, maxAttempts, priority            int64
	attemptedAt, finalizedAt                  *time.Time
	createdAt, scheduledAt                    time.Time
	kind, queue, state                        string
	uniqueKey                                 []byte
	uniqueStates                              *int64
}

// scan reads the row of rs: the id, the args when withArgs, then
// sqliteJobColumns.
func (r *sqliteJobRow) scan(rs *sql.Rows, withArgs bool) error {
	dest := make([]any, 0, 18)
	dest = append(dest, &r.id)
	if withArgs {
		dest = append(dest, &r.args)
	}
	return rs.Scan(append(dest, &r.attempt, &r.attemptedAt, &r.attemptedBy, &r.createdAt, &r.errors,
		&r.finalizedAt, &r.kind, &r.maxAttempts, &r.metadata, &r.priority, &r.queue, &r.state, &r.scheduledAt,
		&r.tags, &r.uniqueKey, &r.uniqueStates)...)
}

// jobRow decodes r as River's SQLite driver decodes a job row
// (jobRowFromInternalPartial): a field that does not decode is left empty,
// and the error says which; but the args are kept as they are (see above).
func (r *sqliteJobRow) jobRow() (*rivertype.JobRow, error) {
	var errs []error
	var attemptedAt, finalizedAt *time.Time
	if r.attemptedAt != nil {
		t := r.attemptedAt.UTC()
		attemptedAt = &t
	}
	if r.finalizedAt != nil {
		t := r.finalizedAt.UTC()
		finalizedAt = &t
	}
	var attemptedBy []string
	if r.attemptedBy != nil {
		if err := json.Unmarshal(r.attemptedBy, &attemptedBy); err != nil {
			errs = append(errs, fmt.Errorf("error unmarshaling `attempted_by`: %w", err))
			attemptedBy = nil
		}
	}
	attemptErrors := make([]rivertype.AttemptError, 0)
	if r.errors != nil {
		if err := riverdriver.UnmarshalAttemptErrors(r.errors, &attemptErrors); err != nil {
			errs = append(errs, fmt.Errorf("error unmarshaling `errors`: %w", err))
			attemptErrors = nil
		}
	}
	metadata := r.metadata
	if !json.Valid(metadata) {
		// River's error (its validateJSON).
		err := json.Unmarshal(metadata, new(json.RawMessage))
		errs = append(errs, fmt.Errorf("error unmarshaling `metadata`: %w", err))
		metadata = nil
	}
	var tags []string
	if err := json.Unmarshal(r.tags, &tags); err != nil {
		errs = append(errs, fmt.Errorf("error unmarshaling `tags`: %w", err))
		tags = nil
	}
	var states []rivertype.JobState
	if r.uniqueStates != nil {
		if s := *r.uniqueStates; s < 0 || s > 255 {
			errs = append(errs, fmt.Errorf("value out of range for byte: %d", s))
		} else {
			states = uniquestates.UniqueBitmaskToStates(byte(s))
		}
	}
	return &rivertype.JobRow{
		ID:           r.id,
		Attempt:      max(int(r.attempt), 0),
		AttemptedAt:  attemptedAt,
		AttemptedBy:  attemptedBy,
		CreatedAt:    r.createdAt.UTC(),
		EncodedArgs:  r.args,
		Errors:       attemptErrors,
		FinalizedAt:  finalizedAt,
		Kind:         r.kind,
		MaxAttempts:  max(int(r.maxAttempts), 0),
		Metadata:     metadata,
		Priority:     max(int(r.priority), 0),
		Queue:        r.queue,
		ScheduledAt:  r.scheduledAt.UTC(),
		State:        rivertype.JobState(r.state),
		Tags:         tags,
		UniqueKey:    r.uniqueKey,
		UniqueStates: states,
	}, errors.Join(errs...)
}
