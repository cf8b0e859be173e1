package templates

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime/quotedprintable"
	"strings"

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
