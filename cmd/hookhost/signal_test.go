package main

import (
	"io"
	"log/slog"
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// The first signal (SIGHUP too) shuts the server down gracefully, the
// second stops it at once (review revops).
func TestServe_SignalStopsGracefullyThenNow(t *testing.T) {
	tests := []struct {
		name        string
		sigs        []os.Signal
		wantCancel  bool
		wantStopNow bool
	}{
		{"SIGTERM", []os.Signal{syscall.SIGTERM}, true, false},
		{"SIGHUP", []os.Signal{syscall.SIGHUP}, true, false},
		{"SecondSignal", []os.Signal{syscall.SIGTERM, os.Interrupt}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sigs := make(chan os.Signal, len(tt.sigs))
			for _, s := range tt.sigs {
				sigs <- s
			}
			done := make(chan struct{})
			cancelled, stopped := make(chan struct{}), make(chan struct{})
			returned := make(chan struct{})
			go func() {
				defer close(returned)
				stopOnSignals(sigs, done, func() { close(cancelled) }, func() { close(stopped) }, slog.New(slog.NewTextHandler(io.Discard, nil)))
			}()
			<-cancelled
			if tt.wantStopNow {
				<-stopped
			} else {
				close(done)
			}
			<-returned
			select {
			case <-stopped:
				require.True(t, tt.wantStopNow)
			default:
				require.False(t, tt.wantStopNow)
			}
		})
	}
}
