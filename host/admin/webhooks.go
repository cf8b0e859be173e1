package admin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/host/upstream"
	"github.com/hookhost/hookhost/host/views"
)

func (a *Admin) webhookRoutes() []route {
	return []route{
		{fiber.MethodGet, "/webhooks", a.listWebhooks},
		{fiber.MethodPost, "/webhooks", a.createWebhook},
		{fiber.MethodGet, "/webhooks/:id", a.getWebhook},
		{fiber.MethodPatch, "/webhooks/:id", a.patchWebhook},
		{fiber.MethodDelete, "/webhooks/:id", a.deleteWebhook},
		{fiber.MethodPost, "/webhooks/:id/rotate", a.rotateWebhook},
		{fiber.MethodPost, "/webhooks/:id/subscriptions/:block/retry", a.retryUpstream},
	}
}

// createWebhook takes JSON {"name", "event_kata", "enabled", "debug",
// "expires_at"}, or the raw event KATA as the body with ?name= (and
// ?enabled=, ?debug=, ?expires_at=). The body is JSON when the content type
// says so (application/json, or any +json type); a text/plain body is
// KATA; any other (curl -d's application/x-www-form-urlencoded, or none)
// is JSON when it is a JSON object and KATA otherwise.
func (a *Admin) createWebhook(c *fiber.Ctx) error {
	var in api.WebhookInput
	form := false
	if kataBody(c) {
		var err error
		if in, err = webhookFromQuery(c); err != nil {
			return err
		}
		form = mediaType(c.Get(fiber.HeaderContentType)) == fiber.MIMEApplicationForm
	} else if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if err := checkExpiry(in.ExpiresAt, time.Now()); err != nil {
		return err
	}
	w := &store.Webhook{Name: in.Name, EventKATA: in.EventKATA, Enabled: in.Enabled == nil || *in.Enabled,
		Debug: in.Debug, ExpiresAt: in.ExpiresAt}
	tok, err := a.cat.CreateWebhook(c.UserContext(), w)
	if err != nil {
		return formHint(err, form, in.EventKATA)
	}
	v := views.Webhook(w, time.Now())
	v.Token, v.URL = tok, a.cat.WebhookURL(tok)
	a.syncUpstream(c.UserContext(), w, v.URL, false)
	c.Location("/api/v1/webhooks/" + w.ID)
	return c.Status(fiber.StatusCreated).JSON(v)
}

// kataBody reports whether POST /webhooks's body is the raw event KATA
// rather than JSON.
func kataBody(c *fiber.Ctx) bool {
	switch mt := mediaType(c.Get(fiber.HeaderContentType)); {
	case mt == fiber.MIMEApplicationJSON || strings.HasSuffix(mt, "+json"):
		return false
	case mt == fiber.MIMETextPlain:
		return true
	}
	return !looksLikeJSONObject(c.Body())
}

// looksLikeJSONObject reports whether b starts as a JSON object does: `{`
// then `"` or `}`. Event KATA never does (a template starts `{%`, `{{` or
// `{#`).
func looksLikeJSONObject(b []byte) bool {
	const space = " \t\r\n"
	b = bytes.TrimLeft(b, space)
	if len(b) == 0 || b[0] != '{' {
		return false
	}
	b = bytes.TrimLeft(b[1:], space)
	return len(b) > 0 && (b[0] == '"' || b[0] == '}')
}

// webhookFromQuery reads a KATA-bodied POST /webhooks: the body is the
// event KATA, the other fields come from the query.
func webhookFromQuery(c *fiber.Ctx) (api.WebhookInput, error) {
	in := api.WebhookInput{Name: c.Query("name"), EventKATA: string(c.Body())}
	var err error
	if in.Enabled, err = queryBool(c, "enabled"); err != nil {
		return in, err
	}
	debug, err := queryBool(c, "debug")
	if err != nil {
		return in, err
	}
	in.Debug = debug != nil && *debug
	if v := c.Query("expires_at"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return in, api.InvalidField("expires_at", fmt.Sprintf("?expires_at= must be an RFC 3339 time, e.g. ?expires_at=%s (got %q)", exampleTime, v))
		}
		in.ExpiresAt = &t
	}
	return in, nil
}

// queryBool reads ?name=true|false (nil when absent).
func queryBool(c *fiber.Ctx, name string) (*bool, error) {
	v := c.Query(name)
	if v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil, api.InvalidField(name, fmt.Sprintf("?%s= must be true or false, e.g. ?%s=false (got %q)", name, name, v))
	}
	return &b, nil
}

