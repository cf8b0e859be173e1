package automations

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hookhost/hookhost/templates/dict"
)

// WebhookInputs builds the webhook.respond dictionary (spec §3.1) from a
// request and its webhook record: request_method, request_path,
// request_headers, request_params, request_body, request_client_ip and the
// webhook_* keys.
func WebhookInputs(r HTTPRequest, w WebhookInfo) *dict.Map {
	m := dict.New(12)
	m.Set("request_method", strings.ToUpper(r.Method))
	m.Set("request_path", strings.Trim(r.Path, "/"))
	m.Set("request_headers", requestHeaders(r.Headers))
	m.Set("request_params", requestParams(r.Query, r.Form))
	m.Set("request_body", string(r.Body))
	ip := r.ClientIP
	if i := strings.IndexByte(ip, ','); i >= 0 {
		ip = ip[:i]
	}
	m.Set("request_client_ip", strings.TrimSpace(ip))
	m.Set("webhook_id", w.ID)
	m.Set("webhook_name", w.Name)
	m.Set("webhook_automations_kata", w.EventKATA)
	var updated int64
	if !w.UpdatedAt.IsZero() {
		updated = w.UpdatedAt.Unix()
	}
	m.Set("webhook_updated_at", updated)
	m.Set("webhook__label", w.Name)
	return m
}

// requestHeaders lower-cases names, turns '-' into '_', drops cookie, and
// joins repeated headers with ", " (first position kept).
func requestHeaders(pairs [][2]string) *dict.Map {
	m := dict.New(len(pairs))
	for _, p := range pairs {
		name := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(p[0])), "-", "_")
		if name == "" || name == "cookie" {
			continue
		}
		if old, ok := m.Get(name); ok {
			m.Set(name, old.(string)+", "+p[1])
			continue
		}
		m.Set(name, p[1])
	}
	return m
}

// paramName normalises a parameter name as PHP and Cerb do: '.', ' ' and
// '-' become '_', other characters outside [A-Za-z0-9_] are dropped, and
// the result is lower-cased.
func paramName(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_':
			b.WriteByte(c)
		case c == '-', c == '.', c == ' ':
			b.WriteByte('_')
		}
	}
	return b.String()
}

// requestParams merges query then form pairs (form values replace query
// values in place). "a[]" appends to a list and "a[k]" sets a key of a
// dictionary.
func requestParams(query, form [][2]string) *dict.Map {
	m := dict.New(len(query) + len(form))
	formSeen := map[string]bool{}
	add := func(raw, v string, fromForm bool) {
		base, sub, hasSub := raw, "", false
		if i := strings.IndexByte(raw, '['); i > 0 && strings.HasSuffix(raw, "]") {
			base, sub, hasSub = raw[:i], raw[i+1:len(raw)-1], true
		}
		name := paramName(base)
		if name == "" {
			return
		}
		if fromForm && !formSeen[name] {
			// The first form value of a name replaces the query value.
			formSeen[name] = true
			if m.Has(name) {
				m.Set(name, nil)
			}
		}
		if !hasSub {
			m.Set(name, v)
			return
		}
		cur := m.Value(name)
		if sub == "" {
			l, _ := cur.([]any)
			m.Set(name, append(l, v))
			return
		}
		d, ok := cur.(*dict.Map)
		if !ok {
			d = dict.New(2)
			if l, isList := cur.([]any); isList {
				for i, x := range l {
					d.Set(strconv.Itoa(i), x)
				}
			}
		}
		d.Set(sub, v)
		m.Set(name, d)
	}
	for _, p := range query {
		add(p[0], p[1], false)
	}
	for _, p := range form {
		add(p[0], p[1], true)
	}
	return m
}

// WebhookResponse turns a run's result into the HTTP answer (spec §3.2):
// status_code (an integer or numeric string, default 200; a value outside
// 200–599 gives 500 and a warning), headers (each pair as given, values
// printed as text; names or values with line breaks are dropped with a
// warning), body (text; a list or dictionary is sent as JSON). Other
// return keys are ignored. A run that ended without return: answers 200
// with an empty body. A run that ended in error answers 500, or 504 when
// the time limit ended it (DESIGN.md); the host adds the problem body.
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
	if sc, ok := ret.Get("status_code"); ok && sc != nil && sc != "" {
		code, valid := statusCode(sc)
		if !valid {
			resp.Warnings = append(resp.Warnings, fmt.Sprintf("invalid status_code %q; answered 500", toString(sc)))
			code = 500
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
			resp.Headers = append(resp.Headers, [2]string{k, val})
			return true
		})
	default:
		resp.Warnings = append(resp.Warnings, "headers: is not a dictionary; ignored")
	}
	switch b := ret.Value("body").(type) {
	case nil:
	case string:
		resp.Body = []byte(b)
	case *dict.Map, []any:
		s := toString(b)
		resp.Body = []byte(s)
	default:
		resp.Body = []byte(toString(b))
	}
	return resp
}

// statusCode reads a status_code value.
func statusCode(v any) (int, bool) {
	var code int64
	switch t := v.(type) {
	case int64:
		code = t
	case float64:
		if t != float64(int64(t)) {
			return 0, false
		}
		code = int64(t)
	case string:
		s := strings.TrimSpace(t)
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, false
		}
		code = i
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
