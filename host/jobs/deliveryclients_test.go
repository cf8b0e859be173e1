package jobs

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDeliveryClients_CallbackTimeoutIsNoAnswer (review revcit): the
// clients of completion callbacks and subscription deliveries end a send
// to a receiver that never answers at Config.CallbackTimeout, with the
// worker's context still live, so that it counts as no answer (the cap
// and the breaker of destinations.go). A client without the timeout runs
// into the job's own limit instead, which counts neither way: the hung
// receiver would never be capped. The minute is a guard against a hang,
// not a measurement.
func TestDeliveryClients_CallbackTimeoutIsNoAnswer(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hung.Close)
	t.Cleanup(func() { close(release) })
	q := &Queue{cfg: Config{AllowPrivateRequests: true, CallbackTimeout: 50 * time.Millisecond}}
	for _, tt := range []struct {
		name   string
		client func() *http.Client
	}{
		{"Callback", (&callbackWorker{q: q}).client},
		{"Delivery", (&deliveryWorker{q: q}).client},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			require.Equal(t, q.cfg.CallbackTimeout, tt.client().Timeout, "Config.CallbackTimeout reaches the client")
			r := post(ctx, tt.client(), hung.URL+"/hook", "msg_1", newSecret(), []byte(`{}`))
			require.Equal(t, sendFailed, r.outcome, "%+v", r)
			require.NoError(t, ctx.Err(), "the client's timeout, not the job's, ended the send")
			require.Equal(t, answerMissing, answerOf(ctx, r))
		})
	}
}
