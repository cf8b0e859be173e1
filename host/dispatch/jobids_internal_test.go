package dispatch

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/jobs"
)

// TestJobIDsBody: the 202's body is what encoding/json writes for every
// id, the plain ones written directly and the others through it.
func TestJobIDsBody(t *testing.T) {
	for _, id := range []string{
		jobs.NewJobID(),
		"",
		"abc_DEF-123",
		`quote"d`,
		`back\slash`,
		"<script>&",
		"é",
		"line\u2028sep",
		"ctl\x01",
		"bad\xffutf8",
	} {
		t.Run(id, func(t *testing.T) {
			want, err := json.Marshal(api.JobIDs{JobIDs: []string{id}})
			require.NoError(t, err)
			require.Equal(t, string(want), string(jobIDsBody(id)))
		})
	}
}

func BenchmarkJobIDsBody(b *testing.B) {
	id := jobs.NewJobID()
	b.ReportAllocs()
	for b.Loop() {
		_ = jobIDsBody(id)
	}
}