// formHint adds advice to a refused event KATA that came as curl -d's
// form data on one line: curl -d drops the file's line breaks.
func formHint(err error, form bool, kata string) error {
	var p *api.Problem
	if !form || strings.Contains(kata, "\n") || !errors.As(err, &p) || p.Status != http.StatusBadRequest {
		return err
	}
	hinted := *p
	hinted.Errors = append(slices.Clone(p.Errors), api.ProblemItem{Field: "event_kata", Message: "the KATA came as " +
		fiber.MIMEApplicationForm + " on one line: curl -d drops line breaks; send the file with " +
		"curl --data-binary @event.kata -H 'Content-Type: text/plain'"})
	return &hinted
}

// checkExpiry refuses an expiry that is not in the future.
func checkExpiry(exp *time.Time, now time.Time) error {
	if exp == nil || exp.After(now) {
		return nil
	}
	return api.InvalidField("expires_at", fmt.Sprintf("expires_at %s is not in the future: give a later time, or leave it out (null) for no expiry",
		exp.UTC().Format(time.RFC3339)))
}

// mediaType is a Content-Type without its parameters, in lower case.
func mediaType(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// statsBuckets is how many buckets ?stats= divides its window into.
const statsBuckets = 24

// listWebhooks lists the webhooks in creation order: all of them, or with
// ?limit= a page (?cursor= continues, ?q= searches names, ?ids=a,b,c keeps
// those ids: the console names a page of records' webhooks in one call);
// ?stats=24h adds
// each one's requests over that window (in 24 buckets) and its last answer.
func (a *Admin) listWebhooks(c *fiber.Ctx) error {
	ctx := c.UserContext()
	var ws []*store.Webhook
	var err error
	paged := c.Query("limit") != "" || c.Query("cursor") != "" || c.Query("q") != "" || c.Query("ids") != ""
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	var ids []string
	if v := c.Query("ids"); v != "" {
		ids = strings.Split(v, ",")
		if len(ids) > 500 {
			return api.InvalidField("ids", fmt.Sprintf("ids names at most 500 webhooks (got %d)", len(ids)))
		}
	}
	if paged {
		if limit == 0 {
			limit = max(50, len(ids))
		}
		ws, err = a.cat.Store().ListWebhooksPage(ctx, store.WebhookPage{Limit: limit, AfterID: c.Query("cursor"), Query: c.Query("q"), IDs: ids})
	} else {
		ws, err = a.cat.ListWebhooks(ctx)
	}
	if err != nil {
		return err
	}
	now := time.Now()
	out := api.WebhookList{Webhooks: make([]api.Webhook, 0, len(ws))}
	for _, w := range ws {
		out.Webhooks = append(out.Webhooks, views.Webhook(w, now))
	}
	if paged && len(ws) == limit {
		out.NextCursor = ws[len(ws)-1].ID
	}
	if window := c.Query("stats"); window != "" {
		d, err := time.ParseDuration(window)
		if err != nil || d < time.Minute || d > 31*24*time.Hour {
			return api.InvalidField("stats", fmt.Sprintf("stats must be a window from 1m to 744h, e.g. stats=24h (got %q)", window))
		}
		if len(ws) > 500 {
			return api.InvalidField("stats", "stats are given for pages of at most 500 webhooks: add ?limit=")
		}
		if err := a.addStats(ctx, out.Webhooks, now.Add(-d), d/statsBuckets); err != nil {
			return err
		}
	}
	return c.JSON(out)
}

// addStats fills in the stats of ws: their records since since, in
// statsBuckets buckets of width.
func (a *Admin) addStats(ctx context.Context, ws []api.Webhook, since time.Time, width time.Duration) error {
	ids := make([]string, len(ws))
	for i, w := range ws {
		ids[i] = w.ID
	}
	st, err := a.cat.Store().WebhookStats(ctx, store.StatsQuery{IDs: ids, Since: since, Width: width, Buckets: statsBuckets})
	if err != nil {
		return err
	}
	for i := range ws {
		s := st[ws[i].ID]
		if s == nil {
			continue
		}
		v := &api.WebhookStats{Since: since.UTC(), BucketSecs: int64(width.Seconds()), Requests: s.Requests, Errors: s.Errors,
			LastStatus: s.LastStatus}
		for j := range s.Requests {
			v.Total += s.Requests[j]
			v.ErrorTotal += s.Errors[j]
		}
		if !s.LastAt.IsZero() {
			t := s.LastAt
			v.LastAt = &t
		}
		ws[i].Stats = v
	}
	return nil
}

func (a *Admin) getWebhook(c *fiber.Ctx) error {
	w, err := a.cat.GetWebhook(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	v := views.Webhook(w, time.Now())
	if a.cfg.Upstream != nil {
		subs, err := a.cfg.Upstream.List(c.UserContext(), w.ID)
		if err != nil {
			return err
		}
		for _, s := range subs {
			v.Subscriptions = append(v.Subscriptions, api.UpstreamSubscription{Block: s.Block, State: s.State, Current: s.Current,
				Location: s.Location, LastStatus: s.LastStatus, LastAnswer: s.LastAnswer, LastError: s.LastError,
				Attempts: s.Attempts, UpdatedAt: s.UpdatedAt})
		}
	}
	return c.JSON(v)
}

// retryUpstream subscribes a subscribe/<block>: block anew when its
// subscription failed, and answers the webhook as GET does.
func (a *Admin) retryUpstream(c *fiber.Ctx) error {
	if a.cfg.Upstream == nil {
		return api.NewProblem(http.StatusConflict, "upstream subscriptions are not running on this server (no job queue)")
	}
	w, err := a.cat.GetWebhook(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	switch err := a.cfg.Upstream.Retry(c.UserContext(), w, c.Params("block")); {
	case errors.Is(err, upstream.ErrNoBlock):
		return api.Errorf(http.StatusNotFound, "webhook %q has no subscribe/%s: block", w.ID, c.Params("block"))
	case errors.Is(err, upstream.ErrChanged):
		return api.Errorf(http.StatusConflict, "subscribe/%s of webhook %q changed meanwhile: look again", c.Params("block"), w.ID)
	case errors.Is(err, upstream.ErrNotFailed):
		return api.Errorf(http.StatusConflict, "subscribe/%s of webhook %q has not failed: only a failed subscription is retried", c.Params("block"), w.ID)
	case err != nil:
		return err
	}
	return a.getWebhook(c)
}

// syncUpstream brings a webhook's upstream subscriptions in line with its
// event KATA after a change (webhookURL: its URL when the change made it
// known; deleted: taken back). Its failures never fail the change: they
// show on the webhook.
func (a *Admin) syncUpstream(ctx context.Context, w *store.Webhook, webhookURL string, deleted bool) {
	if a.cfg.Upstream != nil {
		a.cfg.Upstream.Sync(context.WithoutCancel(ctx), w, webhookURL, deleted)
	}
}

// patchWebhook changes the fields present in the JSON body; "expires_at":
// null clears the expiry.
func (a *Admin) patchWebhook(c *fiber.Ctx) error {
	w, err := a.cat.GetWebhook(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	var in api.WebhookPatch
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Name != nil {
		w.Name = *in.Name
	}
	if in.EventKATA != nil {
		w.EventKATA = *in.EventKATA
	}
	if in.Enabled != nil {
		w.Enabled = *in.Enabled
	}
	if in.Debug != nil {
		w.Debug = *in.Debug
	}
	if len(in.ExpiresAt) > 0 {
		var exp *time.Time
		if err := decodeValue("expires_at", in.ExpiresAt, &exp); err != nil {
			return err
		}
		if err := checkExpiry(exp, time.Now()); err != nil {
			return err
		}
		w.ExpiresAt = exp
	}
	if err := a.cat.UpdateWebhook(c.UserContext(), w, in.EventKATA != nil); err != nil {
		return err
	}
	if in.EventKATA != nil {
		a.syncUpstream(c.UserContext(), w, "", false)
	}
	return c.JSON(views.Webhook(w, time.Now()))
}

func (a *Admin) deleteWebhook(c *fiber.Ctx) error {
	if err := a.cat.DeleteWebhook(c.UserContext(), c.Params("id")); err != nil {
		return err
	}
	a.syncUpstream(c.UserContext(), &store.Webhook{ID: c.Params("id")}, "", true)
	return c.SendStatus(fiber.StatusNoContent)
}

// rotateWebhook gives the webhook a new token. The old one keeps working
// for ?overlap= (a Go duration such as 1h; default from the config; 0 ends
// it at once).
func (a *Admin) rotateWebhook(c *fiber.Ctx) error {
	overlap := time.Duration(-1)
	if o := c.Query("overlap"); o != "" {
		d, err := time.ParseDuration(o)
		if err != nil || d < 0 {
			return api.NewProblem(http.StatusBadRequest, fmt.Sprintf("overlap %q is not a duration such as 30m or 24h", o))
		}
		overlap = d
	}
	w, tok, err := a.cat.RotateWebhook(c.UserContext(), c.Params("id"), overlap)
	if err != nil {
		return err
	}
	v := views.Webhook(w, time.Now())
	v.Token, v.URL = tok, a.cat.WebhookURL(tok)
	a.syncUpstream(c.UserContext(), w, v.URL, false)
	return c.JSON(v)
}
