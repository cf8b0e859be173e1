package dispatch_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/dispatch"
)

func TestEffectiveLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		def      automations.EventLimits
		own      *automations.EventLimits
		want     automations.EventLimits
		wantSome bool
	}{
		{name: "none"},
		{name: "own only", own: &automations.EventLimits{Concurrency: 2}, want: automations.EventLimits{Concurrency: 2}, wantSome: true},
		{name: "defaults only", def: automations.EventLimits{Rate: 5, Concurrency: 4}, want: automations.EventLimits{Rate: 5, Concurrency: 4}, wantSome: true},
		{name: "own rate replaces rate and burst", def: automations.EventLimits{Rate: 5, Burst: 10}, own: &automations.EventLimits{Rate: 1},
			want: automations.EventLimits{Rate: 1}, wantSome: true},
		{name: "fields merge", def: automations.EventLimits{Rate: 5, Concurrency: 4}, own: &automations.EventLimits{BodyBytes: 100, Burst: 7},
			want: automations.EventLimits{Rate: 5, Burst: 7, Concurrency: 4, BodyBytes: 100}, wantSome: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, some := dispatch.EffectiveLimits(tt.def, tt.own)
			require.Equal(t, tt.wantSome, some)
			require.Equal(t, tt.want, got)
		})
	}
}
