package catalog

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/secrets"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/templates/dict"
)

// SecretsKey is the key of the render dictionary (event KATA) and of the
// automation's dictionary under which the referenced secrets are injected:
// {{secrets.NAME}}.
const SecretsKey = "secrets"

// secretLookupTimeout bounds one secret lookup made without a request
// context (verify/* blocks).
const secretLookupTimeout = 5 * time.Second

// secret looks up a stored secret by name for verify/* blocks.
func (c *Catalog) secret(name string) (string, bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), secretLookupTimeout)
	defer cancel()
	return c.SecretValue(ctx, name)
}

// SecretsDict returns the secrets called names as a dictionary to inject
// under SecretsKey. Secrets that are not set are left out, so a template
// sees them as undefined.
func (c *Catalog) SecretsDict(ctx context.Context, names []string) (*dict.Map, error) {
	m := dict.New(len(names))
	for _, n := range names {
		v, found, err := c.SecretValue(ctx, n)
		if err != nil {
			return nil, err
		}
		if found {
			m.Set(n, v)
		}
	}
	return m, nil
}

// InjectSecrets sets inputs[SecretsKey] to the secrets called names, or
// removes the key when there are none.
func (c *Catalog) InjectSecrets(ctx context.Context, inputs *dict.Map, names []string) error {
	if len(names) == 0 {
		inputs.Delete(SecretsKey)
		return nil
	}
	m, err := c.SecretsDict(ctx, names)
	if err != nil {
		return err
	}
	inputs.Set(SecretsKey, m)
	return nil
}

// WithSecrets adds the secrets the script of a refers to under SecretsKey
// of obj, an encoded JSON object (the inputs of a function call).
func (c *Catalog) WithSecrets(ctx context.Context, a *store.Automation, obj []byte) ([]byte, error) {
	refs := c.AutomationSecrets(a)
	if len(refs) == 0 {
		return obj, nil
	}
	m, err := c.SecretsDict(ctx, refs)
	if err != nil {
		return nil, fmt.Errorf("read the secrets of automation %q: %w", a.Name, err)
	}
	var enc bytes.Buffer
	if err := dict.Encode(&enc, m, ""); err != nil {
		return nil, err
	}
	obj = bytes.TrimRight(obj, " \t\r\n")
	if len(obj) < 2 || obj[len(obj)-1] != '}' {
		return nil, fmt.Errorf("automation %q: the inputs are not a JSON object", a.Name)
	}
	out := make([]byte, 0, len(obj)+enc.Len()+len(SecretsKey)+4)
	out = append(out, obj[:len(obj)-1]...)
	if len(bytes.TrimSpace(obj[1:len(obj)-1])) > 0 {
		out = append(out, ',')
	}
	out = append(out, `"`+SecretsKey+`":`...)
	out = append(append(out, enc.Bytes()...), '}')
	return out, nil
}

// secretRefRE finds the secrets a template refers to: secrets.NAME, and
// secrets['NAME'] or secrets["NAME"].
var secretRefRE = regexp.MustCompile(`\bsecrets(?:\.([A-Za-z0-9_]{1,64})\b|\[\s*(?:'([A-Za-z0-9_]{1,64})'|"([A-Za-z0-9_]{1,64})")\s*\])`)

