// Package upstream makes the subscriptions a webhook's event KATA asks
// for with `subscribe/<name>:` blocks: hookhost registers the webhook's URL
// with an upstream API (as Power Automate does for its webhook triggers),
// expects 201 Created with a Location (or the created resource's URL or id
// at a path of the answer), keeps that Location, and sends DELETE to it
// when the webhook is deleted, its URL changes (after the new URL is
// subscribed) or the block changes or goes away.
//
//	subscribe/github:
//	  url: https://api.github.com/repos/OWNER/REPO/hooks
//	  method: POST                      # the default
//	  headers:
//	    Authorization: Bearer {{secrets.GITHUB_TOKEN}}
//	  body:                             # an object is sent as JSON
//	    config:
//	      url: {{webhook_url}}
//	  id_path: /url                     # optional: where the answer names it
//
// url, headers and body may use {{webhook_url}} and {{secrets.NAME}}, and
// nothing else. The requests are durable jobs (jobs.Queue.EnqueueUpstream)
// sent through the outbound guard, retried with backoff; their state is
// kept per webhook and block (Manager.List). A failure never blocks saving
// the webhook.
package upstream

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/hookhost/hookhost/automations/kata"
)

// Spec is one compiled subscribe/<name>: block.
type Spec struct {
	// Name is the block's name (subscribe/<name>:).
	Name   string
	Method string
	// URL, Headers and Body are templates of {{webhook_url}} and
	// {{secrets.NAME}}.
	URL     string
	Headers [][2]string
	Body    body
	// IDPath is where the answer names the created resource when it sends
	// no Location: a JSON pointer (/url) or a dotted path (data.id).
	IDPath string
	// Hash identifies the block's content.
	Hash string
	Pos  kata.Pos
	// secrets are the secret names it uses.
	secrets []string
}

// SecretNames are the secrets the block uses.
func (s *Spec) SecretNames() []string { return s.secrets }

// body is a request body: text, or a JSON value with templates in its
// strings.
type body struct {
	text   string
	json   *jsonValue
	isJSON bool
}

// jsonValue is an ordered JSON value of a KATA body.
type jsonValue struct {
	// kind is 'o' (object), 'a' (array), 's' (string template), 'r'
	// (raw JSON).
	kind  byte
	keys  []string
	vals  []*jsonValue
	text  string
	items []*jsonValue
}

// markupRE finds template markup; placeholderRE the markup a block may use.
var (
	markupRE      = regexp.MustCompile(`\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}`)
	placeholderRE = regexp.MustCompile(`^\{\{\s*(webhook_url|secrets\.([A-Za-z0-9_]+))\s*\}\}$`)
	headerNameRE  = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
)

// keys are the keys of a subscribe block.
var keys = []string{"url", "method", "headers", "body", "id_path"}

// compiler collects the problems of every block.
type compiler struct{ errs kata.Errors }

