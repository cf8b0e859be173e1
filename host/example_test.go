package host

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/catalog"
	"github.com/hookhost/hookhost/host/store"
)

// exampleStart starts a server with the example on dir (database in db,
// "" for the default) and returns it with its log.
func exampleStart(t *testing.T, dir, db, listen string) (*Server, *logBuffer, error) {
	t.Helper()
	return exampleStartPublic(t, dir, db, listen, "")
}

// exampleStartPublic is exampleStart with a public URL ("" for the
// default).
func exampleStartPublic(t *testing.T, dir, db, listen, publicURL string) (*Server, *logBuffer, error) {
	t.Helper()
	cfg := testConfig(t)
	logs := &logBuffer{}
	cfg.DataDir, cfg.Listen, cfg.Example, cfg.PublicURL = dir, listen, true, publicURL
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

// installedExample is a data directory and a database where a first start
// on 127.0.0.1:8080 installed the example (its server closed), with the
// example's URL file and what it holds.
func installedExample(t *testing.T) (dir, db, file string, url []byte) {
	t.Helper()
	dir, db, srv := firstExampleStart(t)
	require.NoError(t, srv.Close())
	file = filepath.Join(dir, catalog.ExampleURLFile)
	url, err := os.ReadFile(file)
	require.NoError(t, err)
	return dir, db, file, url
}

// firstExampleStart is a first start on 127.0.0.1:8080 in a new data
// directory and database, its server left running.
func firstExampleStart(t *testing.T) (dir, db string, srv *Server) {
	t.Helper()
	dir, db = t.TempDir(), filepath.Join(t.TempDir(), "hookhost.db")
	srv, _, err := exampleStart(t, dir, db, "127.0.0.1:8080")
	require.NoError(t, err)
	return dir, db, srv
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
	got, err := os.ReadFile(file + ".old")
	require.NoError(t, err)
	require.Equal(t, string(raw), string(got), "the other database's URL is kept")
	now, err := os.ReadFile(file)
	require.NoError(t, err)
	require.NotEqual(t, exampleToken(string(raw)), exampleToken(string(now)), "the new example's URL is in the file")
}

// skipIfWritable skips t when this user writes the 0555 directory dir
// (root does).
func skipIfWritable(t *testing.T, dir string) {
	t.Helper()
	if f, err := os.CreateTemp(dir, "probe"); err == nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		t.Skip("this user writes a 0555 directory (root?): run the test binary as another user")
	}
}

// TestInstallExample_ReadOnlyDataDir: a later start on a data directory
// the server cannot write starts; with the URL file already right it is
// ready, on another address the file is written in place when it can be,
// and a warning says it could not be written when it cannot.
// Root writes a 0555 directory anyway: the test then skips; run it as
// another user (go test -c, then run the binary as nobody). (Adapted from
// the review's TestReview_ExampleReadOnlyDataDir.)
func TestInstallExample_ReadOnlyDataDir(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		listen    string
		fileMode  os.FileMode
		wantLog   string
		wantReady bool
		wantURL   string // the file's URL base after the start; "" for unchanged
	}{
		{name: "SameAddress", listen: "127.0.0.1:8080", fileMode: 0o600, wantLog: "example webhook ready", wantReady: true},
		{name: "WritableFileIsWrittenInPlace", listen: "127.0.0.1:28471", fileMode: 0o600,
			wantLog: "example webhook ready", wantReady: true, wantURL: "http://127.0.0.1:28471/webhooks/"},
		{name: "ReadOnlyFileIsAWarning", listen: "127.0.0.1:28471", fileMode: 0o400,
			wantLog: "cannot write example-webhook.url again: the URL in it may name another address"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir, db, file, raw := installedExample(t)
			require.NoError(t, os.Chmod(file, tt.fileMode))
			require.NoError(t, os.Chmod(dir, 0o555))
			t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
			skipIfWritable(t, dir)
			_, logs, err := exampleStart(t, dir, db, tt.listen)
			require.NoError(t, err, "a read-only data dir stopped the server from starting")
			require.Contains(t, logs.String(), tt.wantLog)
			require.Equal(t, tt.wantReady, strings.Contains(logs.String(), "example webhook ready"), logs.String())
			require.NotContains(t, logs.String(), exampleToken(string(raw)))
			got, err := os.ReadFile(file)
			require.NoError(t, err)
			if tt.wantURL == "" {
				require.Equal(t, string(raw), string(got))
				return
			}
			require.Equal(t, tt.wantURL+exampleToken(string(raw))+"\n", string(got))
		})
	}
}

