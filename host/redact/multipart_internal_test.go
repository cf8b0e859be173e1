package redact

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// formParts reads body's parts as the server's form parser does
// (dispatch's formFields): each part's form name and content.
func formParts(t *testing.T, body []byte, contentType string) [][2]string {
	t.Helper()
	_, params, err := mime.ParseMediaType(contentType)
	require.NoError(t, err)
	var out [][2]string
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err != nil {
			return out
		}
		v, _ := io.ReadAll(p)
		out = append(out, [2]string{p.FormName(), string(v)})
	}
}

// TestBody_Multipart: a multipart/form-data body's parts named like
// credentials (fields and files, however the name is spelled in the
// Content-Disposition) have their content replaced, the other parts keep
// theirs; a body with none comes back as it is (the same bytes), and so
// does one that is not parts at all; a body cut inside a part or past
// maxShownParts parts is shown up to there.
func TestBody_Multipart(t *testing.T) {
	t.Parallel()
	const secret = "hunter22hunter"
	part := func(disposition, content string) string {
		return "--XyZ\r\nContent-Disposition: " + disposition + "\r\n\r\n" + content + "\r\n"
	}
	const ct = "multipart/form-data; boundary=XyZ"
	tests := []struct {
		name, contentType, body string
		want                    [][2]string // nil: the body comes back as it is
	}{
		{name: "NoCredential", contentType: ct,
			body: part(`form-data; name="user"`, "bob") + part(`form-data; name="note"`, "token-free") + "--XyZ--\r\n"},
		{name: "Field", contentType: ct,
			body: part(`form-data; name="user"`, "bob") + part(`form-data; name="password"`, secret) + "--XyZ--\r\n",
			want: [][2]string{{"user", "bob"}, {"password", Marker}}},
		{name: "NestedAndCase", contentType: "Multipart/Form-Data; boundary=\"XyZ\"",
			body: part(`form-data; name="a[API_Token]"`, secret) + part(`form-data; name="b"`, "2") + "--XyZ--\r\n",
			want: [][2]string{{"a[API_Token]", Marker}, {"b", "2"}}},
		{name: "File", contentType: ct,
			body: part(`form-data; name="client_secret"; filename="s.txt"`, secret) + "--XyZ--\r\n",
			want: [][2]string{{"client_secret", Marker}}},
		{name: "RFC2231Name", contentType: ct,
			body: part(`form-data; name*=utf-8''%70assword`, secret) + "--XyZ--\r\n",
			want: [][2]string{{"password", Marker}}},
		{name: "CutInsideTheSecret", contentType: ct,
			body: part(`form-data; name="user"`, "bob") + "--XyZ\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\n" + secret[:8],
			want: [][2]string{{"user", "bob"}, {"token", Marker + "\r\n[the body ends inside this part]"}}},
		{name: "NotParts", contentType: ct, body: "password=" + secret},
		{name: "NoBoundary", contentType: "multipart/form-data", body: part(`form-data; name="password"`, secret)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := []byte(tt.body)
			got := Body(in, tt.contentType)
			if tt.want == nil {
				require.Equal(t, tt.body, string(got))
				require.Same(t, &in[0], &got[0], "the body itself, not a copy")
				return
			}
			require.NotContains(t, string(got), secret[:8])
			require.Equal(t, tt.want, formParts(t, got, tt.contentType))
			require.Equal(t, tt.body, string(in), "the body given is not modified")
		})
	}
}

// TestBody_MultipartManyParts: a body of more parts than maxShownParts is
// shown cut after them, so that a credential past them is not shown
// either, and a record costs no more than those parts.
func TestBody_MultipartManyParts(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for range maxShownParts {
		b.WriteString("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n")
	}
	b.WriteString("--XyZ\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nhunter22hunter\r\n--XyZ--\r\n")
	got := string(Body([]byte(b.String()), "multipart/form-data; boundary=XyZ"))
	require.NotContains(t, got, "hunter22")
	require.Equal(t, maxShownParts, strings.Count(got, `name="a"`))
	require.Contains(t, got, "the rest is not shown")
}
