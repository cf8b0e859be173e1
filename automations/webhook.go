package automations

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/hookhost/hookhost/templates/dict"
)

// WebhookInputs builds the webhook.respond dictionary (spec §3.1) from a
// request and its webhook record, as Cerb 10.4 does under PHP:
// request_method, request_path, request_headers, request_params,
// request_body, request_client_ip and the webhook_* keys.
//
// request_body shares r.Body's memory instead of copying it (a webhook's
// body is up to --body-limit, and its copy was a quarter of the bytes a
// request allocated with a 16 KiB body): r.Body must not change while the
// dictionary is in use. Every caller builds r.Body as a copy of its own.
func WebhookInputs(r HTTPRequest, w WebhookInfo) *dict.Map {
	// In the order of Cerb's Controller_Webhooks::handleRequest (which
	// placeholders_list() shows).
	m := dict.New(13)
	var sv dict.Strings // the inputs' strings, boxed without an allocation each
	m.Set("request_method", sv.Box(strings.ToUpper(r.Method)))
	body := unsafe.String(unsafe.SliceData(r.Body), len(r.Body))
	if strings.EqualFold(r.Method, "POST") && PHPMediaType(headerValue(r.Headers, "Content-Type")) == "multipart/form-data" {
		body = "" // PHP reads a multipart body into $_POST and $_FILES
	}
	m.Set("request_body", sv.Box(body))
	ip := r.ClientIP
	if i := strings.IndexByte(ip, ','); i >= 0 {
		ip = ip[:i]
	}
	m.Set("request_client_ip", sv.Box(strings.TrimSpace(ip)))
	m.Set("request_headers", requestHeaders(r.Headers, &sv))
	m.Set("request_params", requestParams(r.Query, r.Form, &sv))
	m.Set("request_path", sv.Box(requestPath(r.Path)))
	m.Set("webhook_id", sv.Box(w.ID))
	name := sv.Box(w.Name)
	m.Set("webhook_name", name)
	m.Set("webhook_automations_kata", sv.Box(w.EventKATA))
	var updated int64
	if !w.UpdatedAt.IsZero() {
		updated = w.UpdatedAt.Unix()
	}
	m.Set("webhook_updated_at", updated)
	m.Set("webhook__label", name)
	m.Set("webhook__context", webhookContext)
	return m
}

// MaxInputVars is how many variables request_params reads from the query
// and from the form each (PHP's max_input_vars): a request's reader need
// not collect more.
const MaxInputVars = phpMaxInputVars

// PHPMediaType is the media type PHP reads from a Content-Type header to
// choose a body parser: lower-cased, cut at the first ';', ',' or ' '.
func PHPMediaType(contentType string) string {
	if i := strings.IndexAny(contentType, ";, "); i >= 0 {
		contentType = contentType[:i]
	}
	return strings.ToLower(contentType)
}

// headerValue is the first value of the named header (any case).
func headerValue(headers [][2]string, name string) string {
	for _, h := range headers {
		if strings.EqualFold(strings.TrimSpace(h[0]), name) {
			return h[1]
		}
	}
	return ""
}

// webhookContext is the record type of a webhook in Cerb.
const webhookContext = "cerberusweb.contexts.webhook_listener"

// requestPath is Cerb's request_path: the path after the token, split on
// '/' and joined again without its last segment when that one is empty.
// So one trailing slash goes ("a/b/" is "a/b", "a/b//" is "a/b/") and
// empty segments stay ("/webhooks/<token>//x" is "/x"). path may start
// with the '/' that follows the token or not.
func requestPath(path string) string {
	path = strings.TrimPrefix(path, "/")
	return strings.TrimSuffix(path, "/")
}

