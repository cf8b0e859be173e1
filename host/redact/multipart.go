package redact

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
)

// maxShownParts bounds the parts of a multipart body that multipartBody
// reads: a body of many tiny parts costs a record no more than this many
// parts' headers (PHP, and so the server's request_params, reads 1,020 of
// them at most).
const maxShownParts = 1024

// multipartBody redacts the credential fields of a multipart/form-data body
// (contentType holds its boundary): every part whose form name (the
// Content-Disposition's name, as the server's form parser reads it:
// dispatch's formFields) is named like a credential, a file's as well as a
// field's, has its content replaced by Marker. The body comes back as it
// is when no part is such a part; else it is written again with the same
// boundary, each part with its own headers (in canonical form and order)
// and content. A body that ends inside a part (cut, or malformed) is
// written up to there, that part redacted by its name too; a body of more
// than maxShownParts parts is cut after them, with a line saying so, as is
// a body that is not readable as parts at all once one was read.
func multipartBody(body []byte, contentType string) []byte {
	_, params, err := mime.ParseMediaType(contentType)
	boundary := params["boundary"]
	if err != nil || boundary == "" {
		return body
	}
	if !multipartNeedsRewrite(body, boundary) {
		return body
	}
	type part struct {
		header  map[string][]string
		content []byte
	}
	var parts []part
	changed, rest := false, ""
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		if len(parts) == maxShownParts {
			changed, rest = true, fmt.Sprintf("[more than %d parts: the rest is not shown]", maxShownParts)
			break
		}
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if len(parts) == 0 {
				return body // not parts at all: no field was read from it either
			}
			changed, rest = true, "[the rest is not readable as parts: not shown]"
			break
		}
		content, err := io.ReadAll(p)
		if CredentialParam(p.FormName()) {
			content, changed = []byte(Marker), true
		}
		parts = append(parts, part{header: p.Header, content: content})
		if err != nil {
			changed, rest = true, "[the body ends inside this part]"
			break
		}
	}
	if !changed {
		return body
	}
	var out bytes.Buffer
	w := multipart.NewWriter(&out)
	if err := w.SetBoundary(boundary); err != nil {
		return []byte(Marker) // a boundary the reader took and the writer does not: show nothing
	}
	for _, p := range parts {
		pw, err := w.CreatePart(p.header)
		if err != nil {
			return []byte(Marker)
		}
		_, _ = pw.Write(p.content) // a bytes.Buffer does not fail
	}
	if rest != "" {
		out.WriteString("\r\n" + rest + "\r\n")
		return out.Bytes()
	}
	_ = w.Close()
	return out.Bytes()
}

// multipartNeedsRewrite reports whether multipartBody must write body again:
// a part is named like a credential, or there are more than maxShownParts
// parts, or the body is not readable as parts to its end once one was
// read. It reads the parts' headers only: a large upload without a
// credential costs a record no copy of its contents.
func multipartNeedsRewrite(body []byte, boundary string) bool {
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for n := 0; ; n++ {
		p, err := mr.NextRawPart()
		switch {
		case errors.Is(err, io.EOF):
			return false
		case err != nil:
			return n > 0
		case n == maxShownParts || CredentialParam(p.FormName()):
			return true
		}
	}
}
