package catalog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/packages/library"
)

// ExampleURLFile is the file in the data directory that holds the example
// webhook's URL (see InstallExample).
const ExampleURLFile = "example-webhook.url"

// exampleAutomation is the automation of the built-in webhook-example
// package that the example webhook calls.
const exampleAutomation = "example.webhook.respond"

// exampleEventKATA is the event KATA of the example webhook.
const exampleEventKATA = `automation/webhook:
  uri: cerb:automation:` + exampleAutomation + `
`

// exampleRecreate is the command that creates the example webhook again
// (its URL is printed once).
const exampleRecreate = `printf 'automation/webhook:\n  uri: cerb:automation:` + exampleAutomation +
	`\n' | hookhost webhook create --name "Webhook Example" --event-file -`

// InstallExample imports the built-in webhook-example package and creates
// its webhook, once; the URL (which holds the token) is written to
// <dataDir>/example-webhook.url (0600), never to the log. A file already
// there (the URL of an example in another database) is kept, when the
// directory lets it, as example-webhook.url.old, which holds only the
// last file replaced.
//
// At every later start the file is written again, when its content
// changes, from the webhook its token still opens and the current public
// URL (the listen address may have changed), and "example webhook ready"
// is logged only when the URL in the file is answered by the example.
// The file is the only copy of the token (the store keeps its hash), so
// it is never removed: when its token opens no webhook (the webhook was
// deleted, its token rotated and the overlap is over, the file edited, or
// the database is another one) or it holds no URL, the log says so and how
// to get a URL back. A data directory the server cannot write, a file that
// is not a regular one and a database error of these checks are only
// warned about. A deleted example webhook is not created again.
func (c *Catalog) InstallExample(ctx context.Context, dataDir string) error {
	urlFile := filepath.Join(dataDir, ExampleURLFile)
	if _, err := c.st.GetAutomation(ctx, exampleAutomation); err == nil {
		return c.refreshExample(ctx, urlFile, time.Now())
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	raw, err := library.Get("webhook-example")
	if err != nil {
		return err
	}
	if _, err := c.Import(ctx, raw); err != nil {
		return err
	}
	tok := NewToken()
	w := &store.Webhook{Name: "Webhook Example", EventKATA: exampleEventKATA, Enabled: true, TokenHash: TokenHash(tok)}
	if err := c.apply(ctx, store.Change{Action: store.ActionCreate, Webhook: w}); err != nil {
		return err
	}
	if old, err := keepExampleURL(urlFile); err != nil {
		c.log.Warn("example webhook created in a database that had none: the previous "+ExampleURLFile+
			" (another database's example, or a deleted one) cannot be kept and is replaced", "url_file", urlFile, "error", err)
	} else if old != "" {
		c.log.Warn("example webhook created in a database that had none: the previous "+ExampleURLFile+
			" (another database's example, or a deleted one) is kept", "kept_as", old)
	}
	if err := writeExampleURL(urlFile, c.WebhookURL(tok)); err != nil {
		// The webhook exists; only its URL is lost (the token is printed
		// nowhere else): the server starts, and the log says how to get a
		// URL.
		c.log.Warn("example webhook created, but its URL cannot be written to "+ExampleURLFile+
			"; rotate its token to get a URL", "url_file", urlFile, "error", err, "new_url", "hookhost webhook rotate "+w.ID)
		return nil
	}
	c.log.Info("example webhook created", "url_file", urlFile,
		"try", `curl -i -X POST -H "X-CustomHeader: true" "$(cat `+urlFile+`)?key=value"`)
	return nil
}

// refreshExample writes the URL file of an installed example again from
// the webhook its token opens at now, when that changes its content, and
// logs what a request to the URL in the file gets. It never removes the
// file, and a file it cannot read or write is a warning.
func (c *Catalog) refreshExample(ctx context.Context, urlFile string, now time.Time) error {
	content, tok, problem := readExampleURL(urlFile)
	if problem == "" {
		w, err := c.st.GetWebhookByTokenHash(ctx, TokenHash(tok), now)
		switch {
		case err == nil:
			written := true
			if url := c.WebhookURL(tok); content != url+"\n" {
				if err := writeExampleURL(urlFile, url); err != nil {
					written = false
					c.log.Warn("cannot write "+ExampleURLFile+" again: the URL in it may name another address "+
						"(the webhook answers at the public URL, followed by the /webhooks/ part of the URL in the file)",
						"url_file", urlFile, "public_url", c.cfg.PublicURL, "error", err)
				}
			}
			c.logExample(w, tok, urlFile, written, now)
			return nil
		case !errors.Is(err, store.ErrNotFound):
			c.log.Warn("example webhook cannot be checked: looking up the token of "+ExampleURLFile+" failed",
				"url_file", urlFile, "error", err)
			return nil
		}
		problem = "holds a token no webhook of this database opens (the webhook was deleted, its token was rotated " +
			"and the overlap is over, the file was edited, or the server uses another database); the file is left as it is"
	}
	ids, broken, err := c.exampleWebhooks(ctx)
	if err != nil {
		c.log.Warn("example webhook cannot be checked: listing the webhooks failed; "+ExampleURLFile+" "+problem,
			"url_file", urlFile, "error", err)
		return nil
	}
	if len(ids) == 0 && broken > 0 {
		c.log.Warn("example webhook cannot be checked: "+ExampleURLFile+" "+problem+
			"; the event KATA of some webhooks does not compile, so whether one calls the example is unknown",
			"url_file", urlFile, "webhooks_not_compiling", broken)
		return nil
	}
	if len(ids) == 0 {
		c.log.Warn("example webhook was deleted and is not created again: "+ExampleURLFile+" "+problem,
			"url_file", urlFile, "create_it_again", exampleRecreate)
		return nil
	}
	c.log.Warn("example webhook's URL is unknown: "+ExampleURLFile+" "+problem+
		" (tokens are stored only as hashes; a new token is printed once, by the rotate command: put its URL in the file)",
		"url_file", urlFile, "webhooks", listIDs(ids), "webhook_count", len(ids), "new_url", "hookhost webhook rotate "+ids[0])
	return nil
}

// logIDs is how many webhook IDs a log line lists at most.
const logIDs = 3

// listIDs joins the first logIDs of ids, and says how many more there are.
func listIDs(ids []string) string {
	if len(ids) <= logIDs {
		return strings.Join(ids, ",")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(ids[:logIDs], ","), len(ids)-logIDs)
}

// exampleWebhooks returns the IDs of the webhooks whose event KATA calls
// the example automation, and how many webhooks have an event KATA that
// does not compile (whether those call it is unknown).
func (c *Catalog) exampleWebhooks(ctx context.Context) (ids []string, broken int, err error) {
	hooks, err := c.st.ListWebhooks(ctx)
	if err != nil {
		return nil, 0, err
	}
	for _, w := range hooks {
		autos, err := c.eventAutomations(w)
		if err != nil {
			broken++
			continue
		}
		if slices.Contains(autos, exampleAutomation) {
			ids = append(ids, w.ID)
		}
	}
	return ids, broken, nil
}

// eventAutomations returns the automations w's event KATA calls.
func (c *Catalog) eventAutomations(w *store.Webhook) ([]string, error) {
	ev, err := c.CompileEvent(w.EventKATA)
	if err != nil {
		return nil, err
	}
	return ev.Automations(), nil
}

// logExample logs whether the example webhook w answers the URL in
// urlFile (which holds tok) at now; written is false when the file could
// not be written with the current public URL. Every reason it does not
// is logged; "example webhook ready" only when there is none.
func (c *Catalog) logExample(w *store.Webhook, tok, urlFile string, written bool, now time.Time) {
	ready := written
	if !bytes.Equal(w.TokenHash, TokenHash(tok)) {
		// Only a previous token in its overlap is found otherwise.
		ready = false
		c.log.Warn("example webhook's token was rotated: the URL in "+ExampleURLFile+" works until the old token expires",
			"url_file", urlFile, "webhook", w.ID, "expires_at", w.PrevTokenExpiresAt)
	}
	if !w.Enabled {
		ready = false
		c.log.Warn("example webhook is disabled: its URL answers 400", "url_file", urlFile, "webhook", w.ID,
			"enable_it", "hookhost webhook enable "+w.ID)
	}
	if w.ExpiresAt != nil && !now.Before(*w.ExpiresAt) {
		ready = false
		c.log.Warn("example webhook has expired: its URL answers 400", "url_file", urlFile, "webhook", w.ID,
			"expired_at", w.ExpiresAt)
	}
	if autos, err := c.eventAutomations(w); err != nil {
		ready = false
		c.log.Warn("example webhook's event KATA does not compile: its URL does not run the example",
			"url_file", urlFile, "webhook", w.ID, "error", err)
	} else if !slices.Equal(autos, []string{exampleAutomation}) {
		ready = false
		c.log.Warn("example webhook no longer calls only the example automation "+exampleAutomation+
			" (its event KATA was changed): its URL answers what that KATA does", "url_file", urlFile, "webhook", w.ID,
			"automations", strings.Join(autos, ","))
	}
	if ready {
		c.log.Info("example webhook ready", "url_file", urlFile,
			"try", `curl -i -X POST -H "X-CustomHeader: true" "$(cat `+urlFile+`)?key=value"`)
	}
}

// exampleURLMax is the most of the URL file that is read: a URL is far
// shorter.
const exampleURLMax = 4 << 10

// readExampleURL returns the content of urlFile and the token of the
// webhook URL in it, or a problem saying why there is none: the file is
// missing, is not a regular file (a symbolic link, a FIFO: neither is
// opened), cannot be read, is too large or holds no webhook URL. It is
// tolerant of what a user may do to a URL: surrounding space, a query, a
// fragment, a trailing '/'. The token follows the last "/webhooks/" (the
// public URL's path may hold one).
func readExampleURL(urlFile string) (content, tok, problem string) {
	const left = "; the file is left as it is"
	fi, err := os.Lstat(urlFile)
	if errors.Is(err, os.ErrNotExist) {
		return "", "", "is missing"
	}
	if err != nil {
		return "", "", "cannot be read (" + err.Error() + ")" + left
	}
	if !fi.Mode().IsRegular() {
		return "", "", "cannot be read: it is not a regular file (" + fi.Mode().Type().String() + ")" + left
	}
	// Opened without following a link or blocking on a FIFO, and checked
	// again once open: the path may have changed since Lstat.
	f, err := openRegular(urlFile, os.O_RDONLY)
	if err != nil {
		return "", "", "cannot be read (" + err.Error() + ")" + left
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, exampleURLMax+1))
	if err != nil {
		return "", "", "cannot be read (" + err.Error() + ")" + left
	}
	if len(raw) > exampleURLMax {
		return "", "", fmt.Sprintf("is unreadable: it is larger than %d bytes, no webhook URL is", exampleURLMax) + left
	}
	content = string(raw)
	u := strings.TrimSpace(content)
	if i := strings.IndexAny(u, "?# \t\r\n"); i >= 0 {
		u = u[:i]
	}
	u = strings.TrimRight(u, "/")
	if i := strings.LastIndex(u, "/webhooks/"); i >= 0 {
		tok = u[i+len("/webhooks/"):]
	}
	if tok == "" || strings.Contains(tok, "/") {
		return content, "", "is unreadable: it holds no webhook URL (<public URL>/webhooks/<token>)" + left
	}
	return content, tok, ""
}

