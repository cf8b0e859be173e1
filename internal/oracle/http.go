package oracle

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Placeholders in a request target: the webhook's token (Cerb's listener
// GUID, hookhost's token) and the automation's name.
const (
	TokenPlaceholder      = "{token}"
	AutomationPlaceholder = "{automation}"
)

// Host is the Host header every recorded request carries, on Cerb and on
// hookhost alike (it is where the Cerb oracle listens), so that
// request_headers.host is the same on both.
const Host = "127.0.0.1:8765"

// Request is a case's HTTP request, written in a golden file as
//
//	METHOD TARGET
//	Header: value
//	...
//	<blank line>
//	body bytes (exact)
//
// TARGET is the path and query sent as-is, with {token} for the webhook's
// token ("/webhooks/{token}/a/b?x=1"). The headers are sent in order after
// "Host: 127.0.0.1:8765" (unless listed), and "Content-Length" is added
// when there is a body and none is listed.
type Request struct {
	Method  string
	Target  string
	Headers [][2]string
	Body    string
}

// ParseRequest reads a request field.
func ParseRequest(s string) (*Request, error) {
	head, body, _ := strings.Cut(s, "\n\n")
	lines := strings.Split(head, "\n")
	method, target, ok := strings.Cut(lines[0], " ")
	if !ok || method == "" || target == "" || strings.ContainsAny(target, " \t") {
		return nil, fmt.Errorf("request line %q is not METHOD TARGET", lines[0])
	}
	r := &Request{Method: method, Target: target, Body: body}
	for _, l := range lines[1:] {
		if l == "" {
			continue
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok || k == "" {
			return nil, fmt.Errorf("header line %q has no name", l)
		}
		r.Headers = append(r.Headers, [2]string{k, strings.TrimLeft(v, " ")})
	}
	return r, nil
}

// Raw returns the request's bytes with token in place of {token} and
// automation in place of {automation} in the target.
func (r *Request) Raw(token, automation string) []byte {
	var b bytes.Buffer
	target := strings.NewReplacer(TokenPlaceholder, token, AutomationPlaceholder, automation).Replace(r.Target)
	b.WriteString(r.Method + " " + target + " HTTP/1.1\r\n")
	if !r.has("Host") {
		b.WriteString("Host: " + Host + "\r\n")
	}
	for _, h := range r.Headers {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	if r.Body != "" && !r.has("Content-Length") && !r.has("Transfer-Encoding") {
		b.WriteString("Content-Length: " + strconv.Itoa(len(r.Body)) + "\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(r.Body)
	return b.Bytes()
}

func (r *Request) has(name string) bool {
	for _, h := range r.Headers {
		if strings.EqualFold(h[0], name) {
			return true
		}
	}
	return false
}

// Response is an HTTP answer with its header lines in the order received.
type Response struct {
	Proto   string // "HTTP/1.1"
	Status  int
	Reason  string
	Headers [][2]string
	Body    []byte
}

// Get returns the first value of the named header (case-insensitive).
func (r *Response) Get(name string) (string, bool) {
	for _, h := range r.Headers {
		if strings.EqualFold(h[0], name) {
			return h[1], true
		}
	}
	return "", false
}

// StatusLine is "<code> <reason>".
func (r *Response) StatusLine() string {
	return strings.TrimSpace(strconv.Itoa(r.Status) + " " + r.Reason)
}

// Send writes raw to addr (a loopback address), reads one response and
// closes the connection. HEAD responses have no body.
func Send(addr string, raw []byte, head bool, timeout time.Duration) (*Response, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("oracle requests go only to loopback addresses, not %s", addr)
	}
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	if _, err := c.Write(raw); err != nil {
		return nil, err
	}
	return ReadResponse(bufio.NewReader(c), head)
}

// ReadResponse reads one HTTP/1.x response: the status line, the header
// lines in order, and the body by Content-Length, chunked encoding, or up
// to the end of the connection.
func ReadResponse(br *bufio.Reader, head bool) (*Response, error) {
	line, err := readLine(br)
	if err != nil {
		return nil, fmt.Errorf("status line: %w", err)
	}
	proto, rest, _ := strings.Cut(line, " ")
	code, reason, _ := strings.Cut(rest, " ")
	r := &Response{Proto: proto, Reason: reason}
	if r.Status, err = strconv.Atoi(code); err != nil || !strings.HasPrefix(proto, "HTTP/") {
		return nil, fmt.Errorf("bad status line %q", line)
	}
	for {
		l, err := readLine(br)
		if err != nil {
			return nil, fmt.Errorf("headers: %w", err)
		}
		if l == "" {
			break
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			return nil, fmt.Errorf("bad header line %q", l)
		}
		r.Headers = append(r.Headers, [2]string{k, strings.TrimSpace(v)})
	}
	if head || r.Status == 204 || r.Status == 304 || (r.Status >= 100 && r.Status < 200) {
		return r, nil
	}
	te, _ := r.Get("Transfer-Encoding")
	cl, hasCL := r.Get("Content-Length")
	switch {
	case strings.EqualFold(te, "chunked"):
		var body bytes.Buffer
		for {
			l, err := readLine(br)
			if err != nil {
				return nil, fmt.Errorf("chunk size: %w", err)
			}
			l, _, _ = strings.Cut(l, ";")
			n, err := strconv.ParseInt(strings.TrimSpace(l), 16, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("bad chunk size %q", l)
			}
			if n == 0 {
				for {
					t, err := readLine(br)
					if err != nil || t == "" {
						break
					}
				}
				break
			}
			if _, err := io.CopyN(&body, br, n); err != nil {
				return nil, err
			}
			if _, err := readLine(br); err != nil {
				return nil, err
			}
		}
		r.Body = body.Bytes()
	case hasCL:
		n, err := strconv.ParseInt(cl, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad Content-Length %q", cl)
		}
		r.Body = make([]byte, n)
		if _, err := io.ReadFull(br, r.Body); err != nil {
			return nil, err
		}
	default:
		if r.Body, err = io.ReadAll(br); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func readLine(br *bufio.Reader) (string, error) {
	l, err := br.ReadString('\n')
	if err != nil {
		if errors.Is(err, io.EOF) && l != "" {
			return strings.TrimRight(l, "\r\n"), nil
		}
		return "", err
	}
	return strings.TrimRight(l, "\r\n"), nil
}

// FormatHeaders writes header lines "Name: value", one a line.
func FormatHeaders(h [][2]string) string {
	var b strings.Builder
	for i, kv := range h {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(kv[0] + ": " + kv[1])
	}
	return b.String()
}

// ParseHeaders reads FormatHeaders' output.
func ParseHeaders(s string) [][2]string {
	var h [][2]string
	for _, l := range strings.Split(s, "\n") {
		if l == "" {
			continue
		}
		k, v, _ := strings.Cut(l, ":")
		h = append(h, [2]string{k, strings.TrimLeft(v, " ")})
	}
	return h
}
