package admin

import (
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/catalog"
)

// secretUsageRoutes tell which webhooks and automations refer to each
// secret (the console's secrets page).
func (a *Admin) secretUsageRoutes() []route {
	return []route{
		{fiber.MethodGet, "/secrets/usage", a.secretUsage},
	}
}

// secretUsage lists every stored secret and every name that event KATA or
// a script refers to as {{secrets.NAME}}, with the webhooks (and whether a
// verify block uses it) and automations that do, sorted by name: for each,
// the first api.SecretUsageWebhooks webhooks and the count of all. Values
// are never shown.
func (a *Admin) secretUsage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	names, err := a.cat.SecretNames(ctx)
	if err != nil {
		return err
	}
	byName := map[string]*api.SecretUsage{}
	use := func(name string) *api.SecretUsage {
		u, ok := byName[name]
		if !ok {
			u = &api.SecretUsage{Name: name, Webhooks: []api.SecretWebhookUse{}, Automations: []string{}}
			byName[name] = u
		}
		return u
	}
	for _, n := range names {
		use(n).Set = true
	}
	ws, err := a.cat.ListWebhooks(ctx)
	if err != nil {
		return err
	}
	for _, w := range ws {
		refs := catalog.SecretRefs(w.EventKATA)
		if len(refs) == 0 {
			continue
		}
		// Only the webhooks listed are compiled (for their verify flag):
		// the others are counted.
		var verify []string
		compiled := false
		for _, n := range refs {
			u := use(n)
			u.WebhookCount++
			if len(u.Webhooks) >= api.SecretUsageWebhooks {
				continue
			}
			if !compiled {
				compiled = true
				if ev, err := a.cat.CompileEvent(w.EventKATA); err == nil {
					for _, v := range ev.Verifiers {
						verify = append(verify, v.SecretNames()...)
					}
				}
			}
			u.Webhooks = append(u.Webhooks, api.SecretWebhookUse{ID: w.ID, Name: w.Name, Verify: slices.Contains(verify, n)})
		}
	}
	as, err := a.cat.ListAutomations(ctx)
	if err != nil {
		return err
	}
	for _, x := range as {
		for _, n := range catalog.SecretRefs(x.Script) {
			u := use(n)
			u.Automations = append(u.Automations, x.Name)
		}
	}
	out := api.SecretUsageList{Secrets: make([]api.SecretUsage, 0, len(byName))}
	for _, u := range byName {
		out.Secrets = append(out.Secrets, *u)
	}
	slices.SortFunc(out.Secrets, func(x, y api.SecretUsage) int {
		switch {
		case x.Name < y.Name:
			return -1
		case x.Name > y.Name:
			return 1
		}
		return 0
	})
	return c.JSON(out)
}
