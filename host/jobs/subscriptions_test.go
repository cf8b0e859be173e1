package jobs_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/jobs"
)

// recorder is a subscriber on 127.0.0.1 that records every request it
// gets and answers with the status answer picks (204 by default).
type recorder struct {
	*httptest.Server
	mu     sync.Mutex
	got    []recorded
	answer func(n int) int // n counts requests from 1
}

// recorded is one request a recorder got.
type recorded struct {
	header http.Header
	body   []byte
}

func newRecorder(t *testing.T, answer func(n int) int) *recorder {
	t.Helper()
	r := &recorder{answer: answer}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, recorded{header: req.Header.Clone(), body: body})
		n := len(r.got)
		r.mu.Unlock()
		status := http.StatusNoContent
		if r.answer != nil {
			status = r.answer(n)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

// requests returns what the recorder got so far.
func (r *recorder) requests() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.got...)
}

// waitRequests polls until the recorder got n requests (a bounded number
// of times) and returns them.
func (r *recorder) waitRequests(t *testing.T, n int) []recorded {
	t.Helper()
	for range 3000 {
		if got := r.requests(); len(got) >= n {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
	require.FailNow(t, "the subscriber did not get its requests", "want %d, got %d", n, len(r.requests()))
	return nil
}

// verify checks a request's Standard Webhooks signature with secret,
// computed here from the specification (not with jobs.Sign): the HMAC-SHA256
// of "<webhook-id>.<webhook-timestamp>.<body>" keyed with the base64 of the
// secret after "whsec_".
func verify(t *testing.T, secret string, r recorded) {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	require.NoError(t, err)
	id, ts := r.header.Get("webhook-id"), r.header.Get("webhook-timestamp")
	require.NotEmpty(t, id)
	require.NotEmpty(t, ts)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(r.body)
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	require.Contains(t, strings.Fields(r.header.Get("webhook-signature")), want, "the signature does not verify")
}

// waitDelivery polls a subscription's delivery log until its newest entry
// is in state (a bounded number of times) and returns the log.
func waitDelivery(t *testing.T, q *jobs.Queue, subID, state string) []*jobs.Delivery {
	t.Helper()
	var log []*jobs.Delivery
	for range 3000 {
		var err error
		log, err = q.Deliveries(context.Background(), subID, 0)
		require.NoError(t, err)
		if len(log) > 0 && log[0].State == state {
			return log
		}
		time.Sleep(5 * time.Millisecond)
	}
	require.FailNow(t, "the delivery did not reach its state", "want %s, log %+v", state, log)
	return nil
}

func TestSubscribe_Refuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		sub   jobs.Subscription
		field string
		msg   string
	}{
		{"NoURL", jobs.Subscription{Events: []string{jobs.EventJobCompleted}}, "url", "url is required"},
		{"RelativeURL", jobs.Subscription{URL: "/hooks", Events: []string{jobs.EventJobCompleted}}, "url", "absolute http:// or https:// URL"},
		{"OtherScheme", jobs.Subscription{URL: "ftp://example.com/x", Events: []string{jobs.EventJobCompleted}}, "url", "absolute http:// or https:// URL"},
		{"LoopbackWithoutAllowPrivate", jobs.Subscription{URL: "http://127.0.0.1:9/x", Events: []string{jobs.EventJobCompleted}}, "url",
			"deliveries to this url would be refused: 127.0.0.1 is a loopback address (allow private addresses with --allow-private-requests)"},
		{"MetadataAddress", jobs.Subscription{URL: "http://169.254.169.254/x", Events: []string{jobs.EventJobCompleted}}, "url", "cloud metadata"},
		{"NoEvents", jobs.Subscription{URL: "https://example.com/x"}, "events", "events is required"},
		{"UnknownEvent", jobs.Subscription{URL: "https://example.com/x", Events: []string{"job.done"}}, "events", `unknown event "job.done"`},
	}
	q, _ := setup(t, testDBs()[0], nil, func(c *jobs.Config) { c.AllowPrivateRequests = false })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := tt.sub
			err := q.Subscribe(context.Background(), &s)
			var fe *jobs.FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, tt.field, fe.Field)
			require.Contains(t, fe.Message, tt.msg)
		})
	}
}

