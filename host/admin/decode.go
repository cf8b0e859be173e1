package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/hookhost/hookhost/host/api"
)

// exampleTime is the RFC 3339 time messages show as an example.
const exampleTime = "2027-01-02T15:04:05Z"

// bodyField is the field of a problem with the body as a whole (a syntax
// error, with its line and column).
const bodyField = "body"

// bodyCodings are the content codings decodeContent undoes, as
// Accept-Encoding lists them on a 415.
const bodyCodings = "gzip, deflate, br"

// decodeContent undoes the request body's Content-Encoding before any
// admin handler reads it, capped at the app's body limit (--body-limit),
// the limit a plain body has: a coded body that decodes to more is
// refused 413 as soon as the cap is passed, a coding other than gzip,
// deflate or br (x-gzip, identity allowed) 415 with Accept-Encoding, and
// a body that does not decode 400. The handler then sees the decoded body
// and no Content-Encoding. Fiber's Ctx.Body decoded without a cap: a
// 1 MB gzip bomb became 8.5 GiB.
//
// Decoding (and not refusing coded bodies) keeps working what clients
// that compress large package imports send today; the cap makes a coded
// body cost what a plain one of the limit's size does.
func decodeContent(c *fiber.Ctx) error {
	req := c.Request()
	// Every Content-Encoding line, in order: two lines of gzip are
	// "gzip, gzip" (RFC 9110, 5.3), not one gzip (review2).
	var lines []string
	for _, v := range req.Header.PeekAll(fiber.HeaderContentEncoding) {
		lines = append(lines, string(v))
	}
	codings := strings.TrimSpace(strings.Join(lines, ","))
	if codings == "" {
		return c.Next()
	}
	limit := c.App().Config().BodyLimit
	list := strings.Split(codings, ",")
	// The codings are listed in the order they were applied (RFC 9110
	// §8.4): undo the last first.
	for i := len(list) - 1; i >= 0; i-- {
		coding := strings.ToLower(strings.TrimSpace(list[i]))
		var (
			body []byte
			err  error
		)
		switch {
		case coding == "identity" || coding == "":
			continue
		case len(req.Body()) == 0:
			continue // nothing to decode (a GET, an empty POST)
		case coding == "gzip" || coding == "x-gzip":
			body, err = req.BodyGunzipWithLimit(limit)
		case coding == "deflate":
			body, err = req.BodyInflateWithLimit(limit)
		case coding == "br":
			body, err = req.BodyUnbrotliWithLimit(limit)
		default:
			c.Set(fiber.HeaderAcceptEncoding, bodyCodings)
			return api.Errorf(http.StatusUnsupportedMediaType, "Content-Encoding %q is not supported: send the body as it is or coded with %s", coding, bodyCodings)
		}
		switch {
		case errors.Is(err, fasthttp.ErrBodyTooLarge):
			return api.Errorf(http.StatusRequestEntityTooLarge, "the request body decoded from Content-Encoding %q is larger than the server's body limit (%d bytes)", coding, limit)
		case err != nil:
			return api.Errorf(http.StatusBadRequest, "the request body is not valid %s data (Content-Encoding: %s)", coding, coding)
		}
		req.SetBodyRaw(body) // a new buffer, not the request's
	}
	req.Header.Del(fiber.HeaderContentEncoding)
	return c.Next()
}

// decodeJSON decodes the request's JSON body into v, a pointer to a struct
// of host/api; see decodeBody.
func decodeJSON(c *fiber.Ctx, v any) error { return decodeBody(c.Body(), v) }

// decodeBody decodes a JSON body into v (a pointer to a struct) strictly:
// unknown fields and anything after the value are refused. A mistake
// becomes a 400 problem that says where it is (the field, or the line and
// column), what was expected and an example, never the Go type it was
// decoded into.
func decodeBody(body []byte, v any) error { return decodeStrict(body, v, true) }

// decodeSecret is decodeBody for a body that holds a secret: messages
// never quote what was sent.
func decodeSecret(body []byte, v any) error { return decodeStrict(body, v, false) }

