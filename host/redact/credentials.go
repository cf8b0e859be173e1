package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"net/url"
	"strings"
	"unsafe"

	"github.com/hookhost/hookhost/host/verify"
	"github.com/hookhost/hookhost/templates/dict"
)

// credentialHeaders are request and response headers that carry
// credentials whatever scheme is used: besides these, every verify
// scheme's own headers (verify.SchemeHeaders) and the headers a webhook's
// verify blocks read (passed as extra) are credentials.
var credentialHeaders = []string{
	"Proxy-Authorization", "Cookie", "Set-Cookie", "X-Api-Key", "Api-Key",
	"X-Gitea-Signature", "X-Gogs-Signature", "X-Signature", "X-Shopify-Hmac-Sha256", "X-Twilio-Signature",
	"X-Line-Signature", "X-Webhook-Signature", "X-Auth-Token", "X-Access-Token", "X-Webhook-Token",
}

// CredentialHeader reports whether a header called name carries a
// credential: a well-known credential header, a verify scheme's header, or
// one of extra (the headers a webhook's verify blocks read). Names compare
// case-insensitively, and "_" matches "-" (as automations see header
// names).
func CredentialHeader(name string, extra ...string) bool {
	nameASCII := ascii(name)
	known := allCredentialHeaders
	if nameASCII {
		// Only a name of the same length folds to an ASCII one.
		known = nil
		if len(name) < len(knownCredentialHeaders) {
			known = knownCredentialHeaders[len(name)]
		}
	}
	for _, hs := range [2][]string{known, extra} {
		for _, h := range hs {
			if equalHeaderName(name, nameASCII, h) {
				return true
			}
		}
	}
	return false
}