// TestSubscription_DeliversSignedEvents subscribes receivers to job and
// rejection events, and checks what they get: the event of each job that
// ends and of each matching published event, once, signed with the
// subscription's secret; and nothing once unsubscribed.
func TestSubscription_DeliversSignedEvents(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, kind testDB) {
		q, bundle := setup(t, kind, nil, nil)
		ctx := bundle.ctx
		all, mine, other := newRecorder(t, nil), newRecorder(t, nil), newRecorder(t, nil)
		subAll := &jobs.Subscription{URL: all.URL + "/all", Events: []string{jobs.EventJobCompleted, jobs.EventWebhookRequestRejected}}
		subMine := &jobs.Subscription{URL: mine.URL + "/mine", Events: []string{jobs.EventWebhookRequestRejected, jobs.EventJobCompleted,
			jobs.EventJobCompleted}, WebhookID: "w"}
		subOther := &jobs.Subscription{URL: other.URL + "/other", Events: jobs.EventTypes(), WebhookID: "not-w"}
		for _, s := range []*jobs.Subscription{subAll, subMine, subOther} {
			require.NoError(t, q.Subscribe(ctx, s))
			require.NotEmpty(t, s.ID)
			require.True(t, strings.HasPrefix(s.Secret, "whsec_"))
		}
		require.Equal(t, []string{jobs.EventJobCompleted, jobs.EventWebhookRequestRejected}, subMine.Events, "sorted, without repeats")
		list, err := q.Subscriptions(ctx)
		require.NoError(t, err)
		require.Len(t, list, 3)

		// A job of webhook w ends: both subscriptions to w's completions get it.
		res, err := q.Enqueue(ctx, request())
		require.NoError(t, err)
		waitFinal(t, q, res.JobID)
		for _, tc := range []struct {
			r   *recorder
			sub *jobs.Subscription
		}{{all, subAll}, {mine, subMine}} {
			got := tc.r.waitRequests(t, 1)
			require.Len(t, got, 1)
			verify(t, tc.sub.Secret, got[0])
			var ev struct {
				Type string
				Data struct {
					JobID     string `json:"job_id"`
					WebhookID string `json:"webhook_id"`
					State     string
					Output    map[string]any
				}
			}
			require.NoError(t, json.Unmarshal(got[0].body, &ev))
			require.Equal(t, jobs.EventJobCompleted, ev.Type)
			require.Equal(t, res.JobID, ev.Data.JobID)
			require.Equal(t, "w", ev.Data.WebhookID)
			require.Equal(t, "Completed", ev.Data.State)
			require.Equal(t, map[string]any{"body": "ok"}, ev.Data.Output)
			log := waitDelivery(t, q, tc.sub.ID, jobs.DeliveryDelivered)
			require.Len(t, log, 1)
			require.Equal(t, got[0].header.Get("webhook-id"), log[0].ID)
			require.Equal(t, jobs.EventJobCompleted, log[0].Type)
			require.Equal(t, http.StatusNoContent, log[0].Status)
			require.Equal(t, 1, log[0].Attempts)
		}

		// A rejected request of webhook w: published, delivered the same way.
		require.NoError(t, q.Publish(jobs.Publication{Type: jobs.EventWebhookRequestRejected, WebhookID: "w",
			Data: jobs.RejectedRequest{WebhookID: "w", Status: 401, Cause: "verify", Method: "POST"}}))
		got := mine.waitRequests(t, 2)
		verify(t, subMine.Secret, got[1])
		var rejected jobs.Envelope
		require.NoError(t, json.Unmarshal(got[1].body, &rejected))
		require.Equal(t, jobs.EventWebhookRequestRejected, rejected.Type)
		require.Equal(t, map[string]any{"webhook_id": "w", "status": float64(401), "cause": "verify", "method": "POST"}, rejected.Data)
		all.waitRequests(t, 2)
		// An event nobody asked for is not queued at all.
		require.NoError(t, q.Publish(jobs.Publication{Type: jobs.EventJobFailed, WebhookID: "w"}))

		// Unsubscribed: the next job's end reaches the others only.
		require.NoError(t, q.Unsubscribe(ctx, subMine.ID))
		require.ErrorIs(t, q.Unsubscribe(ctx, subMine.ID), jobs.ErrSubscriptionNotFound)
		_, err = q.Subscription(ctx, subMine.ID)
		require.ErrorIs(t, err, jobs.ErrSubscriptionNotFound)
		res, err = q.Enqueue(ctx, request())
		require.NoError(t, err)
		waitFinal(t, q, res.JobID)
		all.waitRequests(t, 3)
		// The end of the job queued every delivery in one transaction, so
		// now that one arrived, none was queued for the unsubscribed one.
		log, err := q.Deliveries(ctx, subMine.ID, 0)
		require.NoError(t, err)
		require.Empty(t, log)
		require.Len(t, mine.requests(), 2)
		require.Empty(t, other.requests(), "the subscription of another webhook got nothing")
	})
}