func decodeStrict(body []byte, v any, quote bool) error {
	t := reflect.TypeOf(v)
	if len(bytes.TrimSpace(body)) == 0 {
		return badJSON(api.ProblemItem{Field: bodyField, Message: "the body is empty: send a JSON object" + fieldList(t)})
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		it := jsonErrorItem(body, "", t, err)
		if !quote {
			it = quiet(it, err)
		}
		return badJSON(it)
	}
	off := int(dec.InputOffset())
	if rest := body[off:]; len(bytes.TrimSpace(rest)) > 0 {
		line, col := lineCol(body, off+len(rest)-len(bytes.TrimLeft(rest, " \t\r\n")))
		return badJSON(api.ProblemItem{Field: bodyField, Line: line, Column: col,
			Message: "unexpected text after the JSON object: send one object"})
	}
	return nil
}

// decodeValue decodes the JSON value of one field (PATCH bodies are read
// key by key) into v, with decodeBody's messages.
func decodeValue(field string, raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return badJSON(jsonErrorItem(raw, field, reflect.TypeOf(v), err))
	}
	return nil
}

// quiet is it without anything quoted from the body.
func quiet(it api.ProblemItem, err error) api.ProblemItem {
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typ) && it.Field != "":
		it.Message, _, _ = strings.Cut(it.Message, " (got ")
	case it.Line > 0:
		it.Message = "invalid JSON"
	}
	return it
}

// badJSON is the 400 problem of a body that cannot be decoded.
func badJSON(it api.ProblemItem) *api.Problem {
	return api.NewProblem(http.StatusBadRequest, "invalid JSON body").Add(it)
}

// jsonErrorItem turns an encoding/json error (a syntax error, a value of
// the wrong type, an unknown field, or a field's own decoding error such
// as a time that does not parse) into a problem item. body is what was
// decoded into a value of type t; field names it when it is one field's
// value (decodeValue), else "".
func jsonErrorItem(body []byte, field string, t reflect.Type, err error) api.ProblemItem {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syn) && strings.Contains(syn.Error(), "unexpected end of JSON input"):
		return eofItem(body)
	case errors.As(err, &syn):
		if first := firstByte(body); field == "" && first != '{' && first != '[' {
			line, col := lineCol(body, len(body)-len(bytes.TrimLeft(body, " \t\r\n")))
			return api.ProblemItem{Field: bodyField, Line: line, Column: col, Message: fmt.Sprintf(
				"the body is not JSON (it starts with %q): send a JSON object%s", snippet(body), fieldList(t))}
		}
		line, col := lineCol(body, int(syn.Offset)-1)
		return api.ProblemItem{Field: joinField(bodyField, field), Line: line, Column: col,
			Message: "invalid JSON: " + strings.TrimPrefix(syn.Error(), "json: ") + syntaxHint(syn)}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return eofItem(body)
	case errors.As(err, &typ):
		name := joinField(field, typ.Field)
		if name == "" {
			return api.ProblemItem{Field: bodyField, Message: "the body must be a JSON object" + fieldList(t) + ", not " + jsonKind(typ.Value)}
		}
		got := jsonKind(typ.Value)
		if raw, ok := topLevelValue(body, field, typ.Field); ok {
			got = snippet(raw)
		}
		return api.ProblemItem{Field: name, Message: expectation(name, typ.Type) + " (got " + got + ")"}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, _ = strconv.Unquote(name)
		return api.ProblemItem{Field: name, Message: fmt.Sprintf("unknown field %q%s", name, fieldList(t))}
	}
	// A field's own decoding failed (time.Time's UnmarshalJSON): the error
	// does not say which field, so find the one that fails alone.
	if field != "" {
		return api.ProblemItem{Field: field, Message: expectation(field, t) + " (got " + snippet(body) + ")"}
	}
	if name, ft, raw, ok := failingField(body, t); ok {
		return api.ProblemItem{Field: name, Message: expectation(name, ft) + " (got " + snippet(raw) + ")"}
	}
	return api.ProblemItem{Field: joinField(bodyField, field), Message: "invalid JSON: " + strings.TrimPrefix(err.Error(), "json: ")}
}

// eofItem is the problem of a body that ends inside its value.
func eofItem(body []byte) api.ProblemItem {
	line, col := lineCol(body, len(body))
	return api.ProblemItem{Field: bodyField, Line: line, Column: col,
		Message: "the JSON ends before its value is complete (a missing } or \"?)"}
}

