package host

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"
)

// TestAdminRequest checks which heads are for the admin API, as Fiber
// routes them: the path as sent, in any case, everything under /api/v1.
func TestAdminRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, uri string
		want      bool
	}{
		{name: "Route", uri: "/api/v1/packages/import", want: true},
		{name: "Root", uri: "/api/v1", want: true},
		{name: "AnyCase", uri: "/API/V1/packages/import", want: true},
		{name: "AbsoluteForm", uri: "http://h/api/v1/secrets/x", want: true},
		// Fiber routes on the path as sent: this is an admin request.
		{name: "DotSegments", uri: "/api/v1/../../webhooks/x", want: true},
		{name: "WebhookPath", uri: "/webhooks/abc"},
		{name: "PrefixLookalike", uri: "/api/v10/x"},
		{name: "Shorter", uri: "/api/v"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var h fasthttp.RequestHeader
			h.SetRequestURI(tt.uri)
			h.SetHost("hooks.test")
			require.Equal(t, tt.want, adminRequest(&h))
		})
	}
}
