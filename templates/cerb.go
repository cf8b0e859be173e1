package templates

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"math"
	"math/big"
	mrand "math/rand/v2"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	unorm "golang.org/x/text/unicode/norm"

	"github.com/hookhost/hookhost/automations/kata"
	"github.com/hookhost/hookhost/templates/dict"
)

// Cerb's own filters and functions (_DevblocksTwigExtensions and the
// DevblocksPlatform helpers they call), as Cerb 10.4 runs them: most of
// them give "" for a value that is not text, and PHP's functions decide
// the rest (keys kept by array_diff, byte offsets in str_pos...).

// cerbText is the text of a Cerb filter's input: ok is false when the
// value is not text (Cerb's filters then give "").
func cerbText(in any) (string, bool) {
	s, ok := in.(string)
	return s, ok
}

// --- encodings and hashes ---

func fBase64Encode(in any, _ ...any) (any, error) {
	s, ok := cerbText(in)
	if !ok {
		return "", nil
	}
	return base64.StdEncoding.EncodeToString([]byte(s)), nil
}

func fBase64URLEncode(in any, _ ...any) (any, error) {
	s, ok := cerbText(in)
	if !ok {
		return "", nil
	}
	return base64.RawURLEncoding.EncodeToString([]byte(s)), nil
}

// phpBase64Decode is PHP's base64_decode without strict mode: characters
// outside the alphabet (and "=") are skipped.
func phpBase64Decode(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' {
			b = append(b, c)
		}
	}
	if len(b)%4 == 1 {
		b = b[:len(b)-1] // a lone last character holds no whole byte
	}
	out, err := base64.RawStdEncoding.DecodeString(string(b))
	if err != nil {
		return ""
	}
	return string(out)
}

func fBase64Decode(in any, _ ...any) (any, error) {
	s, ok := cerbText(in)
	if !ok {
		return "", nil
	}
	return phpBase64Decode(s), nil
}

func fBase64URLDecode(in any, _ ...any) (any, error) {
	s, ok := cerbText(in)
	if !ok {
		return "", nil
	}
	return phpBase64Decode(strings.NewReplacer("-", "+", "_", "/").Replace(s)), nil
}

func hashFilter(h func() hash.Hash) Func {
	return func(in any, _ ...any) (any, error) {
		s, ok := cerbText(in)
		if !ok {
			return "", nil
		}
		x := h()
		x.Write([]byte(s))
		return hex.EncodeToString(x.Sum(nil)), nil
	}
}

var hmacAlgos = map[string]func() hash.Hash{
	"md5": md5.New, "sha1": sha1.New, "sha224": sha256.New224, "sha256": sha256.New,
	"sha384": sha512.New384, "sha512": sha512.New, "sha512/224": sha512.New512_224, "sha512/256": sha512.New512_256,
}

// fHashHMAC is hash_hmac(key=”, algo='sha256', raw=false); "" for text
// that is empty (or "0") and for arguments that are not text.
func fHashHMAC(in any, args ...any) (any, error) {
	s, ok := cerbText(in)
	key, ok2 := arg(args, 0, "").(string)
	algo, ok3 := arg(args, 1, "sha256").(string)
	if !ok || !ok2 || !ok3 || !truthy(s) {
		return "", nil
	}
	h, found := hmacAlgos[strings.ToLower(algo)]
	if !found {
		return nil, fmt.Errorf("unknown hashing algorithm %q", algo)
	}
	m := hmac.New(h, []byte(key))
	m.Write([]byte(s))
	sum := m.Sum(nil)
	if truthy(arg(args, 2, false)) {
		return string(sum), nil
	}
	return hex.EncodeToString(sum), nil
}

// --- text ---

// fAlphanum is alphanum(also=”, replace=”): every byte that is not an
// ASCII letter or digit (or one of the bytes of also) becomes replace.
func fAlphanum(st *state, in any, args ...any) (any, error) {
	s, ok := in.(string)
	switch in.(type) {
	case int64, float64, bool:
		ok = false
	}
	if !ok {
		return "", nil
	}
	also := toStr(arg(args, 0, ""))
	repl := toStr(arg(args, 1, ""))
	var keep [256]bool
	for i := 0; i < len(also); i++ {
		keep[also[i]] = true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || keep[c] {
			b.WriteByte(c)
			continue
		}
		if b.Len()+len(repl) > st.limits.String {
			return nil, st.errString()
		}
		b.WriteString(repl)
	}
	return b.String(), nil
}

// fAppend is append(suffix, delimiter=”, trim=delimiter): the text with
// the trim characters removed from its end, then delimiter (unless the
// text is now empty or "0") and suffix.
func fAppend(st *state, in any, args ...any) (any, error) {
	if in == nil {
		in = ""
	}
	s, ok := in.(string)
	suffix, ok2 := arg(args, 0, nil).(string)
	if !ok || !ok2 {
		return "", nil
	}
	delim := toStr(arg(args, 1, ""))
	trim := delim
	if t := arg(args, 2, nil); t != nil {
		trim = toStr(t)
	}
	s = phpTrim(s, trimMask(trim), false, true)
	if err := st.wantString(int64(len(s)) + int64(len(delim)) + int64(len(suffix))); err != nil {
		return nil, err
	}
	if truthy(s) {
		return s + delim + suffix, nil
	}
	return s + suffix, nil
}

// fTruncate is Cerb's truncate(length=30, separator='...'): text longer
// than length characters is cut so that, with the separator, it is length
// characters long.
func fTruncate(in any, args ...any) (any, error) {
	s, ok := cerbText(in)
	if !ok {
		return "", nil
	}
	n := toInt(arg(args, 0, int64(30)))
	sep := toStr(arg(args, 1, "..."))
	if int64(utf8.RuneCountInString(s)) <= n {
		return s, nil
	}
	keep := max(n-int64(utf8.RuneCountInString(sep)), 0)
	return mbSubstr(s, 0, &keep) + sep, nil
}

// fRepeat is repeat(times): str_repeat; a negative count is an error.
func fRepeat(st *state, in any, args ...any) (any, error) {
	s, ok := cerbText(in)
	if !ok {
		return "", nil
	}
	n := toInt(arg(args, 0, int64(0)))
	if n < 0 {
		return nil, errors.New("the count must be greater than or equal to 0")
	}
	if n == 0 || s == "" {
		return "", nil
	}
	if n > int64(st.limits.String)/int64(len(s)) {
		return nil, st.errString()
	}
	return strings.Repeat(s, int(n)), nil
}

// fStrPos is str_pos(needle, offset=0, ignore_case=false): the byte
// position of needle (PHP's strpos), -1 when it is not found, and false
// when an argument has the wrong type.
func fStrPos(in any, args ...any) (any, error) {
	h, ok := cerbText(in)
	needle, ok2 := arg(args, 0, nil).(string)
	off, ok3 := arg(args, 1, int64(0)).(int64)
	ic, ok4 := arg(args, 2, false).(bool)
	if !ok || !ok2 || !ok3 || !ok4 {
		return false, nil
	}
	if off < 0 {
		off += int64(len(h))
	}
	if off < 0 || off > int64(len(h)) {
		return nil, errors.New("offset not contained in string")
	}
	hs := h[off:]
	if ic {
		hs, needle = strings.ToLower(hs), strings.ToLower(needle)
	}
	i := strings.Index(hs, needle)
	if i < 0 {
		return int64(-1), nil
	}
	return off + int64(i), nil
}

