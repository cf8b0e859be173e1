package host

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAdmin_ParamsMustBeText: a query parameter or path segment that is
// not UTF-8 text or holds a NUL is a 400 naming the parameter, on every
// admin route and both databases (PostgreSQL answered 500, SQLSTATE 22021,
// for ?webhook=%00 and ?cause=%ff).
func TestAdmin_ParamsMustBeText(t *testing.T) {
	t.Parallel()
	for _, be := range jobBackends(t) {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			b := setupJobs(t, be)
			for _, tc := range []struct{ method, path, field string }{
				{"GET", "/jobs?webhook=%00", "webhook"},
				{"GET", "/jobs?webhook=%ff", "webhook"},
				{"GET", "/jobs?webhook=%C0%AF", "webhook"}, // overlong "/"
				{"GET", "/jobs?cursor=%00", "cursor"},
				{"GET", "/jobs?state=Queued&webhook=a%00", "webhook"},
				{"GET", "/requests?cause=%00", "cause"},
				{"GET", "/requests?q=%00", "q"},
				{"GET", "/runs?cause=%ff", "cause"},
				{"GET", "/runs?webhook=%00", "webhook"},
				{"GET", "/audit?kind=%00", "kind"},
				{"GET", "/audit?name=%ff", "name"},
				{"GET", "/events?webhook=%00", "webhook"},
				{"GET", "/jobs?a%00=1", `"a\x00"`},
				{"POST", "/webhooks?name=a%00b", "name"},
				{"GET", "/jobs/%00", "id"},
				{"POST", "/jobs/%ff/cancel", "id"},
				{"GET", "/runs/%00", "id"},
				{"GET", "/requests/%C0%AF/explain", "id"},
				{"GET", "/webhooks/%00", "id"},
				{"GET", "/automations/%ff", "name"},
				{"GET", "/packages/%00/export", "name"},
				{"GET", "/schedules/%00", "name"},
				{"GET", "/subscriptions/%ff", "id"},
				{"DELETE", "/secrets/%00", "name"},
			} {
				r := b.admin(t, tc.method, tc.path, "", "")
				require.Equal(t, http.StatusBadRequest, r.Status, "%s %s: %s", tc.method, tc.path, r.Body)
				require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"), "%s %s", tc.method, tc.path)
				items, _ := r.json(t)["errors"].([]any)
				require.Len(t, items, 1, "%s %s: %s", tc.method, tc.path, r.Body)
				require.Equal(t, tc.field, items[0].(map[string]any)["field"], "%s %s: %s", tc.method, tc.path, r.Body)
			}
			// Text is served as before: a UTF-8 filter, an unknown id, and
			// the verify lab's sample body, which may hold any bytes.
			for _, tc := range []struct {
				path   string
				status int
			}{
				{"/jobs?webhook=caf%C3%A9", http.StatusOK},
				{"/runs?cause=%E2%9C%93", http.StatusOK},
				{"/jobs/unknown", http.StatusNotFound},
				{"/webhooks/unknown/verify-lab?body=%00%ff", http.StatusNotFound},
			} {
				r := b.admin(t, "GET", tc.path, "", "")
				require.Equal(t, tc.status, r.Status, "%s: %s", tc.path, r.Body)
			}
		})
	}
}
