// Package scaleseed fills a migrated hookhost database (the store's and the
// job queue's tables) with many webhooks, automations, request records and
// job records, to measure the admin API and the console at scale. Each
// table is one INSERT … SELECT over a generated sequence inside one
// transaction, so the rows never cross the connection: a million request
// records take seconds on SQLite and PostgreSQL alike.
//
// The data is deterministic. Webhook i is named hook-%05d (i from 0) and
// has id WebhookID(i); the first webhook is "hot": it takes a tenth of the
// request records. Records are spread evenly over Spec.Window up to
// Spec.Now, newest last. Their status classes and causes follow the record
// number n (see Seed), so a test knows how many of each there are.
package scaleseed

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Spec is what Seed writes.
type Spec struct {
	// Webhooks is the number of webhooks (at least 1).
	Webhooks int
	// Automations is the number of automations the webhooks' event KATA
	// point to, in turn (default 100).
	Automations int
	// Records is the number of request records.
	Records int
	// Jobs is the number of job records (default Records/10); job j is
	// the job of record 10j+1.
	Jobs int
	// Window is the time the records span, ending at Now (default six
	// days: inside the default retention of a week).
	Window time.Duration
	// Now is when the newest record was made (default time.Now()).
	Now time.Time
	// NoVacuum skips PostgreSQL's VACUUM after the load (ANALYZE only).
	NoVacuum bool
}

// Dialect names the database: "sqlite" or "postgres".
type Dialect string

// The dialects Seed writes.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Secret is the secret every seeded webhook's verify block reads.
const Secret = "scale_hook"

// Search terms in the seeded records' bodies: Common is in every record,
// Rare in one record only (number RareRecord), None in none.
const (
	Common     = "repository"
	Rare       = "delivery-777777-x"
	RareRecord = 777777
	None       = "no-such-text-anywhere"
)

// WebhookID is the id of webhook i.
func WebhookID(i int) string { return fmt.Sprintf("a0000000-0000-7000-8000-%012x", i) }

// RecordID is the id of record n.
func RecordID(n int) string { return fmt.Sprintf("c0000000-0000-7000-8000-%012x", n) }

// WebhookName is the name of webhook i.
func WebhookName(i int) string { return fmt.Sprintf("hook-%05d", i) }

// WebhookOf is the index of the webhook of record n (as Seed assigns them).
func (s Spec) WebhookOf(n int) int {
	if n%10 == 0 {
		return 0
	}
	return n * 7919 % max(s.Webhooks, 1)
}

func (s *Spec) defaults() {
	if s.Webhooks < 1 {
		s.Webhooks = 1
	}
	if s.Automations < 1 {
		s.Automations = 100
	}
	if s.Jobs == 0 {
		s.Jobs = s.Records / 10
	}
	if s.Window <= 0 {
		s.Window = 6 * 24 * time.Hour
	}
	if s.Now.IsZero() {
		s.Now = time.Now()
	}
}

// Seed writes spec's rows into db, one transaction per table. The tables
// must exist (the server has migrated the database) and hold no row with
// the seeded ids.
func Seed(ctx context.Context, db *sql.DB, d Dialect, spec Spec) error {
	spec.defaults()
	g := gen{d: d}
	now := spec.Now.UnixMicro()
	window := spec.Window.Microseconds()
	month := (30 * 24 * time.Hour).Microseconds()
	steps := []struct {
		what string
		sql  string
		n    int
	}{
		{"automations", `INSERT INTO automations (name, extension_id, description, script, policy_kata, revision, created_at, updated_at, owner)
			SELECT 'scale.respond_' || ` + g.pad("n", 3) + `, ` + g.txt("''") + `, ` + g.txt("'Seeded for scale tests.'") + `,
				` + g.txt(`'start:
  return:
    ok@bool: yes
'`) + `, ` + g.txt("''") + `, 1, ` + g.ts(fmt.Sprint(now-month)) + `, ` + g.ts(fmt.Sprint(now-month)) + `, ''
			FROM ` + g.seq(), spec.Automations},
		{"webhooks", `INSERT INTO webhooks (id, name, token_hash, prev_token_hash, prev_token_expires_at, event_kata, enabled, debug,
				expires_at, revision, owner, token_secret, created_at, updated_at)
			SELECT ` + g.id("a", "n") + `, 'hook-' || ` + g.pad("n", 5) + `, ` + g.hash("n") + `, NULL, NULL,
				` + g.txt(`'verify/github:
  type: github
  secret: {{secrets.`+Secret+`}}
automation/webhook:
  uri: cerb:automation:scale.respond_' || `+g.pad(fmt.Sprintf("n %% %d", spec.Automations), 3)+` || '
'`) + `, ` + g.boolean("n % 20 <> 19") + `, ` + g.boolean("1 = 0") + `, NULL, 1, '', '',
				` + g.ts(fmt.Sprintf("%d + n * %d", now-month, month/int64(spec.Webhooks))) + `,
				` + g.ts(fmt.Sprintf("%d + n * %d", now-month, month/int64(spec.Webhooks))) + `
			FROM ` + g.seq(), spec.Webhooks},
		{"request records", g.runs(spec, now, window), spec.Records},
		{"job records", g.jobs(spec, now, window), spec.Jobs},
	}
	for _, st := range steps {
		if st.n <= 0 {
			continue
		}
		if err := inTx(ctx, db, func(tx *sql.Tx) error {
			table, _, _ := strings.Cut(strings.TrimPrefix(st.sql, "INSERT INTO "), " ")
			rebuild, err := dropIndexes(ctx, tx, d, table, st.n)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, st.sql, st.n); err != nil {
				return err
			}
			for _, q := range rebuild {
				if _, err := tx.ExecContext(ctx, q); err != nil {
					return fmt.Errorf("rebuild index: %w", err)
				}
			}
			return nil
		}); err != nil {
			return fmt.Errorf("seed %s: %w", st.what, err)
		}
	}
	if d == Postgres {
		// Fresh statistics and the visibility map (index-only scans), as
		// autovacuum would leave them in time; Spec.NoVacuum leaves the
		// tables as a bulk load does.
		q := `VACUUM (ANALYZE) webhooks, runs, hookhost_jobs, automations`
		if spec.NoVacuum {
			q = `ANALYZE webhooks, runs, hookhost_jobs, automations`
		}
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("seed: analyze: %w", err)
		}
	} else if _, err := db.ExecContext(ctx, `ANALYZE`); err != nil {
		return fmt.Errorf("seed: analyze: %w", err)
	}
	return nil
}

