package host

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/hookhost/hookhost/internal/pgtest"
)

// TestScaleOut_CachesFollowOtherServers runs two servers on one PostgreSQL
// database: a webhook created through A answers on B, and changes through A
// (disable, rotate, delete) take effect on B within a second.
func TestScaleOut_CachesFollowOtherServers(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t, "hh_host_")
	newServer := func() *testBundle {
		cfg := testConfig(t)
		cfg.Database = dsn
		srv, err := New(context.Background(), cfg)
		require.NoError(t, err)
		t.Cleanup(func() { _ = srv.Close() })
		return &testBundle{srv: srv}
	}
	a, b := newServer(), newServer()
	a.createAutomation(t, "hello", "start:\n  return:\n    body: hi\n", "")
	id, tok := a.createWebhook(t, "w", eventFor("hello"))

	r := b.do(t, "GET", "/webhooks/"+tok, "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "hi", string(r.Body))

	within := func(want int, target string) {
		t.Helper()
		require.Eventually(t, func() bool { return b.do(t, "GET", target, "", "").Status == want },
			time.Second, 20*time.Millisecond, "B did not see A's change within a second")
	}
	r = a.admin(t, "PATCH", "/webhooks/"+id, "application/json", `{"enabled":false}`)
	require.Equal(t, http.StatusOK, r.Status)
	within(http.StatusBadRequest, "/webhooks/"+tok)

	r = a.admin(t, "PATCH", "/webhooks/"+id, "application/json", `{"enabled":true}`)
	require.Equal(t, http.StatusOK, r.Status)
	within(http.StatusOK, "/webhooks/"+tok)

	r = a.admin(t, "PUT", "/automations/hello", "application/json", `{"extension_id":"cerb.trigger.webhook.respond","script":"start:\n  return:\n    body: changed\n"}`)
	require.Equal(t, http.StatusOK, r.Status)
	require.Eventually(t, func() bool { return string(b.do(t, "GET", "/webhooks/"+tok, "", "").Body) == "changed" },
		time.Second, 20*time.Millisecond)

	r = a.admin(t, "POST", "/webhooks/"+id+"/rotate?overlap=0", "", "")
	require.Equal(t, http.StatusOK, r.Status)
	fresh := r.json(t)["token"].(string)
	within(http.StatusNotFound, "/webhooks/"+tok)
	require.Equal(t, http.StatusOK, b.do(t, "GET", "/webhooks/"+fresh, "", "").Status)

	r = a.admin(t, "DELETE", "/webhooks/"+id, "", "")
	require.Equal(t, http.StatusNoContent, r.Status)
	within(http.StatusNotFound, "/webhooks/"+fresh)
}