// SecretRefs lists, sorted and without repeats, the names of the secrets
// text refers to. It is a scan of the text, done once when the text is
// cached, so that a request only reads the secrets its templates use.
func SecretRefs(text string) []string {
	if !strings.Contains(text, "secrets") {
		return nil
	}
	var out []string
	for _, m := range secretRefRE.FindAllStringSubmatch(text, -1) {
		for _, g := range m[1:] {
			if g != "" {
				out = append(out, g)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// sealedInputsKey is the only key of a job's stored inputs when they are
// sealed; sealedInputsLabel binds the ciphertext to its use.
const (
	sealedInputsKey   = "$sealed"
	sealedInputsLabel = "job-inputs"
)

// SealJobInputs returns a job's inputs as they are stored: as given, or,
// when they hold a secret value (an event KATA input rendered from
// {{secrets.NAME}}), sealed with the secret key as {"$sealed": "<base64>"}
// so that no secret lies in the database in the clear.
func (c *Catalog) SealJobInputs(inputs []byte) ([]byte, error) {
	// The inputs as a string without their copy (a durable 202's largest
	// allocation after the encodings themselves): Redact keeps nothing of
	// it, and inputs does not change meanwhile.
	if text := unsafe.String(unsafe.SliceData(inputs), len(inputs)); c.cfg.Box == nil || c.Redact(text) == text {
		return inputs, nil
	}
	sealed, err := c.cfg.Box.Seal(sealedInputsLabel, inputs)
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]string{sealedInputsKey: base64.StdEncoding.EncodeToString(sealed)})
}

// OpenJobInputs reverses SealJobInputs; inputs that are not sealed are
// returned as they are.
func (c *Catalog) OpenJobInputs(stored []byte) ([]byte, error) {
	if !bytes.HasPrefix(stored, []byte(`{"`+sealedInputsKey+`":`)) {
		return stored, nil
	}
	var env map[string]string
	if err := json.Unmarshal(stored, &env); err != nil || len(env) != 1 {
		return stored, nil
	}
	raw, err := base64.StdEncoding.DecodeString(env[sealedInputsKey])
	if err != nil {
		return nil, fmt.Errorf("sealed job inputs: %w", err)
	}
	if c.cfg.Box == nil {
		return nil, errors.New("sealed job inputs: no secret key")
	}
	return c.cfg.Box.Open(sealedInputsLabel, raw)
}

// SecretNames lists the stored secrets' names.
func (c *Catalog) SecretNames(ctx context.Context) ([]string, error) {
	return c.cfg.Secrets.Names(ctx)
}

// PutSecret stores a secret's value; created reports that it did not
// exist. A secret a manifest owns is refused (409) unless the actor
// forces it.
func (c *Catalog) PutSecret(ctx context.Context, name string, value []byte) (created bool, err error) {
	if !secrets.ValidName(name) {
		return false, api.InvalidField("name", fmt.Sprintf("secret name %q is invalid: %s", name, secrets.ErrInvalidName))
	}
	owners, err := c.st.SecretOwners(ctx)
	if err != nil {
		return false, err
	}
	if err := checkOwner(ctx, "secret", name, owners[name]); err != nil {
		return false, err
	}
	_, existed, err := c.st.KVGet(ctx, secrets.Namespace, name, time.Now())
	if err != nil {
		return false, err
	}
	sealed, err := c.SealSecret(name, value)
	if err != nil {
		return false, err
	}
	if err := c.apply(ctx, store.Change{Action: store.ActionPut, Secret: &store.Secret{Name: name, Sealed: sealed, Owner: owners[name]}}); err != nil {
		return false, err
	}
	c.log.Info("secret set", "name", name, "created", !existed)
	return !existed, nil
}

// secretProblem turns the secret store's refusals into 400 problems.
func secretProblem(name string, err error) error {
	switch {
	case errors.Is(err, secrets.ErrInvalidName):
		return api.InvalidField("name", fmt.Sprintf("secret name %q is invalid: %s", name, secrets.ErrInvalidName))
	case errors.Is(err, secrets.ErrInvalidValue):
		return api.InvalidField("value", secrets.ErrInvalidValue.Error())
	}
	return err
}

// DeleteSecret deletes a secret. Unless force, it refuses (409) to delete
// one that webhooks' verify blocks use (they would answer 500 without it)
// or one a manifest owns.
func (c *Catalog) DeleteSecret(ctx context.Context, name string, force bool) error {
	if !secrets.ValidName(name) {
		return api.InvalidField("name", fmt.Sprintf("secret name %q is invalid: %s", name, secrets.ErrInvalidName))
	}
	if !force {
		owners, err := c.st.SecretOwners(ctx)
		if err != nil {
			return err
		}
		if err := checkOwner(ctx, "secret", name, owners[name]); err != nil {
			return err
		}
		users, err := c.webhooksVerifyingWith(ctx, name)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return api.Errorf(http.StatusConflict, "secret %q is used by the verify blocks of webhooks %s, which would answer 500 without it; change them first or delete with ?force=true",
				name, strings.Join(users, ", "))
		}
	}
	err := c.apply(ctx, store.Change{Action: store.ActionDelete, Secret: &store.Secret{Name: name}})
	if errors.Is(err, store.ErrNotFound) {
		return api.Errorf(http.StatusNotFound, "no secret %q", name)
	}
	if err != nil {
		return err
	}
	c.log.Info("secret deleted", "name", name)
	return nil
}

// webhooksVerifyingWith lists the ids of webhooks whose verify blocks use
// the secret called name.
func (c *Catalog) webhooksVerifyingWith(ctx context.Context, name string) ([]string, error) {
	var out []string
	err := c.eachEvent(ctx, func(w *store.Webhook, ev *Event) {
		for _, v := range ev.Verifiers {
			if slices.Contains(v.SecretNames(), name) {
				out = append(out, w.ID)
				return
			}
		}
	})
	return out, err
}

// eachEvent calls fn with every webhook whose event KATA compiles.
func (c *Catalog) eachEvent(ctx context.Context, fn func(w *store.Webhook, ev *Event)) error {
	ws, err := c.st.ListWebhooks(ctx)
	if err != nil {
		return err
	}
	for _, w := range ws {
		if ev, err := c.CompileEvent(w.EventKATA); err == nil {
			fn(w, ev)
		}
	}
	return nil
}