// requestHeaders is Cerb's request_headers as PHP's built-in server fills
// them: headers whose names differ only in case are one header, their
// values joined with ", "; names are lower-cased with '-', '.' and ' '
// turned into '_' (two names that become the same keep the first one's
// place and the last one's value); Proxy is dropped (PHP's httpoxy
// guard), and so is Cookie (Cerb).
//
// A request's keys cost at most one allocation: a common header's key is
// a constant (commonHeaderKeys), a name already in key form is its own
// key, and the others are written into one buffer converted once.
//
// The values are boxed through sv (the inputs' strings).
func requestHeaders(pairs [][2]string, sv *dict.Strings) *dict.Map {
	type group struct {
		raw   string // the first name sent, leading spaces cut
		ascii bool   // raw is ASCII
		name  string // its request_headers key, unless keyed
		keyed bool   // the key is keys[from:to]
		from  int
		to    int
		val   string
		// more are the values of the header's later lines, joined to val
		// once all are in: joined line by line, a request of n lines of
		// one header copied n²/2 values (seconds of CPU for the lines a
		// 1 MiB --max-header-bytes admits).
		more []string
	}
	var small [16]group
	groups := small[:0]
	var idx map[string]int // lower-cased raw name → groups index, past len(small) groups
	var buf [256]byte
	keys := buf[:0]
	for _, p := range pairs {
		raw := p[0]
		for len(raw) > 0 && raw[0] == ' ' {
			raw = raw[1:]
		}
		if raw == "" {
			continue
		}
		ascii := isASCII(raw)
		i := -1
		if idx != nil {
			if j, ok := idx[strings.ToLower(raw)]; ok {
				i = j
			}
		} else {
			for j := range groups {
				g := &groups[j]
				if g.ascii && ascii && len(g.raw) != len(raw) {
					continue // two ASCII names of different lengths differ
				}
				if sameHeaderName(g.raw, g.ascii, raw, ascii) {
					i = j
					break
				}
			}
		}
		if i >= 0 {
			groups[i].more = append(groups[i].more, p[1])
			continue
		}
		g := group{raw: raw, ascii: ascii, val: p[1]}
		if !ascii {
			g.name = headerName(strings.ToLower(raw))
		} else if g.name = commonHeaderKey(raw); g.name == "" {
			if isHeaderKey(raw) {
				g.name = raw
			} else {
				g.keyed, g.from = true, len(keys)
				keys = appendHeaderKey(keys, raw)
				g.to = len(keys)
			}
		}
		groups = append(groups, g)
		switch {
		case idx != nil:
			idx[strings.ToLower(raw)] = len(groups) - 1
		case len(groups) > len(small):
			idx = make(map[string]int, 2*len(groups))
			for j, g := range groups {
				idx[strings.ToLower(g.raw)] = j
			}
		}
	}
	all := string(keys)
	m := dict.New(len(groups))
	for _, g := range groups {
		name := g.name
		if g.keyed {
			name = all[g.from:g.to]
		}
		if name == "cookie" || name == "proxy" {
			continue
		}
		val := g.val
		if len(g.more) > 0 {
			val = strings.Join(append([]string{g.val}, g.more...), ", ") // as Cerb joins them
		}
		m.Set(name, sv.Box(val))
	}
	return m
}

// sameHeaderName reports whether two header names are one header: the
// same once lower-cased. aASCII and bASCII say whether a and b are ASCII
// (their lengths then differ only for different names).
func sameHeaderName(a string, aASCII bool, b string, bASCII bool) bool {
	if aASCII && bASCII {
		if len(a) != len(b) {
			return false
		}
		for i := 0; i < len(a); i++ {
			if lowerASCII(a[i]) != lowerASCII(b[i]) {
				return false
			}
		}
		return true
	}
	return strings.ToLower(a) == strings.ToLower(b)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// commonHeaderKey is the request_headers key of a header that clients
// send in its usual spelling, a constant; "" for any other name. It
// spares most requests the conversion of their header names.
func commonHeaderKey(raw string) string {
	switch raw {
	case "Host":
		return "host"
	case "User-Agent":
		return "user_agent"
	case "Accept":
		return "accept"
	case "Accept-Encoding":
		return "accept_encoding"
	case "Accept-Language":
		return "accept_language"
	case "Authorization":
		return "authorization"
	case "Connection":
		return "connection"
	case "Content-Length":
		return "content_length"
	case "Content-Type":
		return "content_type"
	case "X-Forwarded-For":
		return "x_forwarded_for"
	case "X-Forwarded-Proto":
		return "x_forwarded_proto"
	case "X-Request-Id":
		return "x_request_id"
	}
	return ""
}

// isHeaderKey reports whether the ASCII name raw is already its own
// request_headers key (no upper-case letter, '-', '.' or ' ').
func isHeaderKey(raw string) bool {
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c >= 'A' && c <= 'Z' || c == '-' || c == '.' || c == ' ' {
			return false
		}
	}
	return true
}

// appendHeaderKey appends the request_headers key of the ASCII name raw:
// lower-cased, '-', '.' and ' ' turned into '_'.
func appendHeaderKey(b []byte, raw string) []byte {
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; c {
		case '-', '.', ' ':
			b = append(b, '_')
		default:
			b = append(b, lowerASCII(c))
		}
	}
	return b
}

// headerName turns a lower-cased header name into its request_headers key.
func headerName(lower string) string {
	if !strings.ContainsAny(lower, "-. ") {
		return lower
	}
	b := []byte(lower)
	for i, c := range b {
		if c == '-' || c == '.' || c == ' ' {
			b[i] = '_'
		}
	}
	return string(b)
}

