package templates

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime/quotedprintable"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/flosch/pongo2/v6"

	"github.com/hookhost/hookhost/templates/dict"
)

// Filters and functions added with the Twig front end: the arrow-function
// filters and the rest of the Cerb filters the corpus uses.

func lambdaArg(name string, args []any, i int) (pongo2.Lambda, error) {
	if i < len(args) {
		if fn, ok := args[i].(pongo2.Lambda); ok {
			return fn, nil
		}
	}
	return nil, fmt.Errorf("%s needs an arrow function argument, as in %s((v, k) => ...)", name, name)
}

func callLambda(fn pongo2.Lambda, args ...any) (any, error) {
	out, err := fn(args...)
	if err != nil {
		return nil, err
	}
	return norm(out), nil
}

func fContextAlias(in any, _ ...any) (any, error) { return contextAlias(toStr(in)), nil }

var (
	rePermalinkDrop  = regexp.MustCompile(`[^\p{L}\p{N}_\s\-]+`)
	rePermalinkSpace = regexp.MustCompile(`[\s\-]+`)
)

// fPermalink is Cerb's permalink: lower-case words joined by "-".
func fPermalink(st *state, in any, args ...any) (any, error) {
	sep := toStr(arg(args, 0, "-"))
	s := rePermalinkDrop.ReplaceAllString(toStr(in), "")
	if len(sep) > 1 {
		// every run of spaces and dashes becomes sep
		runs := len(rePermalinkSpace.FindAllStringIndex(s, -1))
		if err := st.wantString(int64(len(s)) + int64(runs)*int64(len(sep))); err != nil {
			return nil, err
		}
	}
	s = rePermalinkSpace.ReplaceAllString(s, sep)
	return strings.Trim(strings.ToLower(s), sep), nil
}

// fQPEncode is PHP's quoted_printable_encode.
func fQPEncode(in any, _ ...any) (any, error) {
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b)
	if _, err := io.WriteString(w, toStr(in)); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.String(), nil
}

// fDatePretty is date_pretty(is_delta): "2 hours ago", "in 3 days"; with
// is_delta the value is a number of seconds.
func fDatePretty(in any, args ...any) (any, error) {
	var secs int64
	if truthy(arg(args, 0, false)) {
		secs = toInt(in)
	} else {
		t, err := toTime(in, time.UTC)
		if err != nil {
			return "", nil
		}
		secs = int64(time.Since(t).Seconds())
	}
	if secs == 0 {
		return "just now", nil
	}
	abs := secs
	if abs < 0 {
		abs = -abs
	}
	units := []struct {
		n          int64
		one, other string
	}{{31536000, "year", "years"}, {2592000, "month", "months"}, {604800, "week", "weeks"}, {86400, "day", "days"},
		{3600, "hour", "hours"}, {60, "min", "mins"}, {1, "sec", "secs"}}
	for _, u := range units {
		if q := abs / u.n; q > 0 {
			name := u.other
			if q == 1 {
				name = u.one
			}
			if secs > 0 {
				return fmt.Sprintf("%d %s ago", q, name), nil
			}
			return fmt.Sprintf("in %d %s", q, name), nil
		}
	}
	return "just now", nil
}

// fKataEncode emits a dictionary as KATA: text as "key: value" (or a
// "key@text:" block for several lines), numbers and booleans with @int,
// @float and @bool, lists of text as "@list" blocks and other lists as
// "@json".
func fKataEncode(st *state, in any, _ ...any) (any, error) {
	m, ok := in.(*dict.Map)
	if !ok {
		if l, isList := in.([]any); isList {
			m = listToMap(l)
		} else {
			return nil, errors.New("kata_encode needs a dictionary")
		}
	}
	b := &capBuilder{max: st.limits.String + 1}
	kataDict(st, b, m, "")
	if b.over {
		return nil, st.errString()
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

func kataDict(st *state, b *capBuilder, m *dict.Map, indent string) {
	m.Range(func(k string, v any) bool {
		if b.over {
			return false
		}
		switch t := v.(type) {
		case *dict.Map:
			b.WriteString(indent + k + ":\n")
			kataDict(st, b, t, indent+"  ")
		case []any:
			text := true
			for _, x := range t {
				if s, ok := x.(string); !ok || strings.Contains(s, "\n") {
					text = false
				}
			}
			if text {
				b.WriteString(indent + k + "@list:\n")
				for _, x := range t {
					b.WriteString(indent + "  " + x.(string) + "\n")
				}
			} else {
				js, _, err := st.jsonEncode(t, 0)
				if err != nil {
					b.over = true
					return false
				}
				b.WriteString(indent + k + "@json: " + js + "\n")
			}
		case string:
			if strings.Contains(t, "\n") {
				b.WriteString(indent + k + "@text:\n")
				for _, line := range strings.Split(t, "\n") {
					b.WriteString(indent + "  " + line + "\n")
				}
			} else {
				b.WriteString(indent + k + ": " + t + "\n")
			}
		case bool:
			b.WriteString(indent + k + "@bool: " + cond(t, "yes", "no").(string) + "\n")
		case int64:
			b.WriteString(indent + k + "@int: " + strconv.FormatInt(t, 10) + "\n")
		case float64:
			b.WriteString(indent + k + "@float: " + dict.FormatFloat(t) + "\n")
		case nil:
			b.WriteString(indent + k + ":\n")
		}
		return true
	})
}

// fnXMLDecode is xml_decode(text): the document as PHP's
// json_encode(simplexml_load_string(text)) would give it (the root's
// children; attributes under "@attributes"; repeated elements as lists).
func fnXMLDecode(st *state, _ any, args ...any) (any, error) {
	text := toStr(arg(args, 0, ""))
	items := int64(strings.Count(text, "<"))
	if err := st.wantItems(items); err != nil {
		return nil, err
	}
	if err := st.alloc(int64(len(text)) + items*entryBytes); err != nil {
		return nil, err
	}
	d := xml.NewDecoder(strings.NewReader(text))
	d.Strict = false
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, nil
		}
		if se, ok := tok.(xml.StartElement); ok {
			v, err := xmlElement(d, se, 0)
			if err != nil {
				return nil, nil
			}
			return v, nil
		}
	}
}

func xmlElement(d *xml.Decoder, se xml.StartElement, depth int) (any, error) {
	if depth > 100 {
		return nil, errors.New("xml too deep")
	}
	m := dict.New(4)
	if len(se.Attr) > 0 {
		attrs := dict.New(len(se.Attr))
		for _, a := range se.Attr {
			attrs.Set(a.Name.Local, a.Value)
		}
		m.Set("@attributes", attrs)
	}
	var text strings.Builder
	children := false
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			children = true
			v, err := xmlElement(d, t, depth+1)
			if err != nil {
				return nil, err
			}
			name := t.Name.Local
			if old, ok := m.Get(name); ok {
				if l, isList := old.([]any); isList {
					m.Set(name, append(l, v))
				} else {
					m.Set(name, []any{old, v})
				}
			} else {
				m.Set(name, v)
			}
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			s := strings.TrimSpace(text.String())
			if !children && m.Len() == 0 {
				return s, nil
			}
			if !children && s != "" {
				m.Set("0", s)
			}
			return m, nil
		}
	}
}
