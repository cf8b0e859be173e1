package templates

import (
	"crypto/md5"
	"crypto/sha1"
	"errors"
	"fmt"
	"html"
	"math"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hookhost/hookhost/templates/dict"
)

func buildFilters() map[string]filterDef {
	f := map[string]filterDef{
		"abs":              {fn: fAbs},
		"alphanum":         {sfn: fAlphanum, spread: true},
		"append":           {sfn: fAppend, spread: true},
		"base64_decode":    {fn: fBase64Decode},
		"base64_encode":    {fn: fBase64Encode},
		"base64url_decode": {fn: fBase64URLDecode},
		"base64url_encode": {fn: fBase64URLEncode},
		"base_convert":     {fn: fBaseConvert, spread: true},
		"batch":            {sfn: fBatch, spread: true},
		"bytes_pretty":     {fn: fBytesPretty},
		"capitalize":       {fn: fCapitalize},
		"column":           {fn: fColumn, spread: true},
		"csv":              {sfn: fCSV},
		"date":             {sfn: fDate, spread: true},
		"date_modify":      {fn: fDateModify},
		"default":          {fn: fDefault, view: true},
		"e":                {sfn: fEscape},
		"escape":           {sfn: fEscape},
		"first":            {fn: fFirst, view: true},
		"format":           {sfn: fFormat},
		"hash_hmac":        {fn: fHashHMAC, spread: true},
		"indent":           {sfn: fIndent, spread: true},
		"join":             {sfn: fJoin, spread: true},
		"json_decode":      {sfn: fJSONDecode},
		"json_encode":      {sfn: fJSONEncode},
		"json_pretty":      {sfn: fJSONPretty},
		"keys":             {fn: fKeys},
		"last":             {fn: fLast, view: true},
		"length":           {fn: fLength},
		"lower":            {fn: fLower},
		"md5":              {fn: hashFilter(md5.New)},
		"merge":            {sfn: fMerge},
		"nl2br":            {fn: fNl2br},
		"number_format":    {sfn: fNumberFormat, spread: true},
		"parse_csv":        {sfn: fParseCSV, spread: true},
		"tokenize":         {fn: fTokenize},
		"parse_url":        {fn: fParseURL},
		"quote":            {fn: fQuote},
		"raw":              {fn: fRaw, view: true},
		"regexp":           {sfn: fRegexp, spread: true},
		"repeat":           {sfn: fRepeat},
		"replace":          {sfn: fReplace},
		"reverse":          {fn: fReverse},
		"round":            {fn: fRound, spread: true},
		"secs_pretty":      {fn: fSecsPretty},
		"sha1":             {fn: hashFilter(sha1.New)},
		"slice":            {fn: fSlice, spread: true},
		"sort":             {sfn: fSort},
		"split":            {sfn: fSplit, spread: true},
		"split_crlf":       {sfn: fSplitCRLF, spread: true},
		"split_csv":        {sfn: fSplitCSV},
		"stat":             {fn: fStat, spread: true},
		"str_pos":          {fn: fStrPos, spread: true},
		"str_sub":          {fn: fStrSub, spread: true},
		"strip_lines":      {fn: fStripLines},
		"striptags":        {fn: fStripTags},
		"title":            {fn: fTitle},
		"trim":             {fn: fTrim, spread: true},
		"truncate":         {fn: fTruncate, spread: true},
		"unescape":         {fn: fUnescape},
		"upper":            {fn: fUpper},
		"url_decode":       {sfn: fURLDecode},
		"url_encode":       {sfn: fURLEncode},
		"values":           {fn: fValues},
		"map":              {sfn: fMap},
		"filter":           {sfn: fFilter},
		"reduce":           {sfn: fReduce, view: true},
		"context_alias":    {fn: fContextAlias},
		"spaceless":        {fn: fSpaceless},
		"convert_encoding": {fn: fConvertEncoding, spread: true},
		"permalink":        {sfn: fPermalink},
		"qp_encode":        {fn: fQPEncode},
		"date_pretty":      {fn: fDatePretty},
		"kata_encode":      {sfn: fKataEncode},
		"parse_emails":     {fn: fParseEmails},
		"parse_user_agent": {fn: fParseUserAgent},
		"image_info":       {fn: fImageInfo},
		"html_to_text":     {fn: fHTMLToText},
		"markdown_to_html": {fn: fMarkdownToHTML},
	}
	return f
}