// TestInstallExample_FirstStartReadOnlyDataDir: the first start on a new
// database, in a data directory the server cannot write holding a URL
// file it can, starts (as before the old file was kept): the old file
// cannot be kept, the new URL is written in place and a warning says so.
// Skips as root, as TestInstallExample_ReadOnlyDataDir. (Adopted from
// the review's TestRevex_FirstStartReadOnlyDirWritableFile.)
func TestInstallExample_FirstStartReadOnlyDataDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv, _, err := exampleStart(t, dir, filepath.Join(t.TempDir(), "a.db"), "127.0.0.1:8080")
	require.NoError(t, err)
	require.NoError(t, srv.Close())
	file := filepath.Join(dir, catalog.ExampleURLFile)
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o555))
	t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
	skipIfWritable(t, dir)
	_, logs, err := exampleStart(t, dir, filepath.Join(t.TempDir(), "b.db"), "127.0.0.1:8080")
	require.NoError(t, err, "a read-only data dir stopped the first start on a new database")
	require.Contains(t, logs.String(), "example webhook created")
	require.Contains(t, logs.String(), "cannot be kept and is replaced")
	got, err := os.ReadFile(file)
	require.NoError(t, err)
	require.NotEqual(t, exampleToken(string(raw)), exampleToken(string(got)), "the new example's URL is in the file")
	require.NoFileExists(t, file+".old")
}

// TestInstallExample_OneOldFileAtMost: starts on new databases (an
// ephemeral database, CI) each replace the URL file; only the last file
// replaced is kept, as example-webhook.url.old, and nothing else is left
// next to it. (Adopted from the review's TestRevex_OldFilesAreBounded.)
func TestInstallExample_OneOldFileAtMost(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, catalog.ExampleURLFile)
	var previous string
	for i := range 4 {
		srv, logs, err := exampleStart(t, dir, filepath.Join(t.TempDir(), "h.db"), "127.0.0.1:8080")
		require.NoError(t, err)
		require.NoError(t, srv.Close())
		require.Contains(t, logs.String(), "example webhook created")
		left, err := filepath.Glob(file + ".*")
		require.NoError(t, err)
		if i == 0 {
			require.Empty(t, left)
		} else {
			require.Equal(t, []string{file + ".old"}, left, "start %d", i)
			kept, err := os.ReadFile(file + ".old")
			require.NoError(t, err)
			require.Equal(t, previous, string(kept), "start %d keeps the file it replaced", i)
			require.NotContains(t, logs.String(), exampleToken(previous))
		}
		raw, err := os.ReadFile(file)
		require.NoError(t, err)
		previous = string(raw)
	}
}

// TestInstallExample_PublicURLPathHoldingWebhooks: a public URL whose path
// holds "/webhooks/" (a proxy mounting the server there) is read back:
// the token follows the last "/webhooks/". (Adopted from the review's
// TestRevex_PublicURLPathHoldingWebhooks.)
func TestInstallExample_PublicURLPathHoldingWebhooks(t *testing.T) {
	t.Parallel()
	for _, pub := range []string{"https://gw.example.test/webhooks/hookhost", "https://gw.example.test/a/webhooks"} {
		t.Run(pub, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			db := filepath.Join(t.TempDir(), "hookhost.db")
			srv, logs, err := exampleStartPublic(t, dir, db, "127.0.0.1:8080", pub)
			require.NoError(t, err)
			require.Contains(t, logs.String(), "example webhook created")
			require.NoError(t, srv.Close())
			_, logs, err = exampleStartPublic(t, dir, db, "127.0.0.1:8080", pub)
			require.NoError(t, err)
			require.Contains(t, logs.String(), "example webhook ready", logs.String())
		})
	}
}

