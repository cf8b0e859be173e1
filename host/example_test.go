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
	"github.com/hookhost/hookhost/host/store"
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

// exampleStart starts a server with the example on dir (database in db,
// "" for the default) and returns it with its log.
func exampleStart(t *testing.T, dir, db, listen string) (*Server, *lockedBuffer, error) {
	t.Helper()
	cfg := testConfig(t)
	logs := &lockedBuffer{}
	cfg.DataDir, cfg.Listen, cfg.Example = dir, listen, true
	if db != "" {
		cfg.Database = db
	}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	srv, err := New(context.Background(), cfg)
	if err == nil {
		t.Cleanup(func() { _ = srv.Close() })
	}
	return srv, logs, err
}

// exampleToken returns the token of the example URL u.
func exampleToken(u string) string {
	return strings.TrimSpace(u)[strings.LastIndex(strings.TrimSpace(u), "/")+1:]
}

// What a later start must leave at the example's URL file.
const (
	fileRewritten = iota // the URL with the current address, same token
	fileLeft             // exactly what was there
	fileMissing
	fileIsDir
)

// TestInstallExample_LaterStarts: at every start after the first, the
// example's URL file holds the URL of the webhook its token opens at the
// current listen address, or is left as it was (it is the only copy of
// the token); "example webhook ready" is logged only when a request to
// that URL is answered by the example, and the log never holds the token.
func TestInstallExample_LaterStarts(t *testing.T) {
	t.Parallel()
	type exampleBundle struct {
		dir     string
		urlFile string
		first   *Server
		webhook string // the example webhook's id
	}
	setup := func(t *testing.T) *exampleBundle {
		t.Helper()
		b := &exampleBundle{dir: t.TempDir()}
		b.urlFile = filepath.Join(b.dir, catalog.ExampleURLFile)
		srv, logs, err := exampleStart(t, b.dir, "", "127.0.0.1:8080")
		require.NoError(t, err)
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
		return string(raw)
	}
	ctx := context.Background()
	update := func(t *testing.T, b *exampleBundle, edit func(w *store.Webhook)) {
		t.Helper()
		w, err := b.first.catalog.GetWebhook(ctx, b.webhook)
		require.NoError(t, err)
		edit(w)
		require.NoError(t, b.first.catalog.UpdateWebhook(ctx, w, false))
	}
	createV2 := func(t *testing.T, b *exampleBundle) {
		t.Helper()
		require.NoError(t, b.first.catalog.CreateAutomation(ctx, &store.Automation{Name: "example.webhook.respond_v2",
			ExtensionID: "cerb.trigger.webhook.respond", Script: "start:\n  return:\n    body: v2\n"}))
	}
	writeFile := func(t *testing.T, b *exampleBundle, content string) {
		t.Helper()
		require.NoError(t, os.WriteFile(b.urlFile, []byte(content), 0o600))
	}
	const otherPort = "127.0.0.1:28471"
	tests := []struct {
		name   string
		listen string // the second start's; otherPort when ""
		change func(t *testing.T, b *exampleBundle)
		// wantFile is what the second start leaves at the file; wantLogs
		// what it logs; wantStatus what a request to a rewritten URL gets.
		wantFile   int
		wantStatus int
		wantLogs   []string
		wantReady  bool
	}{
		{name: "AnotherPortRewritesTheURL", change: func(*testing.T, *exampleBundle) {},
			wantFile: fileRewritten, wantStatus: http.StatusOK, wantLogs: []string{"example webhook ready"}, wantReady: true},
		{name: "SameAddressWritesNothing", listen: "127.0.0.1:8080", change: func(*testing.T, *exampleBundle) {},
			wantFile: fileLeft, wantLogs: []string{"example webhook ready"}, wantReady: true},
		{name: "DeletedWebhookIsNotCreatedAgainAndTheFileIsKept", change: func(t *testing.T, b *exampleBundle) {
			require.NoError(t, b.first.catalog.DeleteWebhook(ctx, b.webhook))
		}, wantFile: fileLeft, wantLogs: []string{"example webhook was deleted and is not created again: " +
			"example-webhook.url holds a token no webhook of this database opens", "the file is left as it is", "create_it_again="}},
		{name: "DeletedFileIsReported", change: func(t *testing.T, b *exampleBundle) {
			require.NoError(t, os.Remove(b.urlFile))
		}, wantFile: fileMissing, wantLogs: []string{"example webhook's URL is unknown: example-webhook.url is missing", "new_url="}},
		{name: "RotatedTokenWithoutOverlapKeepsTheFile", change: func(t *testing.T, b *exampleBundle) {
			_, _, err := b.first.catalog.RotateWebhook(ctx, b.webhook, 0)
			require.NoError(t, err)
		}, wantFile: fileLeft, wantLogs: []string{"example webhook's URL is unknown: example-webhook.url holds a token no webhook of this database opens"}},
		{name: "RotatedTokenInItsOverlapStillWorks", change: func(t *testing.T, b *exampleBundle) {
			_, _, err := b.first.catalog.RotateWebhook(ctx, b.webhook, time.Hour)
			require.NoError(t, err)
		}, wantFile: fileRewritten, wantStatus: http.StatusOK,
			wantLogs: []string{"example webhook's token was rotated: the URL in example-webhook.url works until the old token expires"}},
		{name: "RotatedAndDisabledReportsBoth", change: func(t *testing.T, b *exampleBundle) {
			_, _, err := b.first.catalog.RotateWebhook(ctx, b.webhook, time.Hour)
			require.NoError(t, err)
			update(t, b, func(w *store.Webhook) { w.Enabled = false })
		}, wantFile: fileRewritten, wantStatus: http.StatusBadRequest,
			wantLogs: []string{"example webhook's token was rotated", "example webhook is disabled: its URL answers 400"}},
		{name: "DisabledWebhookIsNotReady", change: func(t *testing.T, b *exampleBundle) {
			update(t, b, func(w *store.Webhook) { w.Enabled = false })
		}, wantFile: fileRewritten, wantStatus: http.StatusBadRequest,
			wantLogs: []string{"example webhook is disabled: its URL answers 400"}},
		{name: "ExpiredWebhookIsNotReady", change: func(t *testing.T, b *exampleBundle) {
			passed := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
			update(t, b, func(w *store.Webhook) { w.ExpiresAt = &passed })
		}, wantFile: fileRewritten, wantStatus: http.StatusBadRequest,
			wantLogs: []string{"example webhook has expired: its URL answers 400"}},
		{name: "WebhookCallingAnotherAutomationIsNotReady", change: func(t *testing.T, b *exampleBundle) {
			createV2(t, b)
			w, err := b.first.catalog.GetWebhook(ctx, b.webhook)
			require.NoError(t, err)
			w.EventKATA = "automation/webhook:\n  uri: cerb:automation:example.webhook.respond_v2\n"
			require.NoError(t, b.first.catalog.UpdateWebhook(ctx, w, true))
		}, wantFile: fileRewritten, wantStatus: http.StatusOK,
			wantLogs: []string{"example webhook no longer calls only the example automation", "automations=example.webhook.respond_v2"}},
		{name: "AWebhookOfASimilarAutomationIsNoExample", change: func(t *testing.T, b *exampleBundle) {
			createV2(t, b)
			_, err := b.first.catalog.CreateWebhook(ctx, &store.Webhook{Name: "v2", Enabled: true,
				EventKATA: "automation/webhook:\n  uri: cerb:automation:example.webhook.respond_v2\n"})
			require.NoError(t, err)
			require.NoError(t, b.first.catalog.DeleteWebhook(ctx, b.webhook))
		}, wantFile: fileLeft, wantLogs: []string{"example webhook was deleted and is not created again"}},
		{name: "QueryFragmentSpaceAndSlashAreRead", change: func(t *testing.T, b *exampleBundle) {
			writeFile(t, b, "  "+strings.TrimSpace(readURL(t, b.urlFile))+"/?key=value#top \n\n")
		}, wantFile: fileRewritten, wantStatus: http.StatusOK, wantLogs: []string{"example webhook ready"}, wantReady: true},
		{name: "EditedTokenKeepsTheFile", change: func(t *testing.T, b *exampleBundle) {
			u := strings.TrimSpace(readURL(t, b.urlFile))
			last := "0"
			if strings.HasSuffix(u, "0") {
				last = "1"
			}
			writeFile(t, b, u[:len(u)-1]+last+"\n")
		}, wantFile: fileLeft, wantLogs: []string{"example webhook's URL is unknown: example-webhook.url holds a token no webhook of this database opens"}},
		{name: "FileWithoutAURLIsUnreadable", change: func(t *testing.T, b *exampleBundle) {
			writeFile(t, b, strings.ReplaceAll(readURL(t, b.urlFile), "/webhooks/", "/hooks/"))
		}, wantFile: fileLeft, wantLogs: []string{"example webhook's URL is unknown: example-webhook.url is unreadable: it holds no webhook URL"}},
		{name: "FileThatCannotBeReadIsReported", change: func(t *testing.T, b *exampleBundle) {
			require.NoError(t, os.Remove(b.urlFile))
			require.NoError(t, os.Mkdir(b.urlFile, 0o700))
		}, wantFile: fileIsDir, wantLogs: []string{"example webhook's URL is unknown: example-webhook.url cannot be read"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			before := readURL(t, b.urlFile)
			require.True(t, strings.HasPrefix(before, "http://127.0.0.1:8080/webhooks/"), before)
			tok := exampleToken(before)
			tt.change(t, b)
			hooksBefore, err := b.first.catalog.ListWebhooks(ctx)
			require.NoError(t, err)
			var left string
			var leftInfo os.FileInfo
			if tt.wantFile == fileLeft {
				left = readURL(t, b.urlFile)
				leftInfo, err = os.Stat(b.urlFile)
				require.NoError(t, err)
			}
			require.NoError(t, b.first.Close())

			listen := tt.listen
			if listen == "" {
				listen = otherPort
			}
			srv, logs, err := exampleStart(t, b.dir, "", listen)
			require.NoError(t, err)
			for _, want := range tt.wantLogs {
				require.Contains(t, logs.String(), want)
			}
			require.Equal(t, tt.wantReady, strings.Contains(logs.String(), "example webhook ready"), logs.String())
			require.NotContains(t, logs.String(), "example webhook created")
			require.NotContains(t, logs.String(), tok, "the log holds the token")
			hooks, err := srv.catalog.ListWebhooks(ctx)
			require.NoError(t, err)
			require.Len(t, hooks, len(hooksBefore), "no webhook created")
			tmp, err := filepath.Glob(b.urlFile + ".*")
			require.NoError(t, err)
			require.Empty(t, tmp, "files left next to the URL file")
			switch tt.wantFile {
			case fileMissing:
				require.NoFileExists(t, b.urlFile)
				return
			case fileIsDir:
				require.DirExists(t, b.urlFile)
				return
			case fileLeft:
				require.Equal(t, left, readURL(t, b.urlFile), "the file was changed")
				info, err := os.Stat(b.urlFile)
				require.NoError(t, err)
				require.True(t, os.SameFile(leftInfo, info), "the file was written again")
				return
			}
			after := strings.TrimSpace(readURL(t, b.urlFile))
			require.Equal(t, "http://"+listen+"/webhooks/"+tok, after)
			info, err := os.Stat(b.urlFile)
			require.NoError(t, err)
			require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
			tb := &testBundle{srv: srv}
			r := tb.do(t, http.MethodPost, strings.TrimPrefix(after, "http://"+listen)+"?key=value", "", "", "X-CustomHeader", "true")
			require.Equal(t, tt.wantStatus, r.Status, "%s", r.Body)
		})
	}
}

