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
// keyed with the signing secret of the job's webhook, or of its schedule
// for a scheduled job (see SigningSecret and SigningKey). A 2xx
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
	Handler    string          `json:"handler,omitempty"`
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

// jobNotice reads the record of the job id, which just ended in tx, and
// encodes the notice of its end: the body of its callback and of its
// subscription deliveries.
func (q *Queue) jobNotice(ctx context.Context, tx *sql.Tx, id string) (*Job, []byte, error) {
	j, err := q.getRecord(ctx, tx, id)
	if err != nil {
		return nil, nil, err
	}
	n := Notice{Type: jobEvent(j.State), Timestamp: nowUTC(), Data: NoticeData{
		JobID: j.ID, WebhookID: j.WebhookID, Handler: j.Handler, Automation: j.Automation, Revision: j.Revision, State: j.State,
		Attempts: j.Attempt, CreatedAt: j.CreatedAt, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt,
		Status: j.Status, Error: j.Error, Output: j.Output}}
	if n.Data.Output == nil {
		n.Data.Output = json.RawMessage("null")
	}
	body, err := json.Marshal(n)
	if err != nil {
		return nil, nil, err
	}
	return j, body, nil
}

// queueCallback queues the callback of job j in tx (its end was just
// written in tx), with the notice body.
func (q *Queue) queueCallback(ctx context.Context, tx *sql.Tx, j *Job, body []byte) error {
	_, err := q.client.InsertTx(ctx, tx, callbackArgs{JobID: j.ID, WebhookID: j.WebhookID,
		SigningKey: SigningKey(j.WebhookID, j.Handler), URL: j.CallbackURL, Payload: body},
		&river.InsertOpts{Queue: queueCallbacks, MaxAttempts: callbackMaxAttempts})
	if err != nil {
		return fmt.Errorf("queue callback: %w", err)
	}
	q.queuedCallbacks.Store(true)
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

// defaultCallbackTimeout bounds one delivery's HTTP request by default
// (Config.CallbackTimeout).
const defaultCallbackTimeout = 10 * time.Second

// deliveryJobTimeout bounds one attempt of a completion callback or a
// subscription delivery (its River job), above Config.CallbackTimeout.
const deliveryJobTimeout = 30 * time.Second

// newCallbackClient returns the guarded client of deliveries, whose
// requests take up to timeout: it does not follow redirects.
func newCallbackClient(allowPrivate bool, timeout time.Duration) *http.Client {
	c := ssrf.NewClient(ssrf.Options{AllowPrivate: allowPrivate, Timeout: timeout})
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
	w.once.Do(func() { w.http = newCallbackClient(w.q.cfg.AllowPrivateRequests, w.q.cfg.CallbackTimeout) })
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
func (w *callbackWorker) Timeout(*river.Job[callbackArgs]) time.Duration { return deliveryJobTimeout }

// NextRetry backs off from 10 times the run retry backoff.
func (w *callbackWorker) NextRetry(job *river.Job[callbackArgs]) time.Time {
	return time.Now().Add(backoff(10*w.q.cfg.RetryBackoff, job.Attempt))
}

// Work delivers one callback.
func (w *callbackWorker) Work(ctx context.Context, job *river.Job[callbackArgs]) error {
	a := job.Args
	key := a.SigningKey
	if key == "" {
		key = a.WebhookID // queued before signing keys
	}
	secret, err := w.q.SigningSecret(ctx, key, false)
	if err != nil {
		return err
	}
	r, err := w.q.sendGuarded(ctx, w.client(), a.URL, "job_"+a.JobID, secret, a.Payload)
	if err != nil {
		return err // a snooze: the destination is at its cap
	}
	last := job.Attempt >= job.MaxAttempts
	switch r.outcome {
	case sendDelivered:
		w.note(ctx, a.JobID, levelCallbackDelivered, fmt.Sprintf("callback delivered: %s (attempt %d)", r.status, job.Attempt))
		return nil
	case sendRefused:
		msg := "callback refused: " + r.detail
		w.note(ctx, a.JobID, levelCallbackRefused, msg)
		return river.JobCancel(errors.New(msg))
	case sendStopped:
		msg := "callback stopped: " + r.detail
		w.note(ctx, a.JobID, levelCallbackFailed, msg)
		return river.JobCancel(errors.New(msg))
	}
	if last {
		w.note(ctx, a.JobID, levelCallbackFailed, fmt.Sprintf("callback failed after %d attempts: %s", job.Attempt, r.detail))
	}
	return fmt.Errorf("callback %s: %w", a.URL, r.err)
}

// sendOutcome is how one signed POST ended.
type sendOutcome int

const (
	// sendDelivered: the receiver answered 2xx.
	sendDelivered sendOutcome = iota + 1
	// sendRefused: the outbound guard refused the address (or the request
	// could not be made); no retry.
	sendRefused
	// sendStopped: the receiver answered 3xx (not followed) or 410 Gone;
	// no retry.
	sendStopped
	// sendFailed: a transport error or another status; retried while
	// attempts remain.
	sendFailed
)

// sent is how one signed POST ended, in words fit for a log (never the
// URL, whose path or query may hold a token).
type sent struct {
	outcome sendOutcome
	// code and status are the receiver's answer (0 and "" when none).
	code   int
	status string
	// detail says why it was refused, stopped or failed.
	detail string
	// err is the error of a failed send, for River.
	err error
}

// post POSTs body to target signed the Standard Webhooks way (message id
// msgID, secret) through the guarded client c, and says how it ended.
// Completion callbacks and subscription deliveries both send with it.
func post(ctx context.Context, c *http.Client, target, msgID, secret string, body []byte) sent {
	ts := time.Now().Unix()
	sig, err := Sign(secret, msgID, ts, body)
	if err != nil {
		return sent{outcome: sendRefused, detail: err.Error(), err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return sent{outcome: sendRefused, detail: "the URL is not valid", err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "hookhost")
	req.Header.Set("webhook-id", msgID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := c.Do(req)
	if err != nil {
		var be *ssrf.BlockedError
		if errors.As(err, &be) {
			return sent{outcome: sendRefused, detail: refusal(be), err: err}
		}
		return sent{outcome: sendFailed, detail: transportError(err), err: err}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	s := sent{code: resp.StatusCode, status: resp.Status}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		s.outcome = sendDelivered
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		s.outcome, s.detail = sendStopped, "the receiver answered "+resp.Status+" and redirects are not followed"
	case resp.StatusCode == http.StatusGone:
		s.outcome, s.detail = sendStopped, "the receiver answered 410 Gone"
	default:
		s.outcome, s.detail = sendFailed, "the receiver answered "+resp.Status
		s.err = errors.New("answered " + resp.Status)
	}
	return s
}

// transportError is err without the URL that *url.Error adds.
func transportError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}
