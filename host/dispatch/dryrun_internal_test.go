package dispatch

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations"
)

// TestDecodeRecord rebuilds requests from stored record inputs: headers
// and query in order, a POST's form fields read again from the stored
// body, a cut body reported, and records without a request refused.
func TestDecodeRecord(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		inputs string
		want   automations.HTTPRequest
		cut    bool
		err    string
	}{
		{
			name:   "Form",
			inputs: `{"method":"POST","path":"a/b","headers":{"Content-Type":"application/x-www-form-urlencoded","X-Key":"[redacted]"},"query":{"n":"7"},"body":"password=%5Bredacted%5D&note=hi","client_ip":"127.0.0.1"}`,
			want: automations.HTTPRequest{Method: "POST", Path: "a/b", ClientIP: "127.0.0.1",
				Headers: [][2]string{{"Content-Type", "application/x-www-form-urlencoded"}, {"X-Key", "[redacted]"}},
				Query:   [][2]string{{"n", "7"}}, Form: [][2]string{{"password", "[redacted]"}, {"note", "hi"}},
				Body: []byte("password=%5Bredacted%5D&note=hi")},
		},
		{
			name:   "GetHasNoForm",
			inputs: `{"method":"GET","path":"","headers":{"Content-Type":"application/x-www-form-urlencoded"},"query":{},"body":"a=1","client_ip":"::1"}`,
			want: automations.HTTPRequest{Method: "GET", ClientIP: "::1", Headers: [][2]string{{"Content-Type", "application/x-www-form-urlencoded"}},
				Body: []byte("a=1")},
		},
		{
			name:   "Cut",
			inputs: `{"method":"POST","headers":{},"query":{},"body":"abc…[truncated 9 bytes]","body_truncated":true,"client_ip":"127.0.0.1"}`,
			want:   automations.HTTPRequest{Method: "POST", ClientIP: "127.0.0.1", Body: []byte("abc…[truncated 9 bytes]")},
			cut:    true,
		},
		{name: "NoMethod", inputs: `{"path":"x"}`, err: "the record holds no request method"},
		{name: "NotAnObject", inputs: `[1]`, err: "the record holds no request"},
		{name: "Empty", inputs: ``, err: "the record holds no request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, cut, err := decodeRecord([]byte(tc.inputs))
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.cut, cut)
			_, err = recordedRequest([]byte(tc.inputs))
			require.Equal(t, tc.cut, err != nil, "a cut record cannot be replayed")
		})
	}
}

// TestHTTPToken checks the names a composed request may use.
func TestHTTPToken(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{"POST": true, "X-Hub-Signature-256": true, "svix_id": true, "": false, "GE T": false, "a:b": false, "é": false} {
		require.Equal(t, want, httpToken(s), "%q", s)
	}
}
