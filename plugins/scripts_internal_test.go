package plugins

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	pb "github.com/hookhost/hookhost/plugins/proto"
)

// TestStreamScripts: the extension side fills in a script it kept, refuses
// one it did not, and starts over past its bounds.
func TestStreamScripts(t *testing.T) {
	t.Parallel()
	with := func(automation, revision, script string) *pb.RunRequest {
		return &pb.RunRequest{Automation: automation, Revision: revision, Script: script, Policy: "p" + script}
	}
	without := func(automation, revision string) *pb.RunRequest {
		return &pb.RunRequest{Automation: automation, Revision: revision, ScriptOmitted: true}
	}
	for _, tc := range []struct {
		name       string
		before     []*pb.RunRequest
		run        *pb.RunRequest
		ok         bool
		wantScript string
	}{
		{"Kept", []*pb.RunRequest{with("a", "1", "s1")}, without("a", "1"), true, "s1"},
		{"OtherRevision", []*pb.RunRequest{with("a", "1", "s1")}, without("a", "2"), false, ""},
		{"OtherAutomation", []*pb.RunRequest{with("a", "1", "s1")}, without("b", "1"), false, ""},
		{"FirstKept", []*pb.RunRequest{with("a", "1", "s1"), with("a", "1", "s2")}, without("a", "1"), true, "s1"},
		{"NoRevisionNotKept", []*pb.RunRequest{with("a", "", "s1")}, without("a", ""), false, ""},
		{"WithScript", nil, with("a", "1", "s1"), true, "s1"},
		{"Nothing", nil, without("a", "1"), false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var k streamScripts
			for _, r := range tc.before {
				require.True(t, k.fill(r))
			}
			require.Equal(t, tc.ok, k.fill(tc.run))
			if tc.ok {
				require.Equal(t, tc.wantScript, tc.run.GetScript())
				require.Equal(t, "p"+tc.wantScript, tc.run.GetPolicy())
				require.False(t, tc.run.GetScriptOmitted())
			}
		})
	}

	t.Run("Bounds", func(t *testing.T) {
		var k streamScripts
		for i := range maxKnownScripts {
			require.True(t, k.fill(with("a", strconv.Itoa(i), "s")))
		}
		require.True(t, k.fill(without("a", "0")), "within the bounds")
		require.True(t, k.fill(with("a", "new", "s")))
		require.False(t, k.fill(without("a", "0")), "past them, it started over")
		require.True(t, k.fill(without("a", "new")))
		require.LessOrEqual(t, len(k.m), maxKnownScripts)
	})
}
