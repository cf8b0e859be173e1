package packages

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"

	"github.com/hookhost/hookhost/templates"
)

// Options configure [Import].
type Options struct {
	// Version is hookhost's version, compared with the package's
	// requires.hookhost_version. Empty skips the check (development builds).
	Version string
	// Extensions names the loaded extensions, checked against the package's
	// requires.plugins and requires.extensions. "cerb.webhooks" is always
	// satisfied.
	Extensions []string
	// BaseURL is the value of default.base_url, e.g. "https://hooks.example.com".
	BaseURL string
	// Prompts holds the answers to the package's configure prompts, by prompt
	// key. A value is a string, or a []string (or []any of strings, as
	// decoded from JSON) for a multiple picklist; numbers and booleans are
	// read as their text. Answers given here override the "prompts" of an
	// import request wrapper.
	Prompts map[string]any
	// Validator checks the content of records (scripts, policies, event
	// KATA). Nil skips content validation.
	Validator Validator
	// Rand is the source of random placeholders, webhook tokens and the
	// random bits of webhook ids. Nil means crypto/rand; tests may set a
	// deterministic reader.
	Rand io.Reader
	// WebhookIDs holds, by uid, the IDs of the webhooks an earlier import
	// of the package created (an upgrade): those records keep their IDs,
	// and uid.<uid> is that ID. Webhooks not in it get a new UUIDv7.
	WebhookIDs map[string]string
	// Templates renders the package placeholders, with its filters,
	// functions and limits (the host passes the Env its scripts use). Nil
	// means a new templates.New().
	Templates *templates.Env
}

// Validator checks the content of records; the host implements it with the
// automation compiler. A returned error becomes a problem of the record; an
// error with an Unwrap() []error method (as made by errors.Join) becomes one
// problem per error. A problem is reported on the "script" field of an
// automation and the "automations_kata" field of a webhook, unless it is (or
// wraps) a [*FieldError] naming another field.
type Validator interface {
	// ValidateAutomation checks an automation record as it will be created.
	ValidateAutomation(name, extensionID, script, policy string) error
	// ValidateEvent checks a webhook's event KATA. automations lists the
	// names of the automations the package creates, which count as existing.
	ValidateEvent(kata string, automations []string) error
}

// Plan is what a package creates, ready for the host to apply in one
// transaction. Records keep the package's order.
type Plan struct {
	Name        string
	Revision    int
	Automations []Automation
	Webhooks    []Webhook
	// Warnings are notes for the importer that do not stop the import.
	Warnings []string
}

// Automation is an automation record to create.
type Automation struct {
	UID         string `json:"uid"`
	Name        string `json:"name"`
	ExtensionID string `json:"extension_id"`
	Description string `json:"description"`
	Script      string `json:"script"`
	PolicyKATA  string `json:"policy_kata"`
}

// Webhook is a webhook to create. ID is a pre-generated UUIDv7 (records of
// the package may refer to it as {{{uid.<uid>}}}). Token is freshly
// generated: 160 random bits as 40 lowercase hex characters; the host stores
// only its SHA-256 and shows the token once.
type Webhook struct {
	UID       string `json:"uid"`
	ID        string `json:"id"`
	Name      string `json:"name"`
	EventKATA string `json:"event_kata"`
	Enabled   bool   `json:"enabled"`
	Token     string `json:"-"`
}

// TokenSHA256 returns the SHA-256 of the webhook's token, the only form of
// it the host stores.
func (w Webhook) TokenSHA256() [sha256.Size]byte {
	return sha256.Sum256([]byte(w.Token))
}

// Created is one created record in a [Result].
type Created struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

// Result is the Cerb-like import result: records_created maps a record
// type ("automation", "webhook_listener") to the records created by uid.
type Result struct {
	RecordsCreated map[string]map[string]Created `json:"records_created"`
}

// Result returns the import result of the plan in Cerb's shape. An
// automation's id is its name; a webhook's is its UUID. The label is the
// record's name. Tokens are not part of it.
func (p *Plan) Result() Result {
	r := Result{RecordsCreated: map[string]map[string]Created{}}
	if len(p.Automations) > 0 {
		m := map[string]Created{}
		for _, a := range p.Automations {
			m[a.UID] = Created{ID: a.Name, Label: a.Name}
		}
		r.RecordsCreated[contextAutomation] = m
	}
	if len(p.Webhooks) > 0 {
		m := map[string]Created{}
		for _, w := range p.Webhooks {
			m[w.UID] = Created{ID: w.ID, Label: w.Name}
		}
		r.RecordsCreated[contextWebhook] = m
	}
	return r
}

// newToken returns 160 random bits as 40 lowercase hex characters.
func newToken(r io.Reader) (string, error) {
	var b [20]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// randomCode returns n random letters and digits.
func randomCode(r io.Reader, n int) (string, error) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	out := make([]byte, 0, n)
	buf := make([]byte, 64)
	for len(out) < n {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		for _, c := range buf {
			// 248 = 4*62: rejecting larger bytes keeps the choice uniform.
			if c < 248 && len(out) < n {
				out = append(out, alphabet[c%62])
			}
		}
	}
	return string(out), nil
}

// randReader returns the source of randomness of opts.
func (o *Options) randReader() io.Reader {
	if o.Rand != nil {
		return o.Rand
	}
	return rand.Reader
}
