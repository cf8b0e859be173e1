package jobs

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"
)

// TestLocalListener: a wake is delivered at once as River's insert
// notification of the queue, only for a listened topic; rows River writes
// to river_notification are delivered too, but not those from before
// Connect.
func TestLocalListener(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "n.db"))
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(`CREATE TABLE river_notification (id integer PRIMARY KEY AUTOINCREMENT, payload text NOT NULL, topic text NOT NULL)`)
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO river_notification (payload, topic) VALUES ('old', 'river_control')`)
	require.NoError(t, err)

	hub := newWakeHub()
	l := wakeDriver{db: db, hub: hub}.GetListener(&riverdriver.GetListenenerParams{}).(*localListener)
	l.poll = time.Hour // only wakes and the first read deliver
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, l.Connect(ctx))
	require.NoError(t, l.Listen(ctx, insertTopic))
	require.NoError(t, l.Listen(ctx, "river_control"))

	hub.wake(queueRuns)
	hub.wake(queueRuns) // the same queue twice before a read: one notification
	n, err := l.WaitForNotification(ctx)
	require.NoError(t, err)
	require.Equal(t, insertTopic, n.Topic)
	require.Equal(t, `{"queue":"`+queueRuns+`"}`, n.Payload)

	_, err = db.Exec(`INSERT INTO river_notification (payload, topic) VALUES ('{"action":"cancel"}', 'river_control'), ('x', 'river_leadership')`)
	require.NoError(t, err)
	require.NoError(t, l.read(ctx))
	n, err = l.WaitForNotification(ctx)
	require.NoError(t, err)
	require.Equal(t, "river_control", n.Topic, "the row of before Connect and the unlistened topic are skipped")
	require.Equal(t, `{"action":"cancel"}`, n.Payload)

	require.NoError(t, l.Unlisten(ctx, insertTopic))
	hub.wake(queueCallbacks)
	short, stop := context.WithTimeout(ctx, 50*time.Millisecond)
	defer stop()
	l.poll = time.Hour
	_, err = l.WaitForNotification(short)
	require.ErrorIs(t, err, context.DeadlineExceeded, "no insert notification once unlistened")
	require.NoError(t, l.Close(ctx))
}
