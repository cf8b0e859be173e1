package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Counts returns how many job records are in each state (jobs of every
// server sharing the database), and the age of the oldest queued job (0
// when none is queued). It is two small queries, for metrics scrapes.
func (q *Queue) Counts(ctx context.Context) (map[State]int, time.Duration, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT state, COUNT(*) FROM hookhost_jobs GROUP BY state`)
	if err != nil {
		return nil, 0, fmt.Errorf("count jobs: %w", err)
	}
	defer rows.Close()
	out := map[State]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, 0, fmt.Errorf("count jobs: %w", err)
		}
		out[State(st)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("count jobs: %w", err)
	}
	var oldest sql.NullInt64
	if err := q.db.QueryRowContext(ctx, q.d.q(`SELECT MIN(created_at) FROM hookhost_jobs WHERE state = ?`), StateQueued.stored()).Scan(&oldest); err != nil {
		return nil, 0, fmt.Errorf("oldest queued job: %w", err)
	}
	var age time.Duration
	if oldest.Valid {
		age = max(0, time.Since(fromMicros(oldest.Int64)))
	}
	return out, age, nil
}