// paramName is the request_params key of a top-level variable name, as
// Cerb writes it: '-' becomes '_', characters other than [A-Za-z0-9_] are
// removed, and the result is lower-cased (it may be empty).
func paramName(s string) string {
	plain := true // already a key: no copy
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_'
	}
	if plain {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_':
			b.WriteByte(c)
		case c == '-':
			b.WriteByte('_')
		}
	}
	return b.String()
}

// requestParams is Cerb's request_params: the query variables, then the
// form variables (POST only), each set read as PHP reads $_GET and $_POST
// (phpvars.go), their top-level names normalised by paramName. A form
// variable replaces a query variable of the same name in place.
//
// Names that are already keys (plainParams: the usual "?key=value") are
// set as they come, their values boxed through sv, which gives the same
// dictionary as registering them: PHP stores such a name as it is, a name
// sent again keeps its place and takes the last value, and m.Set does the
// same.
func requestParams(query, form [][2]string, sv *dict.Strings) *dict.Map {
	m := dict.New(min(len(query), MaxInputVars) + min(len(form), MaxInputVars))
	for _, src := range [2][][2]string{query, form} {
		if len(src) == 0 {
			continue
		}
		if plainParams(src) {
			for i, p := range src {
				if i >= phpMaxInputVars {
					break
				}
				if p[0] != "" {
					m.Set(p[0], sv.Box(p[1]))
				}
			}
			continue
		}
		vars := phpVars(src)
		for i, v := range vars.vals.Values() {
			m.Set(paramName(vars.vals.Keys()[i]), phpValue(v))
		}
	}
	return m
}

// plainParams reports whether every name in pairs is empty (PHP skips
// it) or already its own request_params key and a PHP variable name as it
// is: only a-z, 0-9 and '_' (no '[', '.', ' ', NUL or upper case).
func plainParams(pairs [][2]string) bool {
	for _, p := range pairs {
		for i := 0; i < len(p[0]); i++ {
			if c := p[0][i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
				return false
			}
		}
	}
	return true
}

// WebhookResponse turns a run's result into the HTTP answer as Cerb's
// webhook controller sends it through PHP (spec §3.2):
//   - status_code: a whole number, or a number or numeric text truncated
//     as PHP's http_response_code() does (201.7 is 201); default 200. A
//     code outside 200–599, or a value PHP refuses (text that is not a
//     number, a list), answers 500 with a warning (hookhost sends no 1xx
//     or out-of-range status). Null or false (a scripting error) is no
//     status.
//   - headers: each pair as given, values printed as text (a list or
//     dictionary as JSON); a name given twice in any case keeps the last
//     value (PHP's header() replaces); names or values with line breaks
//     are dropped with a warning, and so are the headers that act on the
//     whole origin rather than on the answer (ReservedHeader:
//     Service-Worker-Allowed, Clear-Site-Data). A text/* Content-Type
//     without a charset gets ";charset=UTF-8" (PHP's default_charset), and
//     a Location header makes the status 302 unless it is 201 or 3xx (PHP).
//   - body: text as it is; a number printed as PHP prints it; a list or
//     dictionary as JSON; a text starting with "cerb:" (a Cerb resource,
//     which hookhost has none of) sends nothing, with a warning. A
//     "body@base64" key (from `body@raw,base64:`) is decoded and wins.
//
// Other return keys are ignored. A run that ended without return: answers
// 200 with an empty body. A run that ended in error answers 500, or 504
// when the time limit ended it (DESIGN.md); the host adds the problem body.
func WebhookResponse(res *Result) Response {
	resp := Response{Status: 200}
	if res == nil {
		resp.Status = 500
		return resp
	}
	if res.Exit == ExitError {
		resp.Status = 500
		if res.Limit == "time" {
			resp.Status = 504
		}
		return resp
	}
	ret := res.Return
	if ret == nil {
		return resp
	}
	statusValid := true
	// No status_code, null, or false (what a scripting error leaves) keep
	// 200: PHP's http_response_code(null or false) sets nothing.
	if sc, ok := ret.Get("status_code"); ok && sc != nil && sc != false {
		code, valid := statusCode(sc)
		if !valid {
			resp.Warnings = append(resp.Warnings, fmt.Sprintf("invalid status_code %q; answered 500", toString(sc)))
			code, statusValid = 500, false
		}
		resp.Status = code
	}
	switch h := ret.Value("headers").(type) {
	case nil:
	case *dict.Map:
		h.Range(func(k string, v any) bool {
			val := toString(v)
			if k == "" || strings.ContainsAny(k, "\r\n: \t") || strings.ContainsAny(val, "\r\n") {
				resp.Warnings = append(resp.Warnings, fmt.Sprintf("header %q dropped: invalid name or value", k))
				return true
			}
			if ReservedHeader(k) {
				resp.Warnings = append(resp.Warnings, fmt.Sprintf("header %q dropped: an automation cannot set it (it acts on the whole origin, which webhook answers may share with the console)", k))
				return true
			}
			if strings.EqualFold(k, "Content-Type") && strings.HasPrefix(val, "text/") && !strings.Contains(val, "charset=") {
				val += ";charset=UTF-8"
			}
			if strings.EqualFold(k, "Location") && statusValid && resp.Status != 201 && (resp.Status < 300 || resp.Status > 399) {
				resp.Status = 302
			}
			for i, have := range resp.Headers {
				if strings.EqualFold(have[0], k) {
					resp.Headers = append(resp.Headers[:i], resp.Headers[i+1:]...)
					break
				}
			}
			resp.Headers = append(resp.Headers, [2]string{k, val})
			return true
		})
	default:
		resp.Warnings = append(resp.Warnings, "headers: is not a dictionary; ignored")
	}
	body, hasBody := ret.Get("body")
	if b64, ok := ret.Get("body@base64"); ok {
		resp.Body = stringBytes(decodeBase64(toString(b64)))
		return resp
	}
	switch b := body.(type) {
	case string:
		if strings.HasPrefix(b, "cerb:") {
			resp.Warnings = append(resp.Warnings, fmt.Sprintf("body %q is a Cerb resource URI; hookhost has no resources, so the body is empty (as in Cerb when it does not resolve)", shorten(b, 60)))
			return resp
		}
		resp.Body = stringBytes(b)
	default:
		if hasBody {
			resp.Body = stringBytes(toString(b))
		}
	}
	return resp
}

