package jobs_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/jobs"
)

// TestQueue_CredentialHeadersReachEveryAttempt: the request headers a
// job's webhook's verify blocks read (Request.CredentialHeaders) are kept
// with the job and given to every attempt, a retry's included, so that the
// runner redacts their values in the job's record however the webhook
// changed since.
func TestQueue_CredentialHeadersReachEveryAttempt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		headers []string
	}{
		{"None", nil},
		{"Some", []string{"X-Custom-Key", "X-Other-Sig"}},
	}
	forEachDB(t, func(t *testing.T, kind testDB) {
		var (
			mu   sync.Mutex
			seen = map[string][]string{} // job id: its attempt's headers
		)
		q, bundle := setup(t, kind, func(_ context.Context, a *jobs.Attempt) (*jobs.Outcome, error) {
			mu.Lock()
			defer mu.Unlock()
			seen[a.JobID] = a.CredentialHeaders
			return &jobs.Outcome{Revision: 1, Failed: true, Error: "asked to fail"}, nil
		}, nil)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				req := request()
				req.CredentialHeaders = tt.headers
				res, err := q.Enqueue(bundle.ctx, req)
				require.NoError(t, err)
				require.Equal(t, jobs.StateFailed, waitFinal(t, q, res.JobID).State)
				retry, err := q.Retry(bundle.ctx, res.JobID)
				require.NoError(t, err)
				require.Equal(t, jobs.StateFailed, waitFinal(t, q, retry.JobID).State)
				mu.Lock()
				defer mu.Unlock()
				require.Equal(t, tt.headers, seen[res.JobID])
				require.Equal(t, tt.headers, seen[retry.JobID], "the retry's")
			})
		}
	})
}
