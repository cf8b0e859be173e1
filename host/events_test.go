package host

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestEvents_Stream opens GET /api/v1/events on a real listener and sees a
// request to a webhook arrive as a "request" event, filtered by webhook.
func TestEvents_Stream(t *testing.T) {
	t.Parallel()
	b := setup(t)
	base := liveServer(t, b)
	b.createAutomation(t, "ok", "start:\n  return:\n    body: ok\n", "")
	id, tok := b.createWebhook(t, "w", eventFor("ok"))
	_, otherTok := b.createWebhook(t, "other", eventFor("ok"))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/events?types=request&webhook="+id, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	lines := bufio.NewScanner(resp.Body)
	require.True(t, lines.Scan())
	require.Equal(t, ": hookhost events", lines.Text(), "the stream opens at once")

	for _, tk := range []string{otherTok, tok} {
		r, err := http.Post(base+"/webhooks/"+tk, "text/plain", strings.NewReader("x"))
		require.NoError(t, err)
		r.Body.Close()
	}
	var event, data string
	for lines.Scan() {
		line := lines.Text()
		if v, ok := strings.CutPrefix(line, "event: "); ok {
			event = v
		}
		if v, ok := strings.CutPrefix(line, "data: "); ok {
			data = v
			break
		}
	}
	require.Equal(t, "request", event)
	var ev struct {
		Type      string `json:"type"`
		WebhookID string `json:"webhook_id"`
		Data      struct {
			Status int    `json:"status"`
			ID     string `json:"id"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(data), &ev))
	require.Equal(t, id, ev.WebhookID, "the other webhook's request is filtered out")
	require.Equal(t, http.StatusOK, ev.Data.Status)
	require.NotEmpty(t, ev.Data.ID)
}
