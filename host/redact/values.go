package redact

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Marker replaces what is redacted.
const Marker = "[redacted]"

// The replacer's filter reads four-byte pieces of forms of at least MinLen
// bytes (newReplacer): this fails to compile if MinLen drops below 4.
const _ = uint(MinLen - 4)

// MinLen is the shortest value a Redactor replaces: shorter values would
// turn ordinary text into noise (and are no secret anyway).
const MinLen = 4

// Redactor replaces every known secret value, the tokens its caller
// registers, and webhook tokens wherever they are recognisable (in a
// /webhooks/<token> path or a token= parameter) with "[redacted]" in
// arbitrary text: logs, run records, error messages. Besides each value as
// written it replaces the value as JSON, URL query and URL path encodings
// spell it. It is safe for concurrent use; Redact takes no lock (it runs
// for every string of every request's record and log line), and changes
// rebuild one replacer (an automaton and a filter).
type Redactor struct {
	mu     sync.RWMutex
	values map[string]struct{}
	// replacer is nil when there is nothing to redact; written with mu
	// held.
	replacer atomic.Pointer[replacer]
}

// New returns a Redactor that knows values.
func New(values ...string) *Redactor {
	r := &Redactor{values: map[string]struct{}{}}
	r.Add(values...)
	return r
}

// Add registers values; those shorter than MinLen are ignored.
func (r *Redactor) Add(values ...string) {
	r.mu.RLock()
	missing := false
	for _, v := range values {
		if _, ok := r.values[v]; !ok && len(v) >= MinLen {
			missing = true
			break
		}
	}
	r.mu.RUnlock()
	if !missing {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range values {
		if len(v) >= MinLen {
			r.values[v] = struct{}{}
		}
	}
	r.rebuild()
}

// Remove forgets values.
func (r *Redactor) Remove(values ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.values)
	for _, v := range values {
		delete(r.values, v)
	}
	if len(r.values) != n {
		r.rebuild()
	}
}

// Len is the number of values registered.
func (r *Redactor) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.values)
}

// rebuild makes the replacer from the values; r.mu is held.
func (r *Redactor) rebuild() {
	r.replacer.Store(newReplacer(r.values))
}

// Redact returns s with every registered value and every recognisable
// webhook token replaced by "[redacted]". A nil Redactor only replaces
// tokens.
func (r *Redactor) Redact(s string) string {
	if s == "" {
		return s
	}
	if r != nil {
		if rep := r.replacer.Load(); rep != nil {
			s = rep.replace(s)
		}
	}
	return Tokens(s)
}

// tokenPrefixes are what a webhook token follows where it is recognisable
// without being known: a webhook URL's path, and a token= parameter.
var tokenPrefixes = [...]string{"/webhooks/", "?token=", "&token="}

// tokenLen is the length of a webhook token: 40 hexadecimal digits.
const tokenLen = 40

// Tokens returns s with webhook tokens in /webhooks/<token> paths and
// token= parameters replaced by "[redacted]": the matches of
// ((?i)/webhooks/|[?&]token=)[0-9a-fA-F]{40}\b, leftmost first. It runs on every
// request (the access log, the record), so it scans for the prefixes
// instead of running that regular expression, in one pass.
func Tokens(s string) string {
	b, ok := AppendTokens(nil, s)
	if !ok {
		return s
	}
	return unsafe.String(unsafe.SliceData(b), len(b)) // b is this string's alone
}