// dropIndexes drops a SQLite table's secondary indexes before a large
// insert and returns the statements that build them again: one sort per
// index afterwards is several times faster than a million random B-tree
// inserts into each. (PostgreSQL's bulk insert is fast enough as it is.)
func dropIndexes(ctx context.Context, tx *sql.Tx, d Dialect, table string, n int) ([]string, error) {
	if d != SQLite || n < 10_000 {
		return nil, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL`, table)
	if err != nil {
		return nil, err
	}
	var names, rebuild []string
	for rows.Next() {
		var name, q string
		if err := rows.Scan(&name, &q); err != nil {
			_ = rows.Close()
			return nil, err
		}
		names, rebuild = append(names, name), append(rebuild, q)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	for _, name := range names {
		if _, err := tx.ExecContext(ctx, `DROP INDEX "`+name+`"`); err != nil {
			return nil, err
		}
	}
	return rebuild, nil
}

func inTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// gen writes the dialect's SQL expressions.
type gen struct{ d Dialect }

// seq is a FROM item of the numbers 0 to $1-1 as column n.
func (g gen) seq() string {
	if g.d == Postgres {
		return `generate_series(0, $1::bigint - 1) AS s(n)`
	}
	return `(WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n + 1 < $1) SELECT n FROM s) AS s`
}

// pad is expr (an integer) in decimal with leading zeros to width.
func (g gen) pad(expr string, width int) string {
	if g.d == Postgres {
		return fmt.Sprintf("lpad((%s)::text, %d, '0')", expr, width)
	}
	return fmt.Sprintf("printf('%%0%dd', %s)", width, expr)
}

// id is a UUID-shaped id: prefix's digit, then expr in hex.
func (g gen) id(prefix, expr string) string {
	if g.d == Postgres {
		return fmt.Sprintf("'%s0000000-0000-7000-8000-' || lpad(to_hex(%s), 12, '0')", prefix, expr)
	}
	return fmt.Sprintf("'%s0000000-0000-7000-8000-' || printf('%%012x', %s)", prefix, expr)
}

// hash is 32 distinct bytes for each expr.
func (g gen) hash(expr string) string {
	if g.d == Postgres {
		return fmt.Sprintf("sha256(convert_to('scale-' || (%s)::text, 'UTF8'))", expr)
	}
	return "randomblob(32)"
}

// txt is a text expression as the column stores text: bytea on
// PostgreSQL (see its 00002 migration).
func (g gen) txt(expr string) string {
	if g.d == Postgres {
		return "convert_to(" + expr + ", 'UTF8')"
	}
	return expr
}

// blob is a text expression stored as bytes.
func (g gen) blob(expr string) string {
	if g.d == Postgres {
		return "convert_to(" + expr + ", 'UTF8')"
	}
	return "CAST(" + expr + " AS BLOB)"
}

// ts is a time column's value from micros since the epoch.
func (g gen) ts(micros string) string {
	if g.d == Postgres {
		return "to_timestamp((" + micros + ")::double precision / 1000000)"
	}
	return "(" + micros + ")"
}

func (g gen) boolean(cond string) string {
	if g.d == Postgres {
		return "(" + cond + ")"
	}
	return "(CASE WHEN " + cond + " THEN 1 ELSE 0 END)"
}

func (g gen) str(expr string) string {
	if g.d == Postgres {
		return "(" + expr + ")::text"
	}
	return "CAST(" + expr + " AS TEXT)"
}

// webhookOf is the webhook index of record n (an expression): a tenth go
// to webhook 0.
func webhookOf(spec Spec, n string) string {
	return fmt.Sprintf("(CASE WHEN %[1]s %% 10 = 0 THEN 0 ELSE (%[1]s * 7919) %% %[2]d END)", n, spec.Webhooks)
}

// runs inserts the request records. Of each 100 records (n % 100): 0-4
// were refused by verify (401), 5 ended in an error (500), 6 hit the rate
// limit (429), 7 were too large (413), the rest answered 200; record
// n % 100000 = 99 timed out (504) instead.
func (g gen) runs(spec Spec, now, window int64) string {
	created := fmt.Sprintf("%d + n * %d / %d", now-window, window, spec.Records)
	status := `(CASE WHEN n % 100000 = 99 THEN 504 WHEN n % 100 < 5 THEN 401 WHEN n % 100 = 5 THEN 500
		WHEN n % 100 = 6 THEN 429 WHEN n % 100 = 7 THEN 413 ELSE 200 END)`
	cause := `(CASE WHEN n % 100000 = 99 THEN 'timeout' WHEN n % 100 < 5 THEN 'verify' WHEN n % 100 = 5 THEN 'error'
		WHEN n % 100 = 6 THEN 'rate_limit' WHEN n % 100 = 7 THEN 'body_size' ELSE '' END)`
	inputs := `'{"method":"POST","path":"/webhooks/***","headers":{"Content-Type":"application/json","User-Agent":"GitHub-Hookshot/5e3a1b2","X-GitHub-Delivery":"delivery-' || ` +
		g.str("n") + ` || '-x","X-GitHub-Event":"pull_request"},"query":{},"body":"{\"action\":\"opened\",\"number\":' || ` + g.str("n") +
		` || ',\"repository\":{\"full_name\":\"example/repo-' || ` + g.str("n % 500") + ` || '\"}}","client_ip":"192.0.2.' || ` + g.str("n % 250") + ` || '"}'`
	jobID := fmt.Sprintf("(CASE WHEN n %% 10 = 1 AND n / 10 < %d THEN %s ELSE '' END)", spec.Jobs, g.id("b", "n / 10"))
	return `INSERT INTO runs (` + runCols + `)
		SELECT ` + g.id("c", "n") + `, ` + g.id("a", webhookOf(spec, "n")) + `,
			` + g.txt(`'scale.respond_' || `+g.pad(fmt.Sprintf("%s %% %d", webhookOf(spec, "n"), spec.Automations), 3)) + `, 1, ` + status + `,
			` + g.txt(`(CASE WHEN n % 100 < 8 THEN '' ELSE 'return' END)`) + `,
			` + g.txt(`(CASE WHEN n % 100 = 5 THEN 'automation failed: upstream answered 502' ELSE '' END)`) + `,
			1000 + (n * 37) % 50000, ` + g.blob(inputs) + `, ` + g.blob(`'{"ok":true}'`) + `, NULL, ` + g.ts(created) + `,
			'req-' || ` + g.str("n") + `, ` + cause + `, ` + jobID + `, '', 460
		FROM ` + g.seq()
}

const runCols = `id, webhook_id, automation, revision, status, exit, error, duration_us, inputs, output, log, created_at, request_id, cause, job_id, replay_of, size`

// jobs inserts the job records: of each 100 (j % 100), 0-89 completed,
// 90-96 failed, 97-98 stopped and 99 are still queued.
func (g gen) jobs(spec Spec, now, window int64) string {
	n := "(10 * j + 1)"
	created := fmt.Sprintf("(%d + %s * %d / %d)", now-window, n, window, max(spec.Records, 1))
	state := `(CASE WHEN j % 100 < 90 THEN 'completed' WHEN j % 100 < 97 THEN 'failed' WHEN j % 100 < 99 THEN 'stopped' ELSE 'queued' END)`
	final := `j % 100 < 99`
	wh := webhookOf(spec, n)
	return `INSERT INTO hookhost_jobs (id, river_id, webhook_id, handler, automation, revision, state, attempt, max_attempts,
			inputs, status, headers, body, output, log, error, retry_of, callback_url, created_at, started_at, finished_at, size)
		SELECT ` + g.id("b", "j") + `, 0, ` + g.id("a", wh) + `, 'automation/webhook',
			'scale.respond_' || ` + g.pad(fmt.Sprintf("%s %% %d", wh, spec.Automations), 3) + `, 1, ` + state + `,
			(CASE WHEN ` + final + ` THEN 1 ELSE 0 END), 3, ` + g.blob(`'{"number":' || `+g.str("j")+` || '}'`) + `,
			(CASE WHEN j % 100 < 90 THEN 200 ELSE 0 END), ` + g.blob("''") + `, NULL, ` + g.blob(`'{"ok":true}'`) + `, ` + g.blob("''") + `,
			` + g.blob(`(CASE WHEN j % 100 >= 90 AND j % 100 < 97 THEN 'upstream answered 502' ELSE '' END)`) + `, '', '',
			` + created + `, (CASE WHEN ` + final + ` THEN ` + created + ` + 1000 END), (CASE WHEN ` + final + ` THEN ` + created + ` + 50000 END), 300
		FROM (SELECT n AS j FROM ` + g.seq() + `) AS t`
}