// TestSubscription_FailureAndRetry checks how a delivery ends when the
// receiver fails: retried with the same message id until it answers 2xx,
// stopped by 410 and by a redirect, failed after its last attempt, and
// refused by the outbound guard.
func TestSubscription_FailureAndRetry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		answer       func(n int) int
		allowPrivate bool
		host         string // the URL's host instead of 127.0.0.1
		state        string
		attempts     int
		status       int
		errText      string
		requests     int
	}{
		{name: "RetriedUntilDelivered", answer: func(n int) int {
			if n < 3 {
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		},
			allowPrivate: true, state: jobs.DeliveryDelivered, attempts: 3, status: 200, requests: 3},
		{name: "GoneStops", answer: func(int) int { return http.StatusGone }, allowPrivate: true,
			state: jobs.DeliveryStopped, attempts: 1, status: 410, errText: "the receiver answered 410 Gone", requests: 1},
		{name: "RedirectStops", answer: func(int) int { return http.StatusFound }, allowPrivate: true,
			state: jobs.DeliveryStopped, attempts: 1, status: 302, errText: "the receiver answered 302 Found and redirects are not followed", requests: 1},
		{name: "FailsAfterLastAttempt", answer: func(int) int { return http.StatusInternalServerError }, allowPrivate: true,
			state: jobs.DeliveryFailed, attempts: 8, status: 500, errText: "the receiver answered 500 Internal Server Error", requests: 8},
		{name: "RefusedByTheGuard", host: "localhost", state: jobs.DeliveryRefused, attempts: 1,
			errText: "is a loopback address (allow private addresses with --allow-private-requests)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q, bundle := setup(t, testDBs()[0], nil, func(c *jobs.Config) {
				c.AllowPrivateRequests = tt.allowPrivate
				c.RetryBackoff = time.Millisecond
				// A retry's time comes in milliseconds; River's poll finds
				// it (SQLite: every second by default, the wait of each of
				// the 8 attempts).
				c.FetchPollInterval = 20 * time.Millisecond
			})
			r := newRecorder(t, tt.answer)
			u := r.URL
			if tt.host != "" {
				u = strings.Replace(u, "127.0.0.1", tt.host, 1)
			}
			sub := &jobs.Subscription{URL: u + "/events", Events: []string{jobs.EventJobCompleted}}
			require.NoError(t, q.Subscribe(bundle.ctx, sub))
			res, err := q.Enqueue(bundle.ctx, request())
			require.NoError(t, err)
			waitFinal(t, q, res.JobID)

			log := waitDelivery(t, q, sub.ID, tt.state)
			require.Len(t, log, 1)
			require.Equal(t, tt.attempts, log[0].Attempts)
			require.Equal(t, tt.status, log[0].Status)
			require.Contains(t, log[0].Error, tt.errText)
			if tt.errText == "" {
				require.Empty(t, log[0].Error)
			}
			got := r.requests()
			require.Len(t, got, tt.requests)
			for _, g := range got {
				require.Equal(t, log[0].ID, g.header.Get("webhook-id"), "the same message id on every attempt")
				verify(t, sub.Secret, g)
			}
		})
	}
}

