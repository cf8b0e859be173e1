package automations

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hookhost/hookhost/automations/ssrf"
	"github.com/hookhost/hookhost/templates/dict"
)

// Bounds of http.request inputs (spec §2.4).
const (
	maxURLLength     = 2048
	maxHeadersLength = 8192
	maxHTTPTimeout   = 60 * time.Second
)

func httpMethodAllowed(m string) bool {
	switch m {
	case "GET", "PUT", "POST", "PATCH", "DELETE", "OPTIONS", "HEAD":
		return true
	}
	return false
}

// httpRequest is http.request. A transport failure or a status of 400 or
// more is a command error; on_error: then sees {error, status_code,
// content_type, headers, body, url}.
func (r *runner) httpRequest(n *node, in *dict.Map) (any, error) {
	if r.rt.HTTPClient == nil {
		return nil, cmdErrorf("http.request is not available: no HTTP client is configured")
	}
	rawURL := strings.TrimSpace(toString(in.Value("url")))
	if rawURL == "" {
		return nil, cmdErrorf("inputs:url: is required.")
	}
	if len(rawURL) > maxURLLength {
		return nil, cmdErrorf("inputs:url: must be shorter than %d characters.", maxURLLength)
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, cmdErrorf("inputs:url: must be an http or https URL.")
	}
	method := strings.ToUpper(strings.TrimSpace(toString(in.Value("method"))))
	if method == "" {
		method = http.MethodGet
	}
	if !httpMethodAllowed(method) {
		return nil, cmdErrorf("inputs:method: must be one of GET, PUT, POST, PATCH, DELETE, OPTIONS, HEAD.")
	}
	headers, cerr := httpHeaders(in.Value("headers"))
	if cerr != nil {
		return nil, cerr
	}
	body, ctype, cerr := httpBody(in.Value("body"), headers.Get("Content-Type"))
	if cerr != nil {
		return nil, cerr
	}
	if body != nil && headers.Get("Content-Type") == "" {
		headers.Set("Content-Type", ctype)
	}

	deadline := r.deadline
	if t, ok := in.Get("timeout"); ok && t != nil && t != "" {
		secs := floatval(t)
		if secs < 0 || secs > maxHTTPTimeout.Seconds() {
			return nil, cmdErrorf("inputs:timeout: must be between 0 and 60 seconds.")
		}
		if secs > 0 {
			if d := time.Now().Add(time.Duration(secs * float64(time.Second))); d.Before(deadline) {
				deadline = d
			}
		}
	}
	ctx, cancel := context.WithDeadline(r.ctx, deadline)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(*body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, cmdErrorf("%s", err.Error())
	}
	req.Header = headers
	if r.p.policy != nil && len(r.p.policy.httpAllow) > 0 {
		// The policy lets this automation reach networks the guard refuses
		// to others: the guard checks this request and its redirects
		// against them, over connections pooled for this allow-list only.
		req = req.WithContext(ssrf.WithAllow(ctx, r.p.policy.httpAllow))
	}
	resp, err := r.rt.HTTPClient.Do(req)
	if err != nil {
		if r.checkTime(n.id) {
			return nil, errStopped
		}
		msg := err.Error()
		if errors.Is(err, context.DeadlineExceeded) {
			msg = "the request timed out: " + msg
		}
		return nil, &cmdError{msg: msg, extra: dict.Of("url", u.String())}
	}
	defer resp.Body.Close()
	limit := int64(r.p.limits.ValueBytes)
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		if r.checkTime(n.id) {
			return nil, errStopped
		}
		return nil, &cmdError{msg: "reading the response: " + err.Error(), extra: dict.Of("url", u.String())}
	}
	if int64(len(data)) > limit {
		r.limit("value", n.id, "value limit of "+itoa(r.p.limits.ValueBytes)+" bytes exceeded (http.request response body)")
		return nil, errStopped
	}
	out := httpOutput(resp, data)
	if resp.StatusCode >= 400 {
		return nil, &cmdError{msg: "HTTP " + resp.Status, extra: out}
	}
	return out, nil
}

func itoa(i int) string { return toString(int64(i)) }

