package jobs

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrNotFound means there is no such job.
var ErrNotFound = errors.New("jobs: not found")

const jobColumns = `id, river_id, webhook_id, handler, automation, revision, state, attempt, max_attempts,
	inputs, status, headers, body, output, log, error, retry_of, callback_url, created_at, started_at, finished_at`

const insertJobSQL = `INSERT INTO hookhost_jobs (id, river_id, webhook_id, handler, automation, state, max_attempts,
	inputs, retry_of, callback_url, created_at, size) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?)`

// insertJobValuesSQL is one more row of insertJobSQL (11 parameters; a
// batch of BatchSize 256 stays far below SQLite's 32766).
const insertJobValuesSQL = `, (?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?)`

// recordOverhead is what a record's size (Settings.RecordMaxBytes) adds to
// the bytes of its inputs, headers, body, output, log and error, for its
// other columns and index entries.
const recordOverhead = 256

type rowScanner interface{ Scan(dest ...any) error }

func scanJob(r rowScanner) (*Job, error) {
	var (
		j                            Job
		state, inputs, headers, out  string
		logText                      string
		created                      int64
		started, finished            sql.NullInt64
		attempt, maxAttempts, status int64
	)
	err := r.Scan(&j.ID, &j.RiverID, &j.WebhookID, &j.Handler, &j.Automation, &j.Revision, &state, &attempt, &maxAttempts,
		&inputs, &status, &headers, &j.Body, &out, &logText, &j.Error, &j.RetryOf, &j.CallbackURL, &created, &started, &finished)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: read job: %w", err)
	}
	j.State = stateFromColumn(state)
	j.Attempt, j.MaxAttempts, j.Status = int(attempt), int(maxAttempts), int(status)
	if inputs != "" {
		j.Inputs = json.RawMessage(inputs)
	}
	if out != "" {
		j.Output = json.RawMessage(out)
	}
	if headers != "" {
		_ = json.Unmarshal([]byte(headers), &j.Headers)
	}
	if logText != "" {
		_ = json.Unmarshal([]byte(logText), &j.Log)
	}
	j.CreatedAt = fromMicros(created)
	if started.Valid {
		t := fromMicros(started.Int64)
		j.StartedAt = &t
	}
	if finished.Valid {
		t := fromMicros(finished.Int64)
		j.FinishedAt = &t
	}
	return &j, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (q *Queue) getRecord(ctx context.Context, db querier, id string) (*Job, error) {
	return scanJob(db.QueryRowContext(ctx, q.d.q(`SELECT `+jobColumns+` FROM hookhost_jobs WHERE id = ?`), id))
}

// Filter selects jobs for List. Zero fields do not filter.
type Filter struct {
	WebhookID string
	// Schedule selects the jobs of the schedule of that name.
	Schedule string
	State    State
	// Limit is the page size: default 50, at most 500.
	Limit int
	// Cursor continues a previous List (its next cursor).
	Cursor string
}

// listPage reads one page of records, newest first, and the cursor of the
// next page ("" at the end).
func (q *Queue) listPage(ctx context.Context, f Filter) ([]*Job, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	var (
		where []string
		args  []any
	)
	if f.WebhookID != "" {
		where = append(where, "webhook_id = ?")
		args = append(args, f.WebhookID)
	}
	if f.Schedule != "" {
		where = append(where, "webhook_id = '' AND handler = ?")
		args = append(args, ScheduleHandler(f.Schedule))
	}
	if f.State != "" {
		where = append(where, "state = ?")
		args = append(args, f.State.stored())
	}
	if f.Cursor != "" {
		at, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		where = append(where, "(created_at < ? OR (created_at = ? AND id < ?))")
		args = append(args, at, at, id)
	}
	query := `SELECT ` + jobColumns + ` FROM hookhost_jobs`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY created_at DESC, id DESC LIMIT ?"
	args = append(args, limit+1)
	rows, err := q.db.QueryContext(ctx, q.d.q(query), args...)
	if err != nil {
		return nil, "", fmt.Errorf("jobs: list: %w", err)
	}
	defer rows.Close()
	var out []*Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("jobs: list: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[len(out)-1]
		next = encodeCursor(micros(last.CreatedAt), last.ID)
	}
	return out, next, nil
}

// ScheduleHandler is the handler of the jobs of the schedule called name:
// a scheduled job has no webhook ID and this handler.
func ScheduleHandler(name string) string { return "schedule/" + name }

// ErrBadCursor means a list cursor was not one List returned.
var ErrBadCursor = errors.New("jobs: invalid cursor")

func encodeCursor(at int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at, 10) + "|" + id))
}

func decodeCursor(s string) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, "", ErrBadCursor
	}
	at, id, ok := strings.Cut(string(b), "|")
	if !ok {
		return 0, "", ErrBadCursor
	}
	n, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return 0, "", ErrBadCursor
	}
	return n, id, nil
}

// encodeHeaders stores response headers as a JSON list of pairs.
func encodeHeaders(h [][2]string) string {
	if len(h) == 0 {
		return ""
	}
	b, _ := json.Marshal(h)
	return string(b)
}

func encodeLog(l []LogEntry) string {
	if len(l) == 0 {
		return ""
	}
	b, _ := json.Marshal(l)
	return string(b)
}

func nowUTC() time.Time { return time.Now().UTC() }
