package dispatch

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type ctxKey struct{}

func TestDeadlines(t *testing.T) {
	t.Parallel()
	now := time.Now()
	timeout := 30 * time.Second
	step := maxDeadlineStep
	// A start whose deadline falls 10 ms into a step, and one in the next.
	base := now.Add(-time.Duration(now.Add(timeout).UnixNano() % int64(step))).Add(10 * time.Millisecond)
	tests := []struct {
		name    string
		timeout time.Duration
		parent  context.Context
		starts  []time.Time
		// shared says whether the contexts of starts are one.
		shared bool
	}{
		{name: "SameStepShares", timeout: timeout, parent: context.Background(),
			starts: []time.Time{base, base.Add(step / 2)}, shared: true},
		{name: "NextStepDoesNotShare", timeout: timeout, parent: context.Background(),
			starts: []time.Time{base, base.Add(step)}},
		{name: "ParentWithValuesDoesNotShare", timeout: timeout, parent: context.WithValue(context.Background(), ctxKey{}, 1),
			starts: []time.Time{base, base}},
		{name: "TinyTimeoutDoesNotShare", timeout: 50 * time.Nanosecond, parent: context.Background(),
			starts: []time.Time{base, base}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := newDeadlines(nil, tt.timeout)
			var ctxs []context.Context
			for _, start := range tt.starts {
				ctx, cancel := d.context(tt.parent, start)
				t.Cleanup(cancel)
				dl, ok := ctx.Deadline()
				require.True(t, ok)
				// A cap: never later than start+timeout, at most a step
				// earlier.
				require.False(t, dl.After(start.Add(tt.timeout)), "deadline %v after %v", dl, start.Add(tt.timeout))
				require.Less(t, start.Add(tt.timeout).Sub(dl), max(d.step, time.Nanosecond))
				if tt.parent != context.Background() {
					require.Equal(t, 1, ctx.Value(ctxKey{}), "the parent's values")
				}
				ctxs = append(ctxs, ctx)
			}
			require.Equal(t, tt.shared, ctxs[0] == ctxs[1])
		})
	}
}

func TestDeadlines_SharedContextEnds(t *testing.T) {
	t.Parallel()
	d := newDeadlines(nil, 64*time.Millisecond)
	ctx, cancel := d.context(context.Background(), time.Now())
	cancel() // a shared context outlives its runs' releases
	require.NoError(t, ctx.Err())
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the shared context did not end at its deadline")
	}
	require.ErrorIs(t, ctx.Err(), context.DeadlineExceeded)
}