// keepExampleURL keeps an existing urlFile, before a new example's URL
// replaces it, as urlFile.old (hard-linked, so the file itself is then
// replaced in one step), replacing the one kept before, and returns that
// name, "" when there is no file to keep.
func keepExampleURL(urlFile string) (string, error) {
	if _, err := os.Lstat(urlFile); errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	old := urlFile + ".old"
	tmp := fmt.Sprintf("%s.%d.tmp", old, time.Now().UnixNano())
	if err := os.Link(urlFile, tmp); err != nil {
		return "", fmt.Errorf("keep %s: %w", urlFile, err)
	}
	if err := os.Rename(tmp, old); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("keep %s: %w", urlFile, err)
	}
	return old, nil
}

// openRegular opens an existing path with flag, without following a
// symbolic link or blocking on a FIFO (openExisting), and only when it is
// a regular file.
func openRegular(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|openExisting, 0)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		_ = f.Close()
		if err == nil {
			err = fmt.Errorf("%s is not a regular file (%s)", path, fi.Mode().Type())
		}
		return nil, err
	}
	return f, nil
}

// writeInPlace writes content over urlFile, an existing regular file (a
// link or a FIFO is refused), made 0600 first; the file is cut to its new
// length only after the write, so that a failed write leaves the old
// content where the new one is shorter or fails.
func writeInPlace(urlFile string, content []byte) error {
	f, err := openRegular(urlFile, os.O_WRONLY)
	if err != nil {
		return err
	}
	_, werr := f.WriteAt(content, 0)
	if werr == nil {
		werr = errors.Join(f.Chmod(0o600), f.Truncate(int64(len(content))), f.Sync())
	}
	return errors.Join(werr, f.Close())
}

// writeExampleURL writes url to urlFile (0600), replacing it in one step,
// or in place when no file can be created in its directory.
func writeExampleURL(urlFile, url string) error {
	tmp, err := os.CreateTemp(filepath.Dir(urlFile), ExampleURLFile+".*")
	if err != nil {
		// A directory the server cannot write may hold a file it can.
		if werr := writeInPlace(urlFile, []byte(url+"\n")); werr != nil {
			return fmt.Errorf("write %s: %w", urlFile, errors.Join(err, werr))
		}
		return nil
	}
	_, werr := tmp.WriteString(url + "\n")
	// Synced before the rename: the file is the token's only copy.
	if err := errors.Join(werr, tmp.Sync(), tmp.Close()); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", urlFile, err)
	}
	if err := os.Rename(tmp.Name(), urlFile); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", urlFile, err)
	}
	return nil
}
