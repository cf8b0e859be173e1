package host

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/jobs"
)

// rawSigningSecret reads a row of the signing secrets table as stored:
// its secret column and sealed flag.
func rawSigningSecret(t *testing.T, db *sql.DB, dialect, key string) (string, int) {
	t.Helper()
	q := rebind(dialect, `SELECT secret, sealed FROM hookhost_signing_secrets WHERE webhook_id = ?`)
	var (
		s      string
		sealed int
	)
	require.NoError(t, db.QueryRowContext(context.Background(), q, key).Scan(&s, &sealed))
	return s, sealed
}

// TestSigningSecrets_SealedAtRest: callback signing secrets (webhooks',
// schedules') and subscriptions' secrets are stored sealed with the
// server's secret key; rows kept in clear by an older version are sealed
// at the next start, and the secret they held still signs.
func TestSigningSecrets_SealedAtRest(t *testing.T) {
	t.Parallel()
	for _, be := range jobBackends(t) {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			got := make(chan *http.Request, 4)
			bodies := make(chan []byte, 4)
			recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				got <- r
				bodies <- body
			}))
			t.Cleanup(recv.Close)

			b := setupJobs(t, be)
			db, dialect := b.srv.Store().DB(), b.srv.Store().Dialect()
			b.createAutomation(t, "deploy", "start:\n  return:\n    body: ok\n", "")
			whID, tok := b.createWebhook(t, "w", "automation/deploy:\n  uri: cerb:automation:deploy\n  job:\n    callback_url: "+recv.URL+"/done\n")

			// Rotated: shown once in the answer, sealed in the row.
			r := b.admin(t, http.MethodPost, "/webhooks/"+whID+"/signing-secret", "", "")
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			rotated := r.json(t)["signing_secret"].(string)
			stored, sealed := rawSigningSecret(t, db, dialect, whID)
			require.Equal(t, 1, sealed)
			require.NotContains(t, stored, strings.TrimPrefix(rotated, "whsec_"))

			// Made on first use (a schedule's key): sealed too.
			s, err := b.srv.jobs.SigningSecret(context.Background(), jobs.SigningKey("", "schedule/nightly"), false)
			require.NoError(t, err)
			stored, sealed = rawSigningSecret(t, db, dialect, "schedule/nightly")
			require.Equal(t, 1, sealed)
			require.NotContains(t, stored, strings.TrimPrefix(s, "whsec_"))

			// A subscription's.
			r = b.admin(t, http.MethodPost, "/subscriptions", "application/json", `{"url":"`+recv.URL+`/sub","events":["job.completed"]}`)
			require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
			sub := r.json(t)
			var subStored string
			var subSealed int
			require.NoError(t, db.QueryRow(rebind(dialect, `SELECT secret, sealed FROM hookhost_subscriptions WHERE id = ?`), sub["id"]).Scan(&subStored, &subSealed))
			require.Equal(t, 1, subSealed)
			require.NotContains(t, subStored, strings.TrimPrefix(sub["secret"].(string), "whsec_"))
			r = b.admin(t, http.MethodDelete, "/subscriptions/"+sub["id"].(string), "", "")
			require.Less(t, r.Status, 300, "%s", r.Body)

			// An older version's clear row, for this webhook and a
			// subscription.
			const clearSecret = "whsec_MfKQ9r8GKYqrTZjUPD8ILPZ8aBnPXXnTQoWd3d8sRPg="
			_, err = db.Exec(rebind(dialect, `UPDATE hookhost_signing_secrets SET secret = ?, sealed = 0 WHERE webhook_id = ?`), clearSecret, whID)
			require.NoError(t, err)
			_, err = db.Exec(rebind(dialect, `INSERT INTO hookhost_subscriptions (id, url, events, webhook_id, description, secret, created_at)
				VALUES (?, ?, ?, '', '', ?, ?)`), "old-sub", recv.URL+"/old", "job.completed", clearSecret, time.Now().UnixMicro())
			require.NoError(t, err)

			// Restart on the same database and data dir (the same key).
			cfg := b.srv.cfg
			require.NoError(t, b.srv.Close())
			srv, err := New(context.Background(), cfg)
			require.NoError(t, err)
			t.Cleanup(func() { _ = srv.Close() })
			b = &testBundle{srv: srv, runs: b.runs}
			db = srv.Store().DB()

			stored, sealed = rawSigningSecret(t, db, dialect, whID)
			require.Equal(t, 1, sealed, "the clear row was sealed at start")
			require.NotContains(t, stored, strings.TrimPrefix(clearSecret, "whsec_"))
			require.NoError(t, db.QueryRow(rebind(dialect, `SELECT secret, sealed FROM hookhost_subscriptions WHERE id = ?`), "old-sub").Scan(&subStored, &subSealed))
			require.Equal(t, 1, subSealed)
			require.NotContains(t, subStored, strings.TrimPrefix(clearSecret, "whsec_"))
			old, err := srv.jobs.Subscription(context.Background(), "old-sub")
			require.NoError(t, err)
			require.Equal(t, clearSecret, old.Secret)

			// The secret it held still signs the webhook's callbacks.
			r = b.admin(t, http.MethodGet, "/webhooks/"+whID+"/signing-secret", "", "")
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			require.Equal(t, clearSecret, r.json(t)["signing_secret"])
			id := b.fire(t, tok)
			for {
				var req *http.Request
				select {
				case req = <-got:
				case <-time.After(15 * time.Second):
					t.Fatal("no callback")
				}
				body := <-bodies
				if req.URL.Path != "/done" {
					continue // the old subscription's delivery
				}
				require.Equal(t, "job_"+id, req.Header.Get("webhook-id"))
				sig, err := jobs.Sign(clearSecret, req.Header.Get("webhook-id"), mustInt(t, req.Header.Get("webhook-timestamp")), body)
				require.NoError(t, err)
				require.Equal(t, sig, req.Header.Get("webhook-signature"))
				var n jobs.Notice
				require.NoError(t, json.Unmarshal(body, &n))
				require.Equal(t, id, n.Data.JobID)
				break
			}
		})
	}
}

// rebind writes a query's ? placeholders as PostgreSQL's $n.
func rebind(dialect, q string) string {
	if dialect != jobs.DialectPostgres {
		return q
	}
	var sb strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			sb.WriteString("$" + strconv.Itoa(n))
			continue
		}
		sb.WriteRune(c)
	}
	return sb.String()
}
