package catalog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
// <dataDir>/example-webhook.url (0600), never to the log.
//
// At every later start the file is written again from the webhook its
// token still opens and the current public URL (the listen address may
// have changed), and "example webhook ready" is logged only when that
// webhook answers. Tokens are stored only as hashes, so a URL whose token
// no webhook has any more (the webhook was deleted, or its token rotated
// and the overlap is over) cannot be written again: the stale file is
// removed and the log says how to get a webhook back. A deleted example
// webhook is not created again.
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
	if err := writeExampleURL(urlFile, c.WebhookURL(tok)); err != nil {
		return err
	}
	c.log.Info("example webhook created", "url_file", urlFile,
		"try", `curl -i -X POST -H "X-CustomHeader: true" "$(cat `+urlFile+`)?key=value"`)
	return nil
}

// refreshExample rewrites the URL file of an installed example from the
// webhook its token opens at now, or removes it when none does, and logs
// what a request to the URL gets.
func (c *Catalog) refreshExample(ctx context.Context, urlFile string, now time.Time) error {
	tok, err := readExampleToken(urlFile)
	if err != nil {
		return err
	}
	if tok != "" {
		w, err := c.st.GetWebhookByTokenHash(ctx, TokenHash(tok), now)
		switch {
		case err == nil:
			if err := writeExampleURL(urlFile, c.WebhookURL(tok)); err != nil {
				return err
			}
			c.logExample(w, tok, urlFile, now)
			return nil
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		// A URL that opens nothing goes: a request to it would get 404.
		if err := os.Remove(urlFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove stale %s: %w", urlFile, err)
		}
	}
	hooks, err := c.st.ListWebhooks(ctx)
	if err != nil {
		return err
	}
	var ids []string
	for _, w := range hooks {
		if strings.Contains(w.EventKATA, "cerb:automation:"+exampleAutomation) {
			ids = append(ids, w.ID)
		}
	}
	why := "is missing"
	if tok != "" {
		why = "held a token no webhook has any more and was removed"
	}
	if len(ids) == 0 {
		c.log.Warn("example webhook was deleted and is not created again: "+ExampleURLFile+" "+why,
			"url_file", urlFile, "create_it_again", exampleRecreate)
		return nil
	}
	c.log.Warn("example webhook's URL is unknown: "+ExampleURLFile+" "+why+
		" (tokens are stored only as hashes; a rotated token is printed once, by the rotate command)",
		"url_file", urlFile, "webhooks", strings.Join(ids, ","), "new_url", "hookhost webhook rotate "+ids[0])
	return nil
}

// logExample logs whether the example webhook w answers its URL (which
// holds tok) at now.
func (c *Catalog) logExample(w *store.Webhook, tok, urlFile string, now time.Time) {
	switch {
	case !bytes.Equal(w.TokenHash, TokenHash(tok)):
		// Only a previous token in its overlap is found otherwise.
		c.log.Warn("example webhook's token was rotated: the URL in "+ExampleURLFile+" works until the old token expires",
			"url_file", urlFile, "webhook", w.ID, "expires_at", w.PrevTokenExpiresAt)
	case !w.Enabled:
		c.log.Warn("example webhook is disabled: its URL answers 400", "url_file", urlFile, "webhook", w.ID,
			"enable_it", "hookhost webhook enable "+w.ID)
	case w.ExpiresAt != nil && !now.Before(*w.ExpiresAt):
		c.log.Warn("example webhook has expired: its URL answers 400", "url_file", urlFile, "webhook", w.ID,
			"expired_at", w.ExpiresAt)
	default:
		c.log.Info("example webhook ready", "url_file", urlFile,
			"try", `curl -i -X POST -H "X-CustomHeader: true" "$(cat `+urlFile+`)?key=value"`)
	}
}

// readExampleToken returns the token of the URL in urlFile, "" when there
// is no such file or it holds no webhook URL.
func readExampleToken(urlFile string) (string, error) {
	raw, err := os.ReadFile(urlFile)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", urlFile, err)
	}
	u := strings.TrimSpace(string(raw))
	i := strings.LastIndex(u, "/webhooks/")
	if i < 0 {
		return "", nil
	}
	return u[i+len("/webhooks/"):], nil
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
