package live_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/live"
)

func TestBroker(t *testing.T) {
	t.Parallel()
	b := live.New(2)
	all, ok := b.Watch(live.Filter{})
	require.True(t, ok)
	one, ok := b.Watch(live.Filter{WebhookID: "w1", Types: []string{"request"}})
	require.True(t, ok)
	_, ok = b.Watch(live.Filter{})
	require.False(t, ok, "at most two watchers")

	b.Publish(&live.Event{Type: "request", WebhookID: "w1"})
	b.Publish(&live.Event{Type: "request", WebhookID: "w2"})
	b.Publish(&live.Event{Type: "job", WebhookID: "w1"})
	require.Len(t, all.C, 3)
	require.Len(t, one.C, 1)
	require.Equal(t, "w1", (<-one.C).WebhookID)

	for range 300 {
		b.Publish(&live.Event{Type: "request", WebhookID: "w1"})
	}
	require.Positive(t, one.Dropped(), "a slow watcher loses events instead of blocking")

	one.Stop()
	one.Stop()
	_, ok = b.Watch(live.Filter{})
	require.True(t, ok, "a stopped watch frees its place")
	require.NoError(t, b.Close())
	_, open := <-all.C
	for open {
		_, open = <-all.C
	}
}