// --- JSON ---------------------------------------------------------------

// prettySize is an upper bound of the length of the JSON text s indented
// with indent spaces per level: every bracket and comma may start a line.
func prettySize(s string, indent int64) int64 {
	n, depth := int64(len(s)), int64(0)
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			depth++
			n += 1 + depth*indent
		case '}', ']':
			depth--
			n += 1 + max(depth, 0)*indent
		case ',':
			n += 1 + depth*indent
		case ':':
			n++
		}
	}
	return n
}

func fJSONDecode(st *state, in any, _ ...any) (any, error) {
	s := toStr(in)
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	return st.decodeJSON(s)
}

// decodeJSON decodes JSON text; text that is not JSON gives nil. The items
// the text can hold are checked, and prepaid, before decoding (jsonCost).
func (st *state) decodeJSON(s string) (any, error) {
	items, cost := jsonCost(s)
	if err := st.wantItems(items); err != nil {
		return nil, err
	}
	if err := st.prepay(cost); err != nil {
		return nil, err
	}
	v, err := dict.DecodeJSONString(s)
	if err != nil {
		return nil, nil
	}
	return v, nil
}

// jsonItemBytes is what decoding JSON costs a list item: a new item
// (itemBytes) and up to four slots of the decoder's scratch list, which
// doubles as it grows (TestJSONDecodeCost).
const jsonItemBytes = itemBytes + 4*slotBytes

// jsonCost is an upper bound of the items (list items and dictionary
// entries) decoding the JSON text s builds, and of the bytes they and the
// text cost. Text that is not an array or object decodes into one value
// (or none) and costs its length. Otherwise an array or object of k items
// holds k-1 commas, so the items are at most the commas and brackets; at
// most one per colon is an entry (entryBytes), the others list items
// (jsonItemBytes). A bracket may open a list or dictionary: with the item
// it counts for, it costs containerBytes.
func jsonCost(s string) (items, bytes int64) {
	text := int64(len(s))
	if !utf8.ValidString(s) {
		text *= 3 // each byte that is not UTF-8 becomes U+FFFD, 3 bytes
	}
	if t := strings.TrimLeft(s, " \t\n\r"); t == "" || t[0] != '[' && t[0] != '{' {
		return 0, text
	}
	containers := int64(strings.Count(s, "[") + strings.Count(s, "{"))
	items = int64(strings.Count(s, ",")) + containers
	entries := min(int64(strings.Count(s, ":")), items)
	bytes = text + entries*entryBytes + (items-entries)*jsonItemBytes + containers*(containerBytes-jsonItemBytes)
	return items, bytes
}

// --- encodings and hashes --------------------------------------------------

// rawURLEncode is PHP's rawurlencode.
func rawURLEncode(s string) string {
	const hexUp = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexUp[c>>4])
		b.WriteByte(hexUp[c&15])
	}
	return b.String()
}

// fURLEncode is Twig's url_encode: rawurlencode for text, an RFC 3986 query
// string for a dictionary or list.
func fURLEncode(st *state, in any, _ ...any) (any, error) {
	switch t := in.(type) {
	case *dict.Map, []any:
		var parts []string
		buildQuery(&parts, "", t)
		n := int64(len(parts))
		for _, p := range parts {
			n += int64(len(p))
		}
		if err := st.wantString(n); err != nil {
			return nil, err
		}
		return strings.Join(parts, "&"), nil
	}
	s := toStr(in)
	if err := st.wantString(int64(len(s)) + 2*int64(countBytes(s, func(c byte) bool { return !unreserved(c) }))); err != nil {
		return nil, err
	}
	return rawURLEncode(s), nil
}

// unreserved reports whether rawurlencode keeps c as it is.
func unreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~'
}

// countBytes counts the bytes of s for which f is true.
func countBytes(s string, f func(byte) bool) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if f(s[i]) {
			n++
		}
	}
	return n
}

