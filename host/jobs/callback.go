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
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"
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

// callbackWorker sends completion callbacks.
type callbackWorker struct {
	river.WorkerDefaults[callbackArgs]
	q *Queue
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
	resp, err := w.q.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("callback %s: %w", a.URL, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusGone:
		return river.JobCancel(errors.New("callback receiver answered 410 Gone"))
	}
	return fmt.Errorf("callback %s: answered %s", a.URL, resp.Status)
}
