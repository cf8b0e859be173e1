package admin

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/host/api"
)

// binaryParam is the query parameter that may hold any bytes: it never
// reaches a store (the verify lab's sample body).
const binaryParam = "body"

// isText reports whether b is UTF-8 text without NUL bytes: what the stores
// keep in their text columns (PostgreSQL refuses anything else with
// SQLSTATE 22021, which answered 500).
func isText(b []byte) bool { return utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 }

// textParams answers 400, naming the parameter, a request whose query
// parameters (names and decoded values) or path segments (as sent and
// percent-decoded) are not UTF-8 text or hold a NUL byte, before any
// handler reads them: filters, cursors, names and ids are all text.
func (t *routeTable) textParams(c *fiber.Ctx) error {
	var bad *api.Problem
	c.Context().QueryArgs().VisitAll(func(k, v []byte) {
		switch {
		case bad != nil:
		case !isText(k):
			bad = api.InvalidField(fmt.Sprintf("%q", k), "query parameter names must be UTF-8 text without NUL bytes")
		case !isText(v) && string(k) != binaryParam:
			name := string(k)
			bad = api.InvalidField(name, fmt.Sprintf("%s must be UTF-8 text without NUL bytes (got %q)", name, v))
		}
	})
	if bad != nil {
		return bad
	}
	rel := strings.TrimPrefix(c.Path(), "/api/v1")
	for i, seg := range splitPath(rel) {
		decoded, err := url.PathUnescape(seg)
		if err != nil {
			decoded = seg // not percent-encoded: taken as it is
		}
		if isText([]byte(seg)) && isText([]byte(decoded)) {
			continue
		}
		name := "path"
		if p := t.segment(rel, i); strings.HasPrefix(p, ":") {
			name = p[1:]
		}
		return api.InvalidField(name, fmt.Sprintf("the %s in the path must be UTF-8 text without NUL bytes (got %q)", name, decoded))
	}
	return c.Next()
}