func (c *compiler) errorf(pos kata.Pos, format string, args ...any) {
	c.errs = append(c.errs, &kata.Error{Source: "event", Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// Compile compiles the subscribe/<name>: blocks of event KATA; its error is
// a kata.Errors with every problem at its position.
func Compile(blocks []*kata.Node) ([]*Spec, error) {
	c := &compiler{}
	var out []*Spec
	seen := map[string]bool{}
	for _, n := range blocks {
		if s := c.block(n); s != nil {
			if seen[s.Name] {
				c.errorf(n.Pos, "`%s:` is given twice", n.Key)
				continue
			}
			seen[s.Name] = true
			out = append(out, s)
		}
	}
	if len(c.errs) > 0 {
		return nil, c.errs
	}
	return out, nil
}

func (c *compiler) block(n *kata.Node) *Spec {
	s := &Spec{Name: n.Name(), Method: http.MethodPost, Pos: n.Pos}
	if s.Name == "" {
		c.errorf(n.Pos, "`subscribe:` needs a name: `subscribe/<name>:`")
		return nil
	}
	if n.Kind != kata.Object {
		c.errorf(n.Pos, "`%s:` must hold `url:` (and optionally method:, headers:, body: and id_path:)", n.Key)
		return nil
	}
	errs := len(c.errs)
	h := sha256.New()
	var hasURL bool
	for _, k := range n.Children {
		switch k.Key {
		case "url":
			hasURL = true
			s.URL = strings.TrimSpace(k.Value)
			c.templates(k, s)
			lower := strings.ToLower(s.URL)
			if k.Kind != kata.Scalar || !(strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://")) {
				c.errorf(k.ValuePos, "`url:` must be an http:// or https:// URL")
			} else if u, err := url.Parse(markupRE.ReplaceAllString(s.URL, "x")); err != nil || u.Host == "" {
				c.errorf(k.ValuePos, "`url:` %q is not a URL", s.URL)
			}
		case "method":
			s.Method = strings.ToUpper(strings.TrimSpace(k.Value))
			if k.Kind != kata.Scalar || !slices.Contains([]string{"POST", "PUT", "PATCH"}, s.Method) {
				c.errorf(k.ValuePos, "`method:` must be POST, PUT or PATCH")
			}
		case "headers":
			if k.Kind != kata.Object {
				c.errorf(k.Pos, "`headers:` must hold `Name: value` lines")
				continue
			}
			for _, hd := range k.Children {
				if !headerNameRE.MatchString(hd.Key) || hd.Kind == kata.Object {
					c.errorf(hd.Pos, "`%s:` is not a header (`Name: value`)", hd.Key)
					continue
				}
				c.templates(hd, s)
				s.Headers = append(s.Headers, [2]string{hd.Key, strings.TrimSpace(hd.Value)})
			}
		case "body":
			if k.Kind == kata.Object {
				s.Body = body{json: c.jsonValue(k, s), isJSON: true}
			} else {
				c.templates(k, s)
				s.Body = body{text: k.Value}
			}
		case "id_path":
			s.IDPath = strings.TrimSpace(k.Value)
			if k.Kind != kata.Scalar || s.IDPath == "" || strings.ContainsAny(s.IDPath, "{}") {
				c.errorf(k.ValuePos, "`id_path:` must be a JSON pointer (/url) or a dotted path (data.id)")
			}
		default:
			c.errorf(k.Pos, "unknown key `%s:` of `%s:` (its keys: %s)", k.Key, n.Key, strings.Join(keys, ", "))
		}
		writeNode(h, k)
	}
	if !hasURL {
		c.errorf(n.Pos, "`%s:` needs `url:`, where the subscription is made", n.Key)
	}
	if len(c.errs) > errs {
		return nil
	}
	slices.Sort(s.secrets)
	s.secrets = slices.Compact(s.secrets)
	s.Hash = hex.EncodeToString(h.Sum(nil))
	return s
}

// writeNode hashes a node's content.
func writeNode(h interface{ Write([]byte) (int, error) }, n *kata.Node) {
	fmt.Fprintf(h, "%q@%q=%q{", n.Key, n.Annotations, n.Value)
	for _, k := range n.Children {
		writeNode(h, k)
	}
	h.Write([]byte("}"))
}

// templates checks the markup of a value and collects its secrets.
func (c *compiler) templates(n *kata.Node, s *Spec) {
	for _, m := range markupRE.FindAllString(n.Value, -1) {
		p := placeholderRE.FindStringSubmatch(m)
		if p == nil {
			c.errorf(n.ValuePos, "`%s:` may only use {{webhook_url}} and {{secrets.NAME}} (got %s)", n.Key, m)
			continue
		}
		if p[2] != "" {
			s.secrets = append(s.secrets, p[2])
		}
	}
}

// jsonValue compiles a body: object into an ordered JSON value. Keys may
// carry @bool, @int, @float, @json (a raw JSON value), @list (one item a
// line) and @csv (comma-separated items).
func (c *compiler) jsonValue(n *kata.Node, s *Spec) *jsonValue {
	if n.Kind == kata.Object {
		v := &jsonValue{kind: 'o'}
		for _, k := range n.Children {
			name := k.Key
			v.keys = append(v.keys, name)
			v.vals = append(v.vals, c.jsonValue(k, s))
		}
		return v
	}
	text := n.Value
	switch {
	case n.HasAnnotation("bool"):
		switch strings.ToLower(strings.TrimSpace(text)) {
		case "yes", "true", "y", "1", "on":
			return &jsonValue{kind: 'r', text: "true"}
		case "no", "false", "n", "0", "off", "":
			return &jsonValue{kind: 'r', text: "false"}
		}
		c.errorf(n.ValuePos, "`%s@bool:` must be yes or no", n.Key)
	case n.HasAnnotation("int"), n.HasAnnotation("float"):
		if _, err := strconv.ParseFloat(strings.TrimSpace(text), 64); err != nil {
			c.errorf(n.ValuePos, "`%s:` must be a number", n.Key)
		}
		return &jsonValue{kind: 'r', text: strings.TrimSpace(text)}
	case n.HasAnnotation("json"):
		if !json.Valid([]byte(text)) {
			c.errorf(n.ValuePos, "`%s@json:` must be JSON", n.Key)
		}
		return &jsonValue{kind: 'r', text: text}
	case n.HasAnnotation("list"), n.HasAnnotation("csv"):
		sep := "\n"
		if n.HasAnnotation("csv") {
			sep = ","
		}
		v := &jsonValue{kind: 'a', items: []*jsonValue{}}
		for _, it := range strings.Split(text, sep) {
			if it = strings.TrimSpace(it); it != "" {
				v.items = append(v.items, &jsonValue{kind: 's', text: it})
			}
		}
		c.templates(n, s)
		return v
	}
	c.templates(n, s)
	return &jsonValue{kind: 's', text: strings.TrimSpace(text)}
}

// Request is a rendered subscription request.
type Request struct {
	Method  string      `json:"method"`
	URL     string      `json:"url"`
	Headers [][2]string `json:"headers,omitempty"`
	Body    []byte      `json:"body,omitempty"`
	IDPath  string      `json:"id_path,omitempty"`
}

// Render renders the request with the webhook's URL and the secrets'
// values (secret returns false for one that is not set).
func (s *Spec) Render(webhookURL string, secret func(name string) (string, bool)) (*Request, error) {
	var missing []string
	sub := func(t string) string {
		return markupRE.ReplaceAllStringFunc(t, func(m string) string {
			p := placeholderRE.FindStringSubmatch(m)
			switch {
			case p == nil:
				return m
			case p[2] == "":
				return webhookURL
			}
			v, ok := secret(p[2])
			if !ok {
				missing = append(missing, p[2])
			}
			return v
		})
	}
	r := &Request{Method: s.Method, URL: sub(s.URL), IDPath: s.IDPath}
	hasType := false
	for _, h := range s.Headers {
		r.Headers = append(r.Headers, [2]string{h[0], sub(h[1])})
		hasType = hasType || strings.EqualFold(h[0], "Content-Type")
	}
	if s.Body.isJSON {
		var b bytes.Buffer
		s.Body.json.write(&b, sub)
		r.Body = b.Bytes()
		if !hasType {
			r.Headers = append(r.Headers, [2]string{"Content-Type", "application/json"})
		}
	} else if s.Body.text != "" {
		r.Body = []byte(sub(s.Body.text))
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("subscribe/%s: the secrets %s are not set", s.Name, strings.Join(slices.Compact(missing), ", "))
	}
	return r, nil
}

// write writes the JSON of v, rendering its strings with sub.
func (v *jsonValue) write(b *bytes.Buffer, sub func(string) string) {
	switch v.kind {
	case 'o':
		b.WriteByte('{')
		for i, k := range v.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteByte(':')
			v.vals[i].write(b, sub)
		}
		b.WriteByte('}')
	case 'a':
		b.WriteByte('[')
		for i, it := range v.items {
			if i > 0 {
				b.WriteByte(',')
			}
			it.write(b, sub)
		}
		b.WriteByte(']')
	case 'r':
		b.WriteString(v.text)
	default:
		sb, _ := json.Marshal(sub(v.text))
		b.Write(sb)
	}
}
