package console_test

// The console at scale: a real server on a database seeded (through SQL,
// internal/scaleseed) with many webhooks, request records and jobs; every
// admin API route the console's pages call on load and on filtering,
// timed (median of five calls) and checked for paging; then the webhooks
// and requests pages in chromium. The checks assert states (a page of
// rows, a next-page cursor, a bounded answer), never times: the times are
// logged as a table for the report.
//
// Sizes: 2,000 webhooks and 50,000 records by default (skipped with
// -short); HOOKHOST_SCALE=1 seeds 10,000 webhooks and 1,000,000 records
// (make scale); HOOKHOST_SCALE_RECORDS sets another number of records.
// HOOKHOST_SCALE_DB=postgres seeds the PostgreSQL server of
// HOOKHOST_TEST_POSTGRES instead of a SQLite file (no browser part).

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host"
	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/api/apitest"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/host/store/sqlite"
	"github.com/hookhost/hookhost/internal/pgtest"
	"github.com/hookhost/hookhost/internal/scaleseed"
)

// scaleEnv names the variable that selects the full scale (make scale).
const scaleEnv = "HOOKHOST_SCALE"

// scaleSpec is the seed of this run: the full scale with HOOKHOST_SCALE=1,
// else a smaller one for make test.
func scaleSpec(t *testing.T) scaleseed.Spec {
	t.Helper()
	if testing.Short() {
		t.Skip("the scale test seeds tens of thousands of records: not with -short")
	}
	if raceEnabled {
		t.Skip("the scale test seeds tens of thousands of records, minutes under the race detector: make test runs it without, make scale at full scale")
	}
	spec := scaleseed.Spec{Webhooks: 2_000, Records: 50_000}
	if os.Getenv(scaleEnv) == "1" {
		spec = scaleseed.Spec{Webhooks: 10_000, Records: 1_000_000}
	}
	// HOOKHOST_SCALE_NOVACUUM=1 measures PostgreSQL straight after the
	// bulk load, before a VACUUM has set the visibility map.
	spec.NoVacuum = os.Getenv("HOOKHOST_SCALE_NOVACUUM") == "1"
	// HOOKHOST_SCALE_RECORDS sets another number of records.
	if n, err := strconv.Atoi(os.Getenv("HOOKHOST_SCALE_RECORDS")); err == nil && n > 0 {
		spec.Records = n
	}
	return spec
}

// scaleServer is a server on a seeded database.
type scaleServer struct {
	*server
	spec    scaleseed.Spec
	dialect scaleseed.Dialect
	// db is a connection of the test's own to the server's database.
	db *sql.DB
}

// startScaleServer starts a server once (it migrates the database), stops
// it, seeds the database and starts it again.
func startScaleServer(t *testing.T, d scaleseed.Dialect) *scaleServer {
	t.Helper()
	spec := scaleSpec(t)
	dir := t.TempDir()
	cfg := host.DefaultConfig()
	cfg.DataDir, cfg.AdminToken, cfg.InProcess = dir, adminToken, true
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	// A million records of about 460 bytes are more than the default
	// history bound (256 MiB): the pruner would delete half of them.
	cfg.RunHistoryMaxBytes = 1 << 30
	var db *sql.DB
	var err error
	switch d {
	case scaleseed.Postgres:
		cfg.Database = pgtest.DSN(t, "hookhost_scale_")
		db, err = sql.Open("pgx", cfg.Database)
	default:
		db, err = sql.Open("sqlite", sqlite.DSN(filepath.Join(dir, "hookhost.db"))+"&_pragma=cache_size(-262144)")
	}
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })

	stop := runServer(t, cfg)
	stop()
	started := time.Now()
	spec.Now = time.Now()
	require.NoError(t, scaleseed.Seed(context.Background(), db, d, spec))
	t.Logf("seeded %d webhooks, %d request records, %d jobs on %s in %s", spec.Webhooks, spec.Records,
		max(spec.Jobs, spec.Records/10), d, time.Since(started).Round(time.Millisecond))
	s := &scaleServer{spec: spec, dialect: d, db: db}
	s.server = &server{}
	s.public, s.admin = runServerAt(t, cfg)
	k, err := apitest.Load()
	require.NoError(t, err)
	s.contract = k
	return s
}

// runServer starts a server on cfg and returns a function that stops it.
func runServer(t *testing.T, cfg host.Config) (stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	adminLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cfg.Listen, cfg.AdminListen = ln.Addr().String(), adminLn.Addr().String()
	cfg.PublicURL = "http://" + cfg.Listen
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := host.New(ctx, cfg)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, adminLn) }()
	return func() { cancel(); <-done }
}

