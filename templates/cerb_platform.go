package templates

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/flosch/pongo2/v6"
	"golang.org/x/net/html"

	"github.com/hookhost/hookhost/templates/dict"
)

// fnPlaceholdersList is Cerb's placeholders_list(extract, prefix) (and
// cerb_placeholders_list): the automation's dictionary without its meta
// keys; with extract, only the keys that start with it (any case), the
// prefix cut; with prefix, that prefix added to every key.
func fnPlaceholdersList(ctx *pongo2.ExecutionContext, st *state, args ...any) (any, error) {
	var root *dict.Map
	switch r := ctx.Root.(type) {
	case cerbDict:
		root = r.m
	case *dict.Map:
		root = r
	}
	if root == nil {
		return []any{}, nil
	}
	extract, add := toStr(arg(args, 0, "")), toStr(arg(args, 1, ""))
	m := dict.New(root.Len())
	for _, k := range root.Keys() {
		switch k {
		case "_labels", "_types", "__simulator_output", "__trigger", "__exit":
			continue
		}
		if extract != "" || add != "" {
			if len(k) < len(extract) || !strings.EqualFold(k[:len(extract)], extract) {
				continue
			}
			m.Set(add+k[len(extract):], root.Value(k))
			continue
		}
		m.Set(k, root.Value(k))
	}
	if err := st.built(m, nil, nil); err != nil {
		return nil, err
	}
	return m, nil
}

// fnDateLerp is Cerb's date_lerp(range, unit, step=1, limit=10000): the
// Unix times from the start of a date range ("Jan 1 2020 to Jan 4 2020",
// "-1 week", which means "to now") to its end, step units apart
// (DevblocksPlatform::dateLerpArray); false when the range is not text.
func fnDateLerp(_ any, args ...any) (any, error) {
	s, ok := arg(args, 0, nil).(string)
	if !ok {
		return false, nil
	}
	unit := toStr(arg(args, 1, ""))
	step := int(toInt(arg(args, 2, int64(1))))
	limit := int(toInt(arg(args, 3, int64(10000))))
	now := time.Now().UTC()
	from, to, ok := parseDateRange(s, now)
	if !ok {
		return false, nil
	}
	orig := unit
	switch unit {
	case "dayofmonth", "dayofweek":
		unit = "day"
	case "hourofday", "hourofdayofweek":
		unit = "hour"
	case "monthofyear":
		unit = "month"
	case "quarter":
		unit, step = "day", 90
	case "weekofyear", "week-sun":
		unit = "week"
	}
	if unit == "month" && orig != "quarter" {
		from = time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC)
		to = time.Date(to.Year(), to.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	if to.Before(from) {
		from, to = to, from
	}
	add := func(t time.Time, n int) (time.Time, bool) {
		switch strings.TrimSuffix(unit, "s") {
		case "sec", "second":
			return t.Add(time.Duration(n) * time.Second), true
		case "min", "minute":
			return t.Add(time.Duration(n) * time.Minute), true
		case "hour":
			return t.Add(time.Duration(n) * time.Hour), true
		case "day":
			return t.AddDate(0, 0, n), true
		case "week":
			return t.AddDate(0, 0, 7*n), true
		case "month":
			return t.AddDate(0, n, 0), true
		case "year":
			return t.AddDate(n, 0, 0), true
		}
		return t, false
	}
	if _, ok := add(from, step); !ok {
		return []any{}, nil
	}
	var out []any
	for tick := from; !tick.After(to); {
		out = append(out, tick.Unix())
		if limit > 0 && len(out) >= limit {
			break
		}
		next, _ := add(tick, step)
		if next.Equal(tick) {
			next, _ = add(tick, step+1)
		}
		if !next.After(tick) {
			break // a step that does not advance
		}
		tick = next
	}
	if out == nil {
		out = []any{}
	}
	return out, nil
}

// parseDateRange is Cerb's date service parseDateRange for text: "A to B"
// (lower-cased; without " to ", B is now), each side a Unix time or date
// text; a side without a time of day starts at 00:00:00 (A) or ends at
// 23:59:59 (B).
func parseDateRange(s string, now time.Time) (from, to time.Time, ok bool) {
	s = strings.ToLower(s)
	if !strings.Contains(s, " to ") {
		s += " to now"
	}
	a, b, _ := strings.Cut(s, " to ")
	side := func(x string, end bool) time.Time {
		if n, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
			return time.Unix(int64(n), 0).UTC()
		}
		x = strings.ReplaceAll(x, ".", "-")
		t, ok := StrToTime(x, now)
		if !ok {
			if end {
				return now
			}
			return time.Unix(0, 0).UTC()
		}
		t = t.UTC()
		if end && x != "now" && t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
			t = t.Add(24*time.Hour - time.Second)
		}
		return t
	}
	return side(a, false), side(b, true), true
}

