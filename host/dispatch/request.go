package dispatch

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/hookhost/hookhost/automations"
)

// request copies what the automation needs out of Fiber's reused buffers
// (every string here is a copy): the header lines in the order received,
// the decoded query pairs, and, for a POST, the form fields in order
// (automations.WebhookInputs turns them into Cerb's request dictionary).
func (d *Dispatcher) request(c *fiber.Ctx) automations.HTTPRequest {
	fr := c.Request()
	req := automations.HTTPRequest{
		Method: string(fr.Header.Method()),
		Path:   pathAfterToken(string(fr.URI().PathOriginal()), c.Params("token"), c.Params("*")),
		Body:   bytes.Clone(fr.Body()),
	}
	req.Headers = make([][2]string, 0, fr.Header.Len())
	if len(fr.Header.RawHeaders()) > 0 {
		for k, v := range fr.Header.AllInOrder() {
			req.Headers = append(req.Headers, [2]string{string(k), string(v)})
		}
	} else {
		fr.Header.VisitAll(func(k, v []byte) {
			req.Headers = append(req.Headers, [2]string{string(k), string(v)})
		})
	}
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
	if req.Method == fiber.MethodPost {
		req.Form = formFields(string(fr.Header.ContentType()), req.Body)
	}
	req.ClientIP = ClientIP(c, d.cfg.TrustedProxies)
	return req
}

// pathAfterToken is the raw request path after /webhooks/<token>, every
// slash kept (Fiber's wildcard parameter loses a trailing one), else the
// wildcard parameter.
func pathAfterToken(orig, token, wildcard string) string {
	const pre = "/webhooks/"
	if token != "" && len(orig) >= len(pre) && strings.EqualFold(orig[:len(pre)], pre) && strings.HasPrefix(orig[len(pre):], token) {
		return orig[len(pre)+len(token):]
	}
	return "/" + wildcard
}

// formFields reads the fields of a POST body as PHP fills $_POST: for an
// application/x-www-form-urlencoded or multipart/form-data body (the media
// type compared without case), in order; file parts are not fields. The
// server must not pre-parse multipart bodies (DisablePreParseMultipartForm):
// fasthttp then re-encodes the body from a Go map, in random order.
func formFields(contentType string, body []byte) [][2]string {
	switch automations.PHPMediaType(contentType) {
	case "application/x-www-form-urlencoded":
		var args fasthttp.Args
		args.ParseBytes(body)
		out := make([][2]string, 0, args.Len())
		args.VisitAll(func(k, v []byte) {
			out = append(out, [2]string{string(k), string(v)})
		})
		return out
	case "multipart/form-data":
		_, params, err := mime.ParseMediaType(contentType)
		if err != nil || params["boundary"] == "" {
			return nil
		}
		var out [][2]string
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for {
			part, err := mr.NextRawPart()
			if err != nil {
				return out
			}
			name := part.FormName()
			_, dp, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
			if _, isFile := dp["filename"]; name == "" || isFile {
				continue
			}
			v, err := io.ReadAll(part)
			if err != nil {
				return out
			}
			out = append(out, [2]string{name, string(v)})
		}
	}
	return nil
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