// AppendTokens appends s to dst with its webhook tokens redacted as Tokens
// redacts them and reports true; when s holds none, it returns dst as it
// was and false. With a dst of room enough (the redacted text is never
// longer than s) it allocates nothing: the access line redacts every
// request's path into a buffer on the stack.
func AppendTokens(dst []byte, s string) ([]byte, bool) {
	if len(s) < len("?token=")+tokenLen {
		return dst, false // too short to hold a token: most of the log's strings
	}
	var (
		out   = dst
		found bool
		done  int // s[:done] is in out
		// next is where each prefix is next found (-1: nowhere more),
		// searched again once the scan has passed it.
		next = [len(tokenPrefixes)]int{-2, -2, -2}
	)
	for from := 0; ; {
		at, n := -1, 0
		for k, p := range tokenPrefixes {
			if next[k] != -1 && next[k] < from {
				next[k] = indexFold(s[from:], p)
				if next[k] >= 0 {
					next[k] += from
				}
			}
			if next[k] >= 0 && (at < 0 || next[k] < at) {
				at, n = next[k], len(p)
			}
		}
		if at < 0 {
			break
		}
		start, end := at+n, at+n+tokenLen
		if end <= len(s) && isHex(s[start:end]) && (end == len(s) || !isWordByte(s[end])) {
			if !found {
				found = true
				out = slices.Grow(out, len(s))
			}
			out = append(out, s[done:start]...)
			out = append(out, Marker...)
			done, from = end, end
			continue
		}
		from = at + 1
	}
	if !found {
		return dst, false
	}
	return append(out, s[done:]...), true
}

// indexFold is strings.Index(s, p) with the ASCII letters of s matched in
// either case (p is lower case, and its first byte has no case): Fiber
// routes /WEBHOOKS/<token> to the webhook as /webhooks/<token>, so its
// token must not reach a log either. It finds p's first byte with
// IndexByte, as fast as Index on the short strings it reads.
func indexFold(s, p string) int {
	for from := 0; ; {
		i := strings.IndexByte(s[from:], p[0])
		if i < 0 {
			return -1
		}
		i += from
		if len(s)-i < len(p) {
			return -1
		}
		if lowerEqual(s[i+1:i+len(p)], p[1:]) {
			return i
		}
		from = i + 1
	}
}

// lowerEqual reports whether s, its ASCII capitals lowered, is p.
func lowerEqual(s, p string) bool {
	for j := 0; j < len(p); j++ {
		c := s[j]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != p[j] {
			return false
		}
	}
	return true
}

// isHex reports whether s is hexadecimal digits only.
func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// isWordByte reports whether c is an ASCII word character (\w): the end of
// a token is a word boundary.
func isWordByte(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
}

// Values returns s with every one of values (and its encodings) replaced by
// "[redacted]"; values shorter than MinLen are ignored. For many texts
// or values, keep a Redactor instead.
func Values(s string, values ...string) string {
	rep := newReplacer(valueSet(values))
	if rep == nil {
		return s
	}
	return rep.replace(s)
}

// valueSet is the set of values of at least MinLen bytes.
func valueSet(values []string) map[string]struct{} {
	set := make(map[string]struct{}, len(values))
	for _, v := range values {
		if len(v) >= MinLen {
			set[v] = struct{}{}
		}
	}
	return set
}

// replacer replaces the forms of a set of values: their automaton
// replaces them as strings.Replacer would with the longest first, in time
// linear in the text. Most texts hold none of them, so a text first goes
// through a filter of the forms' four-byte pieces: one that holds none of
// them is returned as it is, without the automaton's scan.
type replacer struct {
	// forms are the forms; their automaton is built by the first text
	// that needs it (once: a Redactor's replacer serves every request).
	// Most replacers never need it: a caller's credentials are rarely in
	// the record they redact, and building it for a long token cost more
	// than the record (a 1 KB bearer token: about 90 µs and 150 KB).
	forms  []string
	acOnce sync.Once
	ac     *automaton
	// short is the forms when there are at most maxShortForms of them,
	// none longer than maxShortLen: a text the filter lets through is
	// searched for each with strings.Index (vectorised, and linear for
	// forms that short whatever the text) before the automaton, which
	// reads every byte, scans it. nil otherwise.
	short []string
	// stride is how far apart the filter looks at a text's pieces, and
	// grams the set of the forms' pieces (by a hash of gramBits bits of
	// them) at the offsets 0 to stride-1: with forms of at least stride+3
	// bytes, a text holding a form holds one of those pieces at an offset
	// that is a multiple of stride. grams is sized to the pieces, up to
	// 8 KiB: a record's replacer of one caller credential
	// (Redactor.CallerRedaction) takes a few hundred bytes.
	stride   int
	gramBits uint8
	grams    []uint64
}

