package host

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/catalog"
)

// lockedBuffer is a bytes.Buffer safe for concurrent writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestInstallExample_LaterStarts: at every start after the first, the
// example's URL file holds the URL of the webhook its token opens at the
// current listen address, or is gone; "example webhook ready" is logged
// only when a request to that URL is answered by the example.
func TestInstallExample_LaterStarts(t *testing.T) {
	t.Parallel()
	type exampleBundle struct {
		dir     string
		urlFile string
		first   *Server
		webhook string // the example webhook's id
	}
	start := func(t *testing.T, dir, listen string) (*Server, *lockedBuffer) {
		t.Helper()
		cfg := testConfig(t)
		logs := &lockedBuffer{}
		cfg.DataDir, cfg.Listen, cfg.Example = dir, listen, true
		cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
		srv, err := New(context.Background(), cfg)
		require.NoError(t, err)
		t.Cleanup(func() { _ = srv.Close() })
		return srv, logs
	}
	setup := func(t *testing.T) *exampleBundle {
		t.Helper()
		b := &exampleBundle{dir: t.TempDir()}
		b.urlFile = filepath.Join(b.dir, catalog.ExampleURLFile)
		srv, logs := start(t, b.dir, "127.0.0.1:8080")
		require.Contains(t, logs.String(), "example webhook created")
		hooks, err := srv.catalog.ListWebhooks(context.Background())
		require.NoError(t, err)
		require.Len(t, hooks, 1)
		b.first, b.webhook = srv, hooks[0].ID
		return b
	}
	readURL := func(t *testing.T, file string) string {
		t.Helper()
		raw, err := os.ReadFile(file)
		require.NoError(t, err)
		return strings.TrimSpace(string(raw))
	}
	ctx := context.Background()
	tests := []struct {
		name   string
		change func(t *testing.T, b *exampleBundle)
		// wantURL is the base the file's URL starts with ("" when the file
		// must be gone); wantLog is what the second start logs.
		wantURL    string
		wantStatus int // what a request to the file's URL gets
		wantLog    string
		wantReady  bool
	}{
		{name: "AnotherPortRewritesTheURL", change: func(*testing.T, *exampleBundle) {},
			wantURL: "http://127.0.0.1:28471/webhooks/", wantStatus: http.StatusOK, wantLog: "example webhook ready", wantReady: true},
		{name: "DeletedWebhookIsNotCreatedAgain", change: func(t *testing.T, b *exampleBundle) {
			require.NoError(t, b.first.catalog.DeleteWebhook(ctx, b.webhook))
		}, wantLog: "example webhook was deleted and is not created again: example-webhook.url held a token no webhook has any more and was removed"},
		{name: "DeletedFileIsReported", change: func(t *testing.T, b *exampleBundle) {
			require.NoError(t, os.Remove(b.urlFile))
		}, wantLog: "example webhook's URL is unknown: example-webhook.url is missing"},
		{name: "RotatedTokenWithoutOverlapRemovesTheFile", change: func(t *testing.T, b *exampleBundle) {
			_, _, err := b.first.catalog.RotateWebhook(ctx, b.webhook, 0)
			require.NoError(t, err)
		}, wantLog: "example webhook's URL is unknown: example-webhook.url held a token no webhook has any more"},
		{name: "RotatedTokenInItsOverlapStillWorks", change: func(t *testing.T, b *exampleBundle) {
			_, _, err := b.first.catalog.RotateWebhook(ctx, b.webhook, time.Hour)
			require.NoError(t, err)
		}, wantURL: "http://127.0.0.1:28471/webhooks/", wantStatus: http.StatusOK,
			wantLog: "example webhook's token was rotated: the URL in example-webhook.url works until the old token expires"},
		{name: "DisabledWebhookIsNotReady", change: func(t *testing.T, b *exampleBundle) {
			w, err := b.first.catalog.GetWebhook(ctx, b.webhook)
			require.NoError(t, err)
			w.Enabled = false
			require.NoError(t, b.first.catalog.UpdateWebhook(ctx, w, false))
		}, wantURL: "http://127.0.0.1:28471/webhooks/", wantStatus: http.StatusBadRequest,
			wantLog: "example webhook is disabled: its URL answers 400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			before := readURL(t, b.urlFile)
			require.True(t, strings.HasPrefix(before, "http://127.0.0.1:8080/webhooks/"), before)
			tt.change(t, b)
			require.NoError(t, b.first.Close())

			srv, logs := start(t, b.dir, "127.0.0.1:28471")
			require.Contains(t, logs.String(), tt.wantLog)
			require.Equal(t, tt.wantReady, strings.Contains(logs.String(), "example webhook ready"), logs.String())
			require.NotContains(t, logs.String(), "example webhook created")
			hooks, err := srv.catalog.ListWebhooks(ctx)
			require.NoError(t, err)
			require.LessOrEqual(t, len(hooks), 1, "no second example webhook")
			if tt.wantURL == "" {
				require.NoFileExists(t, b.urlFile)
				return
			}
			after := readURL(t, b.urlFile)
			require.True(t, strings.HasPrefix(after, tt.wantURL), after)
			require.Equal(t, before[strings.LastIndex(before, "/"):], after[strings.LastIndex(after, "/"):], "the same token")
			info, err := os.Stat(b.urlFile)
			require.NoError(t, err)
			require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
			tb := &testBundle{srv: srv}
			r := tb.do(t, http.MethodPost, strings.TrimPrefix(after, "http://127.0.0.1:28471")+"?key=value", "", "", "X-CustomHeader", "true")
			require.Equal(t, tt.wantStatus, r.Status, "%s", r.Body)
		})
	}
}