// fStrSub is str_sub(from, to): the bytes from..to (PHP's substr(text,
// from, to - from)); false when an argument is not an integer.
func fStrSub(in any, args ...any) (any, error) {
	s, ok := cerbText(in)
	from, ok2 := arg(args, 0, nil).(int64)
	to, ok3 := arg(args, 1, nil).(int64)
	if !ok || !ok2 || !ok3 {
		return false, nil
	}
	return phpSubstr(s, from, to-from), nil
}

// phpSubstr is substr(s, start, length) in bytes.
func phpSubstr(s string, start, length int64) string {
	n := int64(len(s))
	if start < 0 {
		start = max(n+start, 0)
	}
	if start > n {
		return ""
	}
	end := n
	if length < 0 {
		end = n + length
	} else if start+length < n {
		end = start + length
	}
	if end <= start {
		return ""
	}
	return s[start:end]
}

// crlfLines is DevblocksPlatform::parseCrlfString: the lines (after
// "\r\n" or a lone "\r" or "\n"), trimmed, blank ones dropped, each keyed
// by its line number.
func crlfLines(s string, keepBlanks, trim bool) (lines []string, keys []int) {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	n := 0 // counted first: a million lines grown by append cost twice
	eachCRLFLine(s, keepBlanks, trim, func(int, string) { n++ })
	if n == 0 {
		return nil, nil
	}
	lines, keys = make([]string, 0, n), make([]int, 0, n)
	eachCRLFLine(s, keepBlanks, trim, func(idx int, l string) {
		lines = append(lines, l)
		keys = append(keys, idx)
	})
	return lines, keys
}

// eachCRLFLine calls fn with each line crlfLines keeps, and its number.
func eachCRLFLine(s string, keepBlanks, trim bool, fn func(idx int, l string)) {
	start, idx := 0, 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '\n' && s[i] != '\r' {
			continue
		}
		l := s[start:i]
		if trim {
			l = phpTrim(l, trimMask(defaultTrimChars), true, true)
		}
		if keepBlanks || l != "" {
			fn(idx, l)
		}
		idx++
		start = i + 1
	}
}

// keyedList builds a PHP array of items under the given integer keys: a
// list when they are 0, 1, ... (no dictionary is built to find that out).
// It prepays the new items.
func (st *state) keyedList(items []string, keys []int) (any, error) {
	if err := st.prepay(int64(len(items)) * itemBytes); err != nil {
		return nil, err
	}
	if sequential(keys) {
		l := make([]any, len(items))
		for i, v := range items {
			l[i] = v
		}
		return l, nil
	}
	m := dict.New(len(items))
	for i, v := range items {
		m.Set(strconv.Itoa(keys[i]), v)
	}
	return phpArray(m), nil
}

// sequential reports whether keys are 0, 1, ... len(keys)-1.
func sequential(keys []int) bool {
	for i, k := range keys {
		if k != i {
			return false
		}
	}
	return true
}

// fSplitCRLF is split_crlf(keep_blanks=false, trim=true): the lines of the
// text, keyed by their line numbers.
func fSplitCRLF(st *state, in any, args ...any) (any, error) {
	s, ok := cerbText(in)
	if !ok {
		return "", nil
	}
	if err := st.wantItems(int64(strings.Count(s, "\n")+strings.Count(s, "\r")) + 1); err != nil {
		return nil, err
	}
	lines, keys := crlfLines(s, truthy(arg(args, 0, false)), truthy(arg(args, 1, true)))
	return st.keyedList(lines, keys)
}

// fSplitCSV is split_csv (DevblocksPlatform::parseCsvString): the text
// without trailing commas and spaces, split on commas, each item trimmed,
// empty ones dropped (their keys with them).
func fSplitCSV(st *state, in any, _ ...any) (any, error) {
	s, ok := cerbText(in)
	if !ok {
		return "", nil
	}
	if s == "" {
		return []any{}, nil
	}
	if err := st.wantItems(int64(strings.Count(s, ",")) + 1); err != nil {
		return nil, err
	}
	s = strings.TrimRight(s, ", ")
	var items []string
	var keys []int
	for i, p := range strings.Split(s, ",") {
		if p == "" {
			continue
		}
		items = append(items, phpTrim(p, trimMask(defaultTrimChars), true, true))
		keys = append(keys, i)
	}
	return st.keyedList(items, keys)
}

// fIndent is indent(marker=”, from_line=0): every line (from line
// from_line, counted from 1) prefixed with marker.
func fIndent(st *state, in any, args ...any) (any, error) {
	s, ok := cerbText(in)
	if !ok || !truthy(s) {
		return "", nil
	}
	marker := toStr(arg(args, 0, ""))
	from := toInt(arg(args, 1, int64(0)))
	if err := st.wantString(int64(len(s)) + int64(len(marker))*int64(strings.Count(s, "\n")+strings.Count(s, "\r")+1)); err != nil {
		return nil, err
	}
	lines, _ := crlfLines(s, true, false)
	for i := range lines {
		if from != 0 && int64(i) < from-1 {
			continue
		}
		lines[i] = marker + lines[i]
	}
	return strings.Join(lines, "\n"), nil
}

// strStartsWith is DevblocksPlatform::strStartsWith: the first prefix s
// starts with (an empty prefix, or "0", gives a false result).
func strStartsWith(s string, prefixes []string) string {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return p
		}
	}
	return ""
}

