package main

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hookhost/hookhost/host/api"
)

// newSubscriptionCmd is the `hookhost subscription` command group.
func newSubscriptionCmd(cl *clientFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "subscription", Short: "Send hookhost's events (job ends, refused requests) to a URL",
		Aliases: []string{"subscriptions"}}
	cl.register(cmd)
	cmd.AddCommand(newSubscriptionCreateCmd(cl), newSubscriptionListCmd(cl), newSubscriptionShowCmd(cl),
		newSubscriptionDeleteCmd(cl), newSubscriptionDeliveriesCmd(cl))
	return cmd
}

// subscriptionPath is the admin API path of a subscription.
func subscriptionPath(id string) string { return "/api/v1/subscriptions/" + url.PathEscape(id) }

func newSubscriptionCreateCmd(cl *clientFlags) *cobra.Command {
	var (
		target, webhook, description string
		events                       []string
	)
	cmd := &cobra.Command{
		Use:   "create --url URL --event TYPE",
		Short: "Subscribe a URL to events; prints the secret that signs its deliveries",
		Long: `Subscribe a URL to events: job.completed, job.failed, job.stopped and
webhook.request.rejected (--event, repeatable), of every webhook or, with
--webhook, of one. Each event is POSTed as JSON signed the Standard Webhooks way
with the subscription's secret, and retried until the receiver answers 2xx.`,
		Example: `  hookhost subscription create --url https://ci.example.com/hookhost --event job.failed --event job.stopped`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			var list []string
			for _, e := range events {
				list = append(list, strings.Split(e, ",")...)
			}
			in := api.SubscriptionInput{URL: target, Events: list, WebhookID: webhook, Description: description}
			var s api.Subscription
			if printed, err := c.call("POST", "/api/v1/subscriptions", in, &s); printed || err != nil {
				return err
			}
			fmt.Fprintf(c.out, "created subscription %s\nsigning secret: %s\n", s.ID, s.Secret)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&target, "url", "", "the http or https URL events are POSTed to (required)")
	f.StringArrayVar(&events, "event", nil, "an event type: job.completed, job.failed, job.stopped or webhook.request.rejected (repeatable, or comma-separated)")
	f.StringVar(&webhook, "webhook", "", "only events of this webhook id")
	f.StringVar(&description, "description", "", "what the subscription is for")
	_ = cmd.MarkFlagRequired("url")
	_ = cmd.MarkFlagRequired("event")
	return cmd
}

func newSubscriptionListCmd(cl *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use: "list", Short: "List subscriptions", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			return getTable(c, "/api/v1/subscriptions", []string{"ID", "URL", "EVENTS", "WEBHOOK", "CREATED"},
				func(res api.SubscriptionList) [][]string {
					rows := [][]string{}
					for _, s := range res.Subscriptions {
						rows = append(rows, []string{s.ID, s.URL, strings.Join(s.Events, ","), orDash(s.WebhookID), fmtTime(s.CreatedAt)})
					}
					return rows
				})
		},
	}
}

func newSubscriptionShowCmd(cl *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use: "show ID", Short: "Show a subscription with its signing secret", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			return c.printGet(subscriptionPath(args[0]))
		},
	}
}

func newSubscriptionDeleteCmd(cl *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use: "delete ID", Short: "Unsubscribe: nothing more is sent to it", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			if err := c.do("DELETE", subscriptionPath(args[0]), "", nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(c.out, "subscription %s deleted\n", args[0])
			return nil
		},
	}
}

func newSubscriptionDeliveriesCmd(cl *clientFlags) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use: "deliveries ID", Short: "Show a subscription's delivery log, newest first", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			return getTable(c, subscriptionPath(args[0])+"/deliveries?limit="+strconv.Itoa(limit),
				[]string{"ID", "EVENT", "STATE", "ATTEMPTS", "STATUS", "UPDATED", "ERROR"},
				func(res api.DeliveryList) [][]string {
					rows := [][]string{}
					for _, d := range res.Deliveries {
						status := "-"
						if d.Status != 0 {
							status = strconv.Itoa(d.Status)
						}
						rows = append(rows, []string{d.ID, d.Event, d.State, strconv.Itoa(d.Attempts), status, fmtTime(d.UpdatedAt), d.Error})
					}
					return rows
				})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 50, "how many deliveries (1-500)")
	return cmd
}