// equalHeaderName reports whether the header name n (nASCII: n is ASCII),
// with "_" read as "-", equals h under Unicode case folding: strings.EqualFold
// of n with its "_" replaced, without the copy when both are ASCII.
func equalHeaderName(n string, nASCII bool, h string) bool {
	if !nASCII || !ascii(h) {
		return strings.EqualFold(strings.ReplaceAll(n, "_", "-"), h)
	}
	if len(n) != len(h) {
		return false
	}
	for i := 0; i < len(n); i++ {
		a, b := n[i], h[i]
		if a == '_' {
			a = '-'
		}
		if a == b {
			continue
		}
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// allCredentialHeaders are credentialHeaders and verify.SchemeHeaders, and
// knownCredentialHeaders the same by the length of their names, which an
// ASCII name has to have to match (CredentialHeader runs for every header
// of every request recorded).
var (
	allCredentialHeaders   = append(append([]string(nil), credentialHeaders...), verify.SchemeHeaders()...)
	knownCredentialHeaders = byLength(allCredentialHeaders)
)

// byLength groups names by their length in bytes.
func byLength(names []string) [][]string {
	var byLen [][]string
	for _, h := range names {
		for len(byLen) <= len(h) {
			byLen = append(byLen, nil)
		}
		byLen[len(h)] = append(byLen[len(h)], h)
	}
	return byLen
}

// ascii reports whether s is ASCII only.
func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// credentialWords are the parts of parameter and field names that mark a
// credential.
var credentialWords = []string{"token", "secret", "password", "passwd", "signature", "api_key", "apikey", "api-key", "credential"}

// CredentialParam reports whether a query parameter, form field or JSON
// field called name holds a credential (its name contains token, secret,
// password, signature, api_key...).
func CredentialParam(name string) bool {
	n := strings.ToLower(name)
	for _, w := range credentialWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// Headers returns hs with credential headers (CredentialHeader with extra)
// replaced by "[redacted]" and every other value redacted with r: a copy
// when that changed a value, else hs itself (a run's record redacts its
// request's headers, which usually hold nothing to redact). hs is never
// modified.
func (r *Redactor) Headers(hs [][2]string, extra ...string) [][2]string {
	var out [][2]string
	for i, h := range hs {
		v := Marker
		if !CredentialHeader(h[0], extra...) {
			v = r.Redact(h[1])
		}
		if out == nil {
			if v == h[1] {
				continue
			}
			out = make([][2]string, len(hs))
			copy(out, hs[:i])
		}
		out[i] = [2]string{h[0], v}
	}
	if out == nil {
		return hs
	}
	return out
}

// Inputs returns a run's inputs dictionary for display and storage:
// credential headers (request_headers and webhook_data's RequestHeader)
// and credential parameters (request_params, at any depth: a[api_token])
// are replaced by "[redacted]", a form or JSON request_body and
// webhook_data's RequestBody (the same text, or a multipart body, which
// request_body leaves out) have their credential fields replaced as Body
// does, as a synchronous run's record has them, and
// every other string is redacted with r. The automation
// itself gets the real values: in is never modified. Like Walk, the
// result shares with in the parts that nothing changed (in itself when
// nothing did): copying all of a job's inputs for every durable 202 cost
// more than their redaction. So the result must not be modified in place
// (its compacted record copy is written, not made: dispatch).
func (r *Redactor) Inputs(in *dict.Map, extra ...string) *dict.Map {
	m, _ := r.InputsFields(in, extra...)
	return m
}

// InputsFields is Inputs, and InputsFieldCredentials of in, with the
// request body read once for both.
func (r *Redactor) InputsFields(in *dict.Map, extra ...string) (*dict.Map, []string) {
	if in == nil {
		return nil, nil
	}
	var params fieldList
	params.jsonValues(in.Value("request_params"), false)
	fields := params.values
	out := in
	if m, ok := markKeys(in.Value("request_headers"), extra); ok {
		out = withValue(out, in, "request_headers", m)
	}
	if m, ok := markCredentials(in.Value("request_params")); ok {
		out = withValue(out, in, "request_params", m)
	}
	body, _ := in.Value("request_body").(string)
	shownBody, bodyChanged, bodyFields := inputsBody(in, body)
	fields = append(fields, bodyFields...)
	if bodyChanged {
		out = withValue(out, in, "request_body", shownBody)
	}
	if wd, ok := in.Value("webhook_data").(*dict.Map); ok {
		shownWD := wd
		if m, ok := markKeys(wd.Value("RequestHeader"), extra); ok {
			shownWD = withValue(shownWD, wd, "RequestHeader", m)
		}
		if rb, ok := wd.Value("RequestBody").(string); ok && rb != "" {
			switch {
			case rb == body:
				if bodyChanged {
					shownWD = withValue(shownWD, wd, "RequestBody", shownBody)
				}
			default:
				// Not request_body: a multipart body, which request_body
				// leaves out as PHP does (automations.WebhookInputs).
				if shown, changed, _ := inputsBody(in, rb); changed {
					shownWD = withValue(shownWD, wd, "RequestBody", shown)
				}
			}
		}
		if shownWD != wd {
			out = withValue(out, in, "webhook_data", shownWD)
		}
	}
	m, _ := r.Value(out).(*dict.Map)
	return m, fields
}

// inputsBody is a run's request_body with its credential fields redacted
// (Body, by the request's content_type header in request_headers) and
// true, or body and false when that changes nothing; and the values of a
// JSON body's credential fields (BodyFields). The body is read in place,
// not copied.
func inputsBody(in *dict.Map, body string) (string, bool, []string) {
	if body == "" {
		return body, false, nil
	}
	ct := ""
	if hs, ok := in.Value("request_headers").(*dict.Map); ok {
		ct, _ = hs.Value("content_type").(string)
	}
	b := unsafe.Slice(unsafe.StringData(body), len(body))
	nb, fields := BodyFields(b, ct)
	if len(nb) == len(b) && unsafe.SliceData(nb) == unsafe.SliceData(b) {
		return body, false, fields
	}
	return string(nb), true, fields
}

// markKeys returns v (a *dict.Map) with the values of its credential
// headers (CredentialHeader with extra) replaced by Marker, a copy, and
// true; v itself and false when it holds none.
func markKeys(v any, extra []string) (*dict.Map, bool) {
	m, ok := v.(*dict.Map)
	if !ok {
		return nil, false
	}
	var out *dict.Map
	for _, k := range m.Keys() {
		if CredentialHeader(k, extra...) {
			out = withValue(out, m, k, Marker)
		}
	}
	return out, out != nil
}

// withValue sets k to v in out, a copy of orig made when out is nil or orig
// itself, and returns out.
func withValue(out, orig *dict.Map, k string, v any) *dict.Map {
	if out == nil || out == orig {
		out = dict.New(orig.Len())
		vals := orig.Values()
		for i, key := range orig.Keys() {
			out.Set(key, vals[i])
		}
	}
	out.Set(k, v)
	return out
}

// Body returns a request body as records keep it: a form
// (application/x-www-form-urlencoded or multipart/form-data) or JSON body
// whose fields are named like credentials (CredentialParam, at any depth)
// has their values replaced by "[redacted]"; any other body, or one with
// nothing to hide, comes back as it is.
func Body(body []byte, contentType string) []byte {
	ct := strings.ToLower(contentType)
	switch {
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		return formBody(body)
	case strings.HasPrefix(ct, "multipart/form-data"):
		return multipartBody(body, contentType)
	case strings.Contains(ct, "json"):
		if !mayNameCredential(body) {
			return body // nothing to hide, without decoding it
		}
		return jsonBody(body)
	}
	return body
}

// jsonBody redacts the credential fields of a JSON body: decoded, marked
// and encoded again when that changed something.
func jsonBody(body []byte) []byte {
	v, err := dict.DecodeJSON(body)
	if err != nil {
		return body
	}
	if out, changed := markCredentials(v); changed {
		if b := encode(out); b != nil {
			return b
		}
	}
	return body
}

// mayNameCredential reports whether a JSON text may have a field whose
// name CredentialParam matches: one holding a credential word in any case
// (ASCII letters; U+0130 and U+212A are the only other characters that
// lower-case to ASCII letters, to i and k), or a \u escape, which can
// spell any of them. A text without either has none, and most webhook
// payloads are such texts: decoding one to look (dict.DecodeJSON) was a
// quarter of the server's CPU for a 16 KiB body.
func mayNameCredential(b []byte) bool {
	if bytes.Contains(b, []byte("\u0130")) || bytes.Contains(b, []byte("\u212a")) {
		return true // lead bytes a payload in ASCII does not hold: found at once
	}
	return hasCredentialWordOrEscape(b)
}

// hasCredentialWordOrEscape reports whether b holds one of credentialWords
// in any ASCII case, or a \u escape. Every word holds one of four pairs of
// letters, its anchor (credentialAnchors): the text is read eight bytes at
// a time, each pair (and \u) looked for at the eight places at once
// (SWAR), and a word compared only where its anchor is, which a payload
// seldom holds. Looking for the words at every byte that could start one
// (t, s, p, a, c: a fifth of a payload's letters) cost 3-4 ns a byte, a
// third of the server's CPU at 16 KiB; \u, looked for apart
// (bytes.Contains), stopped at each backslash of the payload's \" and
// took as long as the words.
func hasCredentialWordOrEscape(b []byte) bool {
	if credentialAnchors.unanchored {
		return hasCredentialWordAt(b, 0, len(b))
	}
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
		fold = 0x2020202020202020 // lower-cases ASCII letters
	)
	i := 0
	for ; i+9 <= len(b); i += 8 {
		// x holds the bytes i..i+7 and y the bytes after each of them,
		// lower-cased: byte j of (x^A)|(y^B) is zero where the pair AB
		// starts at i+j. (Only letters fold onto a letter.)
		w := b[i : i+9 : i+9]
		x := binary.LittleEndian.Uint64(w[:8]) | fold
		y := binary.LittleEndian.Uint64(w[1:]) | fold
		t0 := (x ^ (anchor0a * ones)) | (y ^ (anchor0b * ones))
		t1 := (x ^ (anchor1a * ones)) | (y ^ (anchor1b * ones))
		t2 := (x ^ (anchor2a * ones)) | (y ^ (anchor2b * ones))
		t3 := (x ^ (anchor3a * ones)) | (y ^ (anchor3b * ones))
		// \u lower-cased (and so |u, \U and |U, which the check of
		// the place tells from it).
		t4 := (x ^ (('\\' | 0x20) * ones)) | (y ^ ('u' * ones))
		// Nonzero exactly when one of them has a zero byte.
		if ((t0-ones)&^t0|(t1-ones)&^t1|(t2-ones)&^t2|(t3-ones)&^t3|(t4-ones)&^t4)&high != 0 && hasCredentialWordAt(b, i, i+8) {
			return true
		}
	}
	return hasCredentialWordAt(b, i, len(b))
}

// hasCredentialWordAt reports whether a \u escape or the anchor of a
// credential word of b starts in b[from:to] (a word anywhere in it, when a
// word has no anchor).
func hasCredentialWordAt(b []byte, from, to int) bool {
	for p := from; p < to; p++ {
		if p+1 < len(b) && b[p] == '\\' && b[p+1] == 'u' {
			return true
		}
		if credentialAnchors.unanchored {
			for _, w := range credentialWords {
				if len(b)-p >= len(w) && equalFoldASCII(b[p:p+len(w)], w) {
					return true
				}
			}
			continue
		}
		if p+1 >= len(b) {
			break
		}
		pair := [2]byte{b[p] | 0x20, b[p+1] | 0x20}
		for _, a := range credentialAnchors.anchors {
			if a.pair != pair {
				continue
			}
			for _, w := range a.words {
				s := p - w.offset
				if s >= 0 && len(b)-s >= len(w.word) && equalFoldASCII(b[s:s+len(w.word)], w.word) {
					return true
				}
			}
		}
	}
	return false
}

// The pairs of lower-case letters hasCredentialWordOrEscape looks for (anchor0a
// then anchor0b ...): every credential word holds one. "cr" is in secret
// and credential, "ke" in token and the api keys, "sw" in password and
// passwd, "gn" in signature.
const (
	anchor0a, anchor0b = 'c', 'r'
	anchor1a, anchor1b = 'k', 'e'
	anchor2a, anchor2b = 's', 'w'
	anchor3a, anchor3b = 'g', 'n'
)

// anchorPairs are the anchors, in hasCredentialWordOrEscape's order.
var anchorPairs = [...]string{
	string([]byte{anchor0a, anchor0b}), string([]byte{anchor1a, anchor1b}),
	string([]byte{anchor2a, anchor2b}), string([]byte{anchor3a, anchor3b}),
}

// credentialAnchors are the credential words by the pair of anchorPairs
// each holds first, and where; unanchored, if a word holds none,
// hasCredentialWordOrEscape falls back to comparing every word at every byte.
var credentialAnchors = func() (t struct {
	anchors [len(anchorPairs)]struct {
		pair  [2]byte
		words []anchoredWord
	}
	unanchored bool
}) {
	for i, p := range anchorPairs {
		t.anchors[i].pair = [2]byte{p[0], p[1]}
	}
	for _, w := range credentialWords {
		found := false
		for i, p := range anchorPairs {
			if o := strings.Index(w, p); o >= 0 {
				t.anchors[i].words = append(t.anchors[i].words, anchoredWord{w, o})
				found = true
				break
			}
		}
		t.unanchored = t.unanchored || !found
	}
	return t
}()

// anchoredWord is a credential word and where its anchor starts in it.
type anchoredWord struct {
	word   string
	offset int
}

// equalFoldASCII reports whether b is w (lower case) with any of its
// ASCII letters in upper case.
func equalFoldASCII(b []byte, w string) bool {
	for i := range len(w) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[i] {
			return false
		}
	}
	return true
}

// formBody redacts the credential fields of a form body, keeping the order
// and encoding of the others.
func formBody(body []byte) []byte {
	parts := strings.Split(string(body), "&")
	changed := false
	for i, p := range parts {
		k, _, found := strings.Cut(p, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if found && CredentialParam(name) {
			parts[i] = k + "=" + url.QueryEscape(Marker)
			changed = true
		}
	}
	if !changed {
		return body
	}
	return []byte(strings.Join(parts, "&"))
}

// markCredentials returns v with the values of credential-named keys
// replaced, at any depth, copying only what changes.
func markCredentials(v any) (any, bool) {
	switch t := v.(type) {
	case *dict.Map:
		var out *dict.Map
		t.Range(func(k string, x any) bool {
			nx, changed := x, false
			if CredentialParam(k) {
				if s, ok := x.(string); !ok || s != Marker {
					nx, changed = Marker, true
				}
			} else {
				nx, changed = markCredentials(x)
			}
			if changed && out == nil {
				out = t.Clone()
			}
			if out != nil && changed {
				out.Set(k, nx)
			}
			return true
		})
		if out == nil {
			return t, false
		}
		return out, true
	case []any:
		var out []any
		for i, x := range t {
			nx, changed := markCredentials(x)
			if changed && out == nil {
				out = append([]any(nil), t...)
			}
			if out != nil {
				out[i] = nx
			}
		}
		if out == nil {
			return v, false // t boxed again would be an allocation
		}
		return out, true
	}
	return v, false
}

// minPasswordLen is the shortest Basic password CallerCredentials
// redacts on its own (the user:password pair and its base64 are always).
const minPasswordLen = 8

// CallerCredentials lists the values of the credential headers a request
// carried (CredentialHeader with extra, the headers its webhook's verify
// blocks read), so that a record can redact them wherever the automation
// echoed them: each value as sent, a Bearer token without its scheme, and
// a Basic one also decoded ("user:password") and its password alone (of
// minPasswordLen bytes or more), as verify blocks read them. Values
// shorter than MinLen are left out, as a Redactor leaves them: a header
// "1" must not turn every "1" of a record into "[redacted]".
func CallerCredentials(headers [][2]string, extra ...string) []string {
	return callerCredentials(headers, false, extra)
}

// JoinedCallerCredentials is CallerCredentials of headers as a job's
// inputs hold them (request_headers): one value per name, the values of a
// repeated header joined with ", " as Cerb joins them. Besides each joined
// value whole, it lists what each value the caller sent may have been,
// with the same rules: every piece between two ", " and every run of up
// to maxJoinedRun pieces (only the pieces past maxJoinedPieces), so that an automation that echoes one of the
// values alone (split from the joined one) has it redacted in the job's
// record as a synchronous run's record has it. A value that itself holds
// ", " is listed whole (as part of the joined value, or a run of its
// pieces) besides its pieces; a piece shorter than MinLen is left out as
// a short value is.
func JoinedCallerCredentials(headers [][2]string, extra ...string) []string {
	return callerCredentials(headers, true, extra)
}

// maxJoinedRun is the most pieces of a joined header value
// (JoinedCallerCredentials) a run lists as one credential, besides the
// joined value whole: a value the caller sent with up to maxJoinedRun-1
// ", " inside is redacted whole however many values were sent with it.
// Past maxJoinedPieces pieces only the pieces are listed (runs of one), so
// that what a caller's header costs a job's record stays what the same
// values sent as separate header lines cost a run's record (one
// credential each), not maxJoinedRun times that: a value with ", "
// inside, sent with more than maxJoinedPieces others, is then redacted by
// its pieces of MinLen bytes or more.
const (
	maxJoinedRun    = 4
	maxJoinedPieces = 16
)

// callerCredentials is CallerCredentials, with JoinedCallerCredentials'
// runs of the joined values when joined.
func callerCredentials(headers [][2]string, joined bool, extra []string) []string {
	var out []string
	for _, h := range headers {
		if len(h[1]) < MinLen || !CredentialHeader(h[0], extra...) {
			continue
		}
		out = appendCredential(out, h[1])
		if joined && strings.Contains(h[1], ", ") {
			out = appendJoinedRuns(out, h[1])
		}
	}
	return out
}

// appendJoinedRuns appends the credentials (appendCredential) of the runs
// of one to maxJoinedRun pieces of v (one, past maxJoinedPieces pieces), a
// header's values joined with ", ", but v itself: starts[i] is where its
// i-th piece starts.
func appendJoinedRuns(out []string, v string) []string {
	var small [16]int
	starts := append(small[:0], 0)
	for i := 0; ; {
		j := strings.Index(v[i:], ", ")
		if j < 0 {
			break
		}
		i += j + len(", ")
		starts = append(starts, i)
	}
	n := len(starts)
	longest := maxJoinedRun
	if n > maxJoinedPieces {
		longest = 1
	}
	for i := range n {
		for k := i + 1; k <= n && k-i <= longest; k++ {
			if i == 0 && k == n {
				continue // v whole, already listed
			}
			end := len(v)
			if k < n {
				end = starts[k] - len(", ")
			}
			out = appendCredential(out, v[starts[i]:end])
		}
	}
	return out
}

// appendCredential appends what CallerCredentials lists of a credential
// header's value v.
func appendCredential(out []string, v string) []string {
	add := func(v string) {
		if len(v) >= MinLen {
			out = append(out, v)
		}
	}
	add(v)
	scheme, token, ok := strings.Cut(v, " ")
	if !ok {
		return out
	}
	token = strings.TrimSpace(token)
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		add(token)
	case strings.EqualFold(scheme, "Basic"):
		add(token)
		if raw, err := base64.StdEncoding.DecodeString(token); err == nil {
			add(string(raw))
			// The password alone only when it is long enough not to be
			// an ordinary word of the record's text too ("true" in a
			// JSON body): replaced without word boundaries, a short
			// one would break the record, and is no real secret.
			if _, pass, ok := strings.Cut(string(raw), ":"); ok && len(pass) >= minPasswordLen {
				add(pass)
			}
		}
	}
	return out
}

// CallerRedaction returns the redaction of what hookhost keeps of a
// request (its run or job record: response, output, log, error): r.Redact,
// then every one of the caller's credentials (CallerCredentials of headers
// with extra, and fields: the values of its credential fields,
// FieldCredentials) in every encoding Values replaces. The replacer of
// those values is built once, here, not for every string. It returns nil
// when the request carried no such credential: r.Redact alone is then the
// redaction, and a request without credentials pays nothing more.
func (r *Redactor) CallerRedaction(headers [][2]string, fields []string, extra ...string) func(string) string {
	return r.callerRedaction(append(CallerCredentials(headers, extra...), fields...))
}

// JoinedCallerRedaction is CallerRedaction of headers whose repeated
// values are joined with ", " (a job's request_headers): it redacts the
// JoinedCallerCredentials, each value the caller may have sent as well as
// the joined ones.
func (r *Redactor) JoinedCallerRedaction(headers [][2]string, fields []string, extra ...string) func(string) string {
	return r.callerRedaction(append(JoinedCallerCredentials(headers, extra...), fields...))
}

// callerRedaction is CallerRedaction of the credentials creds.
func (r *Redactor) callerRedaction(creds []string) func(string) string {
	if len(creds) == 0 {
		return nil
	}
	rep := newReplacer(valueSet(creds))
	if rep == nil {
		return nil
	}
	return func(s string) string {
		if s = r.Redact(s); s == "" {
			return s
		}
		return rep.replace(s)
	}
}
