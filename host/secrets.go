package host

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hookhost/hookhost/host/secrets"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/templates/dict"
)

// secretsKey is the key of the render dictionary (event KATA) and of the
// automation's dictionary under which the referenced secrets are injected:
// {{secrets.NAME}}.
const secretsKey = "secrets"

// secretLookupTimeout bounds one secret lookup made without a request
// context (verify/* blocks).
const secretLookupTimeout = 5 * time.Second

// initRedaction creates the server's Redactor and routes the server's
// logger through it, so that no log line holds a known secret value, the
// admin token or a webhook token. It runs before anything logs.
func (s *Server) initRedaction() {
	s.redactor = secrets.NewRedactor()
	s.log = slog.New(&redactHandler{h: s.log.Handler(), redact: s.redact})
	s.cfg.Logger = s.log
}

// initSecrets loads the master key (HOOKHOST_SECRET_KEY, else
// <data dir>/secret.key, created at first start) and opens the secret
// store over the server's key-value table. Every stored value, and the
// admin token, is registered with the Redactor.
func (s *Server) initSecrets(ctx context.Context) error {
	s.redactor.Add(s.adminToken)
	key, err := secrets.LoadKey(os.Getenv(secrets.KeyEnv), s.cfg.DataDir)
	if err != nil {
		return fmt.Errorf("secret key: %w", err)
	}
	box, err := secrets.NewBox(key)
	clear(key)
	if err != nil {
		return fmt.Errorf("secret key: %w", err)
	}
	s.box = box
	s.secrets = secrets.NewStore(storeKV{s.store}, box, s.redactor)
	if err := s.secrets.LoadRedactor(ctx); err != nil {
		// The server still starts: the other secrets work, and webhooks that
		// need an unreadable one answer 500 and log why.
		s.log.Error("some stored secrets cannot be read with this key; they are not redacted and cannot be used", "error", err)
	}
	return nil
}

// storeKV adapts the store's key-value methods to secrets.KV.
type storeKV struct{ st store.Store }

var _ secrets.KV = storeKV{}

func (kv storeKV) Get(ctx context.Context, ns, key string, now time.Time) ([]byte, bool, error) {
	return kv.st.KVGet(ctx, ns, key, now)
}

func (kv storeKV) Set(ctx context.Context, ns, key string, value []byte, expires *time.Time) error {
	return kv.st.KVSet(ctx, ns, key, value, expires)
}

func (kv storeKV) Delete(ctx context.Context, ns, key string) (bool, error) {
	return kv.st.KVDelete(ctx, ns, key)
}

func (kv storeKV) List(ctx context.Context, ns string) ([]string, error) {
	return kv.st.KVList(ctx, ns)
}

// secret looks up a stored secret by name (for verify/* blocks and
// {{secrets.NAME}}). Values are cached until the next change.
func (s *Server) secret(name string) (string, bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), secretLookupTimeout)
	defer cancel()
	return s.secretValue(ctx, name)
}

// secretValue is secret with the caller's context.
func (s *Server) secretValue(ctx context.Context, name string) (string, bool, error) {
	if s.secrets == nil {
		return "", false, nil
	}
	return s.cache.secretValue(ctx, name, s.secrets)
}

// secretsDict returns the secrets called names as a dictionary to inject
// under secretsKey. Secrets that are not set are left out, so a template
// sees them as undefined.
func (s *Server) secretsDict(ctx context.Context, names []string) (*dict.Map, error) {
	m := dict.New(len(names))
	for _, n := range names {
		v, found, err := s.secretValue(ctx, n)
		if err != nil {
			return nil, err
		}
		if found {
			m.Set(n, v)
		}
	}
	return m, nil
}

// injectSecrets sets inputs[secretsKey] to the secrets that text refers to
// (names, as found by secretRefs), or removes the key when there are none.
func (s *Server) injectSecrets(ctx context.Context, inputs *dict.Map, names []string) error {
	if len(names) == 0 {
		inputs.Delete(secretsKey)
		return nil
	}
	m, err := s.secretsDict(ctx, names)
	if err != nil {
		return err
	}
	inputs.Set(secretsKey, m)
	return nil
}

// withSecrets adds the secrets the script of a refers to under secretsKey
// of obj, an encoded JSON object (the inputs of a function call).
func (s *Server) withSecrets(ctx context.Context, a *store.Automation, obj []byte) ([]byte, error) {
	refs := s.cache.automationSecrets(a)
	if len(refs) == 0 {
		return obj, nil
	}
	m, err := s.secretsDict(ctx, refs)
	if err != nil {
		return nil, fmt.Errorf("read the secrets of automation %q: %w", a.Name, err)
	}
	enc, err := jsonBytes(m)
	if err != nil {
		return nil, err
	}
	obj = bytes.TrimRight(obj, " \t\r\n")
	if len(obj) < 2 || obj[len(obj)-1] != '}' {
		return nil, fmt.Errorf("automation %q: the inputs are not a JSON object", a.Name)
	}
	out := make([]byte, 0, len(obj)+len(enc)+len(secretsKey)+4)
	out = append(out, obj[:len(obj)-1]...)
	if len(bytes.TrimSpace(obj[1:len(obj)-1])) > 0 {
		out = append(out, ',')
	}
	out = append(out, `"`+secretsKey+`":`...)
	out = append(append(out, enc...), '}')
	return out, nil
}

