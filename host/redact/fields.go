package redact

import (
	"net/url"
	"strings"

	"github.com/hookhost/hookhost/templates/dict"
)

// Field values a request's records redact (FieldCredentials) are bounded,
// so that one request cannot make its redaction's replacer expensive (a
// 1 MiB JSON body of short strings under a credential key gave 87,000
// values): at most maxFieldValues values of at most maxFieldBytes in all
// are listed, the first ones met.
const (
	maxFieldValues = 256
	maxFieldBytes  = 64 << 10
)

// fieldList is the values FieldCredentials lists, within their bounds.
type fieldList struct {
	values []string
	bytes  int
}

// add lists v when it is long enough (minPasswordLen bytes or more: a
// Basic password alone is redacted at that length, and a short value,
// replaced without word boundaries, would break the record's text) and the
// bounds leave room for it.
func (l *fieldList) add(v string) {
	if len(v) < minPasswordLen || len(l.values) == maxFieldValues || l.bytes+len(v) > maxFieldBytes {
		return
	}
	l.values = append(l.values, v)
	l.bytes += len(v)
}

// FieldCredentials lists the values of a request's fields named like
// credentials (CredentialParam), so that a record can redact them
// wherever the automation echoed them, as it does a credential header's
// (CallerCredentials): the query's parameters and a form's fields (pairs,
// each named as sent: a[api_token]), a form body's own fields (a repeated
// field's every value), and a JSON body's fields at any depth (the
// strings directly under such a field, or in a list there: not those of
// an object under it, whose keys say what they are). Values shorter than
// minPasswordLen are left out, and at most maxFieldValues are listed. It
// allocates nothing for a request without such a field.
func FieldCredentials(body []byte, contentType string, pairs ...[][2]string) []string {
	_, fields := BodyFields(body, contentType)
	return append(PairCredentials(pairs...), fields...)
}

// PairCredentials is FieldCredentials of the query's parameters and a
// form's fields alone (pairs, each named as sent).
func PairCredentials(pairs ...[][2]string) []string {
	var l fieldList
	for _, ps := range pairs {
		for _, p := range ps {
			if len(p[1]) >= minPasswordLen && CredentialParam(p[0]) {
				l.add(p[1])
			}
		}
	}
	return l.values
}

// BodyFields returns Body(body, contentType) and the values of a JSON or
// form body's credential fields (as FieldCredentials lists them), reading
// the body once: a record that redacts its body and its caller's fields
// looks for credential names in a large payload once, not twice (the
// look costs about a microsecond a KiB).
func BodyFields(body []byte, contentType string) ([]byte, []string) {
	ct := strings.ToLower(contentType)
	switch {
	case len(body) == 0:
		return body, nil
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		return formBody(body), formFields(body)
	case strings.HasPrefix(ct, "multipart/form-data") || !strings.Contains(ct, "json"):
		return Body(body, contentType), nil // a multipart form's fields are pairs
	case !mayNameCredential(body):
		return body, nil // nothing to hide, without decoding it
	}
	v, err := dict.DecodeJSON(body)
	if err != nil {
		return body, nil
	}
	var l fieldList
	l.jsonValues(v, false)
	if out, changed := markCredentials(v); changed {
		if b := encode(out); b != nil {
			return b, l.values
		}
	}
	return body, l.values
}

// formFields lists the values of a form body's credential fields, a
// repeated field's every one (request_params keeps only the last, as PHP
// does).
func formFields(body []byte) []string {
	var l fieldList
	for p := range strings.SplitSeq(string(body), "&") {
		k, v, found := strings.Cut(p, "=")
		if !found || len(v) < minPasswordLen {
			continue
		}
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if CredentialParam(name) {
			if val, err := url.QueryUnescape(v); err == nil {
				v = val
			}
			l.add(v)
		}
	}
	return l.values
}

// InputsFieldCredentials is FieldCredentials of a run's inputs, as a job
// holds them: request_params at any depth (the query's and the form's
// fields, a[api_token] nested as {"a":{"api_token":…}}) and a JSON or
// form request_body (by request_headers' content_type).
func InputsFieldCredentials(in *dict.Map) []string {
	if in == nil {
		return nil
	}
	var l fieldList
	l.jsonValues(in.Value("request_params"), false)
	b, _ := in.Value("request_body").(string)
	_, _, fields := inputsBody(in, b)
	return append(l.values, fields...)
}

// jsonValues lists the strings of v under a key named like a credential:
// v itself, or the strings of a list v, when under is true (v is such a
// key's value), else those under v's own such keys, at any depth.
func (l *fieldList) jsonValues(v any, under bool) {
	switch t := v.(type) {
	case string:
		if under {
			l.add(t)
		}
	case []any:
		for _, x := range t {
			if s, ok := x.(string); ok && under {
				l.add(s)
			} else if !under {
				l.jsonValues(x, false)
			}
		}
	case *dict.Map:
		if under {
			return // an object under a credential key: its own keys say what it holds
		}
		t.Range(func(k string, x any) bool {
			l.jsonValues(x, CredentialParam(k))
			return true
		})
	}
}
