package dispatch_test

import (
	"io"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/dispatch"
)

// TestClientIP checks which address stands for the client: the peer, or
// behind a trusted proxy the right-most X-Forwarded-For entry that is not
// a trusted proxy, every header line read in order as one list.
func TestClientIP(t *testing.T) {
	t.Parallel()
	// app.Test's connections come from 0.0.0.0.
	peer := []netip.Prefix{netip.MustParsePrefix("0.0.0.0/32")}
	proxies := append([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, peer...)
	tests := []struct {
		name    string
		trusted []netip.Prefix
		xff     []string // one X-Forwarded-For line each
		want    string
	}{
		{name: "NoTrustedProxies", xff: []string{"203.0.113.9"}, want: "0.0.0.0"},
		{name: "NoHeader", trusted: peer, want: "0.0.0.0"},
		{name: "OneLine", trusted: peer, xff: []string{"198.51.100.50, 203.0.113.9"}, want: "203.0.113.9"},
		{name: "SkipsTrustedProxies", trusted: proxies, xff: []string{"203.0.113.9, 10.1.2.3"}, want: "203.0.113.9"},
		// A proxy appending its own line after the client's: the client's
		// first line is only what the client claims.
		{name: "TwoLines", trusted: peer, xff: []string{"198.51.100.50", "203.0.113.9"}, want: "203.0.113.9"},
		{name: "TwoLinesThroughProxies", trusted: proxies, xff: []string{"198.51.100.50, 203.0.113.9", "10.1.2.3"}, want: "203.0.113.9"},
		{name: "Unparsable", trusted: peer, xff: []string{"198.51.100.50", "nonsense"}, want: "0.0.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			app := fiber.New()
			app.Get("/", func(c *fiber.Ctx) error { return c.SendString(dispatch.ClientIP(c, tt.trusted)) })
			req := httptest.NewRequest("GET", "/", nil)
			for _, x := range tt.xff {
				req.Header.Add("X-Forwarded-For", x)
			}
			resp, err := app.Test(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, tt.want, string(got))
		})
	}
}