// secretRefRE finds the secrets a template refers to: secrets.NAME, and
// secrets['NAME'] or secrets["NAME"].
var secretRefRE = regexp.MustCompile(`\bsecrets(?:\.([A-Za-z0-9_]{1,64})\b|\[\s*(?:'([A-Za-z0-9_]{1,64})'|"([A-Za-z0-9_]{1,64})")\s*\])`)

// secretRefs lists, sorted and without repeats, the names of the secrets
// text refers to. It is a scan of the text, done once when the text is
// cached, so that a request only reads the secrets its templates use.
func secretRefs(text string) []string {
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

// ---- redaction ----

// tokenRE matches webhook tokens where they are recognisable without
// being known: in a webhook URL path, and as a token= parameter.
var tokenRE = regexp.MustCompile(`(/webhooks/|[?&]token=)[0-9a-fA-F]{40}\b`)

// redact replaces every known secret value, the admin token, and webhook
// tokens in URLs with "[redacted]".
func (s *Server) redact(text string) string {
	if s.redactor != nil {
		text = s.redactor.Redact(text)
	}
	if strings.Contains(text, "token=") || strings.Contains(text, "/webhooks/") {
		text = tokenRE.ReplaceAllString(text, "${1}"+secrets.Redacted)
	}
	return text
}

// redactValue returns v (a dictionary value) with every string passed
// through redact.
func (s *Server) redactValue(v any) any { return redactStrings(v, s.redact) }

// redactRawJSON redacts the strings of an encoded JSON value (a stored
// record field) without changing its structure; text that is not JSON is
// redacted as text and encoded as a JSON string.
func redactRawJSON(raw []byte, redact func(string) string) []byte {
	if len(raw) == 0 {
		return raw
	}
	v, err := dict.DecodeJSON(raw)
	if err != nil {
		b, _ := jsonBytes(redact(string(raw)))
		return b
	}
	b, err := jsonBytes(redactStrings(v, redact))
	if err != nil {
		return nil
	}
	return b
}

// redactHandler is a slog.Handler that redacts the message and every
// attribute before passing a record on.
type redactHandler struct {
	h      slog.Handler
	redact func(string) string
}

var _ slog.Handler = (*redactHandler)(nil)

func (r *redactHandler) Enabled(ctx context.Context, l slog.Level) bool { return r.h.Enabled(ctx, l) }

func (r *redactHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, r.redact(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(r.attr(a))
		return true
	})
	return r.h.Handle(ctx, out)
}

func (r *redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = r.attr(a)
	}
	return &redactHandler{h: r.h.WithAttrs(red), redact: r.redact}
}

func (r *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{h: r.h.WithGroup(name), redact: r.redact}
}

// attr redacts one attribute: strings, errors, groups, and any other value
// whose printed form holds something to redact (it is then logged as the
// redacted string).
func (r *redactHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, r.redact(v.String()))
	case slog.KindGroup:
		g := v.Group()
		red := make([]slog.Attr, len(g))
		for i, x := range g {
			red[i] = r.attr(x)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(red...)}
	case slog.KindAny:
		var text string
		if err, ok := v.Any().(error); ok && err != nil {
			text = err.Error()
		} else {
			text = fmt.Sprint(v.Any())
		}
		if red := r.redact(text); red != text {
			return slog.String(a.Key, red)
		}
		if _, ok := v.Any().(error); ok {
			return slog.String(a.Key, text)
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// sealedInputsKey is the only key of a job's stored inputs when they are
// sealed; sealedInputsLabel binds the ciphertext to its use.
const (
	sealedInputsKey   = "$sealed"
	sealedInputsLabel = "job-inputs"
)

// sealJobInputs returns a job's inputs as they are stored: as given, or,
// when they hold a secret value (an event KATA input rendered from
// {{secrets.NAME}}), sealed with the secret key as {"$sealed": "<base64>"}
// so that no secret lies in the database in the clear.
func (s *Server) sealJobInputs(inputs []byte) ([]byte, error) {
	if s.box == nil || s.redact(string(inputs)) == string(inputs) {
		return inputs, nil
	}
	sealed, err := s.box.Seal(sealedInputsLabel, inputs)
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]string{sealedInputsKey: base64.StdEncoding.EncodeToString(sealed)})
}

// openJobInputs reverses sealJobInputs; inputs that are not sealed are
// returned as they are.
func (s *Server) openJobInputs(stored []byte) ([]byte, error) {
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
	if s.box == nil {
		return nil, errors.New("sealed job inputs: no secret key")
	}
	return s.box.Open(sealedInputsLabel, raw)
}
