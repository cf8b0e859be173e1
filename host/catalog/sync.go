package catalog

import (
	"context"
	"errors"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
)

// changeChannel is the PostgreSQL NOTIFY channel on which servers sharing
// a database announce changes to webhooks, automations and secrets.
const changeChannel = "hookhost_cache"

// resyncEvery is the safety net: every server drops its caches this often
// even without a notification.
const resyncEvery = 30 * time.Second

// StartSync listens for changes made through other servers (PostgreSQL
// only) until the returned stop function is called; on SQLite it returns
// nil.
func (c *Catalog) StartSync() func() error {
	if c.st.Dialect() != "postgres" {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		backoff := 100 * time.Millisecond
		for ctx.Err() == nil {
			err := c.listen(ctx)
			if ctx.Err() != nil {
				return
			}
			c.log.Warn("listening for changes from other servers failed; retrying", "error", err, "in", backoff)
			c.cache.invalidate()
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

// listen holds one connection that LISTENs on changeChannel and drops the
// caches on every notification, and every resyncEvery.
func (c *Catalog) listen(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, listenerDSN(c.cfg.DatabaseURL))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+changeChannel); err != nil {
		return err
	}
	// Changes made while we were not listening.
	c.cache.invalidate()
	for {
		wctx, cancel := context.WithTimeout(ctx, resyncEvery)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil, errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			c.cache.invalidate()
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
