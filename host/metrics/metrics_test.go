package metrics_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/metrics"
)

// TestSummary_AddsUpEveryWebhook checks that the summary is the sum of the
// per-webhook series, whatever the number of webhooks, and logs what a
// scrape of /metrics weighs beside it (2,000 webhooks: 4 MB; 10,000: 22 MB).
func TestSummary_AddsUpEveryWebhook(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		webhooks int
	}{
		{"OneWebhook", 1},
		{"TwoThousandWebhooks", 2_000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := metrics.New(metrics.Sources{JobStates: func() (map[string]int, time.Duration, error) {
				return map[string]int{"Queued": 3, "Completed": 7}, 0, nil
			}})
			for i := range tt.webhooks {
				id := fmt.Sprintf("a0000000-0000-7000-8000-%012x", i)
				m.ObserveWebhook(id, 200, 3*time.Millisecond)
				m.ObserveWebhook(id, 503, 2*time.Second)
				m.ObserveWebhook(id, 401, 40*time.Second)
			}
			s, err := m.Summary()
			require.NoError(t, err)
			n := uint64(tt.webhooks)
			require.Equal(t, map[string]uint64{"1xx": 0, "2xx": n, "3xx": 0, "4xx": n, "5xx": n, "other": 0}, s.Requests)
			require.Len(t, s.Cumulative, len(s.Bounds)+1)
			at := func(le float64) uint64 {
				for i, b := range s.Bounds {
					if b == le {
						return s.Cumulative[i]
					}
				}
				t.Fatalf("no bound %v", le)
				return 0
			}
			require.Equal(t, n, at(0.005), "3 ms is in the 5 ms bucket")
			require.Equal(t, n, at(1))
			require.Equal(t, 2*n, at(2.5), "2 s is in the 2.5 s bucket")
			require.Equal(t, 2*n, at(30), "40 s is over the last bound")
			require.Equal(t, 3*n, s.Cumulative[len(s.Cumulative)-1])
			require.Equal(t, map[string]int{"queued": 3, "completed": 7}, s.Jobs)

			app := fiber.New()
			app.Get("/metrics", m.Handler())
			start := time.Now()
			resp, err := app.Test(httptest.NewRequest("GET", "/metrics", nil), -1)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			scrape := time.Since(start)
			sum, err := json.Marshal(s)
			require.NoError(t, err)
			t.Logf("%d webhooks: /metrics is %d bytes (%s in-process), the summary %d bytes", tt.webhooks, len(body), scrape.Round(time.Millisecond), len(sum))
		})
	}
}

// TestObserveWebhook_Series checks the labelled series the request path
// counts into, whatever the status (classes outside 1xx-5xx keep their own
// label), and the run counter by exit state, counted more than once.
func TestObserveWebhook_Series(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		status int
		code   string
	}{
		{"OK", 200, "2xx"},
		{"Redirect", 302, "3xx"},
		{"Refused", 429, "4xx"},
		{"Failed", 504, "5xx"},
		{"Informational", 101, "1xx"},
		{"NoStatus", 0, "0xx"},
		{"PastFiveHundreds", 600, "6xx"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := metrics.New(metrics.Sources{})
			for range 3 {
				m.ObserveWebhook("w1", tt.status, time.Millisecond)
				m.ObserveWebhook("w2", 200, time.Millisecond)
				m.Run("return")
			}
			got := scrape(t, m)
			require.Contains(t, got, `hookhost_webhook_requests_total{code="`+tt.code+`",webhook="w1"} 3`+"\n")
			require.Contains(t, got, `hookhost_webhook_requests_total{code="2xx",webhook="w2"} 3`+"\n")
			require.Contains(t, got, `hookhost_webhook_request_duration_seconds_count{webhook="w1"} 3`+"\n")
			require.Contains(t, got, `hookhost_runs_total{exit="return"} 3`+"\n")
			if tt.code != "2xx" {
				require.NotContains(t, got, `code="2xx",webhook="w1"`, "no series for a class never answered")
			}
		})
	}
}

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	app := fiber.New()
	app.Get("/metrics", m.Handler())
	resp, err := app.Test(httptest.NewRequest("GET", "/metrics", nil), -1)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(body)
}