// TestInstallExample_NotARegularFile: a URL file that is a FIFO or a
// symbolic link is not opened, one larger than a URL can be is read only
// in part; start-up goes on, the file is left and the log says why.
// (Adopted from the review's TestRevex_FIFOAtURLFileHangsStart.)
func TestInstallExample_NotARegularFile(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		make    func(t *testing.T, file, url string)
		wantLog string
	}{
		{name: "FIFO", make: func(t *testing.T, file, _ string) {
			require.NoError(t, syscall.Mkfifo(file, 0o600))
		}, wantLog: "example-webhook.url cannot be read: it is not a regular file"},
		{name: "SymlinkToDevZero", make: func(t *testing.T, file, _ string) {
			require.NoError(t, os.Symlink("/dev/zero", file))
		}, wantLog: "example-webhook.url cannot be read: it is not a regular file"},
		{name: "SymlinkToTheURL", make: func(t *testing.T, file, url string) {
			target := filepath.Join(t.TempDir(), "url")
			require.NoError(t, os.WriteFile(target, []byte(url), 0o600))
			require.NoError(t, os.Symlink(target, file))
		}, wantLog: "example-webhook.url cannot be read: it is not a regular file"},
		{name: "Large", make: func(t *testing.T, file, url string) {
			require.NoError(t, os.WriteFile(file, []byte(strings.Repeat(" ", 1<<20)+url), 0o600))
		}, wantLog: "example-webhook.url is unreadable: it is larger than"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir, db, file, url := installedExample(t)
			require.NoError(t, os.Remove(file))
			tt.make(t, file, string(url))
			before, err := os.Lstat(file)
			require.NoError(t, err)

			type started struct {
				logs *logBuffer
				err  error
			}
			done := make(chan started, 1)
			go func() {
				_, logs, err := exampleStart(t, dir, db, "127.0.0.1:8080")
				done <- started{logs, err}
			}()
			var got started
			select {
			case got = <-done:
			case <-time.After(time.Minute): // a guard against a hang, not a measurement
				if f, err := os.OpenFile(file, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					_ = f.Close() // lets a blocked reader of a FIFO go on
				}
				t.Fatal("start-up did not end")
			}
			require.NoError(t, got.err)
			require.Contains(t, got.logs.String(), tt.wantLog)
			require.NotContains(t, got.logs.String(), "example webhook ready")
			after, err := os.Lstat(file)
			require.NoError(t, err)
			require.True(t, os.SameFile(before, after), "the file was replaced")
		})
	}
}

// TestInstallExample_LogsAFewIDs: when the URL file is missing and many
// webhooks call the example, the log lists the first few and a count,
// not every ID.
func TestInstallExample_LogsAFewIDs(t *testing.T) {
	t.Parallel()
	dir, db, srv := firstExampleStart(t)
	ctx := context.Background()
	for i := range 6 {
		_, err := srv.catalog.CreateWebhook(ctx, &store.Webhook{Name: fmt.Sprint("copy", i), Enabled: true,
			EventKATA: "automation/webhook:\n  uri: cerb:automation:example.webhook.respond\n"})
		require.NoError(t, err)
	}
	hooks, err := srv.catalog.ListWebhooks(ctx)
	require.NoError(t, err)
	require.Len(t, hooks, 7)
	require.NoError(t, srv.Close())
	require.NoError(t, os.Remove(filepath.Join(dir, catalog.ExampleURLFile)))
	_, logs, err := exampleStart(t, dir, db, "127.0.0.1:8080")
	require.NoError(t, err)
	require.Contains(t, logs.String(), "example webhook's URL is unknown")
	require.Contains(t, logs.String(), "and 4 more")
	require.Contains(t, logs.String(), "webhook_count=7")
	listed := 0
	for _, w := range hooks {
		if strings.Contains(logs.String(), w.ID) {
			listed++
		}
	}
	require.Equal(t, 3, listed, "%s", logs.String())
}

// TestInstallExample_KATAThatDoesNotCompileIsNoDeletion: with the example
// webhook gone but a webhook whose event KATA does not compile, whether
// the example was deleted is unknown, and the log says so.
func TestInstallExample_KATAThatDoesNotCompileIsNoDeletion(t *testing.T) {
	t.Parallel()
	dir, db, srv := firstExampleStart(t)
	ctx := context.Background()
	hooks, err := srv.catalog.ListWebhooks(ctx)
	require.NoError(t, err)
	require.Len(t, hooks, 1)
	require.NoError(t, srv.catalog.DeleteWebhook(ctx, hooks[0].ID))
	const broken = "automation/webhook:\n  uri: [\n"
	_, err = srv.catalog.CompileEvent(broken)
	require.Error(t, err)
	require.NoError(t, srv.store.ApplyChanges(ctx, &store.ChangeSet{Actor: store.ActorSystem, Changes: []store.Change{{
		Action: store.ActionCreate, Webhook: &store.Webhook{Name: "broken", Enabled: true,
			TokenHash: catalog.TokenHash(catalog.NewToken()), EventKATA: broken}}}}))
	require.NoError(t, srv.Close())
	_, logs, err := exampleStart(t, dir, db, "127.0.0.1:8080")
	require.NoError(t, err)
	require.Contains(t, logs.String(), "example webhook cannot be checked")
	require.Contains(t, logs.String(), "webhooks_not_compiling=1")
	require.NotContains(t, logs.String(), "example webhook was deleted and is not created again")
}
