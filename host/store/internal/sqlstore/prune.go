package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hookhost/hookhost/host/store"
)

// PruneRuns runs one pruning pass of the run history at now.
//
// First it deletes the records created before now-MaxAge, oldest first,
// Batch of them per statement. Then, while the records' sizes (the size
// column, store.RunSize at insert) add up to more than MaxBytes, it deletes
// the oldest, at most Batch per statement, until they fit. Every statement
// is its own short transaction, so other writers (SQLite has one at a
// time) get their turn between batches; several instances pruning the same
// PostgreSQL database at once only delete what the others have not.
//
// The size bound reads the sum of the size column once per pass (from the
// index runs_created_at_size, not the records).
func (s *Store) PruneRuns(ctx context.Context, r store.RunRetention, now time.Time) (store.PruneResult, error) {
	r = r.WithDefaults()
	var res store.PruneResult
	if r.MaxAge > 0 {
		cut := s.tm(now.Add(-r.MaxAge))
		for {
			n, err := s.deleteRuns(ctx, `
				DELETE FROM runs WHERE id IN (
					SELECT id FROM runs WHERE created_at < $1 ORDER BY created_at, id LIMIT $2
				) RETURNING size`, cut, r.Batch)
			res.ByAge += n.count
			if err != nil {
				return res, fmt.Errorf("prune runs by age: %w", err)
			}
			if n.count < int64(r.Batch) {
				break
			}
		}
	}
	if r.MaxBytes <= 0 {
		return res, nil
	}
	var total int64
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(size), 0) FROM runs`).Scan(&total); err != nil {
		return res, fmt.Errorf("prune runs by size: %w", err)
	}
	for total > r.MaxBytes {
		ids, err := s.oldestRuns(ctx, total-r.MaxBytes, r.Batch)
		if err != nil {
			return res, fmt.Errorf("prune runs by size: %w", err)
		}
		if len(ids) == 0 {
			break
		}
		args := make([]any, len(ids))
		marks := make([]string, len(ids))
		for i, id := range ids {
			args[i], marks[i] = id, "$"+strconv.Itoa(i+1)
		}
		n, err := s.deleteRuns(ctx, `DELETE FROM runs WHERE id IN (`+strings.Join(marks, ", ")+`) RETURNING size`, args...)
		res.BySize += n.count
		total -= n.bytes
		if err != nil {
			return res, fmt.Errorf("prune runs by size: %w", err)
		}
		if n.count == 0 {
			// Another instance deleted them first: the next pass recounts.
			break
		}
	}
	res.Bytes = max(total, 0)
	return res, nil
}

// deleted is what a DELETE … RETURNING size removed.
type deleted struct {
	count, bytes int64
}

// deleteRuns runs a DELETE of runs that returns their sizes.
func (s *Store) deleteRuns(ctx context.Context, query string, args ...any) (deleted, error) {
	var d deleted
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return d, s.removed(err)
	}
	defer rows.Close()
	for rows.Next() {
		var size int64
		if err := rows.Scan(&size); err != nil {
			return d, err
		}
		d.count++
		d.bytes += size
	}
	return d, s.removed(rows.Err())
}

// oldestRuns returns the IDs of the oldest runs whose sizes add up to at
// least excess, at most limit of them.
func (s *Store) oldestRuns(ctx context.Context, excess int64, limit int) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, size FROM runs ORDER BY created_at, id LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		ids []string
		sum int64
	)
	for sum < excess && rows.Next() {
		var (
			id   string
			size int64
		)
		if err := rows.Scan(&id, &size); err != nil {
			return nil, err
		}
		ids = append(ids, id)
		sum += size
	}
	return ids, rows.Err()
}