func buildQuery(parts *[]string, prefix string, v any) {
	add := func(k string, x any) {
		name := k
		if prefix != "" {
			name = prefix + "[" + k + "]"
		}
		switch t := x.(type) {
		case nil:
		case *dict.Map, []any:
			buildQuery(parts, name, t)
		case bool:
			if t {
				*parts = append(*parts, rawURLEncode(name)+"=1")
			} else {
				*parts = append(*parts, rawURLEncode(name)+"=0")
			}
		default:
			*parts = append(*parts, rawURLEncode(name)+"="+rawURLEncode(toStr(x)))
		}
	}
	switch t := v.(type) {
	case *dict.Map:
		t.Range(func(k string, x any) bool { add(k, x); return true })
	case []any:
		for i, x := range t {
			add(strconv.Itoa(i), x)
		}
	}
}

// lenientUnescape decodes %XX and "+" and keeps malformed escapes, like PHP.
func lenientUnescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			v, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b.WriteByte(byte(v))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// parseQuery is PHP's parse_str: a[b]=1&a[]=2 nests.
func parseQuery(s string) *dict.Map {
	root := dict.New(4)
	// next is the index an append (a[]=) gives in each map appended to
	// so far: found once by nextIndex, then kept up to date, so that n
	// appends cost n, not the n² of a scan of every key each (hunt2: 170,000
	// "a[]=1&" held the server's core for 200 s).
	next := map[*dict.Map]int{}
	queryPaths(s, func(path []string, v string) { setPath(root, path, v, next) })
	return root
}

// queryPaths calls f with the path and value of each pair of the query s,
// as parse_str reads them: a[b][]=1 is a, b, "" (an append) and 1.
func queryPaths(s string, f func(path []string, v string)) {
	for _, pair := range strings.Split(s, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, v = lenientUnescape(k), lenientUnescape(v)
		name, rest, _ := strings.Cut(k, "[")
		if name == "" {
			continue
		}
		path := []string{name}
		if rest != "" {
			for _, p := range strings.Split("["+rest, "[") {
				if p == "" {
					continue
				}
				p, _, _ = strings.Cut(p, "]")
				path = append(path, p)
			}
		}
		f(path, v)
	}
}

// setPath sets v at path in m, an empty step appending (PHP's a[]=); next
// holds the index an append gives in the maps appended to before
// (parseQuery), and is kept up to date.
func setPath(m *dict.Map, path []string, v any, next map[*dict.Map]int) {
	cur := m
	for i, p := range path {
		if p == "" {
			n, ok := next[cur]
			if !ok {
				n = nextIndex(cur)
			}
			p = strconv.Itoa(n)
		}
		if n, ok := next[cur]; ok || path[i] == "" {
			if k, isInt := dict.PHPIntKey(p); isInt && k >= int64(n) {
				next[cur] = int(k) + 1
			}
		}
		if i == len(path)-1 {
			cur.Set(p, v)
			return
		}
		child, ok := cur.Value(p).(*dict.Map)
		if !ok {
			child = dict.New(2)
			cur.Set(p, child)
		}
		cur = child
	}
}

// nextIndex is the key PHP gives an item appended to m: one more than its
// largest integer key, and at least 0.
func nextIndex(m *dict.Map) int {
	n := 0
	for _, k := range m.Keys() {
		if i, ok := dict.PHPIntKey(k); ok && i >= int64(n) {
			n = int(i) + 1
		}
	}
	return n
}

func fUnescape(in any, _ ...any) (any, error) { return html.UnescapeString(toStr(in)), nil }

func fRaw(in any, _ ...any) (any, error) { return in, nil }

// --- text ---------------------------------------------------------------------

// fReplace is Twig's replace: PHP's strtr with an array of from => to,
// applied in one pass (a list's keys are its indexes).
func fReplace(st *state, in any, args ...any) (any, error) {
	s, err := text(in)
	if err != nil {
		return nil, err
	}
	from := arg(args, 0, nil)
	if !isIterable(from) {
		return nil, fmt.Errorf("expects a dictionary of replacements, got %s", dict.TypeName(from))
	}
	var pairs []string
	eachItem(from, func(k string, v any) bool {
		if k != "" {
			pairs = append(pairs, k, toStr(v))
		}
		return true
	})
	if len(pairs) == 0 {
		return s, nil
	}
	out, ok := strtr(s, pairs, st.limits.String)
	if !ok {
		return nil, st.errString()
	}
	return out, nil
}