func TestPublish_ClosedQueue(t *testing.T) {
	t.Parallel()
	q, bundle := setup(t, testDBs()[0], nil, nil)
	r := newRecorder(t, nil)
	sub := &jobs.Subscription{URL: r.URL, Events: []string{jobs.EventWebhookRequestRejected}}
	require.NoError(t, q.Subscribe(bundle.ctx, sub))
	require.NoError(t, q.Close())
	err := q.Publish(jobs.Publication{Type: jobs.EventWebhookRequestRejected, WebhookID: "w"})
	require.Error(t, err, "a closed queue takes no events")
	require.False(t, errors.Is(err, jobs.ErrPublishBacklog))
}

func TestPublish_RateLimited(t *testing.T) {
	t.Parallel()
	q, bundle := setup(t, testDBs()[0], nil, func(c *jobs.Config) { c.PublishRate, c.PublishBurst = 0.001, 2 })
	r := newRecorder(t, nil)
	require.NoError(t, q.Subscribe(bundle.ctx, &jobs.Subscription{URL: r.URL, Events: []string{jobs.EventWebhookRequestRejected}}))
	ev := jobs.Publication{Type: jobs.EventWebhookRequestRejected, WebhookID: "w"}
	require.NoError(t, q.Publish(ev))
	require.NoError(t, q.Publish(ev))
	require.ErrorIs(t, q.Publish(ev), jobs.ErrPublishRate)
	require.Equal(t, int64(1), q.PublishDropped())
	require.Len(t, r.waitRequests(t, 2), 2)
	// Events nobody wants cost nothing, not even the rate.
	require.NoError(t, q.Publish(jobs.Publication{Type: jobs.EventJobFailed}))
	require.Equal(t, int64(1), q.PublishDropped())
}

// TestSubscription_HungReceiverDoesNotStarveOthers (review "ssrf"): a
// subscriber that takes connections and never answers must not hold the
// callback workers every other receiver needs. Until one of its requests
// gets no answer it looks healthy, and its deliveries may take all 4
// workers (for a timeout wave, Config.CallbackTimeout, in production);
// from its first failure on it is suspect, its deliveries go one at a
// time (a quarter of 4 workers) and the rest are snoozed, so a healthy
// subscriber's deliveries of the same events, and a job's completion
// callback, all arrive while the hung receiver holds its one capped
// request. The test ends the first wave itself, by dropping its
// connections once it holds every worker (a dropped connection is no
// answer, as a timeout is), and the held request's timeout is the longest
// allowed (15 s): the healthy receivers' 13 requests must arrive within it
// (they take a fraction of a second), no longer within one 10 s wave
// shared with the first one. Without the cap per
// destination the second wave took every worker again and held it until
// the timeout (earlier, with 10 s waves: 3 of 12 deliveries had arrived
// after 5 s).
func TestSubscription_HungReceiverDoesNotStarveOthers(t *testing.T) {
	const workers = 4
	t.Parallel()
	forEachDB(t, func(t *testing.T, kind testDB) {
		q, bundle := setup(t, kind, nil, func(c *jobs.Config) {
			c.RetryBackoff = time.Millisecond
			c.CallbackWorkers = workers
			// The longest allowed, far longer than the healthy
			// receivers' 13 requests take: a held request does not time
			// out while the test waits for them.
			c.CallbackTimeout = 15 * time.Second
		})
		var held atomic.Int32
		dropFirstWave, release := make(chan struct{}), make(chan struct{})
		hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := held.Add(1)
			_, _ = io.Copy(io.Discard, r.Body)
			if n <= workers {
				select {
				case <-dropFirstWave:
				case <-release:
					return
				}
				// No answer: the connection is dropped.
				if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
					_ = c.Close()
				}
				return
			}
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(hung.Close)
		t.Cleanup(func() { close(release) })
		healthy, callback := newRecorder(t, nil), newRecorder(t, nil)
		ev := []string{jobs.EventWebhookRequestRejected}
		require.NoError(t, q.Subscribe(bundle.ctx, &jobs.Subscription{URL: hung.URL + "/hung", Events: ev}))
		require.NoError(t, q.Subscribe(bundle.ctx, &jobs.Subscription{URL: healthy.URL + "/ok", Events: ev}))
		const events = 12
		for range events {
			require.NoError(t, q.Publish(jobs.Publication{Type: jobs.EventWebhookRequestRejected, WebhookID: "w"}))
		}
		req := request()
		req.Options.CallbackURL = callback.URL + "/done"
		_, err := q.Enqueue(bundle.ctx, req)
		require.NoError(t, err)

		// The first wave: the hung receiver looks healthy, so its
		// deliveries end up holding every worker.
		for end := time.Now().Add(time.Minute); held.Load() < workers; {
			require.True(t, time.Now().Before(end), "the hung receiver never held every worker: %d", held.Load())
			time.Sleep(5 * time.Millisecond)
		}
		close(dropFirstWave)
		// Then it is suspect: at most one of its requests at a time, held
		// for good, while the others' requests all arrive (a minute
		// bounds the loop should they not).
		for end := time.Now().Add(time.Minute); len(healthy.requests()) < events || len(callback.requests()) < 1; {
			require.True(t, time.Now().Before(end), "the healthy receivers did not get their requests while the hung one "+
				"held %d: %d of %d deliveries, %d of 1 callbacks", held.Load(), len(healthy.requests()), events, len(callback.requests()))
			time.Sleep(5 * time.Millisecond)
		}
		require.LessOrEqual(t, held.Load(), int32(workers+1),
			"the hung receiver got the first wave and then one request, the cap of 4 workers")
	})
}

