package dispatch

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/netip"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/hookhost/hookhost/automations"
)

// request copies what the automation needs out of Fiber's reused buffers
// (every string here is a copy): the header lines in the order received,
// the decoded query pairs, and, for a POST, the form fields in order
// (automations.WebhookInputs turns them into Cerb's request dictionary).
// The method, path, header, query and client address strings are
// substrings of one copy, which costs one allocation instead of two per
// header.
func (d *Dispatcher) request(c *fiber.Ctx) automations.HTTPRequest {
	fr := c.Request()
	token := c.Params("token")
	sc := scratchPool.Get().(*scratch)
	defer sc.release()
	method := sc.add(fr.Header.Method())
	orig := sc.add(fr.URI().PathOriginal())
	if len(fr.Header.RawHeaders()) > 0 {
		for k, v := range fr.Header.AllInOrder() {
			sc.headers = append(sc.headers, [2]span{sc.add(k), sc.add(v)})
		}
	} else {
		fr.Header.VisitAll(func(k, v []byte) {
			sc.headers = append(sc.headers, [2]span{sc.add(k), sc.add(v)})
		})
	}
	qa := fr.URI().QueryArgs()
	qa.VisitAll(func(k, v []byte) {
		if string(k) == "token" && token == "" {
			return // the token itself is not a parameter
		}
		sc.query = append(sc.query, [2]span{sc.add(k), sc.add(v)})
	})
	var peer span
	if len(d.cfg.TrustedProxies) == 0 {
		peer = sc.addIP(c.Context().RemoteIP())
	}
	all := string(sc.buf)

	req := automations.HTTPRequest{
		Method: method.in(all),
		Path:   pathAfterToken(orig.in(all), token, c),
		Body:   bytes.Clone(fr.Body()),
	}
	// The headers and the query share one array, each capped so that an
	// append to one cannot write into the other.
	nh := len(sc.headers)
	pairs := make([][2]string, nh+len(sc.query))
	for i, kv := range sc.headers {
		pairs[i] = [2]string{kv[0].in(all), kv[1].in(all)}
	}
	for i, kv := range sc.query {
		pairs[nh+i] = [2]string{kv[0].in(all), kv[1].in(all)}
	}
	req.Headers = pairs[:nh:nh]
	if qa.Len() > 0 {
		req.Query = pairs[nh:]
	}
	if req.Method == fiber.MethodPost {
		req.Form = formFields(string(fr.Header.ContentType()), req.Body)
	}
	if len(d.cfg.TrustedProxies) == 0 {
		req.ClientIP = peer.in(all)
	} else {
		req.ClientIP = ClientIP(c, d.cfg.TrustedProxies)
	}
	return req
}

// scratch gathers the bytes of a request's strings (request), so that one
// string conversion copies them all.
type scratch struct {
	buf            []byte
	headers, query [][2]span
}

// span is where a string is in scratch.buf.
type span struct{ from, to int }

// in is the span's substring of all, the string of scratch.buf.
func (s span) in(all string) string { return all[s.from:s.to] }

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// maxPooledScratch bounds the buffer a pooled scratch keeps.
const maxPooledScratch = 16 << 10

func (s *scratch) add(b []byte) span {
	from := len(s.buf)
	s.buf = append(s.buf, b...)
	return span{from, len(s.buf)}
}

// addIP adds ip as net.IP.String writes it.
func (s *scratch) addIP(ip net.IP) span {
	from := len(s.buf)
	if len(ip) == net.IPv4len || len(ip) == net.IPv6len {
		s.buf, _ = ip.AppendText(s.buf)
	} else {
		s.buf = append(s.buf, ip.String()...)
	}
	return span{from, len(s.buf)}
}

// release returns s to the pool, unless it grew too large to keep.
func (s *scratch) release() {
	if cap(s.buf) > maxPooledScratch {
		return
	}
	s.buf, s.headers, s.query = s.buf[:0], s.headers[:0], s.query[:0]
	scratchPool.Put(s)
}

// pathAfterToken is the raw request path after /webhooks/<token>, every
// slash kept (Fiber's wildcard parameter loses a trailing one), else the
// wildcard parameter.
func pathAfterToken(orig, token string, c *fiber.Ctx) string {
	const pre = "/webhooks/"
	if token != "" && len(orig) >= len(pre) && strings.EqualFold(orig[:len(pre)], pre) && strings.HasPrefix(orig[len(pre):], token) {
		return orig[len(pre)+len(token):]
	}
	return "/" + c.Params("*")
}

// formFields reads the fields of a POST body as PHP fills $_POST: for an
// application/x-www-form-urlencoded or multipart/form-data body (the media
// type compared without case), in order; file parts are not fields. Only
// the first automations.MaxInputVars fields are read, the ones
// request_params keeps, and at most maxMultipartParts parts, as PHP reads
// them, so a body of many tiny parts costs no memory per part past those.
// The server must not pre-parse multipart bodies
// (DisablePreParseMultipartForm): fasthttp then re-encodes the body from
// a Go map, in random order.
func formFields(contentType string, body []byte) [][2]string {
	switch automations.PHPMediaType(contentType) {
	case "application/x-www-form-urlencoded":
		args := fasthttp.AcquireArgs()
		defer fasthttp.ReleaseArgs(args)
		args.ParseBytes(urlencodedPrefix(body, automations.MaxInputVars))
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
		for range maxMultipartParts {
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
			if len(out) == automations.MaxInputVars {
				return out
			}
		}
		return out
	}
	return nil
}

// maxMultipartParts is how many parts of a multipart body PHP reads
// (max_multipart_body_parts, by default max_input_vars plus
// max_file_uploads, 20): it stops at the next one.
const maxMultipartParts = automations.MaxInputVars + 20

// urlencodedPrefix is body cut before its field max+1, the fields counted
// as fasthttp's Args counts them: the '&'-separated segments other than ""
// and "=" (those have an empty name and value, and Args drops them).
func urlencodedPrefix(body []byte, max int) []byte {
	n := 0
	for i := 0; i < len(body); {
		end := len(body)
		if j := bytes.IndexByte(body[i:], '&'); j >= 0 {
			end = i + j
		}
		if seg := body[i:end]; len(seg) > 0 && string(seg) != "=" {
			if n == max {
				return body[:i]
			}
			n++
		}
		i = end + 1
	}
	return body
}

// ClientIP is the peer address, or, when the peer is a trusted proxy, the
// right-most X-Forwarded-For entry that is not itself a trusted proxy
// (the header's lines read in order as one comma-separated list).
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
	// Every X-Forwarded-For line, in order, as one list: a proxy may
	// append a line of its own after the client's.
	var parts []string
	for _, line := range c.Request().Header.PeekAll(fiber.HeaderXForwardedFor) {
		parts = append(parts, strings.Split(string(line), ",")...)
	}
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
