package catalog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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
// there (the URL of an example in another database) is kept as
// example-webhook.url.old-<time>.
//
// At every later start the file is written again, when its content
// changes, from the webhook its token still opens and the current public
// URL (the listen address may have changed), and "example webhook ready"
// is logged only when the URL in the file is answered by the example.
// The file is the only copy of the token (the store keeps its hash), so
// it is never removed: when its token opens no webhook (the webhook was
// deleted, its token rotated and the overlap is over, the file edited, or
// the database is another one) or it holds no URL, the log says so and how
// to get a URL back. A data directory the server cannot write is only
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
	old, err := keepExampleURL(urlFile, time.Now())
	if err != nil {
		return err
	}
	if old != "" {
		c.log.Warn("example webhook created in a database that had none: the previous "+ExampleURLFile+
			" (another database's example, or a deleted one) is kept", "kept_as", old)
	}
	if err := writeExampleURL(urlFile, c.WebhookURL(tok)); err != nil {
		return err
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
			return err
		}
		problem = "holds a token no webhook of this database opens (the webhook was deleted, its token was rotated " +
			"and the overlap is over, the file was edited, or the server uses another database); the file is left as it is"
	}
	ids, err := c.exampleWebhooks(ctx)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		c.log.Warn("example webhook was deleted and is not created again: "+ExampleURLFile+" "+problem,
			"url_file", urlFile, "create_it_again", exampleRecreate)
		return nil
	}
	c.log.Warn("example webhook's URL is unknown: "+ExampleURLFile+" "+problem+
		" (tokens are stored only as hashes; a new token is printed once, by the rotate command: put its URL in the file)",
		"url_file", urlFile, "webhooks", strings.Join(ids, ","), "new_url", "hookhost webhook rotate "+ids[0])
	return nil
}

// exampleWebhooks returns the IDs of the webhooks whose event KATA calls
// the example automation.
func (c *Catalog) exampleWebhooks(ctx context.Context) ([]string, error) {
	hooks, err := c.st.ListWebhooks(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, w := range hooks {
		if slices.Contains(c.eventAutomations(w), exampleAutomation) {
			ids = append(ids, w.ID)
		}
	}
	return ids, nil
}

// eventAutomations returns the automations w's event KATA calls, none
// when it does not compile.
func (c *Catalog) eventAutomations(w *store.Webhook) []string {
	ev, err := c.CompileEvent(w.EventKATA)
	if err != nil {
		return nil
	}
	return ev.Automations()
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
	if autos := c.eventAutomations(w); !slices.Equal(autos, []string{exampleAutomation}) {
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

// readExampleURL returns the content of urlFile and the token of the
// webhook URL in it, or a problem saying why there is none: the file is
// missing, cannot be read or holds no webhook URL. It is tolerant of what
// a user may do to a URL: surrounding space, a query, a fragment, a
// trailing '/'.
func readExampleURL(urlFile string) (content, tok, problem string) {
	raw, err := os.ReadFile(urlFile)
	if errors.Is(err, os.ErrNotExist) {
		return "", "", "is missing"
	}
	if err != nil {
		return "", "", "cannot be read (" + err.Error() + "); the file is left as it is"
	}
	content = string(raw)
	_, tok, ok := strings.Cut(strings.TrimSpace(content), "/webhooks/")
	if i := strings.IndexAny(tok, "?#/ \t\r\n"); i >= 0 {
		tok = tok[:i]
	}
	if !ok || tok == "" {
		return content, "", "is unreadable: it holds no webhook URL (<public URL>/webhooks/<token>); the file is left as it is"
	}
	return content, tok, ""
}

// keepExampleURL keeps an existing urlFile, before a new example's URL
// replaces it, as urlFile.old-<now> (hard-linked, so the file itself is
// then replaced in one step; moved where there are no hard links) and
// returns that name, "" when there is no file.
func keepExampleURL(urlFile string, now time.Time) (string, error) {
	if _, err := os.Lstat(urlFile); errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	base := urlFile + ".old-" + now.UTC().Format("20060102T150405Z")
	for i := 1; ; i++ {
		name := base
		if i > 1 {
			name = fmt.Sprintf("%s-%d", base, i)
		}
		err := os.Link(urlFile, name)
		if err != nil && !errors.Is(err, os.ErrExist) {
			// A file system without hard links: move it (name is new).
			if _, serr := os.Lstat(name); errors.Is(serr, os.ErrNotExist) {
				err = os.Rename(urlFile, name)
			}
		}
		if err == nil {
			return name, nil
		}
		if !errors.Is(err, os.ErrExist) || i == 100 {
			return "", fmt.Errorf("keep %s: %w", urlFile, err)
		}
	}
}

// writeExampleURL writes url to urlFile (0600), replacing it in one step.
func writeExampleURL(urlFile, url string) error {
	tmp, err := os.CreateTemp(filepath.Dir(urlFile), ExampleURLFile+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", urlFile, err)
	}
	_, werr := tmp.WriteString(url + "\n")
	if err := errors.Join(werr, tmp.Close()); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", urlFile, err)
	}
	if err := os.Rename(tmp.Name(), urlFile); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", urlFile, err)
	}
	return nil
}