// runServerAt is runServer for the rest of the test; it returns the
// webhook and admin base URLs.
func runServerAt(t *testing.T, cfg host.Config) (public, admin string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	adminLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cfg.Listen, cfg.AdminListen = ln.Addr().String(), adminLn.Addr().String()
	cfg.PublicURL = "http://" + cfg.Listen
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := host.New(ctx, cfg)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, adminLn) }()
	t.Cleanup(func() { cancel(); <-done })
	return "http://" + cfg.Listen, "http://" + cfg.AdminListen
}

// timed is one admin API call: its median time of five, the rows it
// listed and the bytes of its answer.
type timed struct {
	route  string
	median time.Duration
	rows   int
	bytes  int
	body   []byte
}

// measure calls GET /api/v1+path five times (after one call to warm the
// caches) and returns the median.
func (s *scaleServer) measure(t *testing.T, path string) timed {
	t.Helper()
	var ds []time.Duration
	var body []byte
	for i := range 6 {
		req, err := http.NewRequest(http.MethodGet, s.admin+"/api/v1"+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, err = io.ReadAll(resp.Body)
		d := time.Since(start)
		_ = resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s: %s", path, body)
		if i > 0 {
			ds = append(ds, d)
		}
	}
	slices.Sort(ds)
	var list map[string]json.RawMessage
	rows := 0
	if json.Unmarshal(body, &list) == nil {
		for _, k := range []string{"webhooks", "runs", "jobs", "secrets"} {
			var xs []json.RawMessage
			if json.Unmarshal(list[k], &xs) == nil && xs != nil {
				rows = len(xs)
			}
		}
	}
	return timed{route: path, median: ds[len(ds)/2], rows: rows, bytes: len(body), body: body}
}

// TestScale_API times the admin API routes behind the console's pages on a
// seeded database and checks that each answers one bounded page.
func TestScale_API(t *testing.T) {
	d := scaleseed.SQLite
	if os.Getenv("HOOKHOST_SCALE_DB") == "postgres" {
		d = scaleseed.Postgres
	}
	s := startScaleServer(t, d)
	spec := s.spec
	mid := scaleseed.RecordID(spec.Records / 2)
	since := spec.Now.Add(-72 * time.Hour).UTC()
	window := url.Values{"since": {since.Format(time.RFC3339)}, "until": {since.Add(time.Hour).Format(time.RFC3339)}}.Encode()
	cases := []struct {
		page, path string
		// check asserts the answer's state (nil: a page of 1 to the limit).
		check func(t *testing.T, r timed)
	}{
		{"webhooks", "/webhooks?limit=50&stats=24h", pageOf(50)},
		{"webhooks", "/webhooks?limit=50&stats=24h&cursor=" + scaleseed.WebhookID(spec.Webhooks/2), pageOf(50)},
		{"webhooks", "/webhooks?limit=50&stats=24h&q=hook-01", pageOf(50)},
		{"webhooks", "/webhooks?limit=50&stats=24h&q=no-such-hook", pageOf(0)},
		{"picker", "/webhooks?limit=20&q=hook-00", pageOf(20)},
		{"webhook", "/webhooks/" + scaleseed.WebhookID(0), nil},
		{"webhook", "/requests?limit=10&webhook=" + scaleseed.WebhookID(0), pageOf(10)},
		{"requests", "/requests?limit=50", pageOf(50)},
		{"requests", "/requests?limit=50&count=true", func(t *testing.T, r timed) {
			var l struct {
				Total     int  `json:"total"`
				TotalMore bool `json:"total_more"`
			}
			require.NoError(t, json.Unmarshal(r.body, &l))
			require.Equal(t, api.MaxRunCount, l.Total)
			require.True(t, l.TotalMore, "more than 10,000 records: a bounded count")
		}},
		{"requests", "/requests?limit=50&count=true&cause=timeout", nil},
		{"requests", "/requests?limit=50&before=" + mid, pageOf(50)},
		{"requests", "/requests?limit=50&webhook=" + scaleseed.WebhookID(0), pageOf(50)},
		{"requests", "/requests?limit=50&webhook=" + scaleseed.WebhookID(spec.Webhooks-1), nil},
		{"requests", "/requests?limit=50&status=5xx", pageOf(50)},
		{"requests", "/requests?limit=50&status=4xx&before=" + mid, pageOf(50)},
		{"requests", "/requests?limit=50&cause=verify", pageOf(50)},
		{"requests", "/requests?limit=50&cause=timeout", nil},
		{"requests", "/requests?limit=50&cause=crash", pageOf(0)},
		{"requests", "/requests?limit=50&cause=-", pageOf(50)},
		{"requests", "/requests?limit=50&" + window, pageOf(50)},
		{"requests", "/requests?limit=50&status=5xx&" + window, nil},
		{"requests", "/requests?limit=50&q=" + scaleseed.Common, pageOf(50)},
		{"requests", "/requests?limit=50&q=" + scaleseed.Rare, nil},
		{"requests", "/requests?limit=50&q=" + scaleseed.None, func(t *testing.T, r timed) {
			pageOf(0)(t, r)
			var l struct {
				Searched   int    `json:"searched"`
				NextBefore string `json:"next_before"`
			}
			require.NoError(t, json.Unmarshal(r.body, &l))
			if spec.Records > store.DefaultSearchBudget {
				require.Equal(t, store.DefaultSearchBudget, l.Searched, "a search stops at its budget")
				require.Equal(t, scaleseed.RecordID(spec.Records-store.DefaultSearchBudget), l.NextBefore, "and says where to go on")
			} else {
				require.Zero(t, l.Searched, "a search that read every record says nothing of a budget")
				require.Empty(t, l.NextBefore)
			}
		}},
		{"requests", "/requests?limit=50&webhook=" + scaleseed.WebhookID(0) + "&q=" + scaleseed.None, pageOf(0)},
		{"request", "/requests/" + mid, nil},
		{"jobs", "/jobs?limit=50", pageOf(50)},
		{"jobs", "/jobs?limit=50&state=Failed", pageOf(50)},
		{"jobs", "/jobs?limit=50&state=Queued", pageOf(50)},
		{"jobs", "/jobs?limit=50&state=Running", pageOf(0)},
		{"jobs", "/jobs?limit=50&webhook=" + scaleseed.WebhookID(spec.WebhookOf(1)), nil},
		{"secrets", "/secrets/usage", nil},
	}
	var table strings.Builder
	fmt.Fprintf(&table, "| page | route | rows | bytes | median of 5 (%s, %d webhooks, %d records) |\n|---|---|---|---|---|\n",
		d, spec.Webhooks, spec.Records)
	for _, c := range cases {
		r := s.measure(t, c.path)
		fmt.Fprintf(&table, "| %s | `%s` | %d | %d | %s |\n", c.page, shorten(c.path), r.rows, r.bytes, r.median.Round(10*time.Microsecond))
		if c.check != nil {
			c.check(t, r)
		}
	}
	t.Log("\n" + table.String())
	plans := s.explain(t)
	t.Log("\n" + plans)
	if out := os.Getenv("HOOKHOST_SCALE_OUT"); out != "" {
		require.NoError(t, os.WriteFile(filepath.Join(out, fmt.Sprintf("api-%s-%d.md", d, spec.Records)), []byte(table.String()), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(out, fmt.Sprintf("plans-%s-%d.txt", d, spec.Records)), []byte(plans), 0o644))
	}
}

// explain returns the query plans of the store's queries behind the
// console's lists, as the database chose them for the seeded data.
func (s *scaleServer) explain(t *testing.T) string {
	t.Helper()
	since := any(s.spec.Now.Add(-24 * time.Hour).UnixMicro())
	width := any(int64(3600))
	bucket := "((created_at - $1) / ($2 * 1000000))"
	explain := "EXPLAIN QUERY PLAN "
	if s.dialect == scaleseed.Postgres {
		since = s.spec.Now.Add(-24 * time.Hour)
		bucket = "floor(extract(epoch from (created_at - $1::timestamptz)) / $2)::bigint"
		explain = "EXPLAIN "
	}
	hot, cold := scaleseed.WebhookID(0), scaleseed.WebhookID(1)
	queries := []struct {
		what string
		sql  string
		args []any
	}{
		{"worklist stats (a page of webhooks)", `SELECT webhook_id, ` + bucket + ` AS b, COUNT(*), SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END)
			FROM runs WHERE created_at >= $1 AND webhook_id IN ($3, $4) GROUP BY webhook_id, b`, []any{since, width, hot, cold}},
		{"worklist last answer", `SELECT status, created_at FROM runs WHERE webhook_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1`, []any{hot}},
		{"requests ?cause=", `SELECT id FROM runs WHERE cause = $1 AND cause <> '' ORDER BY created_at DESC, id DESC LIMIT 50`, []any{"timeout"}},
		{"requests ?status=5xx", `SELECT id FROM runs WHERE status / 100 = $1 AND status / 100 <> 2 ORDER BY created_at DESC, id DESC LIMIT 50`, []any{5}},
		{"requests ?status=2xx", `SELECT id FROM runs WHERE status / 100 = $1 ORDER BY created_at DESC, id DESC LIMIT 50`, []any{2}},
		{"jobs page", `SELECT id FROM hookhost_jobs ORDER BY created_at DESC, id DESC LIMIT 51`, nil},
		{"requests ?q= budget boundary", `SELECT id FROM runs ORDER BY created_at DESC, id DESC LIMIT 2 OFFSET $1`, []any{store.DefaultSearchBudget - 1}},
		{"jobs ?state=", `SELECT id FROM hookhost_jobs WHERE state = $1 ORDER BY created_at DESC, id DESC LIMIT 51`, []any{"running"}},
		{"metrics job counts", `SELECT state, COUNT(*) FROM hookhost_jobs GROUP BY state`, nil},
	}
	var b strings.Builder
	for _, q := range queries {
		rows, err := s.db.QueryContext(context.Background(), explain+q.sql, q.args...)
		require.NoError(t, err, q.what)
		cols, err := rows.Columns()
		require.NoError(t, err)
		fmt.Fprintf(&b, "-- %s (%s)\n", q.what, s.dialect)
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			fmt.Fprintln(&b, vals[len(vals)-1])
		}
		require.NoError(t, rows.Err())
		_ = rows.Close()
	}
	return b.String()
}

