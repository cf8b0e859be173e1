package catalog

import (
	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/upstream"
	"github.com/hookhost/hookhost/host/verify"
)

// Event is a webhook's event KATA, compiled once: its handlers, its verify
// blocks, and the secrets its templates refer to. CompileEvent is the only
// place event KATA is parsed.
type Event struct {
	*automations.Event
	// Verifiers are the compiled verify/* blocks, in order.
	Verifiers []*verify.Verifier
	// Subscriptions are the compiled subscribe/* blocks, in order.
	Subscriptions []*upstream.Spec
	// Secrets names the stored secrets the event KATA's templates refer to
	// ({{secrets.NAME}}); only those are read for a request.
	Secrets []string
	// CredentialHeaders are the request headers the verify blocks read
	// credentials from: records never keep their values.
	CredentialHeaders []string
}

// CompileEvent parses and validates event KATA. Its errors are KATA
// diagnostics with positions (kata.Errors).
func (c *Catalog) CompileEvent(text string) (*Event, error) {
	ev, err := automations.ParseEvent(text, c.cfg.Templates)
	if err != nil {
		return nil, err
	}
	vs, err := verify.Compile(ev.Verify, verify.Options{Secret: c.secret})
	if err != nil {
		return nil, err
	}
	subs, err := upstream.Compile(ev.Subscribe)
	if err != nil {
		return nil, err
	}
	out := &Event{Event: ev, Verifiers: vs, Subscriptions: subs, Secrets: SecretRefs(text)}
	for _, v := range vs {
		out.CredentialHeaders = append(out.CredentialHeaders, v.CredentialHeaders()...)
	}
	return out, nil
}
