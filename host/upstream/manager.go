package upstream

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hookhost/hookhost/automations/ssrf"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/internal/sqlbind"
)

// States of an upstream subscription.
const (
	// StatePending: the subscription request is queued or being retried.
	StatePending = "pending"
	// StateActive: the upstream answered with its Location.
	StateActive = "active"
	// StateFailed: every attempt failed (LastError says why).
	StateFailed = "failed"
	// StateDeleting: the DELETE to its Location is queued or retried.
	StateDeleting = "deleting"
)

// Sealer seals and opens what rows keep of secrets and tokens
// (*secrets.Box).
type Sealer interface {
	Seal(name string, plaintext []byte) ([]byte, error)
	Open(name string, sealed []byte) ([]byte, error)
}

// Queue queues the requests (*jobs.Queue).
type Queue interface {
	EnqueueUpstream(ctx context.Context, id string) error
}

// Config configures a Manager.
type Config struct {
	// DB and Dialect ("sqlite" or "postgres") hold the
	// hookhost_upstream_subscriptions table (migrated by host/jobs).
	DB      *sql.DB
	Dialect string
	// Queue queues the requests. Required.
	Queue Queue
	// Sealer seals requests and webhook URLs. Required.
	Sealer Sealer
	// Compile compiles event KATA's subscribe blocks (catalog.CompileEvent).
	Compile func(eventKATA string) ([]*Spec, error)
	// Secret reads a secret's value.
	Secret func(ctx context.Context, name string) (string, bool, error)
	// AllowPrivateRequests lets requests reach private and loopback
	// addresses (--allow-private-requests).
	AllowPrivateRequests bool
	Logger               *slog.Logger
}

// Manager keeps the upstream subscriptions of the webhooks.
type Manager struct {
	cfg  Config
	http *http.Client
}

