package host

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/internal/pgtest"
)

// pgProxy forwards loopback TCP connections to PostgreSQL; down() cuts every
// connection and refuses new ones (as a database restart or a network
// outage does), up() accepts again.
type pgProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	isDown bool
	conns  []net.Conn
}

func newPGProxy(t *testing.T, target string) *pgProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &pgProxy{ln: ln, target: target}
	t.Cleanup(func() { _ = ln.Close(); p.down() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.isDown {
				p.mu.Unlock()
				_ = c.Close()
				continue
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				p.mu.Unlock()
				_ = c.Close()
				continue
			}
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); _ = s.Close() }()
			go func() { _, _ = io.Copy(c, s); _ = c.Close() }()
		}
	}()
	return p
}

func (p *pgProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.isDown = true
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

func (p *pgProxy) up() {
	p.mu.Lock()
	p.isDown = false
	p.mu.Unlock()
}

// TestReadyz_AgainAfterDatabaseOutage: a server on PostgreSQL whose
// database goes away for a while and comes back must answer /readyz 200
// again once writes work, without needing a job to be queued first: a load
// balancer that routes by /readyz sends it nothing until then, so with every
// server in that state no job is ever queued and none comes back (review
// revmulti: the job queue's failure was cleared only by a fetch that took
// jobs or a job's write; its probe, jobs.Config.ProbeWrite, clears it now).
func TestReadyz_AgainAfterDatabaseOutage(t *testing.T) {
	dsn := pgtest.DSN(t, "hh_readyz_")
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	proxy := newPGProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()

	b := setup(t, func(c *Config) { c.Database = u.String() })
	b.createAutomation(t, "hello", "start:\n  return:\n    body: hi\n", "")
	_, tok := b.createWebhook(t, "w", eventFor("hello"))
	require.Equal(t, http.StatusOK, b.do(t, "GET", "/readyz", "", "").Status)

	proxy.down()
	// A run record that cannot be written, and fetches that fail.
	require.Eventually(t, func() bool { return b.srv.jobs.Healthy() != nil },
		30*time.Second, 50*time.Millisecond, "the job queue did not notice the outage")

	proxy.up()
	// The database answers and takes writes again: a webhook answers and
	// its run record is written.
	require.Eventually(t, func() bool { return b.do(t, "GET", "/webhooks/"+tok, "", "").Status == http.StatusOK },
		30*time.Second, 50*time.Millisecond, "the webhook did not answer again")
	b.srv.dispatch.FlushRuns()
	require.NoError(t, b.srv.dispatch.Healthy())
	require.Eventually(t, func() bool { return b.do(t, "GET", "/readyz", "", "").Status == http.StatusOK },
		20*time.Second, 100*time.Millisecond, "/readyz stays 503 after the database came back")
}

// TestReadyz_ConflictIsNotAStoreFailure: two admins (or two servers
// applying one manifest directory) change the same record at once; the one
// that comes second gets a 409. That is the caller's race, not a failing
// database: /readyz must stay 200 (it went 503, on every server that lost
// such a race, until the next write probe up to 5 s later; review revmulti).
func TestReadyz_ConflictIsNotAStoreFailure(t *testing.T) {
	b := setup(t)
	b.createAutomation(t, "hello", "start:\n  return:\n    body: hi\n", "")
	id, _ := b.createWebhook(t, "w", eventFor("hello"))
	ctx := context.Background()
	stale, err := b.srv.catalog.GetWebhook(ctx, id) // read by "server B"
	require.NoError(t, err)
	// "server A" changes it first.
	require.Equal(t, http.StatusOK, b.admin(t, "PATCH", "/webhooks/"+id, "application/json", `{"name":"renamed"}`).Status)
	// B writes what it planned against the revision it read.
	upd := *stale
	upd.Name = "mine"
	err = b.srv.catalog.Apply(ctx, &store.ChangeSet{Changes: []store.Change{{Action: store.ActionUpdate, Webhook: &upd, IfRevision: stale.Revision}}})
	var p *api.Problem
	require.ErrorAs(t, err, &p)
	require.Equal(t, http.StatusConflict, p.Status)

	require.NoError(t, b.srv.store.Healthy())
	r := b.do(t, "GET", "/readyz", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
}