// fStripLines is strip_lines(prefixes): the lines that do not start with
// one of the prefixes, joined with CRLF.
func fStripLines(in any, args ...any) (any, error) {
	s, ok := cerbText(in)
	if !ok {
		return "", nil
	}
	var prefixes []string
	switch p := arg(args, 0, nil).(type) {
	case []any, *dict.Map:
		for _, x := range toList(p) {
			prefixes = append(prefixes, toStr(x))
		}
	default:
		prefixes = []string{toStr(p)}
	}
	lines, _ := crlfLines(s, true, false)
	out := lines[:0]
	for _, l := range lines {
		if !truthy(strStartsWith(l, prefixes)) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\r\n"), nil
}

// fQuote is quote(wrap_to=76): the text as an email quote, every line
// prefixed with "> " and rewrapped to wrap_to characters.
func fQuote(in any, args ...any) (any, error) {
	s, ok := cerbText(in)
	if !ok {
		return "", nil
	}
	wrap := toInt(arg(args, 0, int64(76)))
	lines, _ := crlfLines(phpTrim(s, trimMask(defaultTrimChars), true, true), true, false)
	for i := range lines {
		lines[i] = "> " + lines[i]
	}
	return emailQuote(strings.Join(lines, "\n"), int(min(max(wrap, math.MinInt32), math.MaxInt32))), nil
}

var (
	reQuoteOnly   = regexp.MustCompile(`^[ >]+$`)
	reQuotePrefix = regexp.MustCompile(`^((> )+)`)
	reListItem    = regexp.MustCompile(`^\(*\d+\.*\)*`)
)

// emailQuote is _DevblocksTemplateManager::modifier_devblocks_email_quote:
// the quoted lines grouped by their "> " prefixes, each group rewrapped.
func emailQuote(s string, wrapTo int) string {
	if len(s) > 50000 {
		s = s[:50000]
	}
	lines, _ := crlfLines(s, true, true)
	type bin struct {
		prefix string
		lines  []string
	}
	var bins []bin
	last := "\x00"
	for i, line := range lines {
		if i > 0 && reQuoteOnly.MatchString(lines[i-1]) && reQuoteOnly.MatchString(line) {
			continue
		}
		prefix := ""
		if m := reQuotePrefix.FindStringSubmatch(line); m != nil {
			prefix = m[1]
		}
		if prefix != last || len(bins) == 0 {
			bins = append(bins, bin{prefix: prefix})
		}
		bins[len(bins)-1].lines = append(bins[len(bins)-1].lines, mbSubstr(line, int64(utf8.RuneCountInString(prefix)), nil))
		last = prefix
	}
	isListItem := func(s string) bool {
		t := strings.TrimLeft(s, " \t\n\r\x00\x0B")
		return strings.HasPrefix(t, "*") || strings.HasPrefix(t, "-") || strings.HasPrefix(t, "#") || reListItem.MatchString(t) && reListItem.FindString(t) != ""
	}
	for bi := range bins {
		b := &bins[bi]
		plen := utf8.RuneCountInString(b.prefix)
		if plen == 0 {
			continue
		}
		for l, bail := 0, 25000; l < len(b.lines) && bail > 0; l, bail = l+1, bail-1 {
			line := []rune(b.lines[l])
			boundary := max(0, wrapTo-plen)
			if len(line) == 0 || boundary == 0 || len(line) <= boundary {
				continue
			}
			// the last space that starts at or before boundary
			pos := -1
			for k := min(boundary, len(line)-1); k >= 0; k-- {
				if line[k] == ' ' {
					pos = k
					break
				}
			}
			var head, overflow string
			if pos < 0 {
				head, overflow = string(line[:boundary]), string(line[boundary:])
			} else {
				head, overflow = string(line[:pos]), string(line[pos+1:])
			}
			b.lines[l] = head
			if overflow != "" && overflow != "0" {
				if l+1 < len(b.lines) {
					next := b.lines[l+1]
					if next == "" || isListItem(next) {
						b.lines = slices.Insert(b.lines, l+1, overflow)
					} else {
						b.lines[l+1] = overflow + " " + next
					}
				} else {
					b.lines = append(b.lines, overflow)
				}
			}
		}
	}
	var out strings.Builder
	for _, b := range bins {
		for _, l := range b.lines {
			out.WriteString(b.prefix + l + "\n")
		}
	}
	return out.String()
}

// fPermalink is permalink(spaces_as='-'): the text transliterated to
// ASCII, with every run of other characters as spaces_as.
func fPermalink(st *state, in any, args ...any) (any, error) {
	s, ok := cerbText(in)
	if !ok || s == "" {
		return "", nil
	}
	sep := toStr(arg(args, 0, "-"))
	if err := st.wantString(int64(len(s)) * int64(max(len(sep), 1)) * 4); err != nil {
		return nil, err
	}
	s = unidecode(s)
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' || c == '"':
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("+.-_()", c) >= 0:
			b.WriteByte(c)
		default:
			b.WriteString(sep)
		}
	}
	out := b.String()
	if sep != "" {
		double := sep + sep
		for strings.Contains(out, double) {
			out = strings.ReplaceAll(out, double, sep)
		}
	}
	return phpTrim(out, trimMask(sep), false, true), nil
}

// unidecode transliterates text to ASCII as Cerb's strUnidecode does for
// Latin letters (accents dropped, ligatures spelled out); other
// characters become "?".
func unidecode(s string) string {
	var b strings.Builder
	for _, r := range unorm.NFD.String(s) {
		switch {
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case r >= 0x300 && r < 0x370:
			// combining marks
		default:
			if t, ok := latinASCII[r]; ok {
				b.WriteString(t)
			} else {
				b.WriteByte('?')
			}
		}
	}
	return b.String()
}

var latinASCII = map[rune]string{
	'ß': "ss", 'æ': "ae", 'Æ': "AE", 'ø': "o", 'Ø': "O", 'œ': "oe", 'Œ': "OE", 'đ': "d", 'Đ': "D", 'ð': "d", 'Ð': "D",
	'ł': "l", 'Ł': "L", 'þ': "th", 'Þ': "Th", 'ı': "i", 'ħ': "h", 'Ħ': "H", 'ŋ': "ng", 'Ŋ': "NG", 'ĸ': "q",
	'‘': "'", '’': "'", '“': "\"", '”': "\"", '–': "-", '—': "-", '…': "...", '«': "<<", '»': ">>", '\u00a0': " ",
}

// fRegexp is regexp(pattern, group=0): the group of the first match of a
// PCRE pattern, or "" (also for a pattern that is not valid).
func fRegexp(st *state, in any, args ...any) (any, error) {
	s, ok := cerbText(in)
	if !ok {
		return "", nil
	}
	re, err := st.regexp(toStr(arg(args, 0, "")), len(s))
	if err != nil {
		if isLimit(err) {
			return nil, err
		}
		return "", nil
	}
	m := re.FindStringSubmatch(s)
	g := groupIndex(re, arg(args, 1, int64(0)))
	if m == nil || g < 0 || g >= len(m) {
		return "", nil
	}
	return m[g], nil
}

// isLimit reports whether err is a limit hookhost sets (pattern size or
// work), which stays an error where PHP would only fail to match.
func isLimit(err error) bool {
	var le *LimitError
	return errors.As(err, &le) || strings.Contains(err.Error(), "longer than") || strings.Contains(err.Error(), "too complex")
}

// fURLDecode is url_decode(as=”): rawurldecode ("+" stays), or with
// 'json' the query string parsed (Cerb's strParseQueryString) as JSON.
func fURLDecode(st *state, in any, args ...any) (any, error) {
	s, ok := cerbText(in)
	if !ok {
		return "", nil
	}
	if strings.EqualFold(toStr(arg(args, 0, "")), "json") {
		// The dictionaries parsed are dropped once encoded, but counted.
		items := int64(strings.Count(s, "&") + strings.Count(s, "[") + 1)
		if err := st.wantItems(items); err != nil {
			return nil, err
		}
		if err := st.alloc(items * entryBytes); err != nil {
			return nil, err
		}
		out, _, err := st.jsonEncode(parseQuery(s), 0)
		return out, err
	}
	return rawURLDecode(s), nil
}

