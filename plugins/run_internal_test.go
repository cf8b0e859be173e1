package plugins

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	pb "github.com/hookhost/hookhost/plugins/proto"
)

// TestStreamedRun_Allocs guards runReply and track: besides the
// extension's own, the extension side of a streamed run that has a
// deadline and a host makes one allocation (its result, response,
// outcome and Host together), not one each and a closure to untrack it.
func TestStreamedRun_Allocs(t *testing.T) {
	s := newServer(echoExt{}, nil, nil)
	hc := pb.NewHostClient(nil)
	s.host.Store(&hc)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	r := &pb.RunRequest{CallId: 7, RunId: "r", Automation: "a", Trigger: "t", Inputs: []byte(`{}`)}
	allocs := testing.AllocsPerRun(100, func() {
		u := new(unaryRun)
		res := s.streamedRun(ctx, r, &u.reply, &u.host)
		if res.GetResponse().GetOutcome().GetExit() != string(ExitReturn) {
			t.Fatal(res)
		}
	})
	require.Equal(t, 1.0, allocs)
	require.Empty(t, s.inflight, "untracked")
}