// New returns a Manager.
func New(cfg Config) (*Manager, error) {
	if cfg.DB == nil || cfg.Queue == nil || cfg.Sealer == nil || cfg.Compile == nil || cfg.Secret == nil {
		return nil, errors.New("upstream: Config.DB, Queue, Sealer, Compile and Secret are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := ssrf.NewClient(ssrf.Options{AllowPrivate: cfg.AllowPrivateRequests, Timeout: 20 * time.Second})
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Manager{cfg: cfg, http: c}, nil
}

// Subscription is the state of one subscribe block of a webhook (or of a
// previous version being taken back).
type Subscription struct {
	ID        string
	WebhookID string
	Block     string
	// Current is false for a subscription replaced by a newer one of its
	// block, or whose block or webhook is gone.
	Current  bool
	State    string
	Location string
	// LastStatus and LastAnswer are the upstream's last status and an
	// excerpt of its answer; LastError says why the last attempt failed.
	LastStatus int
	LastAnswer string
	LastError  string
	Attempts   int
	CreatedAt  time.Time
	UpdatedAt  time.Time
	specHash   string
	request    string
	hookURL    string
}

// q rewrites ? placeholders for PostgreSQL.
func (m *Manager) q(query string) string {
	if m.cfg.Dialect != "postgres" {
		return query
	}
	return sqlbind.Dollar(query)
}

const columns = `id, webhook_id, block, current, state, spec_hash, request, hook_url, location, last_status, last_answer,
	last_error, attempts, created_at, updated_at`

func scan(r interface{ Scan(...any) error }) (*Subscription, error) {
	var (
		s                Subscription
		current          int64
		status, attempts int64
		created, updated int64
	)
	if err := r.Scan(&s.ID, &s.WebhookID, &s.Block, &current, &s.State, &s.specHash, &s.request, &s.hookURL, &s.Location,
		&status, &s.LastAnswer, &s.LastError, &attempts, &created, &updated); err != nil {
		return nil, err
	}
	s.Current, s.LastStatus, s.Attempts = current != 0, int(status), int(attempts)
	s.CreatedAt, s.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	return &s, nil
}

// List returns the subscriptions of a webhook, by block, the current one
// first.
func (m *Manager) List(ctx context.Context, webhookID string) ([]*Subscription, error) {
	return m.list(ctx, `SELECT `+columns+` FROM hookhost_upstream_subscriptions WHERE webhook_id = ?
		ORDER BY block, current DESC, created_at DESC, id`, webhookID)
}

func (m *Manager) list(ctx context.Context, query string, args ...any) ([]*Subscription, error) {
	rows, err := m.cfg.DB.QueryContext(ctx, m.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("upstream: list: %w", err)
	}
	defer rows.Close()
	out := []*Subscription{}
	for rows.Next() {
		s, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("upstream: list: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func (m *Manager) get(ctx context.Context, id string) (*Subscription, error) {
	return scan(m.cfg.DB.QueryRowContext(ctx, m.q(`SELECT `+columns+` FROM hookhost_upstream_subscriptions WHERE id = ?`), id))
}

// seal seals text for a row (base64), under a label naming its use.
func (m *Manager) seal(label, text string) (string, error) {
	b, err := m.cfg.Sealer.Seal(label, []byte(text))
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

func (m *Manager) open(label, sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	b, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil {
		return "", err
	}
	p, err := m.cfg.Sealer.Open(label, b)
	return string(p), err
}

// Labels of sealed row fields.
const (
	labelRequest = "upstream-request"
	labelHookURL = "upstream-webhook-url"
)

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Sync brings the upstream subscriptions of webhook w in line with its
// event KATA: a block with no current subscription, or whose content or
// webhook URL changed, is subscribed (anew); a subscription whose block
// is gone is taken back (DELETE). webhookURL is the webhook's URL when the
// caller knows it (its creation, a rotation), else "": the URL a current
// subscription was made with is used. Deleted says the webhook was
// deleted: every subscription is taken back. Problems are logged and kept
// on the rows; they never fail the caller's change.
func (m *Manager) Sync(ctx context.Context, w *store.Webhook, webhookURL string, deleted bool) {
	if err := m.sync(ctx, w, webhookURL, deleted); err != nil {
		m.cfg.Logger.Warn("upstream subscriptions: sync failed", "webhook", w.ID, "error", err)
	}
}

func (m *Manager) sync(ctx context.Context, w *store.Webhook, webhookURL string, deleted bool) error {
	var specs []*Spec
	if !deleted {
		var err error
		if specs, err = m.cfg.Compile(w.EventKATA); err != nil {
			return err
		}
	}
	all, err := m.List(ctx, w.ID)
	if err != nil {
		return err
	}
	current := map[string]*Subscription{}
	knownURL := ""
	for _, s := range all {
		if !s.Current {
			continue
		}
		current[s.Block] = s
		if knownURL == "" {
			knownURL, _ = m.open(labelHookURL, s.hookURL)
		}
	}
	hookURL := webhookURL
	if hookURL == "" {
		hookURL = knownURL
	}
	wanted := map[string]bool{}
	for _, sp := range specs {
		wanted[sp.Name] = true
		old := current[sp.Name]
		if old != nil && old.specHash == sp.Hash && (webhookURL == "" || webhookURL == knownURL) {
			continue // unchanged
		}
		if err := m.subscribe(ctx, w.ID, sp, hookURL, old); err != nil {
			return err
		}
	}
	// A block gone (or the webhook deleted): every subscription of it is
	// taken back, the current one and one it was replacing.
	for _, s := range all {
		if !wanted[s.Block] && (s.Current || s.State == StateActive) {
			if err := m.takeBack(ctx, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// ErrNotFailed is Retry's answer for a block whose current subscription
// has not failed; ErrNoBlock for a block the webhook does not have;
// ErrChanged when another change replaced the subscription meanwhile.
var (
	ErrNotFailed = errors.New("upstream: only a failed subscription can be retried")
	ErrNoBlock   = errors.New("upstream: the webhook has no such subscribe block")
	ErrChanged   = errors.New("upstream: the subscription changed meanwhile; look again")
)

// Retry subscribes a block of webhook w anew when its current
// subscription failed (every attempt spent, or the request could not be
// made): the request is rendered again, with the secrets as they are now,
// and queued with fresh attempts.
func (m *Manager) Retry(ctx context.Context, w *store.Webhook, block string) error {
	specs, err := m.cfg.Compile(w.EventKATA)
	if err != nil {
		return err
	}
	var sp *Spec
	for _, s := range specs {
		if s.Name == block {
			sp = s
		}
	}
	if sp == nil {
		return ErrNoBlock
	}
	all, err := m.List(ctx, w.ID)
	if err != nil {
		return err
	}
	var cur *Subscription
	hookURL := ""
	for _, s := range all {
		if s.Current && s.Block == block {
			cur = s
		}
		if s.Current && hookURL == "" {
			hookURL, _ = m.open(labelHookURL, s.hookURL)
		}
	}
	if cur == nil || cur.State != StateFailed {
		return ErrNotFailed
	}
	return m.subscribe(ctx, w.ID, sp, hookURL, cur)
}

// subscribe adds the current subscription of a block and queues its
// request; old, the previous one, is taken back once it is active.
func (m *Manager) subscribe(ctx context.Context, webhookID string, sp *Spec, hookURL string, old *Subscription) error {
	now := time.Now().UTC().UnixMicro()
	row := &Subscription{ID: newID(), WebhookID: webhookID, Block: sp.Name, Current: true, State: StatePending, specHash: sp.Hash}
	var queue bool
	switch req, err := m.render(ctx, sp, hookURL); {
	case hookURL == "":
		row.State, row.LastError = StateFailed, "the webhook's URL is not known here (it is shown once, when the webhook is made): rotate its token (POST /api/v1/webhooks/{id}/rotate) to subscribe it"
	case err != nil:
		row.State, row.LastError = StateFailed, err.Error()
	default:
		b, _ := json.Marshal(req)
		if row.request, err = m.seal(labelRequest, string(b)); err != nil {
			return err
		}
		if row.hookURL, err = m.seal(labelHookURL, hookURL); err != nil {
			return err
		}
		queue = true
	}
	tx, err := m.cfg.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it does nothing
	if old != nil {
		var res sql.Result
		if old.State == StateActive {
			// Taken back once the new one is active (subscribe first).
			res, err = tx.ExecContext(ctx, m.q(`UPDATE hookhost_upstream_subscriptions SET current = 0, updated_at = ?
				WHERE id = ? AND current = 1 AND state = ?`), now, old.ID, old.State)
		} else {
			// Never made upstream: nothing to take back.
			res, err = tx.ExecContext(ctx, m.q(`DELETE FROM hookhost_upstream_subscriptions WHERE id = ? AND current = 1 AND state = ?`),
				old.ID, old.State)
		}
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			// Another change (a retry clicked twice, an apply) replaced
			// it first: one current subscription per block.
			return ErrChanged
		}
	}
	if _, err := tx.ExecContext(ctx, m.q(`INSERT INTO hookhost_upstream_subscriptions (id, webhook_id, block, current, state,
		spec_hash, request, hook_url, last_error, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?)`),
		row.ID, row.WebhookID, row.Block, row.State, row.specHash, row.request, row.hookURL, row.LastError, now, now); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if queue {
		return m.enqueue(ctx, row.ID)
	}
	return nil
}

// enqueue queues row id's request; a row whose job could not be queued
// is marked failed with the reason (else it would wait for a job that
// never comes), so that Retry can send it again.
func (m *Manager) enqueue(ctx context.Context, id string) error {
	err := m.cfg.Queue.EnqueueUpstream(ctx, id)
	if err == nil {
		return nil
	}
	if _, uerr := m.cfg.DB.ExecContext(context.WithoutCancel(ctx), m.q(`UPDATE hookhost_upstream_subscriptions SET state = ?, last_error = ?,
		updated_at = ? WHERE id = ?`), StateFailed, "the request could not be queued: "+err.Error(), time.Now().UTC().UnixMicro(), id); uerr != nil {
		return errors.Join(err, uerr)
	}
	return err
}

// render renders a block's request with the webhook URL and the secrets.
func (m *Manager) render(ctx context.Context, sp *Spec, hookURL string) (*Request, error) {
	var readErr error
	req, err := sp.Render(hookURL, func(name string) (string, bool) {
		v, ok, err := m.cfg.Secret(ctx, name)
		if err != nil {
			readErr = err
		}
		return v, ok
	})
	if readErr != nil {
		return nil, readErr
	}
	return req, err
}

// takeBack queues the DELETE of an active subscription, or forgets one
// that was never made upstream.
func (m *Manager) takeBack(ctx context.Context, s *Subscription) error {
	now := time.Now().UTC().UnixMicro()
	if s.State != StateActive || s.Location == "" {
		_, err := m.cfg.DB.ExecContext(ctx, m.q(`DELETE FROM hookhost_upstream_subscriptions WHERE id = ?`), s.ID)
		return err
	}
	if _, err := m.cfg.DB.ExecContext(ctx, m.q(`UPDATE hookhost_upstream_subscriptions SET current = 0, state = ?, attempts = 0,
		last_error = '', updated_at = ? WHERE id = ?`), StateDeleting, now, s.ID); err != nil {
		return err
	}
	return m.enqueue(ctx, s.ID)
}

// answerExcerpt bounds the answer kept on a row.
const answerExcerpt = 512

// Work does one attempt of row id's request (jobs.UpstreamFunc).
func (m *Manager) Work(ctx context.Context, id string, attempt int, last bool) error {
	s, err := m.get(ctx, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // taken back before it was sent
	}
	if err != nil {
		return err
	}
	switch s.State {
	case StatePending:
		return m.doSubscribe(ctx, s, attempt, last)
	case StateDeleting:
		return m.doDelete(ctx, s, attempt, last)
	}
	return nil
}

// result is what one request got.
type result struct {
	status int
	header http.Header
	body   []byte
	err    error
}

func (m *Manager) send(ctx context.Context, method, target string, headers [][2]string, body []byte) result {
	req, err := http.NewRequestWithContext(ctx, method, target, strings.NewReader(string(body)))
	if err != nil {
		return result{err: err}
	}
	for _, h := range headers {
		req.Header.Add(h[0], h[1])
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "hookhost")
	}
	resp, err := m.http.Do(req)
	if err != nil {
		var be *ssrf.BlockedError
		if errors.As(err, &be) {
			return result{err: fmt.Errorf("refused by the outbound guard: %s", be.Error())}
		}
		return result{err: fmt.Errorf("%s %s: %w", method, redactURL(target), unwrapURL(err))}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return result{status: resp.StatusCode, header: resp.Header, body: b}
}

// unwrapURL drops *url.Error's repetition of the URL (which may hold a
// token).
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// redactURL is a URL without its query (which may hold a token).
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(the URL)"
	}
	u.RawQuery, u.User = "", nil
	return u.String()
}

func excerpt(b []byte) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	if len(s) > answerExcerpt {
		s = s[:answerExcerpt]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return s
}

func (m *Manager) doSubscribe(ctx context.Context, s *Subscription, attempt int, last bool) error {
	raw, err := m.open(labelRequest, s.request)
	if err != nil {
		return m.finish(ctx, s, StateFailed, 0, "", "", "the request cannot be read: "+err.Error(), attempt)
	}
	var req Request
	if err := json.Unmarshal([]byte(raw), &req); err != nil {
		return m.finish(ctx, s, StateFailed, 0, "", "", "the request cannot be read: "+err.Error(), attempt)
	}
	r := m.send(ctx, req.Method, req.URL, req.Headers, req.Body)
	failure := ""
	location := ""
	switch {
	case r.err != nil:
		failure = r.err.Error()
	case r.status < 200 || r.status > 299:
		failure = fmt.Sprintf("the upstream answered %d, not 201 Created", r.status)
	default:
		location, failure = findLocation(req, r)
	}
	if failure == "" {
		n, err := m.record(ctx, s, StateActive, r.status, location, excerpt(r.body), "", attempt)
		if err != nil {
			return err
		}
		if n == 0 {
			// Taken back (its webhook deleted, its block changed) while
			// the request was on its way: take back what it made.
			if d := m.send(ctx, http.MethodDelete, location, deleteHeaders(req, location), nil); d.err != nil || d.status >= 300 {
				m.cfg.Logger.Warn("upstream subscription taken back while it was made: its DELETE failed", "webhook", s.WebhookID,
					"block", s.Block, "status", d.status, "error", d.err)
			}
			return nil
		}
		return m.retire(ctx, s)
	}
	state := StatePending
	if last {
		state = StateFailed
	}
	if err := m.finish(ctx, s, state, r.status, "", excerpt(r.body), failure, attempt); err != nil {
		return err
	}
	return errors.New("subscribe/" + s.Block + ": " + failure)
}

// findLocation reads where the created subscription is: the Location
// header (relative to the request's URL), else the id path of the
// answer: a URL there is the location, another value an id appended to
// the request's URL.
func findLocation(req Request, r result) (string, string) {
	base, err := url.Parse(req.URL)
	if err != nil {
		return "", "the request's URL does not parse"
	}
	if loc := r.header.Get("Location"); loc != "" && req.IDPath == "" {
		u, err := base.Parse(loc)
		if err != nil {
			return "", fmt.Sprintf("the Location %q does not parse", loc)
		}
		return u.String(), ""
	}
	if req.IDPath == "" {
		return "", "the upstream answered without a Location header (name where the answer has it with id_path:)"
	}
	var doc any
	if err := json.Unmarshal(r.body, &doc); err != nil {
		return "", "the answer is not JSON, so id_path: " + req.IDPath + " cannot be read from it"
	}
	v, ok := lookup(doc, req.IDPath)
	if !ok {
		return "", "the answer has nothing at id_path: " + req.IDPath
	}
	var id string
	switch x := v.(type) {
	case string:
		id = x
	case float64:
		id = strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return "", "the answer's value at id_path: " + req.IDPath + " is not text or a number"
	}
	if strings.HasPrefix(id, "http://") || strings.HasPrefix(id, "https://") {
		return id, ""
	}
	return strings.TrimSuffix(base.String(), "/") + "/" + url.PathEscape(id), ""
}

// lookup reads a JSON pointer (/a/0/b) or a dotted path (a.0.b).
func lookup(doc any, path string) (any, bool) {
	var parts []string
	if strings.HasPrefix(path, "/") {
		for _, p := range strings.Split(path[1:], "/") {
			parts = append(parts, strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~"))
		}
	} else {
		parts = strings.Split(path, ".")
	}
	cur := doc
	for _, p := range parts {
		switch x := cur.(type) {
		case map[string]any:
			v, ok := x[p]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			cur = x[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// retire queues the DELETE of the subscriptions a newly active one
// replaces (the same webhook and block, no longer current, active).
func (m *Manager) retire(ctx context.Context, s *Subscription) error {
	old, err := m.list(ctx, `SELECT `+columns+` FROM hookhost_upstream_subscriptions WHERE webhook_id = ? AND block = ?
		AND current = 0 AND state = ?`, s.WebhookID, s.Block, StateActive)
	if err != nil {
		return err
	}
	for _, o := range old {
		if err := m.takeBack(ctx, o); err != nil {
			return err
		}
	}
	return nil
}

func (m *Manager) doDelete(ctx context.Context, s *Subscription, attempt int, last bool) error {
	var req Request
	if raw, err := m.open(labelRequest, s.request); err == nil {
		_ = json.Unmarshal([]byte(raw), &req)
	}
	r := m.send(ctx, http.MethodDelete, s.Location, deleteHeaders(req, s.Location), nil)
	if r.err == nil && (r.status >= 200 && r.status <= 299 || r.status == http.StatusNotFound || r.status == http.StatusGone) {
		_, err := m.cfg.DB.ExecContext(ctx, m.q(`DELETE FROM hookhost_upstream_subscriptions WHERE id = ?`), s.ID)
		return err
	}
	failure := ""
	if r.err != nil {
		failure = r.err.Error()
	} else {
		failure = fmt.Sprintf("the upstream answered %d to DELETE", r.status)
	}
	state := StateDeleting
	if last {
		state = StateFailed
	}
	if err := m.finish(ctx, s, state, r.status, s.Location, excerpt(r.body), failure, attempt); err != nil {
		return err
	}
	return errors.New("subscribe/" + s.Block + ": " + failure)
}

// deleteHeaders are the headers of the DELETE that takes back a
// subscription at location: the subscribe request's (its credentials),
// but Content-Type, and none at all when the location is not on the
// request's scheme and host (an upstream may name any URL, and its
// credentials are not for another host: net/http's rule for redirects).
func deleteHeaders(req Request, location string) [][2]string {
	a, errA := url.Parse(req.URL)
	b, errB := url.Parse(location)
	if errA != nil || errB != nil || !strings.EqualFold(a.Scheme, b.Scheme) || !strings.EqualFold(a.Host, b.Host) {
		return nil
	}
	var headers [][2]string
	for _, h := range req.Headers {
		if !strings.EqualFold(h[0], "Content-Type") {
			headers = append(headers, h)
		}
	}
	return headers
}

// scrub takes out of an upstream's answer or an error text what a row
// keeps sealed: the webhook's URL and its token, and the values of the
// request's headers (credentials), so that neither the database nor the
// admin API shows them.
func (m *Manager) scrub(s *Subscription, texts ...*string) {
	var hide []string
	if u, err := m.open(labelHookURL, s.hookURL); err == nil && u != "" {
		hide = append(hide, u)
		if _, tok, ok := strings.Cut(u, "/webhooks/"); ok {
			if i := strings.IndexAny(tok, "/?#"); i >= 0 {
				tok = tok[:i]
			}
			hide = append(hide, tok)
		}
	}
	if raw, err := m.open(labelRequest, s.request); err == nil && raw != "" {
		var req Request
		if json.Unmarshal([]byte(raw), &req) == nil {
			for _, h := range req.Headers {
				if strings.EqualFold(h[0], "Content-Type") {
					continue
				}
				hide = append(hide, h[1])
				if _, cred, ok := strings.Cut(h[1], " "); ok {
					hide = append(hide, cred) // Bearer <token>
				}
			}
		}
	}
	for _, t := range texts {
		for _, v := range hide {
			if len(v) >= 8 {
				*t = strings.ReplaceAll(*t, v, "[redacted]")
			}
		}
	}
}

// finish records an attempt's outcome on the row.
func (m *Manager) finish(ctx context.Context, s *Subscription, state string, status int, location, answer, failure string, attempt int) error {
	_, err := m.record(ctx, s, state, status, location, answer, failure, attempt)
	return err
}

// record is finish, reporting whether the row was still there (1) or not
// (0). Only a row still in the state the attempt started from is updated.
func (m *Manager) record(ctx context.Context, s *Subscription, state string, status int, location, answer, failure string, attempt int) (int64, error) {
	m.scrub(s, &answer, &failure)
	res, err := m.cfg.DB.ExecContext(ctx, m.q(`UPDATE hookhost_upstream_subscriptions SET state = ?, last_status = ?, location = ?,
		last_answer = ?, last_error = ?, attempts = ?, updated_at = ? WHERE id = ? AND state = ?`),
		state, status, location, answer, failure, attempt, time.Now().UTC().UnixMicro(), s.ID, s.State)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
