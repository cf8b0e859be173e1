package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/secrets"
	"github.com/hookhost/hookhost/host/verify"
)

// mountSecrets adds the secret routes of the admin API. Values are
// write-only: no route ever answers with one.
func (s *Server) mountSecrets(api fiber.Router) {
	api.Get("/secrets", s.listSecrets)
	api.Put("/secrets/:name", s.putSecret)
	api.Delete("/secrets/:name", s.deleteSecret)
}

// secretView is a secret as the admin API shows it: its name only.
type secretView struct {
	Name string `json:"name"`
}

// listSecrets serves GET /api/v1/secrets: the names of the stored secrets,
// sorted.
func (s *Server) listSecrets(c *fiber.Ctx) error {
	names, err := s.secrets.Names(c.UserContext())
	if err != nil {
		return err
	}
	out := make([]secretView, 0, len(names))
	for _, n := range names {
		out = append(out, secretView{Name: n})
	}
	return c.JSON(fiber.Map{"secrets": out})
}

// secretInput is the JSON form of a PUT body.
type secretInput struct {
	Value *string `json:"value"`
}

// putSecret serves PUT /api/v1/secrets/{name}: the body is the value as
// is, or {"value": "..."} with Content-Type: application/json. It answers
// 201 when the secret is new and 204 when it replaced a value. Webhooks
// and automations use the new value from the next request on.
func (s *Server) putSecret(c *fiber.Ctx) error {
	name := c.Params("name")
	if !secrets.ValidName(name) {
		return invalidField("name", fmt.Sprintf("secret name %q is invalid: %s", name, secrets.ErrInvalidName))
	}
	var value []byte
	if strings.HasPrefix(strings.ToLower(c.Get(fiber.HeaderContentType)), fiber.MIMEApplicationJSON) {
		var in secretInput
		dec := json.NewDecoder(bytes.NewReader(c.Body()))
		dec.DisallowUnknownFields()
		// The decoder's message could quote the body: it is not shown.
		if err := dec.Decode(&in); err != nil || dec.More() {
			return invalidField("value", `a JSON body must be an object {"value": "<the secret>"} and nothing else`)
		}
		if in.Value == nil {
			return invalidField("value", `"value" is required`)
		}
		value = []byte(*in.Value)
	} else {
		value = bytes.Clone(c.Body()) // Fiber reuses the buffer
	}
	ctx := c.UserContext()
	_, existed, err := s.store.KVGet(ctx, secrets.Namespace, name, time.Now())
	if err != nil {
		return err
	}
	if err := s.secrets.Put(ctx, name, value); err != nil {
		if errors.Is(err, secrets.ErrInvalidValue) {
			return invalidField("value", secrets.ErrInvalidValue.Error())
		}
		return err
	}
	// Cached webhooks and secret values drop, here and on the other servers.
	s.changed(ctx)
	s.log.Info("secret set", "name", name, "created", !existed)
	if existed {
		return c.SendStatus(fiber.StatusNoContent)
	}
	c.Location("/api/v1/secrets/" + name)
	return c.Status(fiber.StatusCreated).JSON(secretView{Name: name})
}

// deleteSecret serves DELETE /api/v1/secrets/{name}: 204, or 404 when no
// such secret is set. Webhooks that verify with it answer 500 until it is
// set again.
func (s *Server) deleteSecret(c *fiber.Ctx) error {
	name := c.Params("name")
	if !secrets.ValidName(name) {
		return invalidField("name", fmt.Sprintf("secret name %q is invalid: %s", name, secrets.ErrInvalidName))
	}
	ctx := c.UserContext()
	if c.Query("force") != "true" {
		users, err := s.webhooksVerifyingWith(ctx, name)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return problem(fiber.StatusConflict, fmt.Sprintf("secret %q is used by the verify blocks of webhooks %s, which would answer 500 without it; change them first or delete with ?force=true",
				name, strings.Join(users, ", ")))
		}
	}
	found, err := s.secrets.Delete(ctx, name)
	if err != nil {
		return err
	}
	if !found {
		return problem(fiber.StatusNotFound, fmt.Sprintf("no secret %q", name))
	}
	s.changed(ctx)
	s.log.Info("secret deleted", "name", name)
	return c.SendStatus(fiber.StatusNoContent)
}

// webhooksVerifyingWith lists the ids of webhooks whose verify/* blocks
// use the secret called name.
func (s *Server) webhooksVerifyingWith(ctx context.Context, name string) ([]string, error) {
	ws, err := s.store.ListWebhooks(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, w := range ws {
		ev, err := automations.ParseEvent(w.EventKATA, s.tpl)
		if err != nil {
			continue
		}
		vs, err := verify.Compile(ev.Verify, verify.Options{})
		if err != nil {
			continue
		}
		for _, v := range vs {
			if slices.Contains(v.SecretNames(), name) {
				out = append(out, w.ID)
				break
			}
		}
	}
	return out, nil
}
