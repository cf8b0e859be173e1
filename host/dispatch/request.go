package dispatch

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/automations"
)

// request copies what the automation needs out of Fiber's reused buffers
// (every string here is a copy).
func (d *Dispatcher) request(c *fiber.Ctx) automations.HTTPRequest {
	fr := c.Request()
	req := automations.HTTPRequest{
		Method: string(fr.Header.Method()),
		Path:   strings.TrimRight(string([]byte(c.Params("*"))), "/"),
		Body:   bytes.Clone(fr.Body()),
	}
	req.Headers = make([][2]string, 0, fr.Header.Len())
	fr.Header.VisitAll(func(k, v []byte) {
		req.Headers = append(req.Headers, [2]string{string(k), string(v)})
	})
	qa := fr.URI().QueryArgs()
	if qa.Len() > 0 {
		req.Query = make([][2]string, 0, qa.Len())
		qa.VisitAll(func(k, v []byte) {
			if string(k) == "token" && c.Params("token") == "" {
				return // the token itself is not a parameter
			}
			req.Query = append(req.Query, [2]string{string(k), string(v)})
		})
	}
	ct := string(fr.Header.ContentType())
	switch {
	case strings.HasPrefix(ct, fiber.MIMEApplicationForm):
		fr.PostArgs().VisitAll(func(k, v []byte) {
			req.Form = append(req.Form, [2]string{string(k), string(v)})
		})
	case strings.HasPrefix(ct, fiber.MIMEMultipartForm):
		if mf, err := c.MultipartForm(); err == nil {
			for k, vs := range mf.Value {
				for _, v := range vs {
					req.Form = append(req.Form, [2]string{k, v})
				}
			}
		}
	}
	req.ClientIP = ClientIP(c, d.cfg.TrustedProxies)
	return req
}

// ClientIP is the peer address, or, when the peer is a trusted proxy, the
// right-most X-Forwarded-For entry that is not itself a trusted proxy.
func ClientIP(c *fiber.Ctx, trustedProxies []netip.Prefix) string {
	peer := c.Context().RemoteIP().String()
	if len(trustedProxies) == 0 {
		return peer
	}
	trusted := func(a netip.Addr) bool {
		a = a.Unmap()
		for _, p := range trustedProxies {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	addr, err := netip.ParseAddr(peer)
	if err != nil || !trusted(addr) {
		return peer
	}
	xff := string(c.Request().Header.Peek(fiber.HeaderXForwardedFor))
	parts := strings.Split(xff, ",")
	for i := len(parts) - 1; i >= 0; i-- {
		p := strings.TrimSpace(parts[i])
		a, err := netip.ParseAddr(p)
		if err != nil {
			break
		}
		if !trusted(a) {
			return a.String()
		}
		peer = a.String()
	}
	return peer
}

// inferContentType picks a type for a body the automation sent without one:
// JSON for a JSON object or array, plain text otherwise (never sniffed HTML).
func inferContentType(body []byte) string {
	b := bytes.TrimSpace(body)
	if len(b) > 1 && (b[0] == '{' || b[0] == '[') && json.Valid(b) {
		return fiber.MIMEApplicationJSON
	}
	return fiber.MIMETextPlainCharsetUTF8
}