// httpHeaders reads inputs:headers: (a dictionary or "Name: value" lines).
func httpHeaders(v any) (http.Header, *cmdError) {
	h := http.Header{}
	size := 0
	add := func(k, val string) *cmdError {
		k = strings.TrimSpace(k)
		if k == "" {
			return nil
		}
		if strings.ContainsAny(k, " \r\n:") || strings.ContainsAny(val, "\r\n") {
			return cmdErrorf("inputs:headers: has an invalid header %q.", k)
		}
		size += len(k) + len(val) + 4
		h.Add(k, val)
		return nil
	}
	switch t := v.(type) {
	case nil:
	case *dict.Map:
		var err *cmdError
		t.Range(func(k string, x any) bool {
			err = add(k, strings.TrimSpace(toString(x)))
			return err == nil
		})
		if err != nil {
			return nil, err
		}
	case string:
		for _, line := range strings.Split(t, "\n") {
			line = strings.TrimSpace(line)
			if line == "" {
				continue
			}
			k, val, ok := strings.Cut(line, ":")
			if !ok {
				return nil, cmdErrorf("inputs:headers: line %q is not `Name: value`.", line)
			}
			if err := add(k, strings.TrimSpace(val)); err != nil {
				return nil, err
			}
		}
	default:
		return nil, cmdErrorf("inputs:headers: must be a dictionary or text.")
	}
	if size > maxHeadersLength {
		return nil, cmdErrorf("inputs:headers: must be shorter than %d characters.", maxHeadersLength)
	}
	return h, nil
}

// httpBody encodes inputs:body:. A dictionary or list is encoded by the
// Content-Type: JSON for application/json (or +json), form encoding
// otherwise (the default).
func httpBody(v any, ctype string) (*string, string, *cmdError) {
	const form = "application/x-www-form-urlencoded"
	switch t := v.(type) {
	case nil:
		return nil, "", nil
	case *dict.Map, []any:
		mt, _, _ := mime.ParseMediaType(ctype)
		if mt == "application/json" || strings.HasSuffix(mt, "+json") {
			var b strings.Builder
			if err := dict.Encode(&b, t, ""); err != nil {
				return nil, "", cmdErrorf("inputs:body: %s", err.Error())
			}
			s := b.String()
			return &s, "application/json", nil
		}
		s := formEncode(t)
		return &s, form, nil
	default:
		s := toString(t)
		return &s, form, nil
	}
}

// formEncode encodes a dictionary as a query string, keeping key order;
// nested values use PHP's a[b]= notation.
func formEncode(v any) string {
	var parts []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch t := v.(type) {
		case *dict.Map:
			t.Range(func(k string, x any) bool {
				name := k
				if prefix != "" {
					name = prefix + "[" + k + "]"
				}
				walk(name, x)
				return true
			})
		case []any:
			for i, x := range t {
				name := itoa(i)
				if prefix != "" {
					name = prefix + "[" + name + "]"
				}
				walk(name, x)
			}
		default:
			parts = append(parts, url.QueryEscape(prefix)+"="+url.QueryEscape(toString(t)))
		}
	}
	walk("", v)
	return strings.Join(parts, "&")
}

// httpOutput builds {status_code, content_type, headers, body, url}.
func httpOutput(resp *http.Response, data []byte) *dict.Map {
	headers := dict.New(len(resp.Header))
	keys := make([]string, 0, len(resp.Header))
	for k := range resp.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		headers.Set(strings.ToLower(k), strings.Join(resp.Header[k], ", "))
	}
	ctype := resp.Header.Get("Content-Type")
	out := dict.New(6)
	out.Set("status_code", int64(resp.StatusCode))
	out.Set("content_type", ctype)
	out.Set("headers", headers)
	if utf8.Valid(data) {
		out.Set("body", string(data))
	} else {
		mt, _, _ := mime.ParseMediaType(ctype)
		if mt == "" {
			mt = "application/octet-stream"
		}
		out.Set("body", "data:"+mt+";base64,"+base64.StdEncoding.EncodeToString(data))
		out.Set("is_data_uri", true)
	}
	out.Set("url", resp.Request.URL.String())
	return out
}
