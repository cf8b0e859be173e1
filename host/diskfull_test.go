package host

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDiskFull fills the SQLite database (a page cap: SQLITE_FULL, the
// real disk-full path): admin writes answer 507 and change nothing,
// /readyz answers 503 naming the full disk, and both recover once there is
// room again.
func TestDiskFull(t *testing.T) {
	t.Parallel()
	b := setup(t)
	db := b.srv.Store().DB()
	var pages int64
	require.NoError(t, db.QueryRowContext(context.Background(), "PRAGMA page_count").Scan(&pages))
	_, err := db.ExecContext(context.Background(), "PRAGMA max_page_count = "+itoa(pages))
	require.NoError(t, err)

	big := make([]byte, 200<<10)
	for i := range big {
		big[i] = 'x'
	}
	body, _ := json.Marshal(map[string]string{"name": "big", "extension_id": "cerb.trigger.webhook.respond",
		"script": "start:\n  return:\n    body: ok\n", "description": string(big)})
	r := b.admin(t, "POST", "/automations", "application/json", string(body))
	require.Equal(t, http.StatusInsufficientStorage, r.Status, "%s", r.Body)
	require.Equal(t, http.StatusNotFound, b.admin(t, "GET", "/automations/big", "", "").Status, "nothing was changed")
	r = b.do(t, "GET", "/readyz", "", "")
	require.Equal(t, http.StatusServiceUnavailable, r.Status, "%s", r.Body)
	require.Contains(t, string(r.Body), "disk is full")

	_, err = db.ExecContext(context.Background(), "PRAGMA max_page_count = 1073741823")
	require.NoError(t, err)
	r = b.admin(t, "POST", "/automations", "application/json", string(body))
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	require.Equal(t, http.StatusOK, b.do(t, "GET", "/readyz", "", "").Status, "ready again once writes succeed")
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestNames_NULRefused checks that a name with a NUL byte is a 400 naming
// the field on both databases' behalf, never a 500.
func TestNames_NULRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createAutomation(t, "ok", "start:\n  return:\n    body: ok\n", "")
	r := b.admin(t, "POST", "/webhooks?name=a%00b", "text/plain", eventFor("ok"))
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	require.Contains(t, string(r.Body), `"field":"name"`)
}