// rawURLDecode is PHP's rawurldecode: %XX decoded, malformed escapes kept.
func rawURLDecode(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			v, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b.WriteByte(byte(v))
			i += 2
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// fValues is values: array_values (a value that is not an array is an
// error, as in Cerb).
func fValues(in any, _ ...any) (any, error) {
	if !isIterable(in) {
		return nil, fmt.Errorf("expects a list or dictionary, got %s", dict.TypeName(in))
	}
	l := toList(in)
	if l == nil {
		l = []any{}
	}
	return slices.Clone(l), nil
}

// --- numbers and times ---

// fBaseConvert is base_convert(from, to): PHP's base_convert, which skips
// the characters that are not digits of the base.
func fBaseConvert(in any, args ...any) (any, error) {
	switch in.(type) {
	case string, int64, float64:
	default:
		return "", nil
	}
	if !isNumeric(arg(args, 0, nil)) || !isNumeric(arg(args, 1, nil)) {
		return "", nil
	}
	from, to := toInt(args[0]), toInt(args[1])
	if from < 2 || from > 36 || to < 2 || to > 36 {
		return nil, errors.New("bases must be between 2 and 36")
	}
	var n uint64
	var f float64
	useFloat := false
	for _, c := range strings.ToLower(toStr(in)) {
		var d int64
		switch {
		case c >= '0' && c <= '9':
			d = int64(c - '0')
		case c >= 'a' && c <= 'z':
			d = int64(c-'a') + 10
		default:
			continue
		}
		if d >= from {
			continue
		}
		if !useFloat {
			if n > (math.MaxInt64-uint64(d))/uint64(from) {
				useFloat, f = true, float64(n)
			} else {
				n = n*uint64(from) + uint64(d)
				continue
			}
		}
		f = f*float64(from) + float64(d)
	}
	if useFloat {
		if math.IsInf(f, 0) {
			return "", nil
		}
		n = uint64(f)
	}
	return strconv.FormatUint(n, int(to)), nil
}

// fBytesPretty is bytes_pretty(precision=0): DevblocksPlatform's
// strPrettyBytes (1000-based units).
func fBytesPretty(in any, args ...any) (any, error) {
	if !isNumeric(in) {
		return "", nil
	}
	n := toInt(in)
	neg := n < 0
	bytes := n
	if neg {
		bytes = -n
	}
	prec := int(max(min(toInt(arg(args, 0, int64(0))), 20), 0))
	b := float64(bytes)
	var out string
	switch {
	case bytes >= 1e12:
		out = numberFormat(b/1e12, prec, ".", ",") + " TB"
	case bytes >= 1e9:
		out = numberFormat(b/1e9, prec, ".", ",") + " GB"
	case bytes >= 1e6:
		out = numberFormat(b/1e6, prec, ".", ",") + " MB"
	case bytes >= 1e3:
		out = numberFormat(b/1e3, prec, ".", ",") + " KB"
	default:
		out = strconv.FormatInt(bytes, 10) + " bytes"
	}
	if neg {
		return "-" + out, nil
	}
	return out, nil
}

// fSecsPretty is secs_pretty(precision=0): DevblocksPlatform's
// strSecsToString ("1 day, 1 hour, 1 min, 1 sec"), with at most precision
// units when it is not 0.
func fSecsPretty(in any, args ...any) (any, error) {
	if !isNumeric(in) {
		return "", nil
	}
	if !truthy(in) {
		return "0 secs", nil
	}
	secs := float64(toInt(in))
	units := []struct {
		name string
		n    float64
	}{{"year", 52 * 7 * 86400}, {"month", 365 * 86400 / 12.0}, {"week", 7 * 86400}, {"day", 86400}, {"hour", 3600}, {"min", 60}, {"sec", 1}}
	var parts []string
	for _, u := range units {
		q := math.Floor(secs / u.n)
		secs -= q * u.n
		if q != 0 {
			s := ""
			if q != 1 {
				s = "s"
			}
			parts = append(parts, fmt.Sprintf("%d %s%s", int64(q), u.name, s))
		}
	}
	if p := toInt(arg(args, 0, int64(0))); p > 0 && int(p) < len(parts) {
		parts = parts[:p]
	}
	return strings.Join(parts, ", "), nil
}

// fDatePretty is date_pretty(is_delta=false): DevblocksPlatform's
// strPrettyTime of a Unix time ("2 hours ago", "3 days" ahead, "just
// now"), or with is_delta of a number of seconds ("+1 hour").
func fDatePretty(in any, args ...any) (any, error) {
	if !isNumeric(in) || !truthy(in) {
		return "", nil
	}
	delta := truthy(arg(args, 0, false))
	diff := toInt(in)
	if !delta {
		diff = time.Now().Unix() - diff
	}
	if diff == 0 {
		return "just now", nil
	}
	var b strings.Builder
	if delta {
		if diff > 0 {
			b.WriteByte('+')
		} else {
			b.WriteByte('-')
		}
	}
	a := float64(diff)
	if a < 0 {
		a = -a
	}
	var n int64
	var unit string
	switch {
	case a >= 31557600:
		n, unit = int64(roundHalfUp(a/31557600)), "year"
	case a >= 2592000:
		n, unit = int64(roundHalfUp(a/2592000)), "month"
	case a >= 86400:
		n, unit = int64(roundHalfUp(a/86400)), "day"
	case a >= 3600:
		n, unit = int64(a/3600), "hour"
	case a >= 60:
		n, unit = int64(a/60), "min"
	default:
		n, unit = int64(a), "sec"
	}
	fmt.Fprintf(&b, "%d %s", n, unit)
	if n != 1 {
		b.WriteByte('s')
	}
	if diff > 0 && !delta {
		b.WriteString(" ago")
	}
	return b.String(), nil
}

// fStat is stat(measure, decimals=2): a statistic of the numbers of an
// array (count, sum, mean, median, mode, min, max, stdevp, stdevs, varp,
// vars), rounded; "" when there are none or the measure is unknown.
func fStat(in any, args ...any) (any, error) {
	if !isIterable(in) {
		return "", nil
	}
	var xs []float64
	for _, v := range toList(in) {
		if isNumeric(v) {
			xs = append(xs, toFloat(v))
		}
	}
	if len(xs) == 0 {
		return "", nil
	}
	dec := int(toInt(arg(args, 1, int64(2))))
	n := float64(len(xs))
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	mean := sum / n
	variance := func(d float64) float64 {
		ss := 0.0
		for _, x := range xs {
			ss += (x - mean) * (x - mean)
		}
		return ss / d
	}
	var r float64
	switch strings.ToLower(toStr(arg(args, 0, ""))) {
	case "count":
		return int64(len(xs)), nil
	case "sum":
		r = sum
	case "mean", "average", "avg":
		r = mean
	case "median":
		s := slices.Clone(xs)
		slices.Sort(s)
		if len(s)%2 == 1 {
			r = s[len(s)/2]
		} else {
			r = (s[len(s)/2-1] + s[len(s)/2]) / 2
		}
	case "mode":
		counts := map[float64]int{}
		best := 0
		for _, x := range xs {
			counts[x]++
			if counts[x] > best {
				best = counts[x]
			}
		}
		for _, x := range xs {
			if counts[x] == best {
				r = x
				break
			}
		}
	case "min":
		r = slices.Min(xs)
	case "max":
		r = slices.Max(xs)
	case "varp":
		r = variance(n)
	case "vars":
		if len(xs) < 2 {
			return "", nil
		}
		r = variance(n - 1)
	case "stdevp":
		r = math.Sqrt(variance(n))
	case "stdevs":
		if len(xs) < 2 {
			return "", nil
		}
		r = math.Sqrt(variance(n - 1))
	default:
		return "", nil
	}
	return phpRound(r, dec), nil
}

// --- lists ---

// fCSV is csv: rows of an array written as CSV (PHP's fputcsv); rows that
// are not arrays are skipped; a value that is not an array gives null.
func fCSV(st *state, in any, _ ...any) (any, error) {
	if !isIterable(in) {
		return nil, nil
	}
	var b strings.Builder
	for _, row := range toList(in) {
		if !isIterable(row) {
			continue
		}
		for i, f := range toList(row) {
			if i > 0 {
				b.WriteByte(',')
			}
			s := toStr(f)
			if strings.ContainsAny(s, ",\"\\\n\r\t ") {
				b.WriteByte('"')
				b.WriteString(strings.ReplaceAll(s, `"`, `""`))
				b.WriteByte('"')
			} else {
				b.WriteString(s)
			}
			if b.Len() > st.limits.String {
				return nil, st.errString()
			}
		}
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// fKataEncode is kata_encode: Cerb's KATA emitter (lists as @list, text of
// several lines as @text, integers as @int, other values as their text).
func fKataEncode(st *state, in any, _ ...any) (any, error) {
	if !isIterable(in) {
		return nil, nil
	}
	b := &capBuilder{max: st.limits.String + 1}
	kataEmit(b, in, 0)
	if b.over {
		return nil, st.errString()
	}
	return strings.TrimRight(b.String(), " \t\n\r\x00\x0B"), nil
}

func kataEmit(b *capBuilder, v any, indent int) {
	pad := strings.Repeat("  ", indent)
	eachItem(v, func(k string, x any) bool {
		if b.over {
			return false
		}
		switch t := x.(type) {
		case []any, *dict.Map:
			if sizeOf(t) > 0 && (isList(asMap(t))) {
				b.WriteString(pad + k + "@list:\n")
				for _, item := range toList(t) {
					b.WriteString(pad + "  " + kataText(item) + "\n")
				}
			} else {
				b.WriteString(pad + k + ":\n")
				kataEmit(b, t, indent+1)
			}
		default:
			lines, _ := crlfLines(toStr(x), false, true)
			switch {
			case len(lines) > 1:
				b.WriteString(pad + k + "@text:\n")
				for _, l := range lines {
					b.WriteString(pad + "  " + l + "\n")
				}
			default:
				if i, ok := x.(int64); ok {
					b.WriteString(pad + k + "@int: " + strconv.FormatInt(i, 10) + "\n")
				} else {
					b.WriteString(pad + k + ": " + kataText(x) + "\n")
				}
			}
		}
		return true
	})
}

// kataText is PHP's strval (an array prints as "Array" there; hookhost
// prints its JSON, as it prints arrays everywhere).
func kataText(x any) string { return toStr(x) }

// fParseURL is PHP's parse_url: the parts present in the URL, as they are
// written; [] when PHP cannot read it.
func fParseURL(in any, _ ...any) (any, error) {
	s, ok := cerbText(in)
	if !ok {
		return []any{}, nil
	}
	m := phpParseURL(s)
	if m == nil {
		return []any{}, nil
	}
	return m, nil
}

func phpParseURL(s string) *dict.Map {
	m := dict.New(8)
	rest := s
	// scheme
	if i := strings.IndexByte(rest, ':'); i > 0 {
		sch := rest[:i]
		valid := true
		for k := 0; k < len(sch); k++ {
			c := sch[k]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || k > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
				valid = false
				break
			}
		}
		after := rest[i+1:]
		// "host:port" without a scheme: a port of digits only
		if valid && !(len(after) > 0 && after[0] >= '0' && after[0] <= '9' && strings.Trim(strings.SplitN(after, "/", 2)[0], "0123456789") == "") {
			m.Set("scheme", sch)
			rest = after
		}
	}
	if strings.HasPrefix(rest, "//") {
		rest = rest[2:]
		end := strings.IndexAny(rest, "/?#")
		auth := rest
		if end >= 0 {
			auth, rest = rest[:end], rest[end:]
		} else {
			rest = ""
		}
		if auth == "" {
			return nil
		}
		if at := strings.LastIndexByte(auth, '@'); at >= 0 {
			user, pass, hasPass := strings.Cut(auth[:at], ":")
			m.Set("user", user)
			if hasPass {
				m.Set("pass", pass)
			}
			auth = auth[at+1:]
		}
		host := auth
		if i := strings.LastIndexByte(auth, ':'); i >= 0 && !strings.Contains(auth[i:], "]") {
			host = auth[:i]
			if port := auth[i+1:]; port != "" {
				n, err := strconv.Atoi(port)
				if err != nil || n > 65535 {
					return nil
				}
				m.Set("port", int64(n))
			}
		}
		if host == "" {
			return nil
		}
		// PHP puts the host before user and pass
		out := dict.New(8)
		for _, k := range []string{"scheme"} {
			if v, ok := m.Get(k); ok {
				out.Set(k, v)
			}
		}
		out.Set("host", host)
		for _, k := range []string{"port", "user", "pass"} {
			if v, ok := m.Get(k); ok {
				out.Set(k, v)
			}
		}
		m = out
	}
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		defer m.Set("fragment", rest[i+1:])
		rest = rest[:i]
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		if rest[:i] != "" {
			m.Set("path", rest[:i])
		}
		m.Set("query", rest[i+1:])
		return m
	}
	if rest != "" {
		m.Set("path", rest)
	}
	return m
}

// --- functions ---

// cerbArray is an argument of Cerb's array functions: ok is false when it
// is not an array (null counts as an empty one when nullOK).
func cerbArray(x any, nullOK bool) (any, bool) {
	if x == nil && nullOK {
		return []any{}, true
	}
	return x, isIterable(x)
}

// keepItems keeps the items of an array for which keep is true, with
// their keys (PHP's array_diff, array_intersect, array_unique).
func keepItems(a any, keep func(v any) bool) any {
	out := dict.New(sizeOf(a))
	n := 0
	eachItem(a, func(k string, v any) bool {
		if keep(v) {
			out.Set(k, v)
			n++
		}
		return true
	})
	if l, ok := a.([]any); ok && n == len(l) {
		return l
	}
	if n == 0 {
		return []any{}
	}
	return phpArray(out)
}

func textSet(a any) map[string]bool {
	set := map[string]bool{}
	eachItem(a, func(_ string, v any) bool { set[toStr(v)] = true; return true })
	return set
}

// fnArrayDiff is array_diff(a, b): the items of a whose text is not in b,
// with their keys.
func fnArrayDiff(_ any, args ...any) (any, error) {
	a, ok1 := cerbArray(arg(args, 0, nil), true)
	b, ok2 := cerbArray(arg(args, 1, nil), true)
	if !ok1 || !ok2 {
		return []any{}, nil
	}
	set := textSet(b)
	return keepItems(a, func(v any) bool { return !set[toStr(v)] }), nil
}

// fnArrayIntersect is array_intersect(a, b): the items of a whose text is
// in b, with their keys; null when an argument is not an array.
func fnArrayIntersect(_ any, args ...any) (any, error) {
	a, ok1 := cerbArray(arg(args, 0, nil), true)
	b, ok2 := cerbArray(arg(args, 1, nil), true)
	if !ok1 || !ok2 {
		return nil, nil
	}
	set := textSet(b)
	return keepItems(a, func(v any) bool { return set[toStr(v)] }), nil
}

// fnArrayUnique is array_unique: the first item of each text, with its
// key; null for a value that is not an array.
func fnArrayUnique(_ any, args ...any) (any, error) {
	a, ok := cerbArray(arg(args, 0, nil), false)
	if !ok {
		return nil, nil
	}
	seen := map[string]bool{}
	return keepItems(a, func(v any) bool {
		s := toStr(v)
		if seen[s] {
			return false
		}
		seen[s] = true
		return true
	}), nil
}

// fnArrayValues is array_values; null for a value that is not an array.
func fnArrayValues(_ any, args ...any) (any, error) {
	a, ok := cerbArray(arg(args, 0, nil), false)
	if !ok {
		return nil, nil
	}
	l := toList(a)
	if l == nil {
		l = []any{}
	}
	return slices.Clone(l), nil
}

// fnArraySum is array_sum; false for a value that is not an array.
func fnArraySum(_ any, args ...any) (any, error) {
	a, ok := cerbArray(arg(args, 0, nil), false)
	if !ok {
		return false, nil
	}
	var acc any = int64(0)
	for _, v := range toList(a) {
		if isIterable(v) {
			continue // PHP 8.2 skips arrays (with a warning)
		}
		n, _ := toNumber(v)
		if n == nil {
			n = int64(0)
		}
		r, err := arith('+', acc, n)
		if err != nil {
			return nil, err
		}
		acc = r
	}
	return acc, nil
}

// fnArrayExtractKeys is array_extract_keys(rows, keys): each row reduced
// to the given keys (missing ones null), the rows' keys kept; a row that
// is text or a number counts as [row].
func fnArrayExtractKeys(_ any, args ...any) (any, error) {
	rows, ok1 := cerbArray(arg(args, 0, nil), false)
	keys, ok2 := cerbArray(arg(args, 1, nil), false)
	if !ok1 || !ok2 {
		return []any{}, nil
	}
	out := dict.New(sizeOf(rows))
	eachItem(rows, func(rk string, row any) bool {
		switch row.(type) {
		case []any, *dict.Map:
		case string, int64, float64:
			row = []any{row}
		default:
			row = []any{}
		}
		r := dict.New(sizeOf(keys))
		for _, k := range toList(keys) {
			v, _ := itemAt(row, keyOf(k))
			r.Set(keyOf(k), v)
		}
		out.Set(rk, phpArray(r))
		return true
	})
	return phpArray(out), nil
}

// fnArrayMatches is array_matches(values, patterns): for each * wildcard
// pattern in turn, the values it matches (case-insensitive).
func fnArrayMatches(st *state, _ any, args ...any) (any, error) {
	values := arg(args, 0, nil)
	if s, ok := values.(string); ok {
		values = []any{s}
	}
	patterns := arg(args, 1, nil)
	if s, ok := patterns.(string); ok {
		patterns = []any{s}
	}
	if !isIterable(values) || !isIterable(patterns) {
		return []any{}, nil
	}
	out := []any{}
	for _, p := range toList(patterns) {
		re, err := wildcard(toStr(p))
		if err != nil {
			return nil, err
		}
		for i, v := range toList(values) {
			if i&255 == 255 {
				if err := st.lim.Check(); err != nil {
					return nil, err
				}
			}
			s := toStr(v)
			if len(s) > regexpSmall {
				if err := checkRegexpWork(re.String(), len(s)); err != nil {
					return nil, err
				}
			}
			if re.MatchString(s) {
				out = append(out, v)
			}
		}
	}
	return out, nil
}

// wildcard compiles Cerb's strToRegExp: the text matched whole,
// case-insensitively, * matching anything.
func wildcard(p string) (*regexp.Regexp, error) {
	if len(p) > maxPattern {
		return nil, fmt.Errorf("pattern longer than %d bytes", maxPattern)
	}
	parts := strings.Split(p, "*")
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	return regexp.Compile("(?i)^" + strings.Join(parts, "(.*?)") + "$")
}

// fnArraySortKeys is array_sort_keys: PHP's ksort; null for a value that is
// not an array.
func fnArraySortKeys(_ any, args ...any) (any, error) {
	a, ok := cerbArray(arg(args, 0, nil), false)
	if !ok {
		return nil, nil
	}
	keys := slices.Clone(arrayKeys(a))
	slices.SortStableFunc(keys, func(x, y string) int { return phpCompare(keyValue(x), keyValue(y)) })
	out := dict.New(len(keys))
	for _, k := range keys {
		v, _ := itemAt(a, k)
		out.Set(k, v)
	}
	return phpArray(out), nil
}

func fnArrayCombine(_ any, args ...any) (any, error) {
	keys, ok1 := cerbArray(arg(args, 0, nil), false)
	vals, ok2 := cerbArray(arg(args, 1, nil), false)
	if !ok1 || !ok2 {
		return []any{}, nil
	}
	kl, vl := toList(keys), toList(vals)
	if len(kl) != len(vl) {
		return nil, errors.New("both arrays must have the same number of elements")
	}
	m := dict.New(len(kl))
	for i, k := range kl {
		m.Set(keyOf(k), vl[i])
	}
	return phpArray(m), nil
}

func fnArrayCountValues(_ any, args ...any) (any, error) {
	a, ok := cerbArray(arg(args, 0, nil), false)
	if !ok {
		return []any{}, nil
	}
	m := dict.New(4)
	for _, v := range toList(a) {
		switch v.(type) {
		case string, int64:
		default:
			continue // PHP counts only integers and text
		}
		k := keyOf(v)
		n, _ := m.Value(k).(int64)
		m.Set(k, n+1)
	}
	return phpArray(m), nil
}

func fnArrayFillKeys(_ any, args ...any) (any, error) {
	keys, ok := cerbArray(arg(args, 0, nil), false)
	if !ok {
		keys = []any{}
	}
	v := arg(args, 1, nil)
	m := dict.New(sizeOf(keys))
	for _, k := range toList(keys) {
		m.Set(keyOf(k), v)
	}
	return phpArray(m), nil
}

// fnClampInt is clamp_int(value, min, max); false when value is not
// numeric.
func fnClampInt(_ any, args ...any) (any, error) {
	v := arg(args, 0, nil)
	if !isNumeric(v) {
		return false, nil
	}
	n := toInt(v)
	if len(args) > 1 && args[1] != nil {
		n = max(n, toInt(args[1]))
	}
	if len(args) > 2 && args[2] != nil {
		n = min(n, toInt(args[2]))
	}
	return n, nil
}

// fnClampFloat is clamp_float(value, min, max); false when value is not
// numeric.
func fnClampFloat(_ any, args ...any) (any, error) {
	v := arg(args, 0, nil)
	if !isNumeric(v) {
		return false, nil
	}
	f := toFloat(v)
	if len(args) > 1 && args[1] != nil {
		f = math.Max(f, toFloat(args[1]))
	}
	if len(args) > 2 && args[2] != nil {
		f = math.Min(f, toFloat(args[2]))
	}
	return f, nil
}

const randomChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// fnRandomString is random_string(length=8): 1 to 255 random letters and
// digits from a cryptographic source.
func fnRandomString(_ any, args ...any) (any, error) {
	n := min(max(toInt(arg(args, 0, int64(8))), 1), 255)
	b := make([]byte, n)
	limit := big.NewInt(int64(len(randomChars)))
	for i := range b {
		x, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, err
		}
		b[i] = randomChars[x.Int64()]
	}
	return string(b), nil
}