// pageOf checks a list answer of exactly n rows.
func pageOf(n int) func(t *testing.T, r timed) {
	return func(t *testing.T, r timed) {
		t.Helper()
		require.Equal(t, n, r.rows, "GET %s: %d rows", r.route, r.rows)
	}
}

// shorten puts placeholders for the long ids and times of a route.
func shorten(path string) string {
	for _, p := range []string{"a0000000-0000-7000-8000-", "c0000000-0000-7000-8000-"} {
		for {
			i := strings.Index(path, p)
			if i < 0 {
				break
			}
			path = path[:i] + "{id}" + path[min(len(path), i+len(p)+12):]
		}
	}
	if i := strings.Index(path, "since="); i >= 0 {
		path = path[:i] + "since={t}&until={t+1h}"
	}
	return path
}

// TestScale_Browser opens the webhooks and requests pages on a seeded
// SQLite server: each shows its first page, pages forward, and filters.
func TestScale_Browser(t *testing.T) {
	exe := chromium(t)
	s := startScaleServer(t, scaleseed.SQLite)
	p := openBrowser(t, exe)
	p.do(t, "open the console", chromedp.Navigate(s.admin+"/console/"), chromedp.WaitVisible(chromedp.CSS("#token")))
	p.do(t, "sign in", chromedp.SendKeys(chromedp.CSS("#token"), adminToken),
		chromedp.Click(chromedp.CSS("#signin-form button[type=submit]")))
	var times strings.Builder
	load := func(t *testing.T, what, route, ready string) {
		t.Helper()
		start := time.Now()
		p.goTo(t, route)
		p.until(t, what, ready)
		fmt.Fprintf(&times, "| %s | `%s` | %s |\n", what, shorten(route), time.Since(start).Round(time.Millisecond))
	}
	rows := func(t *testing.T, table string) int {
		t.Helper()
		return eval[int](t, p, fmt.Sprintf("document.querySelectorAll('#%s tbody tr').length", table))
	}

	t.Run("WebhooksFirstPageNextPageAndSearch", func(t *testing.T) {
		load(t, "webhooks, first page", "#/webhooks", `document.querySelectorAll('#webhook-list tbody tr').length === 50 && !!document.querySelector('.pager [data-next]')`)
		require.Equal(t, scaleseed.WebhookName(0), p.text(t, "#webhook-list tbody tr:first-child td:first-child a"))
		require.Contains(t, p.text(t, "#webhook-list tbody tr:first-child"), "req", "the hot webhook's sparkline label")
		p.shot(t, "scale-01-webhooks")
		start := time.Now()
		p.do(t, "next page", chromedp.Click(chromedp.CSS(".pager [data-next]")))
		p.until(t, "the second page", fmt.Sprintf(`document.querySelector('#webhook-list tbody tr:first-child td:first-child a')?.textContent === %q`, scaleseed.WebhookName(50)))
		fmt.Fprintf(&times, "| webhooks, next page | `#/webhooks?cursor=…` | %s |\n", time.Since(start).Round(time.Millisecond))
		require.Equal(t, 50, rows(t, "webhook-list"))
		load(t, "webhooks, name search", "#/webhooks?q="+scaleseed.WebhookName(123),
			fmt.Sprintf(`document.querySelector('#webhook-list tbody tr:first-child td:first-child a')?.textContent === %q`, scaleseed.WebhookName(123)))
		require.Equal(t, 1, rows(t, "webhook-list"))
	})

	t.Run("RequestsFirstPageNextPageAndFilters", func(t *testing.T) {
		load(t, "requests, first page", "#/requests", `document.querySelectorAll('#request-list tbody tr').length === 50 && !!document.querySelector('.pager [data-next]')`)
		require.Equal(t, "10,000+ requests match", p.text(t, "#request-count"), "a bounded count")
		first := eval[string](t, p, "document.querySelector('#request-list tbody tr').dataset.id")
		require.Equal(t, scaleseed.RecordID(s.spec.Records-1), first, "the newest record first")
		p.shot(t, "scale-02-requests")
		start := time.Now()
		p.do(t, "next page", chromedp.Click(chromedp.CSS(".pager [data-next]")))
		p.until(t, "the second page", fmt.Sprintf(`document.querySelector('#request-list tbody tr')?.dataset.id === %q`, scaleseed.RecordID(s.spec.Records-51)))
		fmt.Fprintf(&times, "| requests, next page | `#/requests?before=…` | %s |\n", time.Since(start).Round(time.Millisecond))
		load(t, "requests, 5xx", "#/requests?status=5xx", `document.querySelectorAll('#request-list tbody tr').length === 50 && [...document.querySelectorAll('#request-list tbody tr td:nth-child(2)')].every((td) => td.textContent.trim().startsWith('5'))`)
		load(t, "requests, cause verify of one webhook", "#/requests?cause=verify&webhook="+scaleseed.WebhookID(0),
			`document.querySelectorAll('#request-list tbody tr').length === 50 && [...document.querySelectorAll('#request-list tbody tr td:nth-child(3)')].every((td) => td.textContent.trim() === 'verify')`)

		// A record that only the third search page reaches at full scale
		// (a page reads store.DefaultSearchBudget records).
		target := max(0, s.spec.Records-2*store.DefaultSearchBudget-1000)
		term := fmt.Sprintf("delivery-%d-x", target)
		found := fmt.Sprintf(`!!document.querySelector('#request-list tbody tr[data-id=%q]')`, scaleseed.RecordID(target))
		load(t, "requests, search", "#/requests?q="+term, fmt.Sprintf(`document.querySelector('[data-search]')?.value === %q && (%s || !!document.querySelector('#search-scope'))`, term, found))
		p.shot(t, "scale-03-requests-search")
		for i := 0; ; i++ {
			if eval[bool](t, p, found) {
				break
			}
			require.Less(t, i, 10, "the record is not found by going on with the search")
			require.Contains(t, p.text(t, "#search-scope"), fmt.Sprintf("%d,%03d", store.DefaultSearchBudget/1000, store.DefaultSearchBudget%1000),
				"the page says how many records it searched")
			prevBefore := eval[string](t, p, "document.querySelector('#search-scope').dataset.before || ''")
			start := time.Now()
			p.do(t, "search older", chromedp.Click(chromedp.CSS("#search-older")))
			// The next page has rendered when its note names another
			// starting point (while it loads there is no note).
			p.until(t, "the next search page", fmt.Sprintf(`%s || (document.querySelector('#search-scope') && document.querySelector('#search-scope').dataset.before !== %q)`, found, prevBefore))
			fmt.Fprintf(&times, "| requests, search older (%d) | `#/requests?q=…&before=…` | %s |\n", i+1, time.Since(start).Round(time.Millisecond))
		}
		p.shot(t, "scale-04-requests-search-found")
	})
	t.Logf("\n| page | route | load in chromium (%d webhooks, %d records) |\n|---|---|---|\n%s", s.spec.Webhooks, s.spec.Records, times.String())
	if out := os.Getenv("HOOKHOST_SCALE_OUT"); out != "" {
		require.NoError(t, os.WriteFile(filepath.Join(out, fmt.Sprintf("browser-%d.md", s.spec.Records)), []byte(times.String()), 0o644))
	}
}
