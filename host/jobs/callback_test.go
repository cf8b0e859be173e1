package jobs_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/jobs"
	"github.com/hookhost/hookhost/host/store/sqlite"
)

// receiver is a callback receiver on a loopback address that counts what
// it is sent.
type receiver struct {
	*httptest.Server
	posts atomic.Int32
}

func newReceiver(t *testing.T, ip string, h http.HandlerFunc) *receiver {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	require.NoError(t, err)
	r := &receiver{}
	r.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		r.posts.Add(1)
		h(w, req)
	}))
	r.Listener.Close()
	r.Listener = ln
	r.Start()
	t.Cleanup(r.Close)
	return r
}

// callbackQueue starts a queue on a fresh SQLite database.
func callbackQueue(t *testing.T, allowPrivate bool) *jobs.Queue {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "jobs.db"))
	require.NoError(t, err)
	set := jobs.DefaultSettings()
	set.Workers, set.RetryBackoff, set.ShutdownGrace = 2, time.Millisecond, time.Second
	q, err := jobs.New(ctx, jobs.Config{DB: st.DB(), Dialect: st.Dialect(), Runner: instantRunner{}, Settings: set,
		AllowPrivateRequests: allowPrivate, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	require.NoError(t, q.Start(ctx))
	t.Cleanup(func() {
		_ = q.Close()
		_ = st.Close()
	})
	return q
}

// callbackNotes waits for the job's callback log entries.
func callbackNotes(t *testing.T, q *jobs.Queue, id string) []jobs.LogEntry {
	t.Helper()
	var notes []jobs.LogEntry
	require.Eventually(t, func() bool {
		j, err := q.Get(context.Background(), id)
		require.NoError(t, err)
		notes = notes[:0]
		for _, e := range j.Log {
			if e.Node == "callback" {
				notes = append(notes, e)
			}
		}
		return len(notes) > 0
	}, time.Minute, 10*time.Millisecond, "the job's log never recorded its callback")
	return notes
}

func ok(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }

// TestCallback_Guard proves that completion callbacks go through the SSRF
// guard: with the guard on, a loopback receiver gets nothing and the job
// shows why; with AllowPrivateRequests, it is delivered; redirects are
// never followed.
func TestCallback_Guard(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		allowPrivate bool
		redirect     bool // the receiver on 127.0.0.1 redirects to one on 127.0.0.2
		level        int
		message      string
		posts        int32 // what the receiver on 127.0.0.1 got
	}{
		{name: "RefusedByDefault", level: 3, message: "callback refused: 127.0.0.1 is a loopback address (allow private addresses with --allow-private-requests)"},
		{name: "DeliveredWithAllowPrivate", allowPrivate: true, level: 6, message: "callback delivered: 204 No Content (attempt 1)", posts: 1},
		{name: "RedirectNotFollowed", allowPrivate: true, redirect: true, level: 4,
			message: "callback stopped: the receiver answered 307 Temporary Redirect and redirects are not followed", posts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			internal := newReceiver(t, "127.0.0.2", ok)
			h := ok
			if tt.redirect {
				h = func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, internal.URL+"/done", http.StatusTemporaryRedirect)
				}
			}
			recv := newReceiver(t, "127.0.0.1", h)
			q := callbackQueue(t, tt.allowPrivate)
			req := benchRequest()
			req.Options.CallbackURL = recv.URL + "/done?token=secret"
			res, err := q.Enqueue(context.Background(), req)
			require.NoError(t, err)

			notes := callbackNotes(t, q, res.JobID)
			require.Equal(t, []jobs.LogEntry{{Level: tt.level, Node: "callback", Message: tt.message}}, notes)
			require.NotContains(t, tt.message, "secret")
			j, err := q.Get(context.Background(), res.JobID)
			require.NoError(t, err)
			require.Equal(t, jobs.StateCompleted, j.State, "the callback does not change the job's state")
			streams := jobs.SplitStreams(j.Log)
			stream := map[int][]jobs.LogEntry{3: streams.Error, 4: streams.Warning, 6: streams.Verbose}[tt.level]
			require.Contains(t, stream, notes[0], "GET /api/v1/jobs/{id} shows it in its streams")
			require.Equal(t, tt.posts, recv.posts.Load())
			require.Zero(t, internal.posts.Load(), "nothing reached the redirect's target")
		})
	}
}