// ReservedHeader reports whether name is a header an automation's answer
// cannot carry, because it acts on the whole origin, which a webhook's
// answers share with the console and the admin API when the server has no
// --admin-listen (and behind a proxy that puts both under one host):
//   - Service-Worker-Allowed widens a service worker's scope: with "/", a
//     worker served by a webhook would control /console/ and read the admin
//     token of every console API call (the server also refuses every
//     request for a worker's script: refuseServiceWorker in host).
//   - Clear-Site-Data wipes the origin's storage, cookies and cache: the
//     console's session with them.
//   - NEL with Report-To or Reporting-Endpoints makes the browser report
//     its later requests to the origin (their URLs: other webhooks' tokens,
//     job status URLs' tokens) to an address the answer names.
//
// Cerb sends them as the script sets them. The host also drops them when
// it writes an answer (one a job's run stored, perhaps on an older node).
func ReservedHeader(name string) bool {
	for _, r := range [...]string{"Service-Worker-Allowed", "Clear-Site-Data", "NEL", "Report-To", "Reporting-Endpoints"} {
		if strings.EqualFold(name, r) {
			return true
		}
	}
	return false
}

// stringBytes is s's bytes without a copy: a Response's Body is read, never
// written (Response). The return's body is usually the largest string of a
// run, and the answer is written from it as it is (fasthttp's SetBodyRaw).
func stringBytes(s string) []byte {
	if s == "" {
		return []byte{} // as []byte(s): empty, not nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// shorten cuts s to at most n bytes, marking the cut.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// statusCode reads a status_code value as PHP's http_response_code(int)
// takes it: an integer; a float truncated toward zero; a numeric text
// (spaces around it allowed) likewise; nothing else. The code must then
// be an answer hookhost sends: 200–599.
func statusCode(v any) (int, bool) {
	var code int64
	switch t := v.(type) {
	case int64:
		code = t
	case int:
		code = int64(t)
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) || t >= 1<<63 || t < -(1<<63) {
			return 0, false
		}
		code = int64(t)
	case string:
		if !isNumeric(t) {
			return 0, false
		}
		f, n, isInt := numericPrefix(t)
		if isInt {
			i, err := strconv.ParseInt(strings.TrimSpace(t[:n]), 10, 64)
			if err != nil {
				return 0, false
			}
			code = i
		} else {
			return statusCode(f)
		}
	default:
		return 0, false
	}
	// 1xx answers are interim: sent as the final answer they leave the
	// caller waiting for another, so they are refused like any other
	// out-of-range code.
	if code < 200 || code > 599 {
		return 0, false
	}
	return int(code), true
}
