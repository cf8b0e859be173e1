package jobs

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// PruneResult is what one pruning pass of job records did.
type PruneResult struct {
	// ByAge and BySize count the finished job records deleted for
	// Settings.RecordRetention and Settings.RecordMaxBytes.
	ByAge, BySize int64
	// Keys counts the idempotency keys deleted (older than
	// IdempotencyWindow).
	Keys int64
	// Deliveries counts the subscription delivery log entries deleted
	// (ended more than Settings.RecordRetention ago).
	Deliveries int64
	// Bytes is the size of the finished records left (0 when
	// RecordMaxBytes is off).
	Bytes int64
}

// PruneRecords runs one pruning pass at now: it deletes the records of
// jobs that finished more than Settings.RecordRetention before now, then the
// oldest finished records until their sizes add up to at most
// Settings.RecordMaxBytes, then idempotency keys older than
// IdempotencyWindow, then subscription delivery log entries that ended
// more than Settings.RecordRetention before now. Records of jobs that have not ended are never
// deleted; a deleted record's job never runs again, and its River row goes
// with it once River has finalized it (otherwise River's own rows follow
// Config.Retention). Every statement deletes at most Config.PruneBatch rows
// in its own transaction. The queue runs it every Config.PruneInterval.
func (q *Queue) PruneRecords(ctx context.Context, now time.Time) (PruneResult, error) {
	var res PruneResult
	batch := q.cfg.PruneBatch
	if q.cfg.RecordRetention > 0 {
		cut := micros(now.Add(-q.cfg.RecordRetention))
		for {
			n, _, err := q.deleteRecords(ctx, `DELETE FROM hookhost_jobs WHERE id IN (
				SELECT id FROM hookhost_jobs WHERE finished_at IS NOT NULL AND finished_at < ?
				ORDER BY finished_at, id LIMIT ?) RETURNING size, river_id`, cut, batch)
			res.ByAge += n
			if err != nil {
				return res, fmt.Errorf("jobs: prune records by age: %w", err)
			}
			if n < int64(batch) {
				break
			}
		}
	}
	if q.cfg.RecordMaxBytes > 0 {
		limit := int64(q.cfg.RecordMaxBytes)
		var total int64
		err := q.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(size), 0) FROM hookhost_jobs WHERE finished_at IS NOT NULL`).Scan(&total)
		if err != nil {
			return res, fmt.Errorf("jobs: prune records by size: %w", err)
		}
		for total > limit {
			ids, err := q.oldestFinished(ctx, total-limit, batch)
			if err != nil {
				return res, fmt.Errorf("jobs: prune records by size: %w", err)
			}
			if len(ids) == 0 {
				break
			}
			args := make([]any, len(ids))
			for i, id := range ids {
				args[i] = id
			}
			n, bytes, err := q.deleteRecords(ctx, `DELETE FROM hookhost_jobs WHERE finished_at IS NOT NULL AND id IN (?`+
				strings.Repeat(", ?", len(ids)-1)+`) RETURNING size, river_id`, args...)
			res.BySize += n
			total -= bytes
			if err != nil {
				return res, fmt.Errorf("jobs: prune records by size: %w", err)
			}
			if n == 0 {
				break // another process deleted them first
			}
		}
		res.Bytes = max(total, 0)
	}
	keyCut := micros(now.Add(-IdempotencyWindow))
	n, err := q.deleteBatches(ctx, `DELETE FROM hookhost_job_keys WHERE (webhook_id, key) IN (
			SELECT webhook_id, key FROM hookhost_job_keys WHERE created_at < ? LIMIT ?)`, keyCut)
	res.Keys = n
	if err != nil {
		return res, fmt.Errorf("jobs: prune idempotency keys: %w", err)
	}

	if q.cfg.RecordRetention > 0 {
		n, err := q.deleteBatches(ctx, `DELETE FROM hookhost_deliveries WHERE id IN (
			SELECT id FROM hookhost_deliveries WHERE updated_at < ? AND state NOT IN ('queued', 'retrying') LIMIT ?)`,
			micros(now.Add(-q.cfg.RecordRetention)))
		res.Deliveries = n
		if err != nil {
			return res, fmt.Errorf("jobs: prune delivery log: %w", err)
		}
	}
	if err := q.sweepInputs(ctx); err != nil { // inputs.go; the next pass tries again
		q.log.Warn("prune: sweep kept inputs", "error", err)
	}
	return res, nil
}

// deleteBatches runs a DELETE whose last parameter is the batch size
// (after args) until it deletes fewer rows than that, and reports how many
// it deleted.
func (q *Queue) deleteBatches(ctx context.Context, query string, args ...any) (int64, error) {
	batch := q.cfg.PruneBatch
	args = append(args, batch)
	var total int64
	for {
		r, err := q.db.ExecContext(ctx, q.d.q(query), args...)
		if err != nil {
			return total, err
		}
		n, err := r.RowsAffected()
		if err != nil {
			return total, err
		}
		total += n
		if n < int64(batch) {
			return total, nil
		}
	}
}

// deleteRecords runs a DELETE of job records that returns their sizes and
// River ids, and reports how many it deleted and their total size. Then
// it deletes the River rows of those jobs that River has finalized: they
// hold the real inputs, as large as the record's, for a retry that a job
// without a record can no longer have, and were kept for --job-retention
// whatever --job-record-max-bytes said (a hostile review measured 534 MiB
// of them beside 256 MiB of records). Rows River has not finalized are
// left to it (a retry under way, an attempt being completed): its cleaner
// deletes them after the retention.
func (q *Queue) deleteRecords(ctx context.Context, query string, args ...any) (n, bytes int64, err error) {
	var river []any
	err = func() error {
		rows, err := q.db.QueryContext(ctx, q.d.q(query), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var size, riverID int64
			if err := rows.Scan(&size, &riverID); err != nil {
				return err
			}
			n++
			bytes += size
			river = append(river, riverID)
		}
		return rows.Err()
	}()
	if err != nil || len(river) == 0 {
		return n, bytes, err
	}
	_, err = q.db.ExecContext(ctx, q.d.q(`DELETE FROM river_job WHERE finalized_at IS NOT NULL AND id IN (?`+
		strings.Repeat(", ?", len(river)-1)+`)`), river...)
	if err != nil {
		err = fmt.Errorf("delete the River rows of pruned records: %w", err)
	} else {
		err = q.deleteInputsGone(ctx, river) // inputs.go
	}
	return n, bytes, err
}

// oldestFinished returns the IDs of the records that finished first whose
// sizes add up to at least excess, at most limit of them.
func (q *Queue) oldestFinished(ctx context.Context, excess int64, limit int) ([]string, error) {
	rows, err := q.db.QueryContext(ctx, q.d.q(`SELECT id, size FROM hookhost_jobs WHERE finished_at IS NOT NULL
		ORDER BY finished_at, id LIMIT ?`), limit)
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

// pruneLoop runs PruneRecords, then RepairRecords, every
// Config.PruneInterval until ctx ends.
func (q *Queue) pruneLoop(ctx context.Context, done chan<- struct{}) {
	every(ctx, done, q.cfg.PruneInterval, func() {
		res, err := q.PruneRecords(ctx, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			q.log.Warn("pruning job records failed", "error", err)
		case res.ByAge+res.BySize+res.Keys+res.Deliveries > 0:
			q.log.Info("job records pruned", "by_age", res.ByAge, "by_size", res.BySize,
				"idempotency_keys", res.Keys, "deliveries", res.Deliveries, "bytes_left", res.Bytes)
		}
		if _, err := q.RepairRecords(ctx, time.Now()); err != nil && ctx.Err() == nil {
			q.log.Warn("repairing job records failed", "error", err)
		}
	})
}

// every calls f every d until ctx ends, then closes done.
func every(ctx context.Context, done chan<- struct{}, d time.Duration, f func()) {
	defer close(done)
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}