// expectation says what field must hold, with an example, by its Go type.
func expectation(field string, t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	q := strconv.Quote(field)
	if t == reflect.TypeOf(time.Time{}) {
		return fmt.Sprintf("%s must be an RFC 3339 time, e.g. %q", q, exampleTime)
	}
	if t == nil {
		return q + " is not valid"
	}
	switch t.Kind() {
	case reflect.Bool:
		return fmt.Sprintf("%s must be true or false, e.g. %s: false", q, q)
	case reflect.String:
		return fmt.Sprintf("%s must be a string, e.g. %s: \"text\"", q, q)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprintf("%s must be a whole number, e.g. %s: 10", q, q)
	case reflect.Float32, reflect.Float64:
		return fmt.Sprintf("%s must be a number, e.g. %s: 1.5", q, q)
	case reflect.Slice, reflect.Array:
		return fmt.Sprintf("%s must be a list, e.g. %s: []", q, q)
	case reflect.Map, reflect.Struct:
		return fmt.Sprintf("%s must be an object, e.g. %s: {}", q, q)
	}
	return q + " is not valid"
}

// jsonKind words encoding/json's description of a value ("string",
// "number 1.5") for a message.
func jsonKind(v string) string {
	kind, rest, _ := strings.Cut(v, " ")
	switch kind {
	case "string":
		return "a string"
	case "number":
		if rest != "" {
			return rest
		}
		return "a number"
	case "bool":
		return "true or false"
	case "object":
		return "an object"
	case "array":
		return "a list"
	}
	return v
}

// syntaxHint adds advice for the commonest syntax mistakes.
func syntaxHint(e *json.SyntaxError) string {
	msg := e.Error()
	switch {
	case strings.Contains(msg, "looking for beginning of value"):
		return ` (a value is a "quoted string", a number, true, false, null, an object or a list)`
	case strings.Contains(msg, "looking for beginning of object key string"):
		return ` (keys are "quoted"; no comma before })`
	}
	return ""
}

// fieldList is ", with the fields a, b, c" for a struct type, else "".
func fieldList(t reflect.Type) string {
	names := jsonFields(t)
	if len(names) == 0 {
		return ""
	}
	return " with the fields " + strings.Join(names, ", ")
}

// jsonFields lists the JSON names of a struct type's fields.
func jsonFields(t reflect.Type) []string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for i := range t.NumField() {
		if name, ok := jsonName(t.Field(i)); ok {
			out = append(out, name)
		}
	}
	return out
}

func jsonName(f reflect.StructField) (string, bool) {
	if !f.IsExported() {
		return "", false
	}
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	switch name {
	case "-":
		return "", false
	case "":
		return f.Name, true
	}
	return name, true
}

// failingField finds the top-level field of a JSON object whose value
// alone does not decode into its struct field's type.
func failingField(body []byte, t reflect.Type) (string, reflect.Type, json.RawMessage, bool) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var obj map[string]json.RawMessage
	if t == nil || t.Kind() != reflect.Struct || json.Unmarshal(body, &obj) != nil {
		return "", nil, nil, false
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, ok := jsonName(f)
		if !ok {
			continue
		}
		raw, present := obj[name]
		if !present {
			continue
		}
		if json.Unmarshal(raw, reflect.New(f.Type).Interface()) != nil {
			return name, f.Type, raw, true
		}
	}
	return "", nil, nil, false
}

// topLevelValue returns the raw value of a top-level field of a JSON
// object (not of a nested one), to show what was sent.
func topLevelValue(body []byte, field, sub string) (json.RawMessage, bool) {
	if field != "" {
		if sub == "" {
			return body, true
		}
		return nil, false
	}
	if sub == "" || strings.Contains(sub, ".") {
		return nil, false
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil {
		return nil, false
	}
	raw, ok := obj[sub]
	return raw, ok
}

func joinField(field, sub string) string {
	switch {
	case field == "":
		return sub
	case sub == "":
		return field
	}
	return field + "." + sub
}

// snippet is the start of b, for a message: at most 40 characters.
func snippet(b []byte) string {
	s := string(bytes.TrimSpace(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + "…"
	}
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:40]) + "…"
	}
	return s
}

func firstByte(b []byte) byte {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// lineCol is the 1-based line and column (in characters) of byte offset
// off in b.
func lineCol(b []byte, off int) (line, col int) {
	off = max(0, min(off, len(b)))
	before := b[:off]
	line = 1 + bytes.Count(before, []byte("\n"))
	lineStart := bytes.LastIndexByte(before, '\n') + 1
	return line, 1 + utf8.RuneCount(before[lineStart:])
}