// TestInstallExample_TokenNotDestroyed: the URL file is the only copy of
// the token (the store keeps a hash); no start deletes or overwrites it,
// not one on another database, which creates an example of its own.
// (Adapted from the review's TestReview_ExampleTokenNotDestroyed.)
func TestInstallExample_TokenNotDestroyed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv, _, err := exampleStart(t, dir, "", "127.0.0.1:8080")
	require.NoError(t, err)
	require.NoError(t, srv.Close())
	file := filepath.Join(dir, catalog.ExampleURLFile)
	raw, err := os.ReadFile(file)
	require.NoError(t, err)

	_, logs, err := exampleStart(t, dir, filepath.Join(t.TempDir(), "other.db"), "127.0.0.1:8080")
	require.NoError(t, err)
	require.Contains(t, logs.String(), "example webhook created")
	require.Contains(t, logs.String(), "the previous example-webhook.url (another database's example, or a deleted one) is kept")
	require.NotContains(t, logs.String(), exampleToken(string(raw)))
	kept, err := filepath.Glob(file + ".old-*")
	require.NoError(t, err)
	require.Len(t, kept, 1)
	got, err := os.ReadFile(kept[0])
	require.NoError(t, err)
	require.Equal(t, string(raw), string(got), "the other database's URL is kept")
	now, err := os.ReadFile(file)
	require.NoError(t, err)
	require.NotEqual(t, exampleToken(string(raw)), exampleToken(string(now)), "the new example's URL is in the file")
}