// maxGramBits is the largest size of a replacer's set of pieces in bits
// (as a power of two), and gramLoad the fewest bits it has for each
// piece. A text of n pieces and no form gets through a set that full by
// chance about once in 512/n (review1 measured 1 in 5 at 250 pieces of
// word-like text), and a long one almost always: replacer.short, then
// the automaton, decide.
const (
	maxGramBits = 16
	gramLoad    = 512
)

// maxShortForms and maxShortLen bound replacer.short: a caller's API key
// or a short token, in its few encodings.
const (
	maxShortForms = 4
	maxShortLen   = 64
)

// gram hashes the four bytes of s from i to 32-shift bits.
func gram(s string, i int, shift uint8) uint32 {
	b := s[i : i+4]
	g := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
	return (g * 0x9E3779B1) >> shift
}

// replace returns s with every form replaced.
func (r *replacer) replace(s string) string {
	grams, shift := r.grams, 32-r.gramBits
	for i := 0; i+4 <= len(s); i += r.stride {
		if g := gram(s, i, shift); grams[g>>6]&(1<<(g&63)) != 0 {
			if r.short != nil && !containsAny(s, r.short) {
				return s
			}
			out, _ := r.automaton().replace(s)
			return out
		}
	}
	return s
}

// automaton returns the forms' automaton, built at its first use.
func (r *replacer) automaton() *automaton {
	r.acOnce.Do(func() { r.ac = newAutomaton(r.forms) })
	return r.ac
}

// containsAny reports whether s holds one of forms.
func containsAny(s string, forms []string) bool {
	for _, f := range forms {
		if strings.Contains(s, f) {
			return true
		}
	}
	return false
}

// newReplacer returns a replacer of the values and their encodings.
func newReplacer(values map[string]struct{}) *replacer {
	seen := make(map[string]struct{}, len(values))
	var forms []string
	shortest := 0
	for v := range values {
		for _, f := range encodings(v) {
			if _, ok := seen[f]; ok || len(f) < MinLen {
				continue
			}
			seen[f] = struct{}{}
			forms = append(forms, f)
			if shortest == 0 || len(f) < shortest {
				shortest = len(f)
			}
		}
	}
	if len(forms) == 0 {
		return nil
	}
	// The shortest form has at least MinLen (4) bytes: the stride is at
	// most 4 and at least 1.
	r := &replacer{forms: forms, stride: min(4, shortest-3), gramBits: 6}
	for r.gramBits < maxGramBits && 1<<r.gramBits < gramLoad*r.stride*len(forms) {
		r.gramBits++
	}
	if len(forms) <= maxShortForms && slices.IndexFunc(forms, func(f string) bool { return len(f) > maxShortLen }) < 0 {
		r.short = forms
	}
	r.grams = make([]uint64, 1<<(r.gramBits-6))
	for _, f := range forms {
		for i := 0; i < r.stride; i++ {
			g := gram(f, i, 32-r.gramBits)
			r.grams[g>>6] |= 1 << (g & 63)
		}
	}
	return r
}

// encodings lists v as written and as JSON strings and URLs spell it.
func encodings(v string) []string {
	out := []string{v, url.QueryEscape(v), url.PathEscape(v)}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) == nil {
		s := strings.TrimSuffix(b.String(), "\n")
		out = append(out, s[1:len(s)-1])
	}
	if j, err := json.Marshal(v); err == nil { // with HTML escaping, as encoding/json writes by default
		out = append(out, string(j[1:len(j)-1]))
	}
	return out
}
