package jobs

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"

	"github.com/riverqueue/river/riverdriver"
)

// SQLite has no LISTEN/NOTIFY. River's SQLite driver emulates it with a
// table (river_notification) that its listener reads every 50 ms, and its
// producers look for jobs every FetchPollInterval; both cost CPU when
// nothing happens (about an eighth of a core with a 10 ms poll). Yet on
// SQLite one server owns the file, so this process knows when a job
// becomes available: it inserted it. So the queue wakes River's producer
// itself, after each commit that inserted jobs (Queue.wake), through
// localListener, and both polls slow down to the rare events only River
// knows of (a retry's time coming, a cancellation): sqliteIdlePoll.

// sqliteIdlePoll is how often, on SQLite, River looks for jobs, and the
// listener for River's own notifications, when this process has woken
// neither.
const sqliteIdlePoll = time.Second

// insertTopic is River's notification topic of job inserts, and
// insertPayload its payload for a queue (river's producer.go insertPayload).
const insertTopic = "river_insert"

func insertPayload(queue string) string { return `{"queue":"` + queue + `"}` }

// wakeHub hands the queues that got jobs to the listener.
type wakeHub struct {
	mu     sync.Mutex
	queues []string
	ch     chan struct{} // cap 1: queues is not empty
}

func newWakeHub() *wakeHub { return &wakeHub{ch: make(chan struct{}, 1)} }

// wake tells the listener that queue has new jobs, committed.
func (h *wakeHub) wake(queue string) {
	h.mu.Lock()
	for _, q := range h.queues {
		if q == queue {
			h.mu.Unlock()
			return
		}
	}
	h.queues = append(h.queues, queue)
	h.mu.Unlock()
	select {
	case h.ch <- struct{}{}:
	default:
	}
}

// take returns and forgets the queues woken.
func (h *wakeHub) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	q := h.queues
	h.queues = nil
	return q
}

// wakeDriver is River's SQLite driver with localListener as its listener.
type wakeDriver struct {
	riverdriver.Driver[*sql.Tx]
	db  *sql.DB
	hub *wakeHub
	// started, health and fetched go to its executors (sqliteExec).
	started *startedJobs
	health  *writeHealth
	fetched *fetchedInputs
}

// GetListener implements riverdriver.Driver.
func (d wakeDriver) GetListener(p *riverdriver.GetListenenerParams) riverdriver.Listener {
	return &localListener{db: d.db, hub: d.hub, poll: sqliteIdlePoll, schema: p.Schema}
}

// localListener is River's listener on SQLite: the notifications River
// writes to river_notification (read every poll, as River's own listener
// does every 50 ms), and, at once, an insert notification for every queue
// woken through the hub.
type localListener struct {
	db     *sql.DB
	hub    *wakeHub
	poll   time.Duration
	schema string

	mu        sync.Mutex
	connected bool
	lastID    int64
	topics    map[string]int64 // topic → last id when listened
	pending   []riverdriver.Notification
}

var _ riverdriver.Listener = (*localListener)(nil)

// Close implements riverdriver.Listener.
func (l *localListener) Close(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.connected, l.pending, l.topics = false, nil, nil
	return nil
}

// Connect implements riverdriver.Listener: notifications written before
// it are not delivered.
func (l *localListener) Connect(ctx context.Context) error {
	var last int64
	if err := l.db.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM river_notification`).Scan(&last); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.connected {
		return errors.New("listener already connected")
	}
	l.connected, l.lastID, l.topics = true, last, map[string]int64{}
	return nil
}

// Listen implements riverdriver.Listener.
func (l *localListener) Listen(_ context.Context, topic string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.connected {
		return errors.New("listener is not connected")
	}
	l.topics[topic] = l.lastID
	return nil
}

// Unlisten implements riverdriver.Listener.
func (l *localListener) Unlisten(_ context.Context, topic string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.connected {
		return errors.New("listener is not connected")
	}
	delete(l.topics, topic)
	return nil
}

// Ping implements riverdriver.Listener.
func (l *localListener) Ping(ctx context.Context) error { return l.db.PingContext(ctx) }

// Schema implements riverdriver.Listener.
func (l *localListener) Schema() string { return l.schema }

// SetAfterConnectExec implements riverdriver.Listener (River's tests only).
func (l *localListener) SetAfterConnectExec(string) {}

// WaitForNotification implements riverdriver.Listener: the next
// notification, read from the hub or the table, or ctx's end.
func (l *localListener) WaitForNotification(ctx context.Context) (*riverdriver.Notification, error) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		if n, err := l.next(); n != nil || err != nil {
			return n, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-l.hub.ch:
			l.woken(l.hub.take())
		case <-timer.C:
			if err := l.read(ctx); err != nil {
				return nil, err
			}
			timer.Reset(l.poll)
		}
	}
}

// next pops a pending notification.
func (l *localListener) next() (*riverdriver.Notification, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.connected {
		return nil, errors.New("listener is not connected")
	}
	if len(l.pending) == 0 {
		return nil, nil
	}
	n := l.pending[0]
	l.pending = l.pending[1:]
	return &n, nil
}

// woken queues an insert notification for each queue woken.
func (l *localListener) woken(queues []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.topics[insertTopic]; !ok {
		return
	}
	for _, q := range queues {
		l.pending = append(l.pending, riverdriver.Notification{Topic: insertTopic, Payload: insertPayload(q)})
	}
}

// read queues the notifications written to the table since the last read,
// for the topics listened to when they were written.
func (l *localListener) read(ctx context.Context) error {
	l.mu.Lock()
	after := l.lastID
	l.mu.Unlock()
	rows, err := l.db.QueryContext(ctx, `SELECT id, payload, topic FROM river_notification WHERE id > ? ORDER BY id LIMIT 256`, after)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	defer rows.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	for rows.Next() {
		var id int64
		var n riverdriver.Notification
		if err := rows.Scan(&id, &n.Payload, &n.Topic); err != nil {
			return err
		}
		l.lastID = max(l.lastID, id)
		if start, ok := l.topics[n.Topic]; ok && id > start {
			l.pending = append(l.pending, n)
		}
	}
	return rows.Err()
}
