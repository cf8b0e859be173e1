package host

import (
	"context"
	"errors"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
)

// cacheChannel is the PostgreSQL NOTIFY channel on which servers sharing a
// database announce changes to webhooks and automations.
const cacheChannel = "hookhost_cache"

// cacheResync is the safety net: every server drops its caches this often
// even without a notification.
const cacheResync = 30 * time.Second

// changed is called after every change to webhooks or automations: it drops
// this server's caches and, on PostgreSQL, tells the other servers to drop
// theirs.
func (s *Server) changed(ctx context.Context) {
	s.cache.invalidate()
	if s.store.Dialect() != "postgres" {
		return
	}
	if _, err := s.store.DB().ExecContext(ctx, `SELECT pg_notify($1, '')`, cacheChannel); err != nil {
		// The periodic resync still converges the other servers.
		s.log.Warn("notify other servers of a change", "error", err)
	}
}

// startCacheSync listens for changes made through other servers (PostgreSQL
// only) until the returned stop function is called.
func (s *Server) startCacheSync() func() error {
	if s.store.Dialect() != "postgres" {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		backoff := 100 * time.Millisecond
		for ctx.Err() == nil {
			err := s.listenForChanges(ctx)
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("listening for changes from other servers failed; retrying", "error", err, "in", backoff)
			s.cache.invalidate()
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 10*time.Second)
		}
	}()
	return func() error {
		cancel()
		<-done
		return nil
	}
}

// listenForChanges holds one connection that LISTENs on cacheChannel and
// drops the caches on every notification, and every cacheResync.
func (s *Server) listenForChanges(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, listenerDSN(s.cfg.Database))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+cacheChannel); err != nil {
		return err
	}
	// Changes made while we were not listening.
	s.cache.invalidate()
	for {
		wctx, cancel := context.WithTimeout(ctx, cacheResync)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil, errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			s.cache.invalidate()
		default:
			return err
		}
	}
}

// listenerDSN drops the pool settings the store understands but the
// PostgreSQL server would refuse as runtime parameters.
func listenerDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return dsn
	}
	q := u.Query()
	q.Del("pool_max_conns")
	u.RawQuery = q.Encode()
	return u.String()
}