// fnVObjectParse is Cerb's vobject_parse(text): the BEGIN/END objects of
// vCard or iCalendar text, by type, each with its props (by name: a list
// of {params, value}) and children (the vobject service's parse).
func fnVObjectParse(_ any, args ...any) (any, error) {
	text := strings.ReplaceAll(toStr(arg(args, 0, "")), "\r\n", "\n")
	raw := regexp.MustCompile(`[\r\n]`).Split(text, -1)
	// parseCrlfString drops blank lines but keeps the indexes, and the
	// parser stops at the first missing index.
	var lines []string
	for _, l := range raw {
		if l == "" {
			break
		}
		lines = append(lines, l)
	}
	i := 0
	root := vobjectNode()
	vobjectExtract(lines, &i, root, 0)
	children, _ := root.Get("children")
	return children, nil
}

func vobjectNode() *dict.Map {
	n := dict.New(2)
	n.Set("props", []any{})
	n.Set("children", []any{})
	return n
}

func vobjectExtract(lines []string, i *int, parent *dict.Map, depth int) {
	props := dict.New(4)
	for *i < len(lines) && depth < 100 {
		line := lines[*i]
		if *i+1 < len(lines) && isFolded(lines[*i+1]) {
			// Unfolded in one builder: joined line by line, a value
			// folded n times copied n²/2 bytes (hunt2: 349,000 folds,
			// 14 s of CPU).
			var b strings.Builder
			b.WriteString(line)
			for *i+1 < len(lines) && isFolded(lines[*i+1]) {
				*i++
				_, size := firstRune(lines[*i])
				b.WriteString(lines[*i][size:])
			}
			line = b.String()
		}
		switch {
		case len(line) >= 4 && strings.EqualFold(line[:4], "END:"):
			parent.Set("props", dictOrList(props))
			*i++
			return
		case len(line) >= 6 && strings.EqualFold(line[:6], "BEGIN:"):
			typ := ""
			if _, after, ok := strings.Cut(line, ":"); ok {
				typ = strings.ToUpper(after)
			}
			node := vobjectNode()
			*i++
			vobjectExtract(lines, i, node, depth+1)
			if isEmptyValue(node.Value("props")) {
				node.Delete("props")
			}
			if isEmptyValue(node.Value("children")) {
				node.Delete("children")
			}
			children, ok := parent.Value("children").(*dict.Map)
			if !ok {
				children = dict.New(1)
				parent.Set("children", children)
			}
			list, _ := children.Value(typ).([]any)
			children.Set(typ, append(list, node))
		default:
			key, value, _ := strings.Cut(line, ":")
			key, params, _ := strings.Cut(key, ";")
			key = strings.ToUpper(key)
			p := dict.New(1)
			p.Set("params", dictOrList(vobjectParams(params)))
			p.Set("value", vobjectUnescape(value))
			list, _ := props.Value(key).([]any)
			props.Set(key, append(list, p))
			*i++
		}
	}
}

// isFolded reports whether a vobject line continues the one before.
func isFolded(line string) bool {
	return strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")
}

func firstRune(s string) (rune, int) {
	for _, r := range s {
		return r, len(string(r))
	}
	return 0, 0
}

func dictOrList(m *dict.Map) any {
	if m.Len() == 0 {
		return []any{}
	}
	return m
}

func isEmptyValue(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case []any:
		return len(t) == 0
	case *dict.Map:
		return t.Len() == 0
	}
	return false
}

