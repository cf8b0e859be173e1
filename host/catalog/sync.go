package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
)

// changeChannel is the name of the PostgreSQL NOTIFY channel on which
// servers sharing a schema announce changes to webhooks, automations and
// secrets. The channel itself is qualified by the store's schema (see
// channelFor), as River qualifies its own ("<schema>.river_insert"):
// deployments in different schemas of one database do not hear each
// other.
const changeChannel = "hookhost_cache"

// maxChannel is the longest channel name PostgreSQL takes (NAMEDATALEN-1
// bytes): pg_notify refuses a longer one, and LISTEN truncates it.
const maxChannel = 63

// channelFor is the change channel of the deployment in schema:
// "<schema>.hookhost_cache", or, when that is longer than PostgreSQL
// allows, "hookhost_cache." and a hash of the schema's name.
func channelFor(schema string) string {
	if ch := schema + "." + changeChannel; len(ch) <= maxChannel {
		return ch
	}
	sum := sha256.Sum256([]byte(schema))
	return changeChannel + "." + hex.EncodeToString(sum[:16])
}

// channel is the change channel of the store's schema (its connections'
// current_schema()), looked up once.
func (c *Catalog) channel(ctx context.Context) (string, error) {
	c.chanMu.Lock()
	defer c.chanMu.Unlock()
	if c.chanName != "" {
		return c.chanName, nil
	}
	var schema string
	if err := c.st.DB().QueryRowContext(ctx, `SELECT coalesce(current_schema(), '')`).Scan(&schema); err != nil {
		return "", fmt.Errorf("current schema: %w", err)
	}
	c.chanName = channelFor(schema)
	return c.chanName, nil
}

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

// listen holds one connection that LISTENs on the store's change channel
// and drops the caches on every notification, and every resyncEvery.
func (c *Catalog) listen(ctx context.Context) error {
	ch, err := c.channel(ctx)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, listenerDSN(c.cfg.DatabaseURL))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
		return err
	}
	// Changes made while we were not listening.
	c.cache.invalidate()
	for {
		wctx, cancel := context.WithTimeout(ctx, resyncEvery)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			c.notified.Add(1)
			c.cache.invalidate()
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
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
