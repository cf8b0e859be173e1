package automations

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
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
		return nil, cmdErrorf("`inputs:url:` is required.")
	}
	if len(rawURL) > maxURLLength {
		return nil, cmdErrorf("inputs:url: must be shorter than %d characters.", maxURLLength)
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, cmdErrorf("'inputs:url:' is not a valid URL. It must start with http:// or https://")
	}
	method := strings.ToUpper(strings.TrimSpace(toString(in.Value("method"))))
	if method == "" {
		method = http.MethodGet
	}
	if !httpMethodAllowed(method) {
		return nil, cmdErrorf("'inputs:method:' must be one of: GET, PUT, POST, PATCH, DELETE, OPTIONS, HEAD")
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
		return nil, &cmdError{msg: guzzleError(method, u, resp, data), extra: out}
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

// httpBody encodes inputs:body: as Cerb's HttpRequestAction does. A
// dictionary or list is encoded by the Content-Type's media type (lower
// case, before ';'): PHP's json_encode with JSON_PRETTY_PRINT and
// JSON_UNESCAPED_SLASHES for application/json (and x-amz-json-1.0/1.1),
// else form encoding (http_build_query, numbered keys as "[]"), which is
// also the default Content-Type.
func httpBody(v any, ctype string) (*string, string, *cmdError) {
	const form = "application/x-www-form-urlencoded"
	switch t := v.(type) {
	case nil:
		return nil, "", nil
	case *dict.Map, []any:
		mt := ctype
		if mt == "" {
			mt = form
		}
		mt, _, _ = strings.Cut(mt, ";")
		switch strings.ToLower(strings.TrimSpace(mt)) {
		case "application/json", "application/x-amz-json-1.0", "application/x-amz-json-1.1":
			var b strings.Builder
			phpPrettyJSON(&b, t, 0)
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

// formEncode is Cerb's arrayToQueryString: PHP's http_build_query (keys
// kept in order, nested values as a[b]=, true as 1, false as 0, nulls
// and empty arrays left out, urlencode escaping) with every numbered
// nested key written "[]".
func formEncode(v any) string {
	var parts []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		name := func(k string) string {
			if prefix == "" {
				return phpURLEncode(k)
			}
			if _, isInt := dict.PHPIntKey(k); isInt {
				return prefix + "%5B%5D"
			}
			return prefix + "%5B" + phpURLEncode(k) + "%5D"
		}
		switch t := v.(type) {
		case *dict.Map:
			t.Range(func(k string, x any) bool {
				walk(name(k), x)
				return true
			})
		case []any:
			for i, x := range t {
				walk(name(itoa(i)), x)
			}
		case nil:
		case bool:
			if t {
				parts = append(parts, prefix+"=1")
			} else {
				parts = append(parts, prefix+"=0")
			}
		default:
			parts = append(parts, prefix+"="+phpURLEncode(toString(t)))
		}
	}
	walk("", v)
	return strings.Join(parts, "&")
}

// phpURLEncode is PHP's urlencode: everything but letters, digits and
// "-_." is %XX, a space is "+".
func phpURLEncode(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// phpPrettyJSON writes v as PHP's json_encode with JSON_PRETTY_PRINT |
// JSON_UNESCAPED_SLASHES: 4 spaces, "key": value, non-ASCII as \uXXXX,
// a dictionary with keys 0..n-1 as a list, an empty one as [].
func phpPrettyJSON(b *strings.Builder, v any, depth int) {
	nl := func(d int) {
		b.WriteByte('\n')
		for range d {
			b.WriteString("    ")
		}
	}
	switch t := v.(type) {
	case *dict.Map:
		if t.Len() == 0 || listLike(t) {
			l := make([]any, 0, t.Len())
			t.Range(func(_ string, x any) bool {
				l = append(l, x)
				return true
			})
			phpPrettyJSON(b, l, depth)
			return
		}
		b.WriteByte('{')
		for i, k := range t.Keys() {
			if i > 0 {
				b.WriteByte(',')
			}
			nl(depth + 1)
			phpJSONString(b, k)
			b.WriteString(": ")
			phpPrettyJSON(b, t.Value(k), depth+1)
		}
		nl(depth)
		b.WriteByte('}')
	case []any:
		if len(t) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteByte('[')
		for i, x := range t {
			if i > 0 {
				b.WriteByte(',')
			}
			nl(depth + 1)
			phpPrettyJSON(b, x, depth+1)
		}
		nl(depth)
		b.WriteByte(']')
	case string:
		phpJSONString(b, t)
	case float64:
		b.WriteString(phpJSONFloat(t))
	default:
		var sb strings.Builder
		if err := dict.Encode(&sb, t, ""); err == nil {
			b.WriteString(sb.String())
		}
	}
}

// phpJSONString writes s as json_encode does with JSON_UNESCAPED_SLASHES.
func phpJSONString(b *strings.Builder, s string) {
	const hexDigits = "0123456789abcdef"
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20 || r >= 0x7f:
			for _, u := range utf16.Encode([]rune{r}) {
				b.WriteString(`\u`)
				b.WriteByte(hexDigits[u>>12&15])
				b.WriteByte(hexDigits[u>>8&15])
				b.WriteByte(hexDigits[u>>4&15])
				b.WriteByte(hexDigits[u&15])
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

// httpOutput builds Cerb's results: {status_code, [is_data_uri],
// content_type (the media type, lower case, without parameters),
// headers (lower-case names, repeated values joined with ", "), body,
// url}.
func httpOutput(resp *http.Response, data []byte) *dict.Map {
	headers := dict.New(len(resp.Header))
	for _, k := range responseHeaderOrder(resp) {
		headers.Set(strings.ToLower(k), strings.Join(resp.Header[k], ", "))
	}
	ctype, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
	ctype = strings.ToLower(strings.TrimSpace(ctype))
	out := dict.New(7)
	out.Set("status_code", int64(resp.StatusCode))
	body := string(data)
	if !utf8.Valid(data) {
		out.Set("is_data_uri", true)
		body = "data:" + ctype + ";base64," + base64.StdEncoding.EncodeToString(data)
	}
	out.Set("content_type", ctype)
	out.Set("headers", headers)
	out.Set("body", body)
	out.Set("url", resp.Request.URL.String())
	return out
}

// responseHeaderOrder lists resp's header names in the order the server
// sent them when the transport recorded it (ssrf.HeaderOrder), else
// sorted.
func responseHeaderOrder(resp *http.Response) []string {
	keys := make([]string, 0, len(resp.Header))
	for _, k := range ssrf.HeaderOrder(resp) {
		if _, ok := resp.Header[k]; ok && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	var rest []string
	for k := range resp.Header {
		if !slices.Contains(keys, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	return append(keys, rest...)
}

// guzzleError is the message of Guzzle's RequestException for a 4xx or
// 5xx answer, as Cerb reports it: "Client error: `GET <url>` resulted in
// a `404 Not Found` response:\n<the first 120 bytes of the body>\n".
func guzzleError(method string, u *url.URL, resp *http.Response, data []byte) string {
	label := "Unsuccessful request"
	switch {
	case resp.StatusCode >= 500:
		label = "Server error"
	case resp.StatusCode >= 400:
		label = "Client error"
	}
	shown := *u
	if shown.User != nil {
		if _, has := shown.User.Password(); has {
			shown.User = url.UserPassword(shown.User.Username(), "***")
		}
	}
	msg := fmt.Sprintf("%s: `%s %s` resulted in a `%s` response", label, method, shown.String(), resp.Status)
	if len(data) == 0 {
		return msg
	}
	summary := data
	if len(summary) > 120 {
		summary = summary[:120]
	}
	text := string(summary)
	if len(data) > 120 {
		text += " (truncated...)"
	}
	if !utf8.ValidString(text) || strings.IndexFunc(text, func(r rune) bool {
		return r != '\n' && r != '\r' && r != '\t' && !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z)
	}) >= 0 {
		return msg
	}
	return msg + ":\n" + text + "\n"
}