// vobjectParams is the vobject service's _parseParams state machine.
//
// The key and the current value grow in builders, the value set when it
// ends: grown a byte at a time by string concatenation, a long key or
// value copied n²/2 bytes (hunt2: a 600,000-byte parameter key, 47 s of
// CPU).
func vobjectParams(s string) *dict.Map {
	out := dict.New(2)
	state, cur, haveCur := "KEY", "", false
	var key, val strings.Builder
	appendCur := func(c byte) {
		if haveCur && cur != "" {
			val.WriteByte(c)
		}
	}
	endCur := func() {
		if haveCur && cur != "" {
			out.Set(cur, val.String())
		}
		val.Reset()
		cur, haveCur = "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch state {
		case "KEY":
			switch c {
			case '=':
				out.Set(key.String(), "")
				cur, haveCur, state = key.String(), true, "VALUE"
				key.Reset()
			case ';':
				out.Set(key.String(), "")
				cur, haveCur = "", false
				key.Reset()
			default:
				key.WriteByte(c)
			}
		case "VALUE":
			switch c {
			case ';':
				endCur()
				state = "KEY"
			case '"':
				state = "QUOTED_VALUE"
			case '\\':
				state = "ESCAPE_VALUE"
			default:
				appendCur(c)
			}
		case "QUOTED_VALUE":
			switch c {
			case '"':
				state = "VALUE"
			case '\\':
				state = "QUOTED_ESCAPE_VALUE"
			default:
				appendCur(c)
			}
		case "ESCAPE_VALUE":
			appendCur(c)
			state = "VALUE"
		case "QUOTED_ESCAPE_VALUE":
			appendCur(c)
			state = "QUOTED_VALUE"
		}
	}
	if state == "KEY" && key.Len() > 0 {
		out.Set(key.String(), "")
	}
	if state != "KEY" {
		endCur()
	}
	return out
}

func vobjectUnescape(s string) string {
	for _, r := range [][2]string{{`\r`, "\r"}, {`\n`, "\n"}, {`\N`, "\n"}, {`\t`, "\t"}, {`\,`, ","}, {`\;`, ";"}, {`\"`, `"`}, {`\'`, "'"}, {`\\`, `\`}} {
		s = strings.ReplaceAll(s, r[0], r[1])
	}
	return s
}

// uriAttributes are the attributes whose values are URIs (HTMLPurifier's
// URI attribute definitions, for the elements webhooks meet).
var uriAttributes = map[string]bool{"href": true, "src": true, "action": true, "cite": true, "background": true, "longdesc": true, "usemap": true}

// fnCerbExtractURIs is Cerb's cerb_extract_uris(html): every URI in the
// HTML's tags replaced by a token "#uri-…", with tokens (token: URI),
// context (token: the tag, the attribute, the tag's attributes and the
// URI's parts) and template (the HTML with the tokens). Unlike Cerb,
// which runs the HTML through HTMLPurifier first, the template keeps the
// HTML as it was written.
func fnCerbExtractURIs(_ any, args ...any) (any, error) {
	src := toStr(arg(args, 0, ""))
	tokens, contexts := dict.New(2), dict.New(2)
	var b strings.Builder
	z := html.NewTokenizer(strings.NewReader(src))
	n := 0
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		raw := string(z.Raw())
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			b.WriteString(raw)
			continue
		}
		tok := z.Token()
		changed := false
		attrs := dict.New(len(tok.Attr))
		for _, a := range tok.Attr {
			attrs.Set(a.Key, a.Val)
		}
		for i, a := range tok.Attr {
			if !uriAttributes[a.Key] || strings.TrimSpace(a.Val) == "" {
				continue
			}
			n++
			token := fmt.Sprintf("#uri-%013x", time.Now().UnixMicro()+int64(n))
			tokens.Set(token, a.Val)
			c := dict.New(5)
			c.Set("is_tag", true)
			c.Set("name", tok.Data)
			c.Set("attr", a.Key)
			c.Set("attrs", attrs)
			c.Set("uri_parts", uriParts(a.Val))
			contexts.Set(token, c)
			tok.Attr[i].Val = token
			changed = true
		}
		if changed {
			b.WriteString(tok.String())
		} else {
			b.WriteString(raw)
		}
	}
	out := dict.New(3)
	out.Set("tokens", dictOrList(tokens))
	if contexts.Len() > 0 {
		out.Set("context", contexts)
	}
	out.Set("template", b.String())
	return out, nil
}

// uriParts is an HTMLPurifier_URI as json_encode shows it.
func uriParts(s string) *dict.Map {
	m := dict.New(7)
	u, err := url.Parse(s)
	if err != nil {
		u = &url.URL{Path: s}
	}
	str := func(v string) any {
		if v == "" {
			return nil
		}
		return v
	}
	m.Set("scheme", str(u.Scheme))
	var user any
	if u.User != nil {
		user = u.User.String()
	}
	m.Set("userinfo", user)
	m.Set("host", str(u.Hostname()))
	var port any
	if p, err := strconv.Atoi(u.Port()); err == nil {
		port = int64(p)
	}
	m.Set("port", port)
	m.Set("path", u.EscapedPath())
	m.Set("query", str(u.RawQuery))
	m.Set("fragment", str(u.Fragment))
	return m
}
