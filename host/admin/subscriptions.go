package admin

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/catalog"
	"github.com/hookhost/hookhost/host/jobs"
)

func (a *Admin) subscriptionRoutes() []route {
	return []route{
		{fiber.MethodGet, "/subscriptions", a.listSubscriptions},
		{fiber.MethodPost, "/subscriptions", a.subscribe},
		{fiber.MethodGet, "/subscriptions/:id", a.getSubscription},
		{fiber.MethodDelete, "/subscriptions/:id", a.unsubscribe},
		{fiber.MethodGet, "/subscriptions/:id/deliveries", a.listDeliveries},
	}
}

// subscriptionView is a subscription as the API shows it (withSecret: with
// its signing secret).
func subscriptionView(s *jobs.Subscription, withSecret bool) api.Subscription {
	v := api.Subscription{ID: s.ID, URL: s.URL, Events: s.Events, WebhookID: s.WebhookID, Description: s.Description,
		Name: s.Name, Owner: s.Owner, CreatedAt: s.CreatedAt}
	if withSecret {
		v.Secret = s.Secret
	}
	return v
}

func subscriptionNotFound(err error, id string) error {
	if errors.Is(err, jobs.ErrSubscriptionNotFound) {
		return api.Errorf(http.StatusNotFound, "no subscription %q", id)
	}
	return err
}

func (a *Admin) listSubscriptions(c *fiber.Ctx) error {
	q, err := a.queue()
	if err != nil {
		return err
	}
	list, err := q.Subscriptions(c.UserContext())
	if err != nil {
		return err
	}
	out := api.SubscriptionList{Subscriptions: make([]api.Subscription, 0, len(list))}
	for _, s := range list {
		out.Subscriptions = append(out.Subscriptions, subscriptionView(s, false))
	}
	return c.JSON(out)
}

// subscribe registers a receiver of events: 201 with the subscription
// (its signing secret included) and its Location, which DELETE
// unsubscribes (the REST hook convention Power Automate and Zapier use).
func (a *Admin) subscribe(c *fiber.Ctx) error {
	q, err := a.queue()
	if err != nil {
		return err
	}
	var in api.SubscriptionInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.WebhookID != "" {
		if _, err := a.cat.GetWebhook(c.UserContext(), in.WebhookID); err != nil {
			var p *api.Problem
			if errors.As(err, &p) && p.Status == http.StatusNotFound {
				return api.InvalidField("webhook_id", fmt.Sprintf("no webhook %q", in.WebhookID))
			}
			return err
		}
	}
	s := &jobs.Subscription{URL: in.URL, Events: in.Events, WebhookID: in.WebhookID, Description: in.Description}
	if err := q.Subscribe(c.UserContext(), s); err != nil {
		var fe *jobs.FieldError
		if errors.As(err, &fe) {
			return api.InvalidField(fe.Field, fe.Message)
		}
		return err
	}
	c.Location("/api/v1/subscriptions/" + s.ID)
	return c.Status(fiber.StatusCreated).JSON(subscriptionView(s, true))
}

func (a *Admin) getSubscription(c *fiber.Ctx) error {
	q, err := a.queue()
	if err != nil {
		return err
	}
	s, err := q.Subscription(c.UserContext(), c.Params("id"))
	if err != nil {
		return subscriptionNotFound(err, c.Params("id"))
	}
	return c.JSON(subscriptionView(s, true))
}

// unsubscribe deletes a subscription and its delivery log; nothing more is
// sent to it, including deliveries not sent yet.
func (a *Admin) unsubscribe(c *fiber.Ctx) error {
	q, err := a.queue()
	if err != nil {
		return err
	}
	s, err := q.Subscription(c.UserContext(), c.Params("id"))
	if err != nil {
		return subscriptionNotFound(err, c.Params("id"))
	}
	if err := catalog.CheckOwner(c.UserContext(), "subscription", s.Name, s.Owner); err != nil {
		return err
	}
	if err := q.Unsubscribe(c.UserContext(), c.Params("id")); err != nil {
		return subscriptionNotFound(err, c.Params("id"))
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// listDeliveries shows a subscription's delivery log, newest first.
func (a *Admin) listDeliveries(c *fiber.Ctx) error {
	q, err := a.queue()
	if err != nil {
		return err
	}
	id := c.Params("id")
	if _, err := q.Subscription(c.UserContext(), id); err != nil {
		return subscriptionNotFound(err, id)
	}
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	list, err := q.Deliveries(c.UserContext(), id, limit)
	if err != nil {
		return err
	}
	out := api.DeliveryList{Deliveries: make([]api.Delivery, 0, len(list))}
	for _, d := range list {
		out.Deliveries = append(out.Deliveries, api.Delivery{ID: d.ID, Event: d.Type, State: d.State, Attempts: d.Attempts,
			Status: d.Status, Error: d.Error, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt})
	}
	return c.JSON(out)
}
