package dispatch

import (
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/require"
)

// TestWriteAnswer_Origin: whatever headers an answer holds (a job's,
// stored by a node that did not drop them), the answer written carries no
// Service-Worker-Allowed or Clear-Site-Data, and the sandbox policy besides
// its own.
func TestWriteAnswer_Origin(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		headers [][2]string
		csp     []string
	}{
		{"NoHeaders", nil, []string{AnswerSandbox}},
		{"OwnPolicy", [][2]string{{"Content-Security-Policy", "sandbox allow-same-origin allow-scripts"}}, []string{"sandbox allow-same-origin allow-scripts", AnswerSandbox}},
		{"OriginHeaders", [][2]string{{"Content-Type", "text/javascript"}, {"service-worker-allowed", "/"}, {"Clear-Site-Data", `"*"`}, {"X-A", "1"}}, []string{AnswerSandbox}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			app := fiber.New()
			app.Get("/", func(c *fiber.Ctx) error {
				writeAnswer(c, &Answer{Status: 200, Headers: tc.headers, Body: []byte("x")})
				return nil
			})
			resp, err := app.Test(httptest.NewRequest("GET", "/", nil), -1)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, tc.csp, resp.Header.Values("Content-Security-Policy"))
			require.Empty(t, resp.Header.Values("Service-Worker-Allowed"))
			require.Empty(t, resp.Header.Values("Clear-Site-Data"))
			for _, h := range tc.headers {
				if h[0] == "X-A" {
					require.Equal(t, h[1], resp.Header.Get(h[0]))
				}
			}
		})
	}
}
