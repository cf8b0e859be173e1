package automations

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRunDeadline checks that a job attempt runs until its own timeout and
// a synchronous run until the request's, not until the engine's 25 s
// default, unless the policy sets a time limit.
func TestRunDeadline(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	caller := start.Add(10 * time.Minute)
	withDeadline, cancel := context.WithDeadline(context.Background(), caller)
	defer cancel()
	tests := []struct {
		name  string
		ctx   context.Context
		limit time.Duration
		own   bool
		want  time.Time
	}{
		{"CallerDeadlineBeatsDefault", withDeadline, defaultTimeLimit, false, caller},
		{"PolicyLimitApplies", withDeadline, 30 * time.Second, true, start.Add(30 * time.Second)},
		{"NoDeadlineTakesDefault", context.Background(), defaultTimeLimit, false, start.Add(defaultTimeLimit)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, runDeadline(tt.ctx, start, tt.limit, tt.own))
		})
	}
}
