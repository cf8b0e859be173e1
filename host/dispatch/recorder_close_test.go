package dispatch

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// A run that outlives the server's shutdown records after the recorder
// closed: its record is dropped and counted, and a flush returns, where
// both sent on the closed queue and crashed the server ("send on closed
// channel", review revops).
func TestRecorder_AfterClose(t *testing.T) {
	tests := []struct {
		name        string
		act         func(r *recorder)
		wantDropped int64
	}{
		{"Record", func(r *recorder) { r.record(pending("late")) }, 1},
		{"RecordTwice", func(r *recorder) { r.record(pending("late")); r.record(pending("later")) }, 2},
		{"Flush", func(r *recorder) { require.True(t, r.flushContext(context.Background())) }, 0},
		{"CloseAgain", func(r *recorder) { require.NoError(t, r.Close()) }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := setupRecorder(t, RecorderConfig{})
			r.record(pending("in time"))
			require.NoError(t, r.Close())
			require.NotPanics(t, func() { tt.act(r) })
			st := r.stats()
			require.Equal(t, int64(1), st.Written)
			require.Equal(t, tt.wantDropped, st.Dropped)
			require.Equal(t, tt.wantDropped, st.AfterClose)
			require.Zero(t, r.queuedBytes.Load())
		})
	}
}