// strtr replaces the longest matching key first, without rescanning
// output; ok is false when the result would be longer than max bytes.
func strtr(s string, pairs []string, max int) (string, bool) {
	type kv struct{ k, v string }
	kvs := make([]kv, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		kvs = append(kvs, kv{pairs[i], pairs[i+1]})
	}
	slices.SortStableFunc(kvs, func(a, b kv) int { return len(b.k) - len(a.k) })
	var b strings.Builder
outer:
	for i := 0; i < len(s); {
		for _, p := range kvs {
			if strings.HasPrefix(s[i:], p.k) {
				if b.Len()+len(p.v) > max {
					return "", false
				}
				b.WriteString(p.v)
				i += len(p.k)
				continue outer
			}
		}
		if b.Len() >= max {
			return "", false
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String(), true
}

// --- regular expressions ----------------------------------------------------

// pcre converts a PCRE pattern with delimiters and flags (/x(\d+)/i) into a
// Go regexp.
func pcre(pattern string) (*regexp.Regexp, error) {
	p := strings.TrimLeft(pattern, " \t\r\n")
	if p == "" {
		return nil, errors.New("empty pattern")
	}
	open := p[0]
	if open >= 'a' && open <= 'z' || open >= 'A' && open <= 'Z' || open >= '0' && open <= '9' || open == '\\' {
		return nil, fmt.Errorf("pattern %q has no delimiter", pattern)
	}
	closeCh := open
	switch open {
	case '(':
		closeCh = ')'
	case '{':
		closeCh = '}'
	case '[':
		closeCh = ']'
	case '<':
		closeCh = '>'
	}
	end := strings.LastIndexByte(p, closeCh)
	if end <= 0 {
		return nil, fmt.Errorf("pattern %q has no ending delimiter", pattern)
	}
	body, mods := p[1:end], p[end+1:]
	var flags strings.Builder
	for _, m := range mods {
		switch m {
		case 'i', 'm', 's':
			flags.WriteRune(m)
		case 'U':
			flags.WriteRune('U')
		case 'x':
			body = stripExtended(body)
		case 'u', 'D', '\n', '\r', ' ':
		default:
			return nil, fmt.Errorf("unknown modifier %q in pattern %q", m, pattern)
		}
	}
	if flags.Len() > 0 {
		body = "(?" + flags.String() + ")" + body
	}
	re, err := regexp.Compile(body)
	if err != nil {
		return nil, fmt.Errorf("bad pattern %q: %v", pattern, err)
	}
	return re, nil
}

// Bounds of regular expressions: Go's regexp runs in time linear in the
// input, times the size of the compiled pattern.
const (
	maxPattern  = 16 << 10    // bytes of a pattern
	regexpWork  = 100_000_000 // input bytes times compiled instructions
	regexpSmall = 4096        // inputs up to this size are not checked
)

// regexp compiles a PCRE pattern for matching against an input of n bytes,
// refusing a pattern too long or too slow for that input.
func (st *state) regexp(pattern string, n int) (*regexp.Regexp, error) {
	if len(pattern) > maxPattern {
		return nil, fmt.Errorf("pattern longer than %d bytes", maxPattern)
	}
	re, err := pcre(pattern)
	if err != nil {
		return nil, err
	}
	if n > regexpSmall {
		if err := checkRegexpWork(re.String(), n); err != nil {
			return nil, err
		}
	}
	return re, nil
}

// checkRegexpWork refuses a compiled pattern whose matching against n bytes
// could exceed regexpWork steps.
func checkRegexpWork(expr string, n int) error {
	sr, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil // regexp.Compile accepted it; nothing to measure
	}
	prog, err := syntax.Compile(sr.Simplify())
	if err != nil {
		return nil
	}
	if int64(len(prog.Inst))*int64(n) > regexpWork {
		return fmt.Errorf("pattern too complex for %d bytes of text (a compiled pattern of %d instructions)", n, len(prog.Inst))
	}
	return nil
}

// stripExtended removes unescaped whitespace and # comments (PCRE x flag).
func stripExtended(s string) string {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			b.WriteByte(c)
			b.WriteByte(s[i+1])
			i++
		case c == '[':
			inClass = true
			b.WriteByte(c)
		case c == ']':
			inClass = false
			b.WriteByte(c)
		case !inClass && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
		case !inClass && c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func groupIndex(re *regexp.Regexp, g any) int {
	if s, ok := g.(string); ok && !isNumeric(s) {
		return re.SubexpIndex(s)
	}
	return int(toInt(g))
}

// --- lists and dictionaries -----------------------------------------------------

// fDefault is Twig's default: the argument when the value is empty (null,
// "", false, empty list or dictionary; "0" and 0 are not empty).
func fDefault(in any, args ...any) (any, error) {
	if isEmpty(in) {
		return arg(args, 0, ""), nil
	}
	return in, nil
}

func fLength(in any, _ ...any) (any, error) {
	switch t := in.(type) {
	case nil:
		return int64(0), nil
	case []any:
		return int64(len(t)), nil
	case *dict.Map:
		return int64(t.Len()), nil
	}
	return int64(utf8.RuneCountInString(toStr(in))), nil
}

func fFirst(in any, _ ...any) (any, error) {
	switch t := in.(type) {
	case []any:
		if len(t) > 0 {
			return t[0], nil
		}
		return false, nil // PHP's current() of an empty array
	case *dict.Map:
		if t.Len() > 0 {
			return t.Value(t.Keys()[0]), nil
		}
		return false, nil
	case nil:
		return nil, nil
	}
	s := toStr(in)
	if r, n := utf8.DecodeRuneInString(s); n > 0 {
		return string(r), nil
	}
	return "", nil
}

func fLast(in any, _ ...any) (any, error) {
	switch t := in.(type) {
	case []any:
		if len(t) > 0 {
			return t[len(t)-1], nil
		}
		return false, nil
	case *dict.Map:
		if t.Len() > 0 {
			return t.Value(t.Keys()[t.Len()-1]), nil
		}
		return false, nil
	case nil:
		return nil, nil
	}
	s := toStr(in)
	if r, n := utf8.DecodeLastRuneInString(s); n > 0 {
		return string(r), nil
	}
	return "", nil
}

// fJoin is join(glue="", and): the items (a dictionary's values) as text.
func fJoin(st *state, in any, args ...any) (any, error) {
	l := toList(in)
	glue := toStr(arg(args, 0, ""))
	last := glue
	if len(args) > 1 && args[1] != nil {
		last = toStr(args[1])
	}
	var b strings.Builder
	for i, x := range l {
		if i > 0 {
			if i == len(l)-1 {
				b.WriteString(last)
			} else {
				b.WriteString(glue)
			}
		}
		b.WriteString(toStr(x))
		if b.Len() > st.limits.String {
			return nil, st.errString()
		}
	}
	return b.String(), nil
}

// fSplit is Twig's split(delimiter, limit): PHP's explode (a limit of 0
// counts as 1, a negative one drops items from the end); an empty
// delimiter splits into chunks of limit (at least 1) characters.
func fSplit(st *state, in any, args ...any) (any, error) {
	s, err := text(in)
	if err != nil {
		return nil, err
	}
	delim := toStr(arg(args, 0, ""))
	limit := int64(math.MaxInt32) // explode without a limit
	if l := arg(args, 1, nil); l != nil {
		limit = toInt(l)
	} else if delim == "" {
		limit = 1
	}
	size := max(limit, 1) // of the chunks of an empty delimiter
	var pieces int64
	if delim == "" {
		pieces = max((int64(utf8.RuneCountInString(s))+size-1)/size, 1)
	} else {
		pieces = explodeCount(s, delim, limit)
	}
	if err := st.wantItems(pieces); err != nil {
		return nil, err
	}
	if err := st.prepay(pieces * itemBytes); err != nil {
		return nil, err
	}
	if delim == "" {
		return chunks(s, int(min(size, math.MaxInt32))), nil
	}
	return explode(s, delim, pieces, limit >= 0), nil
}

// chunks is mb_str_split: s in pieces of size characters (an invalid byte
// is one character, U+FFFD). The pieces of valid text share its memory.
func chunks(s string, size int) []any {
	if s == "" {
		return []any{""}
	}
	out := make([]any, 0, (utf8.RuneCountInString(s)+size-1)/size)
	for len(s) > 0 {
		end, valid := 0, true
		for n := 0; n < size && end < len(s); n++ {
			r, w := utf8.DecodeRuneInString(s[end:])
			valid = valid && !(r == utf8.RuneError && w == 1)
			end += w
		}
		if valid {
			out = append(out, s[:end])
		} else {
			out = append(out, string([]rune(s[:end])))
		}
		s = s[end:]
	}
	return out
}

// explodeCount is the number of pieces PHP's explode(delim, s, limit)
// returns: at most limit (a limit of 0 counts as 1), and without the last
// -limit for a negative limit. A positive limit stops the count at its
// last piece, so that split(d, 2) of a long text reads only its start.
func explodeCount(s, delim string, limit int64) int64 {
	if limit <= 0 || limit >= math.MaxInt32 {
		n := int64(strings.Count(s, delim)) + 1
		if limit < 0 {
			return max(n+limit, 0)
		}
		return min(n, max(limit, 1))
	}
	n := int64(1)
	for ; n < limit; n++ {
		j := strings.Index(s, delim)
		if j < 0 {
			break
		}
		s = s[j+len(delim):]
	}
	return n
}

// explode is PHP's explode(delim, s, limit) returning n pieces
// (explodeCount); with rest, the last piece holds the rest of s (a limit
// that is not negative). The pieces share the memory of s.
func explode(s, delim string, n int64, rest bool) []any {
	out := make([]any, n)
	for i := range out {
		j := strings.Index(s, delim)
		if j < 0 || rest && i == len(out)-1 {
			out[i] = s
			break
		}
		out[i] = s[:j]
		s = s[j+len(delim):]
	}
	return out
}

// capBuilder is a strings.Builder that refuses to grow past max bytes.
type capBuilder struct {
	strings.Builder
	max  int
	over bool
}

var errBuilderFull = errors.New("text too long")

func (b *capBuilder) Write(p []byte) (int, error) {
	if b.over || b.Len()+len(p) > b.max {
		b.over = true
		return 0, errBuilderFull
	}
	return b.Builder.Write(p)
}

func (b *capBuilder) WriteString(s string) (int, error) {
	if b.over || b.Len()+len(s) > b.max {
		b.over = true
		return 0, errBuilderFull
	}
	return b.Builder.WriteString(s)
}

// --- numbers -------------------------------------------------------------------

// fAbs is PHP's abs(int|float): numeric text is read as a number; other
// text and arrays are a TypeError; the smallest integer gives a float.
func fAbs(in any, _ ...any) (any, error) {
	n, ok := toNumber(in)
	if !ok {
		return nil, fmt.Errorf("expects a number, got %s", dict.TypeName(in))
	}
	switch t := n.(type) {
	case int64:
		if t == math.MinInt64 {
			return -float64(t), nil
		}
		if t < 0 {
			return -t, nil
		}
		return t, nil
	}
	return math.Abs(n.(float64)), nil
}

// fRound is Twig's round(precision=0, method='common'|'ceil'|'floor'): the
// value as a float, rounded as PHP's round (common) or with ceil/floor of
// value * 10 ** precision.
func fRound(in any, args ...any) (any, error) {
	f := toFloat(in)
	p := toInt(arg(args, 0, int64(0)))
	p = max(min(p, 400), -400)
	switch toStr(arg(args, 1, "common")) {
	case "common":
		return phpRound(f, int(p)), nil
	case "ceil":
		m := math.Pow(10, float64(p))
		return math.Ceil(f*m) / m, nil
	case "floor":
		m := math.Pow(10, float64(p))
		return math.Floor(f*m) / m, nil
	default:
		return nil, errors.New(`the round filter only supports the "common", "ceil", and "floor" methods`)
	}
}

// fNumberFormat is number_format(decimals=0, dec_point='.', thousands_sep=',').
func fNumberFormat(st *state, in any, args ...any) (any, error) {
	f := toFloat(in)
	dec := int(max(min(toInt(arg(args, 0, int64(0))), 20), 0))
	point := toStr(arg(args, 1, "."))
	sep := toStr(arg(args, 2, ","))
	// A float64 has at most 309 digits before the point.
	if err := st.wantString(int64(len(point)) + 104*int64(len(sep)) + 330); err != nil {
		return nil, err
	}
	return numberFormat(f, dec, point, sep), nil
}

// numberFormat is PHP's number_format: the value rounded as round() does
// (half away from zero), then written with dec decimals.
func numberFormat(f float64, dec int, point, sep string) string {
	s := strconv.FormatFloat(phpRound(math.Abs(f), dec), 'f', dec, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if f < 0 && strings.Trim(s, "0.") != "" {
		b.WriteByte('-')
	}
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(c)
	}
	if dec > 0 {
		b.WriteString(point)
		b.WriteString(frac)
	}
	return b.String()
}
