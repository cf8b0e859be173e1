package admin

import (
	"bytes"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/host/api"
)

func (a *Admin) secretRoutes() []route {
	return []route{
		{fiber.MethodGet, "/secrets", a.listSecrets},
		{fiber.MethodPut, "/secrets/:name", a.putSecret},
		{fiber.MethodDelete, "/secrets/:name", a.deleteSecret},
	}
}

// listSecrets lists the names of the stored secrets (values are
// write-only).
func (a *Admin) listSecrets(c *fiber.Ctx) error {
	names, err := a.cat.SecretNames(c.UserContext())
	if err != nil {
		return err
	}
	out := api.SecretList{Secrets: make([]api.Secret, 0, len(names))}
	for _, n := range names {
		out.Secrets = append(out.Secrets, api.Secret{Name: n})
	}
	return c.JSON(out)
}

// putSecret stores a secret: the raw body is the value, or a JSON body
// {"value": "..."}. 201 when created, 204 when replaced.
func (a *Admin) putSecret(c *fiber.Ctx) error {
	var value []byte
	if strings.HasPrefix(strings.ToLower(c.Get(fiber.HeaderContentType)), fiber.MIMEApplicationJSON) {
		var in api.SecretInput
		if err := decodeSecret(c.Body(), &in); err != nil {
			return err
		}
		if in.Value == nil {
			return api.InvalidField("value", `"value" is required: send {"value": "<the secret>"}, or the value itself with another content type`)
		}
		value = []byte(*in.Value)
	} else {
		value = bytes.Clone(c.Body()) // Fiber reuses the buffer
	}
	name := c.Params("name")
	created, err := a.cat.PutSecret(c.UserContext(), name, value)
	if err != nil {
		return err
	}
	if !created {
		return c.SendStatus(fiber.StatusNoContent)
	}
	c.Location("/api/v1/secrets/" + name)
	return c.Status(fiber.StatusCreated).JSON(api.Secret{Name: name})
}

func (a *Admin) deleteSecret(c *fiber.Ctx) error {
	if err := a.cat.DeleteSecret(c.UserContext(), c.Params("name"), c.Query("force") == "true"); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