// fnRegexpMatchAll is regexp_match_all(pattern, text, group=0): PHP's
// preg_match_all in pattern order: with group 0 every group's matches (a
// list per group), else the given group's matches; [] for a pattern that is
// not valid.
func fnRegexpMatchAll(st *state, _ any, args ...any) (any, error) {
	text := toStr(arg(args, 1, ""))
	re, err := st.regexp(toStr(arg(args, 0, "")), len(text))
	if err != nil {
		if isLimit(err) {
			return nil, err
		}
		return []any{}, nil
	}
	all := re.FindAllStringSubmatch(text, 10000)
	groups := make([]any, re.NumSubexp()+1)
	for g := range groups {
		l := make([]any, len(all))
		for i, m := range all {
			l[i] = m[g]
		}
		groups[g] = l
	}
	g := int(toInt(arg(args, 2, int64(0))))
	if g == 0 {
		// named groups are keyed by name too, as in PHP
		if names := re.SubexpNames(); slices.ContainsFunc(names, func(n string) bool { return n != "" }) {
			m := dict.New(len(groups) * 2)
			for i, grp := range groups {
				if names[i] != "" {
					m.Set(names[i], grp)
				}
				m.Set(strconv.Itoa(i), grp)
			}
			return m, nil
		}
		return groups, nil
	}
	if g > 0 && g < len(groups) {
		return groups[g], nil
	}
	return []any{}, nil
}

