package jobs

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/hookhost/hookhost/automations/ssrf"
)

// Completion callbacks.
//
// When a job with a callback_url ends, the transaction that records its
// end also queues a callback job (its own River kind and queue), which
// POSTs a JSON notice signed the Standard Webhooks way:
//
//	webhook-id: job_<job id>            (the same on every retry)
//	webhook-timestamp: <unix seconds>
//	webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">
//
// keyed with the webhook's signing secret (see SigningSecret). A 2xx
// answer delivers it; 410 Gone stops it; anything else is retried with
// backoff up to 8 attempts.
//
// Callback URLs come from event KATA, so deliveries go through the SSRF
// guard of http.request (automations/ssrf): loopback, private, link-local
// and shared addresses are refused unless Config.AllowPrivateRequests
// (the server's --allow-private-requests), and cloud metadata,
// unspecified, multicast and reserved addresses always are, checked on
// the address DNS answers. Redirects are not followed: a 3xx answer stops
// the delivery, since the signed notice must not go to a place the guard
// never saw. A refused delivery is not retried.
//
// How a delivery ended is appended to the job's log (node "callback"), so
// the job's streams show it: "callback delivered: …" (Verbose), "callback
// refused: …" (Error), "callback failed: …" or "callback stopped: …"
// (Warning).

// Notice is the body of a completion callback.
type Notice struct {
	Type      string     `json:"type"` // job.completed, job.failed, job.stopped
	Timestamp time.Time  `json:"timestamp"`
	Data      NoticeData `json:"data"`
}

// NoticeData describes the job that ended.
type NoticeData struct {
	JobID      string          `json:"job_id"`
	WebhookID  string          `json:"webhook_id"`
	Automation string          `json:"automation"`
	Revision   int64           `json:"revision"`
	State      State           `json:"state"`
	Attempts   int             `json:"attempts"`
	CreatedAt  time.Time       `json:"created_at"`
	StartedAt  *time.Time      `json:"started_at"`
	FinishedAt *time.Time      `json:"finished_at"`
	Status     int             `json:"status,omitempty"`
	Error      string          `json:"error,omitempty"`
	Output     json.RawMessage `json:"output"`
}

// queueCallback queues the callback of the job id in tx (its end was just
// written in tx).
func (q *Queue) queueCallback(ctx context.Context, tx *sql.Tx, id string) error {
	j, err := q.getRecord(ctx, tx, id)
	if err != nil {
		return err
	}
	n := Notice{Type: "job." + strings.ToLower(string(j.State)), Timestamp: nowUTC(), Data: NoticeData{
		JobID: j.ID, WebhookID: j.WebhookID, Automation: j.Automation, Revision: j.Revision, State: j.State,
		Attempts: j.Attempt, CreatedAt: j.CreatedAt, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt,
		Status: j.Status, Error: j.Error, Output: j.Output}}
	if n.Data.Output == nil {
		n.Data.Output = json.RawMessage("null")
	}
	body, err := json.Marshal(n)
	if err != nil {
		return err
	}
	_, err = q.client.InsertTx(ctx, tx, callbackArgs{JobID: j.ID, WebhookID: j.WebhookID, URL: j.CallbackURL, Payload: body},
		&river.InsertOpts{Queue: queueCallbacks, MaxAttempts: callbackMaxAttempts})
	if err != nil {
		return fmt.Errorf("queue callback: %w", err)
	}
	return nil
}

// Sign returns the Standard Webhooks signature ("v1,<base64>") of body
// sent with message id msgID at unix time ts, with a "whsec_" secret.
func Sign(secret, msgID string, ts int64, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return "", fmt.Errorf("jobs: signing secret: %w", err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msgID + "." + strconv.FormatInt(ts, 10) + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
}

// Levels of the callback's log entries (see LogEntry).
const (
	levelCallbackDelivered = 6 // Verbose
	levelCallbackFailed    = 4 // Warning
	levelCallbackRefused   = 3 // Error
)

// callbackTimeout bounds one delivery's HTTP request.
const callbackTimeout = 10 * time.Second

// newCallbackClient returns the guarded client of deliveries: it does not
// follow redirects.
func newCallbackClient(allowPrivate bool) *http.Client {
	c := ssrf.NewClient(ssrf.Options{AllowPrivate: allowPrivate, Timeout: callbackTimeout})
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// refusal says why the guard refused a delivery, without the URL (whose
// path or query may hold a token).
func refusal(be *ssrf.BlockedError) string {
	to := be.Host
	switch {
	case !be.Addr.IsValid():
	case be.Host != "":
		to = be.Host + " (" + be.Addr.String() + ")"
	default:
		to = be.Addr.String()
	}
	switch {
	case be.Kind == ssrf.KindMalformed:
		return "the host " + to + " is made of numbers but is not an IPv4 address"
	case be.Private():
		return to + " is a " + be.Kind + " address (allow private addresses with --allow-private-requests)"
	}
	return to + " is a " + be.Kind + " address"
}

// noteCallback appends e to the log of the job id (which has ended: only
// its callback writes to it now).
func (q *Queue) noteCallback(ctx context.Context, id string, e LogEntry) error {
	return q.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var logText string
		err := tx.QueryRowContext(ctx, q.d.q(`SELECT log FROM hookhost_jobs WHERE id = ?`), id).Scan(&logText)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // gone with its retention
		}
		if err != nil {
			return fmt.Errorf("read job log: %w", err)
		}
		var l []LogEntry
		if logText != "" {
			if err := json.Unmarshal([]byte(logText), &l); err != nil {
				return fmt.Errorf("read job log: %w", err)
			}
		}
		l = append(l, e)
		if _, err := tx.ExecContext(ctx, q.d.q(`UPDATE hookhost_jobs SET log = ? WHERE id = ?`), encodeLog(l), id); err != nil {
			return fmt.Errorf("write job log: %w", err)
		}
		return nil
	})
}

