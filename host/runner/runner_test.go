package runner_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/runner"
)

func TestStart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		watch bool
		ctx   func() context.Context
		want  error // nil: it starts
	}{
		{"Starts", false, context.Background, nil},
		{"WatchCreatesThePluginsDir", true, context.Background, nil},
		{"CancelledStartStopsEverything", false, func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data, err := os.MkdirTemp("", "hr") // short: it holds unix sockets
			require.NoError(t, err)
			t.Cleanup(func() { _ = os.RemoveAll(data) })
			plugins := filepath.Join(data, "plugins")
			ext, err := runner.Start(tc.ctx(), runner.Config{DataDir: data, PluginsDir: plugins, InProcess: true,
				WatchPlugins: tc.watch, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
				require.Nil(t, ext)
				return
			}
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, ext.Close()) })
			_, statErr := os.Stat(plugins)
			require.Equal(t, tc.watch, statErr == nil, "the plugins dir exists only when watched")
			res, err := ext.Reload(context.Background())
			require.NoError(t, err)
			require.Empty(t, res.Started)
			require.Zero(t, ext.Restarts())
			require.NoError(t, ext.Close())
		})
	}
}
