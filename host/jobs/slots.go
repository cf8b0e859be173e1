package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"
)

// Concurrency limits.
//
// River has no per-key concurrency limit, so a handler's `concurrency: N`
// is kept with leases in hookhost_job_slots: a job may run only while it
// holds one of the N rows (slot_key, 0..N-1) of its handler. The primary
// key makes taking a slot race-safe across processes; a slot whose River
// job is no longer running (it finished, or its process died and River's
// rescuer took it back) is free again. A job that finds no free slot is
// snoozed (river.JobSnooze, which costs no attempt) with a growing delay.

const (
	freeDeadSlotsSQL = `DELETE FROM hookhost_job_slots WHERE slot_key = ? AND NOT EXISTS
		(SELECT 1 FROM river_job j WHERE j.id = hookhost_job_slots.river_id AND j.state = 'running')`
	heldSlotsSQL  = `SELECT slot FROM hookhost_job_slots WHERE slot_key = ? ORDER BY slot`
	takeSlotSQL   = `INSERT INTO hookhost_job_slots (slot_key, slot, river_id, acquired_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`
	dropSlotSQL   = `DELETE FROM hookhost_job_slots WHERE river_id = ?`
	maxSnoozeWait = time.Second
)

// acquireSlot takes a free slot of key for the River job riverID, if one of
// the limit slots is free.
func (q *Queue) acquireSlot(ctx context.Context, key string, limit int, riverID int64) (bool, error) {
	var ok bool
	err := q.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		ok = false
		if err := releaseSlot(ctx, tx, q.d, riverID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, q.d.q(freeDeadSlotsSQL), key); err != nil {
			return fmt.Errorf("free concurrency slots: %w", err)
		}
		rows, err := tx.QueryContext(ctx, q.d.q(heldSlotsSQL), key)
		if err != nil {
			return fmt.Errorf("read concurrency slots: %w", err)
		}
		free := -1
		next := 0
		for rows.Next() {
			var n int
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return err
			}
			if n == next {
				next++
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if next < limit {
			free = next
		}
		if free < 0 {
			return nil
		}
		res, err := tx.ExecContext(ctx, q.d.q(takeSlotSQL), key, free, riverID, micros(nowUTC()))
		if err != nil {
			return fmt.Errorf("take concurrency slot: %w", err)
		}
		n, err := res.RowsAffected()
		ok = n == 1
		return err
	})
	return ok, err
}

func releaseSlot(ctx context.Context, tx *sql.Tx, d sqlDialect, riverID int64) error {
	if _, err := tx.ExecContext(ctx, d.q(dropSlotSQL), riverID); err != nil {
		return fmt.Errorf("release concurrency slot: %w", err)
	}
	return nil
}

// snoozeDelay grows with the times a job was snoozed already (River counts
// them in its metadata): 20 ms doubling to a second, with jitter.
func snoozeDelay(metadata []byte) time.Duration {
	var m struct {
		Snoozes int `json:"snoozes"`
	}
	_ = json.Unmarshal(metadata, &m)
	d := 20 * time.Millisecond << min(m.Snoozes, 6)
	d = min(d, maxSnoozeWait)
	return d/2 + rand.N(d/2+1)
}

// backoff is the delay before retry number attempt (1-based): base
// doubling, capped at maxRetryDelay, with ±25% jitter.
func backoff(base time.Duration, attempt int) time.Duration {
	d := base << min(max(attempt-1, 0), 20)
	if d <= 0 || d > maxRetryDelay {
		d = maxRetryDelay
	}
	j := d / 4
	return d - j + rand.N(2*j+1)
}