// TestInstallExample_ReadOnlyDataDir: a later start on a data directory
// the server cannot write starts; with the URL file already right it is
// ready, on another address it warns that the file could not be written.
// Root writes a 0555 directory anyway: the test then skips; run it as
// another user (go test -c, then run the binary as nobody). (Adapted from
// the review's TestReview_ExampleReadOnlyDataDir.)
func TestInstallExample_ReadOnlyDataDir(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		listen    string
		wantLog   string
		wantReady bool
	}{
		{listen: "127.0.0.1:8080", wantLog: "example webhook ready", wantReady: true},
		{listen: "127.0.0.1:28471", wantLog: "cannot write example-webhook.url again: the URL in it may name another address"},
	} {
		t.Run(tt.listen, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			db := filepath.Join(t.TempDir(), "hookhost.db")
			srv, _, err := exampleStart(t, dir, db, "127.0.0.1:8080")
			require.NoError(t, err)
			require.NoError(t, srv.Close())
			file := filepath.Join(dir, catalog.ExampleURLFile)
			raw, err := os.ReadFile(file)
			require.NoError(t, err)
			require.NoError(t, os.Chmod(dir, 0o555))
			t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
			if f, err := os.CreateTemp(dir, "probe"); err == nil {
				_ = f.Close()
				_ = os.Remove(f.Name())
				t.Skip("this user writes a 0555 directory (root?): run the test binary as another user")
			}
			_, logs, err := exampleStart(t, dir, db, tt.listen)
			require.NoError(t, err, "a read-only data dir stopped the server from starting")
			require.Contains(t, logs.String(), tt.wantLog)
			require.Equal(t, tt.wantReady, strings.Contains(logs.String(), "example webhook ready"), logs.String())
			require.NotContains(t, logs.String(), exampleToken(string(raw)))
			got, err := os.ReadFile(file)
			require.NoError(t, err)
			require.Equal(t, string(raw), string(got))
		})
	}
}
