package redact

import (
	"strings"

	"github.com/hookhost/hookhost/templates/dict"
)

// FieldCredentials lists the values of a request's fields named like
// credentials (CredentialParam), so that a record can redact them
// wherever the automation echoed them, as it does a credential header's
// (CallerCredentials): the query's parameters and a form's fields (pairs,
// each named as sent: a[api_token]), and a JSON body's fields at any
// depth (every string under such a field, in a list or an object too).
// Values shorter than minPasswordLen are left out, as a Basic password
// alone is: replaced without word boundaries, a short one ("true",
// "1234") would break the record's text. It allocates nothing for a
// request without such a field.
func FieldCredentials(body []byte, contentType string, pairs ...[][2]string) []string {
	_, fields := BodyFields(body, contentType)
	return append(PairCredentials(pairs...), fields...)
}

// PairCredentials is FieldCredentials of the query's parameters and a
// form's fields alone (pairs, each named as sent).
func PairCredentials(pairs ...[][2]string) []string {
	var out []string
	for _, ps := range pairs {
		for _, p := range ps {
			if len(p[1]) >= minPasswordLen && CredentialParam(p[0]) {
				out = append(out, p[1])
			}
		}
	}
	return out
}

// BodyFields returns Body(body, contentType) and the values of a JSON
// body's credential fields (as FieldCredentials lists them), reading the
// body once: a record that redacts its body and its caller's fields
// looks for credential names in a large payload once, not twice (the
// look costs about a microsecond a KiB).
func BodyFields(body []byte, contentType string) ([]byte, []string) {
	ct := strings.ToLower(contentType)
	if len(body) == 0 || !strings.Contains(ct, "json") ||
		strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data") {
		return Body(body, contentType), nil // no JSON fields (a form's are pairs)
	}
	if !mayNameCredential(body) {
		return body, nil // nothing to hide, without decoding it
	}
	v, err := dict.DecodeJSON(body)
	if err != nil {
		return body, nil
	}
	fields := appendFieldValues(nil, v, false)
	if out, changed := markCredentials(v); changed {
		if b := encode(out); b != nil {
			return b, fields
		}
	}
	return body, fields
}

// InputsFieldCredentials is FieldCredentials of a run's inputs, as a job
// holds them: request_params at any depth (the query's and the form's
// fields, a[api_token] nested as {"a":{"api_token":…}}) and a JSON
// request_body (by request_headers' content_type).
func InputsFieldCredentials(in *dict.Map) []string {
	if in == nil {
		return nil
	}
	out := appendFieldValues(nil, in.Value("request_params"), false)
	b, _ := in.Value("request_body").(string)
	_, _, fields := inputsBody(in, b)
	return append(out, fields...)
}

// appendFieldValues appends to out the strings of v (minPasswordLen bytes
// or more) under a key named like a credential: every one of them when
// under is true (v is such a key's value), else those of v's own such
// keys, at any depth.
func appendFieldValues(out []string, v any, under bool) []string {
	switch t := v.(type) {
	case string:
		if under && len(t) >= minPasswordLen {
			out = append(out, t)
		}
	case *dict.Map:
		t.Range(func(k string, x any) bool {
			out = appendFieldValues(out, x, under || CredentialParam(k))
			return true
		})
	case []any:
		for _, x := range t {
			out = appendFieldValues(out, x, under)
		}
	}
	return out
}
