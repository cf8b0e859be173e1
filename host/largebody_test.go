package host

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestServer_LargeBodyReachesExtension sends webhook bodies over 4 MiB
// (gRPC's default message cap) to an automation run by a real extension
// process, over loopback, under --body-limit 8MiB: the run gets the whole
// body and the caller its output. Before, a run over the cap failed with
// "received message larger than max" and the caller got 500.
func TestServer_LargeBodyReachesExtension(t *testing.T) {
	t.Parallel()
	b := setup(t, outOfProcess, func(c *Config) { c.BodyLimit = 8 << 20 })
	b.createAutomation(t, "size", "start:\n  return:\n    body: {{request_body|length}} {{request_params.a|length}}\n", "")
	_, tok := b.createWebhook(t, "size", eventFor("size"))
	addr := serveRaw(t, b.srv.App())
	const size = 6 << 20
	tests := []struct {
		name, contentType string
		body              []byte
		want              string
	}{
		{"raw", "application/octet-stream", bytes.Repeat([]byte("x"), size), strconv.Itoa(size) + " 0"},
		// The inputs hold the body twice: request_body and the field.
		{"form", "application/x-www-form-urlencoded", append([]byte("a="), bytes.Repeat([]byte("y"), size-2)...),
			strconv.Itoa(size) + " " + strconv.Itoa(size-2)},
	}
	client := &http.Client{Timeout: 60 * time.Second} // an upper bound, not a timing assertion
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := client.Post("http://"+addr+"/webhooks/"+tok, tt.contentType, bytes.NewReader(tt.body))
			require.NoError(t, err)
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s", got)
			require.Equal(t, tt.want, string(got))
		})
	}
}
