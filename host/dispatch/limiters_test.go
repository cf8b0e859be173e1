package dispatch

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations"
)

func TestLimiters_KeepStateUntilLimitsChange(t *testing.T) {
	t.Parallel()
	l := newLimiters()
	spec := automations.EventLimits{Concurrency: 2}
	wl := l.get("w", spec)
	require.Same(t, wl, l.get("w", spec), "same limits keep their state")
	require.NotSame(t, wl, l.get("w", automations.EventLimits{Concurrency: 3}), "changed limits start afresh")
}