// fnShuffle is shuffle(array): the items in random order; false for a
// value that is not an array.
func fnShuffle(_ any, args ...any) (any, error) {
	a, ok := cerbArray(arg(args, 0, nil), false)
	if !ok {
		return false, nil
	}
	l := slices.Clone(toList(a))
	if l == nil {
		l = []any{}
	}
	mrand.Shuffle(len(l), func(i, j int) { l[i], l[j] = l[j], l[i] })
	return l, nil
}

// fnValidateEmail is validate_email(text): whether the text is one email
// address ("joe@example.com" or "Joe <joe@example.com>").
func fnValidateEmail(_ any, args ...any) (any, error) {
	s, ok := arg(args, 0, nil).(string)
	if !ok || strings.IndexByte(s, '@') <= 0 {
		return false, nil
	}
	list, err := mail.ParseAddressList(s)
	if err != nil || len(list) != 1 {
		return false, nil
	}
	at := strings.LastIndexByte(list[0].Address, '@')
	return at > 0 && at < len(list[0].Address)-1, nil
}

// dictPath splits a dict_set path on delim ({DOT} is a dot in a key).
func dictPath(p, delim string) []string {
	parts := strings.Split(p, delim)
	for i := range parts {
		parts[i] = strings.ReplaceAll(parts[i], "{DOT}", ".")
	}
	return parts
}