// TestSubscription_BurstToOneHealthyReceiverIsNotCapped (review "revcb"):
// a receiver that answers is never capped, however many deliveries are
// queued to it: a burst of 100 to one receiver may use every callback
// worker, and no attempt is snoozed (with the cap, the snoozed attempts waited
// for River's next poll, and the burst took 30 times as long on SQLite).
func TestSubscription_BurstToOneHealthyReceiverIsNotCapped(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, kind testDB) {
		q, bundle := setup(t, kind, nil, func(c *jobs.Config) {
			c.CallbackWorkers = jobs.DefaultSettings().CallbackWorkers
			c.PublishRate, c.PublishBurst = 1e6, 1e6
		})
		var got atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(10 * time.Millisecond)
			got.Add(1)
			w.WriteHeader(http.StatusNoContent)
		}))
		t.Cleanup(srv.Close)
		require.NoError(t, q.Subscribe(bundle.ctx, &jobs.Subscription{URL: srv.URL + "/x", Events: []string{jobs.EventWebhookRequestRejected}}))
		const events = 100
		for range events {
			require.NoError(t, q.Publish(jobs.Publication{Type: jobs.EventWebhookRequestRejected, WebhookID: "w"}))
		}
		for end := time.Now().Add(time.Minute); got.Load() < events; {
			require.True(t, time.Now().Before(end), "%d of %d deliveries arrived", got.Load(), events)
			time.Sleep(10 * time.Millisecond)
		}
		query := `SELECT metadata FROM river_job`
		if kind.name == "SQLite" {
			query = `SELECT json(metadata) FROM river_job`
		}
		rows, err := bundle.db.Query(query)
		require.NoError(t, err)
		defer rows.Close()
		jobsSeen := 0
		for rows.Next() {
			var raw []byte
			require.NoError(t, rows.Scan(&raw))
			var m struct {
				Snoozes int `json:"snoozes"`
			}
			require.NoError(t, json.Unmarshal(raw, &m))
			require.Zero(t, m.Snoozes, "a delivery to a receiver that answers was snoozed")
			jobsSeen++
		}
		require.NoError(t, rows.Err())
		require.GreaterOrEqual(t, jobsSeen, events)
	})
}
