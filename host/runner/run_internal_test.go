package runner

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/extensions"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/plugins"
	"github.com/hookhost/hookhost/templates/dict"
)

// fixedExtension answers every run with the same return dictionary and
// keeps nothing of the run.
type fixedExtension struct{ ret *dict.Map }

var _ plugins.Extension = fixedExtension{}

func (fixedExtension) Describe(context.Context) (plugins.Description, error) {
	return plugins.Description{}, nil
}

func (x fixedExtension) Run(context.Context, plugins.Invocation, plugins.Host) (plugins.Outcome, error) {
	return plugins.Outcome{Exit: plugins.ExitReturn, Value: x.ret}, nil
}

func (fixedExtension) RunCommand(context.Context, plugins.CommandCall, plugins.Host) ([]byte, error) {
	return nil, nil
}

// TestServerRun_Allocs guards what a run costs the runner itself, as the
// server's request path asks for it: the revision token and the Result,
// nothing else (no callbacks, error variable or command list of its own).
func TestServerRun_Allocs(t *testing.T) {
	mgr, err := extensions.New(extensions.Config{SocketDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	t.Cleanup(func() { _ = mgr.Close() })
	r := New(&Extensions{mgr: mgr, inproc: fixedExtension{ret: dict.Of("body", "ok")}}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	inv := &Invocation{RunID: "r1", Inputs: dict.New(0), Automation: &store.Automation{ID: 1, Name: "a",
		ExtensionID: "cerb.trigger.webhook.respond", Revision: 2, CreatedAt: time.Unix(1, 0)}}
	ctx := context.Background()
	res, err := r.Run(ctx, inv)
	require.NoError(t, err)
	require.Equal(t, "ok", res.Return.Value("body"))
	require.Equal(t, 2.0, testing.AllocsPerRun(100, func() { _, _ = r.Run(ctx, inv) }))
}