// fnDictSet is dict_set(var, 'a.b', value, delimiter='.')
// (DevblocksPlatform's arrayDictSet): a copy of var with value at the path;
// "[]" appends.
func fnDictSet(_ any, args ...any) (any, error) {
	delim := "."
	if d := arg(args, 3, nil); d != nil {
		delim = toStr(d)
	}
	if delim == "" {
		return nil, errors.New("dict_set: the delimiter is empty (explode(): Argument #1 ($separator) cannot be empty)")
	}
	root := dict.CloneValue(arg(args, 0, nil))
	if !truthy(root) && !isIterable(root) {
		root = dict.New(1)
	}
	return setIn(root, dictPath(toStr(arg(args, 1, "")), delim), arg(args, 2, nil)), nil
}

func setIn(cur any, path []string, v any) any {
	if len(path) == 0 {
		return v
	}
	p := path[0]
	if !isIterable(cur) {
		return setIn(cur, path[1:], v) // a value that is not an array is replaced at the end
	}
	if l, ok := cur.([]any); ok {
		if p == "[]" {
			return append(l, setIn(dict.New(0), path[1:], v))
		}
		if i, ok := dict.PHPIntKey(p); ok && i >= 0 && i < int64(len(l)) {
			l[i] = setIn(l[i], path[1:], v)
			return l
		}
		cur = listToMap(l)
	}
	m := cur.(*dict.Map)
	if p == "[]" {
		p = strconv.Itoa(nextIndex(m))
	}
	child, ok := m.Get(p)
	if !ok || child == nil {
		child = dict.New(0)
	}
	m.Set(p, setIn(child, path[1:], v))
	return phpArray(m)
}

// fnDictUnset is dict_unset(var, paths) (DevblocksPlatform's
// arrayDictUnset): a copy of var without the keys at the paths.
func fnDictUnset(_ any, args ...any) (any, error) {
	root := dict.CloneValue(arg(args, 0, nil))
	var paths []string
	switch p := arg(args, 1, nil).(type) {
	case nil:
	case []any, *dict.Map:
		for _, x := range toList(p) {
			paths = append(paths, toStr(x))
		}
	default:
		paths = []string{toStr(p)}
	}
	for _, p := range paths {
		if p != "" {
			root = unsetIn(root, dictPath(p, "."))
		}
	}
	return root, nil
}

func unsetIn(cur any, path []string) any {
	p := path[0]
	switch t := cur.(type) {
	case *dict.Map:
		if len(path) == 1 {
			t.Delete(p)
		} else if v, ok := t.Get(p); ok && v != nil {
			t.Set(p, unsetIn(v, path[1:]))
		}
	case []any:
		i, ok := dict.PHPIntKey(p)
		if !ok || i < 0 || i >= int64(len(t)) {
			return t
		}
		if len(path) == 1 {
			// PHP keeps the other indexes
			m := listToMap(t)
			m.Delete(p)
			return phpArray(m)
		}
		t[i] = unsetIn(t[i], path[1:])
	}
	return cur
}

// --- tests ---

// testPrefixed is "is prefixed": text that starts with one of the
// prefixes (Cerb's strStartsWith: an empty or "0" prefix does not count);
// a list given as a prefix is an error, as in Cerb.
func testPrefixed(a any, args []any, suffix bool) (bool, error) {
	s, ok := a.(string)
	if !ok {
		return false, nil
	}
	for _, p := range args {
		if isIterable(p) {
			return false, errors.New("a prefix must be text, not a list")
		}
		ps := toStr(p)
		match := strings.HasPrefix(s, ps)
		if suffix {
			match = ps != "" && strings.HasSuffix(s, ps) || ps == "" && s == ""
		}
		if match {
			return truthy(ps), nil
		}
	}
	return false, nil
}