// callbackWorker sends completion callbacks.
type callbackWorker struct {
	river.WorkerDefaults[callbackArgs]
	q *Queue

	once sync.Once
	http *http.Client
}

// client returns the guarded client, made on first use.
func (w *callbackWorker) client() *http.Client {
	w.once.Do(func() { w.http = newCallbackClient(w.q.cfg.AllowPrivateRequests) })
	return w.http
}

// note appends a callback entry to the job's log; a failure to write it is
// logged, and does not change how the delivery ended.
func (w *callbackWorker) note(ctx context.Context, jobID string, level int, msg string) {
	if err := w.q.noteCallback(ctx, jobID, LogEntry{Level: level, Node: "callback", Message: msg}); err != nil {
		w.q.log.Warn("record callback outcome", "job", jobID, "error", err)
	}
	if w.q.cfg.Observe != nil {
		// "callback delivered: ...", "callback refused: ..." → delivered, refused.
		outcome, _, _ := strings.Cut(strings.TrimPrefix(msg, "callback "), " ")
		outcome = strings.TrimSuffix(outcome, ":")
		w.q.cfg.Observe(Event{Kind: EventCallback, JobID: jobID, At: time.Now(), Outcome: outcome})
	}
}

// Timeout bounds one delivery.
func (w *callbackWorker) Timeout(*river.Job[callbackArgs]) time.Duration { return 30 * time.Second }

// NextRetry backs off from 10 times the run retry backoff.
func (w *callbackWorker) NextRetry(job *river.Job[callbackArgs]) time.Time {
	return time.Now().Add(backoff(10*w.q.cfg.RetryBackoff, job.Attempt))
}

// Work delivers one callback.
func (w *callbackWorker) Work(ctx context.Context, job *river.Job[callbackArgs]) error {
	a := job.Args
	secret, err := w.q.SigningSecret(ctx, a.WebhookID, false)
	if err != nil {
		return err
	}
	msgID := "job_" + a.JobID
	ts := time.Now().Unix()
	sig, err := Sign(secret, msgID, ts, a.Payload)
	if err != nil {
		return river.JobCancel(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.URL, bytes.NewReader(a.Payload))
	if err != nil {
		return river.JobCancel(fmt.Errorf("callback URL: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "hookhost")
	req.Header.Set("webhook-id", msgID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := w.client().Do(req)
	last := job.Attempt >= job.MaxAttempts
	if err != nil {
		var be *ssrf.BlockedError
		if errors.As(err, &be) {
			msg := "callback refused: " + refusal(be)
			w.note(ctx, a.JobID, levelCallbackRefused, msg)
			return river.JobCancel(errors.New(msg))
		}
		if last {
			w.note(ctx, a.JobID, levelCallbackFailed, fmt.Sprintf("callback failed after %d attempts: %s", job.Attempt, transportError(err)))
		}
		return fmt.Errorf("callback %s: %w", a.URL, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		w.note(ctx, a.JobID, levelCallbackDelivered, fmt.Sprintf("callback delivered: %s (attempt %d)", resp.Status, job.Attempt))
		return nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		msg := "callback stopped: the receiver answered " + resp.Status + " and redirects are not followed"
		w.note(ctx, a.JobID, levelCallbackFailed, msg)
		return river.JobCancel(errors.New(msg))
	case resp.StatusCode == http.StatusGone:
		w.note(ctx, a.JobID, levelCallbackFailed, "callback stopped: the receiver answered 410 Gone")
		return river.JobCancel(errors.New("callback receiver answered 410 Gone"))
	}
	if last {
		w.note(ctx, a.JobID, levelCallbackFailed, fmt.Sprintf("callback failed after %d attempts: the receiver answered %s", job.Attempt, resp.Status))
	}
	return fmt.Errorf("callback %s: answered %s", a.URL, resp.Status)
}

// transportError is err without the URL that *url.Error adds.
func transportError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}
