package jobs

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river/riverdriver"
)

// River's fetch on PostgreSQL walks its fetch index (state, queue,
// priority, scheduled_at, id) from the start of the queue's available
// jobs. Each job it takes leaves a dead entry there (the job's state
// changed) until a vacuum, and those entries sit exactly where every
// fetch starts: after 10,000 jobs a fetch of about 5 jobs read 140–190
// index pages (bench/README.md, eighth session), and with autovacuum off
// they pile up without end. So most fetches start further on: at the
// furthest job (priority, scheduled_at) the queue's last fetches took,
// less fetchLag (a bounded fetch, pgFetchBoundSQL), which the index finds
// directly. A job behind that mark (one whose inserting transaction
// committed more than fetchLag after its scheduled_at, a retry or a
// snoozed job whose time came, a job of a more urgent priority) is not
// skipped for long: a fetch with River's own query, from the start, runs
// at least every fetchFullEvery per queue.

const (
	// fetchLag is how far behind the furthest job fetched a bounded fetch
	// starts: jobs inserted in a transaction that took less than this
	// are never behind the mark. At 1,000 jobs a second it costs a walk
	// over about 1,000 dead entries (7 index pages).
	fetchLag = time.Second
	// fetchFullEvery is how often, per queue, River's fetch runs from the
	// start of the index: the first fetch this long after the last full
	// one is full, so a job behind the mark waits beyond its time at most
	// this plus the producer's poll interval (--job-poll-interval, 500 ms
	// by default), when no insert or notification brings a fetch sooner.
	// At the bench's rate (about 200 fetches a second) one fetch in 200
	// walks the dead entries.
	fetchFullEvery = time.Second
)

// fetchMarks are the marks bounded fetches start from, per queue.
type fetchMarks struct {
	mu  sync.Mutex
	m   map[string]fetchMark
	now func() time.Time // time.Now; tests set their own (under mu)
}

// fetchMark is where a queue's bounded fetches start, and when its last
// full fetch ran.
type fetchMark struct {
	priority    int
	scheduledAt time.Time
	full        time.Time // zero: none yet
}

func newFetchMarks() *fetchMarks { return &fetchMarks{m: map[string]fetchMark{}, now: time.Now} }

// clock is the time a fetch starts at, by f's clock (time.Now when f is
// nil).
func (f *fetchMarks) clock() time.Time {
	if f == nil {
		return time.Now()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now()
}

// bound returns where a fetch of params at now starts: ok is false when
// it must be a full fetch (River's query unchanged), the queue's first or
// its first after fetchFullEvery, or a fetch River filters by kind.
func (f *fetchMarks) bound(params *riverdriver.JobGetAvailableParams, now time.Time) (_ fetchMark, ok bool) {
	if f == nil || params.Kind != nil {
		return fetchMark{}, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, found := f.m[params.Queue]
	if !found || m.full.IsZero() || now.Sub(m.full) >= fetchFullEvery || now.Before(m.full) {
		return fetchMark{}, false
	}
	return m, true
}

// fetched moves the queue's mark after a fetch that committed at now
// (full: River's own query) and took res's jobs: to the furthest of them,
// less fetchLag, never backwards except on a full fetch, which sets it
// anew (its jobs are the first of the queue).
func (f *fetchMarks) fetched(params *riverdriver.JobGetAvailableParams, full bool, now time.Time, res *riverdriver.JobGetAvailableResult) {
	if f == nil || params.Kind != nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, found := f.m[params.Queue]
	if full {
		m.full = now
	}
	moved := false
	for _, j := range res.Jobs {
		at := j.ScheduledAt.Add(-fetchLag)
		if !moved && (full || !found) || j.Priority > m.priority || j.Priority == m.priority && at.After(m.scheduledAt) {
			m.priority, m.scheduledAt, moved = j.Priority, at, true
		}
	}
	f.m[params.Queue] = m
}

// riverFetchWhere is the last condition of River's fetch (riverpgxv5's
// JobGetAvailable), after which pgFetchBoundSQL adds the bound. Its
// parameter $1 is River's "now".
const riverFetchWhere = "AND scheduled_at <= coalesce($1::timestamptz, now())"

// pgFetchBoundSQL is River's fetch (fetchSQL) starting at the mark: its
// priority at $from, its scheduled_at at $from+1. ok is false when
// fetchSQL is not the query this was written against (a River upgrade):
// the caller then runs River's own.
func pgFetchBoundSQL(fetchSQL string, from int) (_ string, ok bool) {
	if strings.Count(fetchSQL, riverFetchWhere) != 1 {
		return fetchSQL, false
	}
	return strings.Replace(fetchSQL, riverFetchWhere, riverFetchWhere+`
        AND (priority, scheduled_at) >= ($`+strconv.Itoa(from)+`::smallint, $`+strconv.Itoa(from+1)+`::timestamptz)`, 1), true
}