// testPattern is "is pattern": a value (or any item of a list) that
// matches one of the * wildcard patterns.
func testPattern(a any, args []any) (bool, error) {
	var values []any
	switch t := a.(type) {
	case []any, *dict.Map:
		values = toList(t)
	case string, int64, float64:
		values = []any{t}
	default:
		return false, nil
	}
	for _, p := range args {
		re, err := wildcard(toStr(p))
		if err != nil {
			return false, err
		}
		for _, v := range values {
			if re.MatchString(toStr(v)) {
				return true, nil
			}
		}
	}
	return false, nil
}

// fParseCSV is parse_csv(separator=',', enclosure='"', escape='\\'): the
// rows of CSV text as PHP's fgetcsv reads them one after another until the
// end of the text: an empty text gives [false], a blank line [null].
func fParseCSV(st *state, in any, args ...any) (any, error) {
	s, ok := cerbText(in)
	if !ok {
		return "", nil
	}
	if err := st.wantItems(int64(strings.Count(s, "\n") + strings.Count(s, ",") + 1)); err != nil {
		return nil, err
	}
	opt := func(i int, def byte) byte {
		if a := arg(args, i, nil); a != nil {
			if t := toStr(a); t != "" {
				return t[0]
			}
		}
		return def
	}
	delim, encl, esc := opt(0, ','), opt(1, '"'), opt(2, '\\')
	// At most a row per line and a field per delimiter more, prepaid.
	lines := int64(strings.Count(s, "\n")) + 1
	fields := lines + int64(strings.Count(s, string(delim)))
	if err := st.prepay(int64(len(s)) + lines*containerBytes + fields*itemBytes); err != nil {
		return nil, err
	}
	rows := []any{}
	if s == "" {
		return append(rows, false), nil
	}
	for pos := 0; pos < len(s); {
		var row []any
		row, pos = phpGetCSV(s, pos, delim, encl, esc)
		rows = append(rows, row)
	}
	return rows, nil
}

// phpGetCSV reads one record of s from pos as PHP's fgetcsv does: leading
// spaces are skipped only before an enclosure, "" inside an enclosure is a
// quote, the escape byte keeps the byte after it (and itself), an
// enclosure left open continues on the next line, and the text after a
// closing enclosure up to the delimiter is kept. A blank line is [null].
func phpGetCSV(s string, pos int, delim, encl, esc byte) ([]any, int) {
	lineEnd := func(p int) int {
		if i := strings.IndexByte(s[p:], '\n'); i >= 0 {
			return p + i + 1
		}
		return len(s)
	}
	end := lineEnd(pos)
	trimEOL := func(a, b int) int {
		for b > a && (s[b-1] == '\n' || s[b-1] == '\r') {
			b--
		}
		return b
	}
	if trimEOL(pos, end) == pos {
		return []any{nil}, end
	}
	var row []any
	var field strings.Builder
	p := pos
	for {
		field.Reset()
		lim := trimEOL(p, end)
		q := p
		for q < lim && s[q] != delim && (s[q] == ' ' || s[q] == '\t') {
			q++
		}
		if q < lim && s[q] == encl {
			p = q + 1
		quoted:
			for {
				for p < end {
					c := s[p]
					switch {
					case c == esc && esc != encl && p+1 < end:
						field.WriteByte(c)
						field.WriteByte(s[p+1])
						p += 2
					case c == encl && p+1 < len(s) && s[p+1] == encl:
						field.WriteByte(encl)
						p += 2
					case c == encl:
						p++
						break quoted
					default:
						field.WriteByte(c)
						p++
					}
				}
				if end >= len(s) {
					break // the text ends inside the enclosure
				}
				end = lineEnd(end)
			}
			lim = trimEOL(p, end)
			for p < lim && s[p] != delim {
				field.WriteByte(s[p])
				p++
			}
		} else {
			for p < lim && s[p] != delim {
				field.WriteByte(s[p])
				p++
			}
		}
		row = append(row, field.String())
		if p < lim && s[p] == delim {
			p++
			continue
		}
		return row, end
	}
}

// fTokenize is tokenize: the words of the lower-cased text (runs of
// letters and digits), as Cerb splits them with mb_ereg_replace.
func fTokenize(in any, _ ...any) (any, error) {
	s, ok := cerbText(in)
	if !ok {
		return "", nil
	}
	words := strings.FieldsFunc(lowerText(s), func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.Is(unicode.Nd, r) || unicode.Is(unicode.Nl, r) || unicode.Is(unicode.Other_Alphabetic, r))
	})
	out := make([]any, len(words))
	for i, w := range words {
		out[i] = w
	}
	return out, nil
}

// fnJSONPathSet is jsonpath_set(var, 'a.b[]', value): a copy of var (an
// empty one becomes an array) with value at the "." path; a part ending in
// "[]" appends to the list under that key.
func fnJSONPathSet(_ any, args ...any) (any, error) {
	root := dict.CloneValue(arg(args, 0, nil))
	if !truthy(root) {
		root = dict.New(1)
	}
	return jsonPathSet(root, strings.Split(toStr(arg(args, 1, "")), "."), arg(args, 2, nil))
}

func jsonPathSet(cur any, path []string, v any) (any, error) {
	if len(path) == 0 {
		return v, nil
	}
	part, appendTo := path[0], false
	if strings.HasSuffix(part, "[]") {
		part, appendTo = strings.TrimRight(part, "[]"), true
	}
	m, err := pathArray(cur)
	if err != nil {
		return nil, err
	}
	child, ok := m.Get(part)
	if !ok || child == nil {
		child = dict.New(0)
	}
	if appendTo {
		l, err := pathArray(child)
		if err != nil {
			return nil, err
		}
		item, err := jsonPathSet(nil, path[1:], v)
		if err != nil {
			return nil, err
		}
		l.Set(strconv.Itoa(nextIndex(l)), item)
		child = phpArray(l)
	} else if child, err = jsonPathSet(child, path[1:], v); err != nil {
		return nil, err
	}
	m.Set(part, child)
	return phpArray(m), nil
}

// pathArray is the array a path step writes into: null becomes an empty
// one; a scalar is an error, as in PHP.
func pathArray(x any) (*dict.Map, error) {
	switch c := x.(type) {
	case nil:
		return dict.New(1), nil
	case []any:
		return listToMap(c), nil
	case *dict.Map:
		return c, nil
	}
	return nil, errors.New("jsonpath_set: cannot use a scalar value as an array")
}

// fnKataParse is kata_parse(text): the KATA tree as dictionaries of text,
// the keys as written (with their annotations); false when the text is not
// valid KATA.
func fnKataParse(_ any, args ...any) (any, error) {
	s, ok := cerbText(arg(args, 0, nil))
	if !ok {
		return false, nil
	}
	doc, err := kata.Parse("kata_parse", s)
	if err != nil {
		return false, nil
	}
	return kataTree(doc.Root), nil
}

func kataTree(n *kata.Node) any {
	switch n.Kind {
	case kata.Scalar, kata.Text:
		return n.Value
	}
	m := dict.New(len(n.Children))
	for _, c := range n.Children {
		k := c.Key
		for _, a := range c.Annotations {
			k += "@" + a
		}
		m.Set(k, kataTree(c))
	}
	return m
}
