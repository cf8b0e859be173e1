package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/host/views"
)

func (a *Admin) webhookRoutes(r fiber.Router) {
	r.Get("/webhooks", a.listWebhooks)
	r.Post("/webhooks", a.createWebhook)
	r.Get("/webhooks/:id", a.getWebhook)
	r.Patch("/webhooks/:id", a.patchWebhook)
	r.Delete("/webhooks/:id", a.deleteWebhook)
	r.Post("/webhooks/:id/rotate", a.rotateWebhook)
}

// createWebhook takes JSON, or the raw event KATA as a text/plain body with
// ?name= (and ?enabled=, ?debug=).
func (a *Admin) createWebhook(c *fiber.Ctx) error {
	var in api.WebhookInput
	if strings.HasPrefix(c.Get(fiber.HeaderContentType), "text/plain") {
		in.Name = c.Query("name")
		in.EventKATA = string(c.Body())
		if e := c.Query("enabled"); e != "" {
			b, err := strconv.ParseBool(e)
			if err != nil {
				return api.NewProblem(http.StatusBadRequest, "enabled must be true or false")
			}
			in.Enabled = &b
		}
		in.Debug = c.Query("debug") == "true"
	} else if err := decodeJSON(c, &in); err != nil {
		return err
	}
	w := &store.Webhook{Name: in.Name, EventKATA: in.EventKATA, Enabled: in.Enabled == nil || *in.Enabled,
		Debug: in.Debug, ExpiresAt: in.ExpiresAt}
	tok, err := a.cat.CreateWebhook(c.UserContext(), w)
	if err != nil {
		return err
	}
	v := views.Webhook(w, time.Now())
	v.Token, v.URL = tok, a.cat.WebhookURL(tok)
	c.Location("/api/v1/webhooks/" + w.ID)
	return c.Status(fiber.StatusCreated).JSON(v)
}

func (a *Admin) listWebhooks(c *fiber.Ctx) error {
	ws, err := a.cat.ListWebhooks(c.UserContext())
	if err != nil {
		return err
	}
	now := time.Now()
	out := api.WebhookList{Webhooks: make([]api.Webhook, 0, len(ws))}
	for _, w := range ws {
		out.Webhooks = append(out.Webhooks, views.Webhook(w, now))
	}
	return c.JSON(out)
}

func (a *Admin) getWebhook(c *fiber.Ctx) error {
	w, err := a.cat.GetWebhook(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(views.Webhook(w, time.Now()))
}

// patchWebhook changes the fields present in the JSON body; "expires_at":
// null clears the expiry.
func (a *Admin) patchWebhook(c *fiber.Ctx) error {
	w, err := a.cat.GetWebhook(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(c.Body(), &raw); err != nil {
		return api.NewProblem(http.StatusBadRequest, "invalid JSON body: "+err.Error())
	}
	eventChanged := false
	for k, v := range raw {
		var err error
		switch k {
		case "name":
			err = json.Unmarshal(v, &w.Name)
		case "event_kata":
			err = json.Unmarshal(v, &w.EventKATA)
			eventChanged = true
		case "enabled":
			err = json.Unmarshal(v, &w.Enabled)
		case "debug":
			err = json.Unmarshal(v, &w.Debug)
		case "expires_at":
			w.ExpiresAt = nil
			if string(v) != "null" {
				var t time.Time
				err = json.Unmarshal(v, &t)
				w.ExpiresAt = &t
			}
		default:
			return api.NewProblem(http.StatusBadRequest, fmt.Sprintf("unknown field %q (known: name, event_kata, enabled, debug, expires_at)", k))
		}
		if err != nil {
			return api.NewProblem(http.StatusBadRequest, fmt.Sprintf("field %q: %v", k, err))
		}
	}
	if err := a.cat.UpdateWebhook(c.UserContext(), w, eventChanged); err != nil {
		return err
	}
	return c.JSON(views.Webhook(w, time.Now()))
}

func (a *Admin) deleteWebhook(c *fiber.Ctx) error {
	if err := a.cat.DeleteWebhook(c.UserContext(), c.Params("id")); err != nil {
		return err
	}
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
	return c.JSON(v)
}
